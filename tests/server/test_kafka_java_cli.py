"""Apache Kafka's own Java command-line tools against ``kafkalab serve``: the very classes behind
``kafka-topics.sh``, ``kafka-configs.sh``, ``kafka-console-producer.sh``,
``kafka-console-consumer.sh`` and ``kafka-consumer-groups.sh``, run as the lesson runs them, each
checked against the embedded view of the same cluster.

The classpath comes from ``make kafka-cli-deps`` (Maven, into ``.cache/kafka-cli/lib``) or from
``KAFKA_CLI_CLASSPATH`` (a folder of jars, e.g. a Kafka distribution's ``libs/``). Without java
or without that classpath the module skips, saying which. Each tool's output as it was seen is
kept below (``*_SEEN``) so kafkalab's own tools (kafkalab/tools) can be compared with it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLASSPATH = Path(os.environ.get("KAFKA_CLI_CLASSPATH") or ROOT / ".cache" / "kafka-cli" / "lib")
# A short-lived client JVM: C1 only, one GC thread, the shared class archive where there is one;
# tools log warnings only (slf4j-simple's property; log4j2 defaults to errors).
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
             "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"]
# bin/<tool>.sh -> its main class, as Kafka's bin scripts name them (newest home first:
# ConfigCommand left the core jar for kafka-tools after 4.0).
MAIN_CLASSES = {
    "kafka-topics": ("org.apache.kafka.tools.TopicCommand",),
    "kafka-configs": ("org.apache.kafka.tools.ConfigCommand", "kafka.admin.ConfigCommand"),
    "kafka-console-producer": ("org.apache.kafka.tools.ConsoleProducer",),
    "kafka-console-consumer": ("org.apache.kafka.tools.consumer.ConsoleConsumer",),
    "kafka-consumer-groups": ("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",),
}

# What the tools printed against `kafkalab serve` (Kafka's tools, 4.0 sources), kept for
# comparison with kafkalab's own tools; the tests below check the lines that matter.
TOPICS_DESCRIBE_SEEN = """\
Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: 
\tTopic: orders\tPartition: 0\tLeader: 2\tReplicas: 2\tIsr: 2\tElr: N/A\tLastKnownElr: N/A
\tTopic: orders\tPartition: 1\tLeader: 3\tReplicas: 3\tIsr: 3\tElr: N/A\tLastKnownElr: N/A
\tTopic: orders\tPartition: 2\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A
"""
# Not printed by the tool (4.0's ConfigCommand is Scala and was not built here): Kafka's Java
# Admin client's DescribeConfigs answer in ConfigCommand's format, "  name=value sensitive=..
# synonyms={..}".
CONFIGS_DESCRIBE_SEEN = """\
Dynamic configs for topic orders are:
  retention.ms=604800000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=604800000, \
