"""Checks of notebook 02-producers (producers in depth).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Expected answers are computed, not stored: from
the records the learner's producer stored, by re-running a workload with the learner's settings,
or by running a scenario on a private cluster.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Mapping

from .checks import lesson_check

CODEC_NAMES = ("none", "gzip", "snappy", "lz4", "zstd")
#: Private clusters that checks build listen here, so they never take over localhost:9092.
CHECK_PORT = 39092


def _records(cluster, topic: str):
    return cluster.records(topic) if topic in cluster.topics else None


# --- 02.1: a key that keeps each user's orders in order -----------------------------------------
def user_order_events() -> list[dict]:
    """Order events of 4 users, 3 orders each, 3 steps per order, interleaved by time."""
    events = []
    for round_ in range(3):
        for user in ("u-anna", "u-boris", "u-chen", "u-dana"):
            order_id = f"{user[2:]}-{round_ + 1}"
            for step in ("created", "paid", "shipped"):
                events.append({"user_id": user, "order_id": order_id, "step": step})
    return events


@lesson_check("02.1")
def user_orders_in_order(cluster, topic: str, events) -> str | None:
    records = _records(cluster, topic)
    if records is None or records.empty:
        return (f"topic {topic!r} is empty: send every event with "
                f"producer.send({topic!r}, key=key_for(event), value=event), then flush()")
    stored = [(int(r.partition), int(r.offset), json.loads(r.value), r.key)
              for r in records.itertuples()]
    if len(stored) != len(events):
        return (f"{topic} holds {len(stored)} records, but there are {len(events)} events: send "
                f"each event exactly once (re-run the setup cell to start again)")
    if any(key is None for *_, key in stored):
        return "every record needs a key: key_for(event) must return a string, not None"
    partitions_of_user = defaultdict(set)
    for partition, _, value, _ in stored:
        partitions_of_user[value["user_id"]].add(partition)
    spread = {u: sorted(ps) for u, ps in partitions_of_user.items() if len(ps) > 1}
    if spread:
        user, ps = next(iter(spread.items()))
        return (f"{user}'s orders are in partitions {ps}: across partitions a consumer may read "
                f"them in any order. Records with the same key go to the same partition, so "
                f"key every event of a user by the same value")
    if len({p for p, *_ in stored}) == 1:
        return ("all events landed in one partition: they are in order, but then only one "
                "consumer can work on them. Key by the user, so that different users can go to "
                "different partitions")
    sent_order = {json.dumps(e, sort_keys=True): i for i, e in enumerate(events)}
    by_partition = defaultdict(list)
    for partition, offset, value, _ in sorted(stored):
        by_partition[partition].append(sent_order.get(json.dumps(value, sort_keys=True), -1))
    for partition, order in by_partition.items():
        if order != sorted(order) or -1 in order:
            return (f"partition {partition} does not hold the events in the order they were "
                    f"sent: send them in the order of the events list")
    return None


# --- 02.2: linger_ms and batch_size for a target batch size ---------------------------------------
BATCHING_TARGET = {"records": 400, "rate_per_ms": 2, "min_per_batch": 45, "max_per_batch": 55,
                   "max_latency_ms": 40}


def batching_run(linger_ms: int, batch_size: int, seed: int = 0):
    """02.2's workload: 400 lesson orders, 2 per simulated ms, one partition, acks='all'."""
    from kafkalab.viz.producer_views import run_workload

    return run_workload(records=BATCHING_TARGET["records"],
                        rate_per_ms=BATCHING_TARGET["rate_per_ms"], linger_ms=linger_ms,
                        batch_size=batch_size, seed=seed)


@lesson_check("02.2")
def batching_target(linger_ms, batch_size, seed: int = 0) -> str | None:
    for name, value in (("linger_ms", linger_ms), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} should be a whole number >= 0, not {value!r}"
    if batch_size < 1:
        return "batch_size should be at least 1 byte"
    t = BATCHING_TARGET
    summary = batching_run(linger_ms, batch_size, seed).summary
    per_batch, worst = summary["records_per_batch"], summary["latency_max_ms"]
    if per_batch < t["min_per_batch"]:
        return (f"batches hold {per_batch} records on average, fewer than "
                f"{t['min_per_batch']}: at {t['rate_per_ms']} records per ms a batch collects "
                f"{t['rate_per_ms']} records for every ms it lingers, unless batch_size fills it "
                f"first")
    if per_batch > t["max_per_batch"]:
        return (f"batches hold {per_batch} records on average, more than "
                f"{t['max_per_batch']}: linger less, or cap the batch with a smaller batch_size")
    if worst > t["max_latency_ms"]:
        return (f"the batches are right, but a record waited {worst} ms for its "
                f"acknowledgement (limit {t['max_latency_ms']} ms): a batch that never fills "
                f"up, like the last one, waits the full linger_ms")
    return None


