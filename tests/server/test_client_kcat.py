"""kcat (Debian's, on librdkafka) against kafkalab serve: ``-L`` metadata, ``-P`` produce,
``-C -e`` consume and ``-G`` group consume, with ``-b`` the served bootstrap.

``make test`` installs kcat (``make client-deps``); without it (no root, no apt) these tests
skip, saying so. Every scenario checks kcat's view against the embedded API.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(
    KCAT is None, reason="kcat is not installed: `make client-deps` installs Debian's kcat "
    "(it needs root or sudo, and apt)")
FAST = {"group.initial.rebalance.delay.ms": 0}


def kcat(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run kcat; a non-zero exit fails the test with its stderr."""
    result = subprocess.run([KCAT, *args], input=stdin, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, f"kcat {' '.join(args)} exited {result.returncode}: " \
        f"{result.stderr}"
    return result


def test_kcat_lists_the_brokers_topics_leaders_and_isrs(serve_cluster):
    served = serve_cluster(brokers=3)
    cluster = served.cluster
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    cluster.create_topic("audit", partitions=1, replication_factor=2)

    listing = json.loads(kcat("-b", served.bootstrap_servers, "-L", "-J").stdout)
    assert {(b["id"], b["name"]) for b in listing["brokers"]} == {
        (b.id, f"{b.host}:{b.port}") for b in cluster.brokers.values()}
    assert listing["controllerid"] in cluster.brokers
    topics = {t["topic"]: t for t in listing["topics"]}
    assert set(topics) == {"orders", "audit"}  # internal topics only once asked for
    for name, topic in topics.items():
        described = cluster.describe_topic(name)
        assert [p["partition"] for p in topic["partitions"]] == list(described["partition"])
        for p in topic["partitions"]:
            row = described.iloc[p["partition"]]
            assert p["leader"] == int(row["leader"])
            assert [r["id"] for r in p["replicas"]] == [int(r) for r in row["replicas"]]
            assert sorted(r["id"] for r in p["isrs"]) == sorted(int(r) for r in row["isr"])

    text = kcat("-b", served.bootstrap_servers, "-L", "-t", "orders").stdout
    assert " 3 brokers:" in text and 'topic "orders" with 3 partitions:' in text


def test_kcat_produces_and_consumes_what_the_embedded_log_holds(serve_cluster):
    served = serve_cluster(config=FAST)
    cluster = served.cluster
    cluster.create_topic("orders", partitions=2)
    # values long and alike enough for lz4 to shrink them (librdkafka sends a batch that
    # compression would not make smaller uncompressed); kcat's librdkafka (< 2.11.1)
    # compresses at all only because the ApiVersions answer lists Produce from v0
    values = [f"order-{i}-" + "x" * 200 for i in range(12)]
    lines = "".join(f"user-{i % 3}:{value}\n" for i, value in enumerate(values))
    kcat("-b", served.bootstrap_servers, "-P", "-t", "orders", "-K", ":", "-z", "lz4",
         stdin=lines)

    stored = cluster.records("orders")
    assert sorted(stored["value"]) == sorted(values)
    batches = [batch for partition in (0, 1)
               for batch in cluster.partition("orders", partition).leader_log.batches()]
    assert {b.compression_type for b in batches} == {"lz4"}

    consumed = kcat("-b", served.bootstrap_servers, "-C", "-t", "orders", "-e",
                    "-f", "%p %o %k %s\\n").stdout.splitlines()
    assert sorted(tuple(line.split()) for line in consumed) == sorted(
        (str(p), str(o), k, v) for p, o, k, v in
        zip(stored["partition"], stored["offset"], stored["key"], stored["value"]))

    # the same through a consumer group, committing what it read
    grouped = kcat("-b", served.bootstrap_servers, "-G", "kcat-readers", "orders", "-e",
                   "-o", "beginning", "-f", "%p %o %s\\n").stdout.splitlines()
    assert len(grouped) == 12
    described = cluster.describe_consumer_group("kcat-readers")
    ends = stored.groupby("partition")["offset"].max() + 1
    assert {int(row["PARTITION"]): int(row["CURRENT-OFFSET"])
            for _, row in described.iterrows()} == {int(p): int(e) for p, e in ends.items()}
