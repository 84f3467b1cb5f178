"""Checks of notebook 01-topics-partitions-offsets (topics, partitions, offsets).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Expected answers are computed, not stored: key ->
partition with Kafka's murmur2 partitioner, positions by running a consumer, legal names with
Kafka's topic-name rules.
"""
from __future__ import annotations

from typing import Mapping

from ..timefmt import duration_text
from .checks import lesson_check

DAY_MS = 24 * 3600 * 1000


def _partition_of(key: str, partitions: int) -> int:
    from kafkalab.client.partitioner import partition_for_key

    return partition_for_key(key.encode("utf-8"), partitions)


# --- 01.1: same key, same partition ---------------------------------------------------------------
@lesson_check("01.1")
def keyed_orders(cluster, sent, user_42_partition) -> str | None:
    from kafkalab.structs import RecordMetadata

    if not isinstance(sent, (list, tuple)) or len(sent) != 5:
        return ("sent should be the list of the 5 RecordMetadata you got back "
                "(future.get() of each send)")
    if not all(isinstance(m, RecordMetadata) for m in sent):
        return ("sent should hold RecordMetadata objects: call .get(timeout=10) on the future "
                "that producer.send() returns")
    expected = _partition_of("user_42", len(cluster.topic("orders")))
    records = cluster.records("orders")
    keys = {(int(r.partition), int(r.offset)): r.key for r in records.itertuples()}
    for m in sent:
        if m.topic != "orders":
            return f"send the orders to topic 'orders', not {m.topic!r}"
        if keys.get((m.partition, m.offset)) != "user_42":
            return ("every order must carry the key 'user_42' (send(..., key='user_42')): the "
                    "key is what makes the partitioner pick the same partition each time")
    partitions = {m.partition for m in sent}
    if partitions != {expected}:
        return f"the 5 orders landed in partitions {sorted(partitions)}, expected one partition"
    offsets = [m.offset for m in sent]
    if offsets != sorted(offsets) or len(set(offsets)) != 5:
        return "the 5 orders should have increasing offsets in send order"
    if user_42_partition != expected:
        return (f"user_42_partition is {user_42_partition!r}, but the orders are in partition "
                f"{expected}: read it from the RecordMetadata (.partition)")
    return None


# --- 01.2: positions -----------------------------------------------------------------------------
def replay_positions(cluster, topic: str) -> tuple[list[int], int]:
    """What 01.2's reader sees: poll(4), poll(4), seek(3), poll(2) on a fresh reader of
    partition 0 of ``topic``; returns (offsets of the last poll, position after it)."""
    from kafkalab import KafkaConsumer, TopicPartition

    tp = TopicPartition(topic, 0)
    reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                           auto_offset_reset="earliest")
    reader.assign([tp])
    reader.poll(timeout_ms=1000, max_records=4)
    reader.poll(timeout_ms=1000, max_records=4)
    reader.seek(tp, 3)
    last = reader.poll(timeout_ms=1000, max_records=2)
    return [r.offset for r in last.get(tp, [])], reader.position(tp)


@lesson_check("01.2")
def predict_positions(cluster, topic: str, last_offsets, position_after) -> str | None:
    offsets, position = replay_positions(cluster, topic)
    if not isinstance(last_offsets, (list, tuple)) or list(last_offsets) != offsets:
        return ("last_offsets is not what the last poll returns: after seek(tp, 3) the next "
                "read starts at offset 3, and max_records=2 caps how many come back")
    if position_after == offsets[-1]:
        return ("position_after is the offset of the *next* record to read, one past the last "
                "record returned, not the last offset read")
    if position_after != position:
        return "position_after is not the reader's position after the last poll"
    return None


# --- 01.3: 3 vs 6 partitions ---------------------------------------------------------------------
@lesson_check("01.3")
def key_moves(keys, by3, by6, moved) -> str | None:
    for name, answer, n in (("by3", by3, 3), ("by6", by6, 6)):
        if not isinstance(answer, Mapping) or set(answer) != set(keys):
            return f"{name} should be a dict with one entry per key: {list(keys)}"
        wrong = [k for k in keys if answer[k] != _partition_of(k, n)]
        if wrong:
            if name == "by6" and all(answer[k] == _partition_of(k, 3) for k in keys):
                return ("by6 is the same as by3: the partition is murmur2(key) % partitions, so "
                        "changing the partition count can move a key")
            return (f"{name} has the wrong partition for {wrong}: the default partitioner "
                    f"picks (murmur2(key) & 0x7fffffff) % {n}")
    if not isinstance(moved, (set, frozenset, list, tuple)):
        return f"moved should be a set of keys, not {moved!r}"
    truth = {k for k in keys if _partition_of(k, 3) != _partition_of(k, 6)}
    if set(moved) != truth:
        return "moved should be exactly the keys whose partition differs between by3 and by6"
    return None


# --- 01.4: create a topic with the admin client --------------------------------------------------
@lesson_check("01.4")
def payments_topic(cluster) -> str | None:
    if "payments" not in cluster.topics:
        return ("there is no topic 'payments': create it with "
                "admin.create_topics([NewTopic(...)])")
    topic = cluster.topic("payments")
    if len(topic.partitions) != 6:
        return (f"payments has {len(topic.partitions)} partition(s), it needs 6 "
                f"(num_partitions). Delete it with admin.delete_topics(['payments']) and "
                f"create it again")
    if topic.replication_factor != 1:
        return f"payments should have replication factor 1, not {topic.replication_factor}"
    if topic.config["retention.ms"] != 3 * DAY_MS:
        kept = topic.config["retention.ms"]
        return (f"payments keeps records for retention.ms={kept} ({duration_text(kept)}); "
                f"3 days is {3 * DAY_MS} ms (topic_configs={{'retention.ms': ...}}). Delete it "
                f"with admin.delete_topics(['payments']) and create it again")
    return None


# --- 01.5: legal topic names ---------------------------------------------------------------------
@lesson_check("01.5")
def legal_names(names, legal) -> str | None:
    from kafkalab.config import validate_topic_name
    from kafkalab.errors import InvalidTopicError

    truth = []
    for name in names:
        try:
            validate_topic_name(name)
            truth.append(name)
        except InvalidTopicError:
            pass
    if not isinstance(legal, (list, tuple)):
        return f"legal should be a list of names, not {legal!r}"
    extra = [n for n in legal if n not in truth]
    if extra:
        return (f"Kafka refuses {[n[:20] for n in extra]}: names use only ASCII letters, digits, "
                f"'.', '_' and '-', at most 249 characters, and are not '.' or '..'")
    missing = [n for n in truth if n not in legal]
    if missing:
        return f"{missing} are legal topic names too"
    if list(legal) != truth:
        return "keep the names in the order they appear in names"
    return None