# --- 02.3: the codec that stores the fewest bytes ---------------------------------------------
def click_events(n: int = 1500, seed: int = 0) -> list[dict]:
    """Web-shop click events: who looked at which page, from where, when."""
    import random

    rng = random.Random(seed)
    pages = ["/", "/search", "/cart", "/checkout"] + [f"/product/{i}" for i in range(60)]
    refs = ["google", "direct", "newsletter", "instagram", "partner-site"]
    return [{"user": f"u{rng.randrange(5000)}", "page": rng.choice(pages),
             "ref": rng.choice(refs), "ts": 1767225600000 + 37 * i + rng.randrange(30),
             "device": rng.choice(["ios", "android", "web"]), "ms_on_page": rng.randrange(20000)}
            for i in range(n)]


@lesson_check("02.3")
def smallest_codec(cluster, clicks, stored, best) -> str | None:
    if not isinstance(stored, Mapping) or set(stored) != set(CODEC_NAMES):
        return (f"stored should be a dict with one entry per codec name: "
                f"{list(CODEC_NAMES)}")
    for name in CODEC_NAMES:
        topic = f"clicks-{name}"
        if topic not in cluster.topics:
            how = "without compression" if name == "none" else f"compressed with {name}"
            return f"there is no topic {topic!r}: send the clicks there, {how}"
        partitions = cluster.topic(topic).partitions
        count = sum(p.log_end_offset - p.log_start_offset for p in partitions)
        if count != len(clicks):
            return (f"{topic} holds {count} records, not the {len(clicks)} clicks: send each "
                    f"click once (delete the topic with cluster.delete_topic({topic!r}) to "
                    f"start again)")
        codecs = {b.compression_type for p in partitions for b in p.leader_log.batches()}
        expected = {"none"} if name == "none" else {name}
        if not codecs <= expected | {"none"} or (name != "none" and name not in codecs):
            return (f"the batches of {topic} are compressed with {sorted(codecs)}, not {name}: "
                    f"create its producer with compression_type="
                    f"{None if name == 'none' else name!r}")
        size = sum(p.leader_log.size_bytes for p in partitions)
        if stored[name] != size:
            return (f"stored[{name!r}] is {stored[name]!r}, but {topic} stores {size} bytes: "
                    f"read the stored size from the cluster, e.g. "
                    f"cluster.describe_topic({topic!r})['size_bytes'].sum()")
    smallest = min(CODEC_NAMES, key=lambda name: stored[name])
    if best != smallest:
        return (f"best is {best!r}, but {smallest!r} stores the fewest bytes "
                f"({stored[smallest]} against {stored.get(best, '?')})")
    return None


# --- 02.4: what acks=0 reports ----------------------------------------------------------------
def acks0_scenario(cluster, topic: str = "metrics") -> dict:
    """Exercise 02.4: an acks=0 producer sends 3 readings to ``topic`` (already holding
    records), one request each; the broker refuses the second request."""
    from kafkalab import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=0)
    offsets = []
    for i in range(3):
        if i == 1:
            cluster.faults.fail_produce_requests(count=1, topic=topic)
        offsets.append(producer.send(topic, value=f"reading {i}".encode()).get(timeout=10)
                       .offset)
        cluster.advance(ms=10)
    partition = cluster.partition(topic, 0)
    return {"offsets_in_metadata": offsets, "log_end_offset": partition.log_end_offset}


def prepare_metrics(cluster) -> None:
    """Exercise 02.4's starting point: topic ``metrics`` (1 partition, 3 replicas) with 7
    records, at offsets 0..6."""
    from kafkalab import KafkaProducer

    cluster.create_topic("metrics", partitions=1, replication_factor=min(3, len(cluster.brokers)))
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(7):
        producer.send("metrics", value=f"warm-up {i}".encode())
    producer.flush()