DEFAULT_CONFIG:log.retention.ms=604800000}
"""
# stdout; stderr said "\nConsumer group 'lesson' has no active members.\n"
GROUPS_DESCRIBE_SEEN = """\

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             \
CONSUMER-ID     HOST            CLIENT-ID
lesson          orders          0          2               2               0               \
-               -               -
lesson          orders          1          1               2               1               \
-               -               -
lesson          orders          2          0               1               1               \
-               -               -
"""


def _classes_in(folder: Path) -> set[str]:
    names = set()
    for jar in folder.glob("*.jar"):
        with zipfile.ZipFile(jar) as archive:
            names.update(n[:-6].replace("/", ".") for n in archive.namelist()
                         if n.endswith(".class"))
    return names


@pytest.fixture(scope="module")
def kafka_cli():
    """``kafka_cli(tool, *args, stdin=None)``: runs Kafka's ``tool`` (a bin/ script's name) in a
    JVM and returns the finished process; skips the module without java or the classpath."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed: Kafka's own CLI needs a JDK (17+) and mvn "
                    "(`make kafka-cli-deps`)")
    if not CLASSPATH.is_dir() or not any(CLASSPATH.glob("*.jar")):
        pytest.skip(f"no Kafka CLI classpath in {CLASSPATH}: run `make kafka-cli-deps` (needs "
                    "mvn and Maven Central) or set KAFKA_CLI_CLASSPATH to a folder of Kafka's "
                    "jars (a Kafka distribution's libs/)")
    present = _classes_in(CLASSPATH)

    def run(tool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        found = [c for c in MAIN_CLASSES[tool] if c in present]
        assert found, f"{CLASSPATH} holds none of {tool}'s main classes {MAIN_CLASSES[tool]}"
        return subprocess.run([java, *JVM_FLAGS, "-cp", f"{CLASSPATH}/*", found[0], *args],
                              input=stdin, capture_output=True, text=True, timeout=60)

    return run


def _ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _describe(kafka_cli, server: list[str], topic: str) -> list[dict[str, str]]:
    """``kafka-topics --describe --topic`` as one dict per line (the topic's, then partitions')."""
    out = _ok(kafka_cli("kafka-topics", *server, "--describe", "--topic", topic))
    return [_fields(line) for line in out.splitlines()]


def _fields(line: str) -> dict[str, str]:
    return dict(field.strip().split(": ", 1) if ": " in field else (field.rstrip(":"), "")
                for field in line.strip().split("\t"))


def _as_embedded(described: list[dict[str, str]]) -> list[tuple[int, int, list[int], list[int]]]:
    return [(int(p["Partition"]), int(p["Leader"]), [int(b) for b in p["Replicas"].split(",")],
             [int(b) for b in p["Isr"].split(",")]) for p in described[1:]]


def test_kafka_topics_create_list_describe(serve_cluster, kafka_cli):
    served = serve_cluster(brokers=3)
    server = ["--bootstrap-server", served.bootstrap_servers.split(",")[0]]
    for topic, partitions, replication in (("orders", 3, 1), ("critical-events", 6, 3)):
        created = _ok(kafka_cli("kafka-topics", *server, "--create", "--topic", topic,
                                "--partitions", str(partitions),
                                "--replication-factor", str(replication)))
        assert created == f"Created topic {topic}.\n"
        described = _describe(kafka_cli, server, topic)
        assert described[0] == {"Topic": topic, "PartitionCount": str(partitions),
                                "ReplicationFactor": str(replication), "Configs": ""}
        embedded = served.cluster.describe_topic(topic)
        assert len(embedded) == partitions and set(map(len, embedded["replicas"])) == {replication}
        assert _as_embedded(described) == [(r.partition, r.leader, list(r.replicas), list(r.isr))
                                           for r in embedded.itertuples()]
        if topic == "orders":
            assert described == [_fields(line) for line in TOPICS_DESCRIBE_SEEN.splitlines()]

    assert _ok(kafka_cli("kafka-topics", *server, "--list")) == "critical-events\norders\n"


def test_kafka_configs_alter_and_describe_a_topic(serve_cluster, kafka_cli):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=3)
    server = ["--bootstrap-server", served.bootstrap_servers]
    entity = ["--entity-type", "topics", "--entity-name", "orders"]
    assert "retention.ms" not in served.cluster.topic("orders").config.overrides
    altered = _ok(kafka_cli("kafka-configs", *server, "--alter", *entity, "--add-config",
                            "retention.ms=604800000"))
    assert altered == "Completed updating config for topic orders.\n"
    assert served.cluster.topic("orders").config.overrides["retention.ms"] == 604800000

    head, *dynamic = _ok(kafka_cli("kafka-configs", *server, "--describe", *entity)).splitlines()
    assert head == CONFIGS_DESCRIBE_SEEN.splitlines()[0] == "Dynamic configs for topic orders are:"
    assert len(dynamic) == 1 and dynamic[0].startswith(
        "  retention.ms=604800000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms="
        "604800000")


def test_console_producer_consumer_and_consumer_groups(serve_cluster, kafka_cli):
    served = serve_cluster(brokers=3, config={"group.initial.rebalance.delay.ms": 0})
    served.cluster.create_topic("orders", partitions=3)
    server = ["--bootstrap-server", served.bootstrap_servers.split(",")[0]]
    lines = ["alice:created", "dave:created", "alice:paid"]  # partitions 0, 1, 0
    _ok(kafka_cli("kafka-console-producer", *server, "--topic", "orders",
                  "--property", "parse.key=true", "--property", "key.separator=:",
                  stdin="".join(f"{line}\n" for line in lines)))
    stored = served.cluster.records("orders")
    assert sorted(zip(stored["key"], stored["value"])) == sorted(
        tuple(line.split(":")) for line in lines)
    by_key = stored.groupby("key")["partition"].nunique()
    assert set(by_key) == {1}  # one key, one partition

    consumed = kafka_cli("kafka-console-consumer", *server, "--topic", "orders",
                         "--from-beginning", "--max-messages", "3", "--timeout-ms", "30000",
                         "--group", "lesson",
                         "--property", "print.key=true", "--property", "key.separator=:")
    assert sorted(_ok(consumed).splitlines()) == sorted(lines)
    assert "Processed a total of 3 messages" in consumed.stderr

    later = ["carol:created", "dave:paid"]  # partitions 2, 1: unread, the group's lag
    _ok(kafka_cli("kafka-console-producer", *server, "--topic", "orders",
                  "--property", "parse.key=true", "--property", "key.separator=:",
                  stdin="".join(f"{line}\n" for line in later)))

    described = kafka_cli("kafka-consumer-groups", *server, "--describe", "--group", "lesson")
    assert "Consumer group 'lesson' has no active members." in described.stderr
    header, *rows = [line.split() for line in _ok(described).splitlines() if line.strip()]
    assert header == GROUPS_DESCRIBE_SEEN.splitlines()[1].split() == [
        "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
        "HOST", "CLIENT-ID"]
    embedded = served.cluster.describe_consumer_group("lesson")
    assert sorted((r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows) == \
        sorted(zip(embedded["GROUP"], embedded["TOPIC"], embedded["PARTITION"],
                   embedded["CURRENT-OFFSET"], embedded["LOG-END-OFFSET"], embedded["LAG"]))
    assert sum(int(r[3]) for r in rows) == 3 and sum(int(r[5]) for r in rows) == len(later)
    assert rows == [line.split() for line in GROUPS_DESCRIBE_SEEN.splitlines()[2:]]

    assert _ok(kafka_cli("kafka-consumer-groups", *server, "--list")) == "lesson\n"