def metrics_cluster(seed: int = 0, port: int = CHECK_PORT):
    """A private 3-broker cluster prepared as for exercise 02.4."""
    from kafkalab import Cluster

    cluster = Cluster(brokers=3, seed=seed, port=port)
    prepare_metrics(cluster)
    return cluster


@lesson_check("02.4")
def acks0_prediction(offsets_in_metadata, log_end_offset, seed: int = 0) -> str | None:
    truth = acks0_scenario(metrics_cluster(seed))
    if not isinstance(offsets_in_metadata, (list, tuple)) or len(offsets_in_metadata) != 3:
        return "offsets_in_metadata should be a list of 3 offsets, one per send"
    if list(offsets_in_metadata) != truth["offsets_in_metadata"]:
        return ("offsets_in_metadata is not what the futures return: with acks=0 the broker "
                "never answers, so what can the producer put in RecordMetadata.offset?")
    if log_end_offset != truth["log_end_offset"]:
        return ("log_end_offset is not right: metrics-0 held offsets 0..6. Which of the 3 "
                "readings did the broker store? (It refused the second request, and an acks=0 "
                "producer never hears about it, so it does not retry)")
    return None


# --- 02.5: a duplicate in the log -------------------------------------------------------------
REFUNDS = [{"refund_id": f"R-{i}", "amount": 5 * i} for i in range(1, 9)]


def send_refunds(cluster, producer, topic: str) -> list[int]:
    """Exercise 02.5: create ``topic`` and send the 8 refunds one at a time; the
    acknowledgement of the 5th (R-5) is lost. Returns the offsets the producer was told."""
    cluster.create_topic(topic, partitions=1, replication_factor=3)
    offsets = []
    for refund in REFUNDS:
        if refund["refund_id"] == "R-5":
            cluster.faults.drop_produce_responses(count=1, topic=topic)
        value = json.dumps(refund).encode("utf-8")
        offsets.append(producer.send(topic, key=refund["refund_id"].encode(), value=value)
                       .get(timeout=120).offset)
    return offsets


IDEMPOTENCE_SETTINGS = {"enable_idempotence", "enable.idempotence"}


@lesson_check("02.5")
def explain_duplicate(cluster, duplicate_offsets, setting, fixed_topic: str = "refunds-fixed"
                      ) -> str | None:
    records = _records(cluster, "refunds")
    if records is None:
        return "topic 'refunds' is missing: run the setup cell above"
    seen = defaultdict(list)
    for r in records.itertuples():
        seen[r.value].append(int(r.offset))
    truth = sorted(o for offsets in seen.values() if len(offsets) > 1 for o in offsets)
    if not isinstance(duplicate_offsets, (list, tuple, set, frozenset)):
        return f"duplicate_offsets should be a list of offsets, not {duplicate_offsets!r}"
    if sorted(duplicate_offsets) != truth:
        return ("duplicate_offsets should list the offsets of refunds-0 that hold the same "
                "refund: compare the values in cluster.records('refunds'), not the offsets the "
                "producer was told")
    if not isinstance(setting, str) or setting.strip() not in IDEMPOTENCE_SETTINGS:
        return (f"{setting!r} does not stop the broker from storing a retried batch twice: "
                "which producer setting makes the broker recognise a retry by its producer id "
                "and sequence number?")
    fixed = _records(cluster, fixed_topic)
    if fixed is None:
        return (f"there is no topic {fixed_topic!r}: run send_refunds(cluster, fixed_producer, "
                f"{fixed_topic!r}) with your fixed producer")
    if len(fixed) != len(REFUNDS) or fixed["value"].duplicated().any():
        return (f"{fixed_topic} holds {len(fixed)} records for {len(REFUNDS)} refunds: "
                f"fixed_producer still stores the retried refund twice")
    recognised = [e for e in cluster.events.of_kind("produce.duplicate")
                  if e.data.get("topic") == fixed_topic]
    if not recognised:
        return (f"{fixed_topic} has no duplicate, but the broker never recognised a retry "
                f"there: send the refunds with send_refunds(...) so the acknowledgement is "
                f"lost the same way")
    return None
