"""kafkalab's speed against peers run in the same process (DESIGN §5): ``make bench``.

Prints records/s for three ways of doing the same work, and the ratios kafkalab/peer:

* produce — N keyed records (100-byte values, keys ``str(i % 1000).encode()``) into a topic of
  8 partitions:
    - kafkalab: ``KafkaProducer.send(topic, value=v, key=k)`` per record, then ``flush()``
      (kafka-python 3's defaults: acks='all', enable_idempotence=True, linger_ms=0,
      batch_size=16384);
    - mockafka-py: ``FakeProducer.produce(topic, value=v, key=k, partition=p)`` — its
      confluent-kafka-style in-memory producer. mockafka has no partitioner, so ``p`` is
      Kafka's murmur2 partition of the key, computed *before* the clock starts (mockafka
      gets the hashing for free; kafkalab pays for its own);
    - floor: a bare loop appending ``(key, value)`` tuples to a list;
    - minimal (a reference, not a contestant): the least a kafka-python-compatible ``send()``
      does — take a lock, append to the murmur2 partition's list, return a bare slotted
      ``kafka.future.Future`` — to show how close to the floor any such send() can get;
      kafkalab's rate is also reported as a ratio of it (target >= 0.4x).
* consume — all N records back, from those 8 partitions:
    - kafkalab: ``KafkaConsumer(group_id=None, auto_offset_reset='earliest')`` assigned all 8
      partitions, calling ``poll()`` (max_poll_records=500) until it has handed out every record;
    - mockafka-py: ``FakeConsumer`` subscribed to the topic, calling ``consume(500)`` (its
      batch call, confluent-kafka style) until it returns nothing;
    - floor: the same consumer loop as kafkalab's, with a poll() that only builds the next 500
      kafka-python ``ConsumerRecord`` namedtuples of one partition from the same keys and
      values (a poll's worth).
  Consumers count what they get and drop it, as a streaming application (and Kafka's own
  consumer perf test) does; ``--keep-records`` keeps all N instead, which mostly measures the
  garbage collector walking the kept records.
* replicated produce — the kafkalab produce again, into a 3-broker cluster with replication
  factor 3 and acks='all' (followers copy every batch before it is acknowledged), reported as a
  ratio of the RF=1 produce of the same run.
* transactional produce — the kafkalab produce again (same records, same producer configs,
  idempotent), from a transactional producer (``transactional_id``, ``init_transactions()``
  outside the timing) in transactions of 1,000 records: ``begin_transaction()``, 1,000
  ``send()``, ``commit_transaction()`` (EndTxn once every record is answered, then the
  coordinator's markers). Reported as a ratio of the non-transactional produce of the same run
  (target >= 0.7x). Checked afterwards: every record committed, the last stable offset of each
  partition at its high watermark, one COMMIT marker per partition per transaction.
* rebalance — one assignment of 100 group members over 1,000 partitions (one topic of 1,000,
  and four topics of 250) by each assignor of ``kafkalab.coordinator.assignors``: only the
  group leader's ``assign()`` call is timed, on member metadata built as a joining member
  builds it (``assignor.metadata(topics)``, encoded and decoded as ConsumerProtocolSubscription).
* compaction — 1,000,000 keyed records over 10,000 keys (round robin, 100-byte values) in the
  one partition of a ``cleanup.policy=compact`` topic, appended through the leader's own append
  path in batches of 128 and rolled into closed 8 MiB segments, so all of the log is dirty and
  cleanable:
    - kafkalab: one ``broker.log_manager.cleaner.clean(log)`` pass (Kafka's Cleaner: the key ->
      last offset map over the dirty section, then every segment rewritten keeping the last
      record per key) — only that call is timed;
    - floor: a two-pass pure-Python compaction of the same (key, value) tuples: a dict of key ->
      last index, then a filtered list.
  Both results are checked to be the same records. The cleaner's cost per dirty record is also
  measured at a size 10 times smaller (100,000 records, same keys): linear means within 1.5x.
  ``--quick`` uses 10,000 and 100,000 records over 1,000 keys.
* wire — real clients over Kafka's protocol on loopback, each against ``kafkalab serve`` (one
  broker, started as a learner starts it, in a process of its own) and against librdkafka's
  own mock cluster (``test.mock.num.brokers=1``, hosted by a confluent-kafka producer in this
  process), fresh servers each round, a topic of 4 partitions (the mock's default) on both;
  reported as records/s and the ratio serve/mock:
    - confluent-kafka: ``Producer.produce(topic, value, key)`` per record (N records; poll()
      while its queue is full), then ``flush()`` — acks=all, librdkafka's default linger
      (target >= 0.5x); then a group member (subscribe, ``consume(500)``) reading back every
      record the server kept, timed from its assignment — the join is not timed — to the last
      record (target >= 0.5x; the mock keeps only its newest segments, so it serves fewer);
    - kafka-python: ``KafkaProducer.send()`` per record then ``flush()`` (its defaults), N/4
      records, pinned to ``api_version=(2, 3)`` against both, as the mock answers ApiVersions
      only up to v2 (target >= 0.8x: the client, not the server, should be the bottleneck).
  Checked: the high watermarks add up to every record sent. Skipped (saying so) without
  confluent-kafka.

Every measurement runs on fresh state (a new Cluster / a cleaned mockafka store); each of the
``--runs`` rounds runs every contestant once, interleaved, and the best time counts. Results are
checked (counts, partitions, offsets) outside the timed region. The cyclic garbage collector
stays enabled, as in a notebook (``--no-gc`` turns it off, to see how much of a time it is).
Speed is never asserted here: this script only reports. ``--profile produce|consume`` prints a
cProfile of kafkalab's path (top 25 by own time) instead.

Usage:  .venv/bin/python benchmarks/bench.py [--quick] [--records N] [--runs N] [--budget S]
                  [--no-gc] [--freeze-heap] [--keep-records]
                  [--profile produce|produce-rf3|produce-txn|consume|compaction]
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata

from kafka.future import Future
from kafka.partitioner.default import murmur2
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

import kafkalab
from kafkalab.client.partitioner import murmur2 as cached_murmur2
from kafkalab.cluster import registry
from kafkalab.coordinator import assignors
from kafkalab.record import RecordBatch
from kafkalab.storage import PartitionLog
from kafkalab.structs import ConsumerRecord, TopicPartition

TOPIC = "bench"
PARTITIONS = 8
KEYS = 1000
VALUE_SIZE = 100
POLL_BATCH = 500  # kafka-python's max_poll_records default; mockafka's consume(n) batch size
_new_object = object.__new__
#: ``--freeze-heap``: freeze what exists before each timed call out of the collector's reach.
FREEZE_HEAP = False

#: Targets the project must eventually meet (kafkalab rate / peer rate). Reported, never asserted.
TARGETS = {
    ("produce", "mockafka"): 2.0,
    ("produce", "floor"): 0.12,
    ("consume", "mockafka"): 5.0,
    ("consume", "floor"): 0.9,
}
#: kafkalab's produce rate / the minimal send()'s (a reference, not a peer), same run.
MINIMAL_TARGET = 0.4
#: RF=3 acks='all' produce rate / RF=1 produce rate, same run.
REPLICATED_TARGET = 0.5
#: transactional produce rate / the same producer's rate without transactions, same run; and
#: the records per transaction.
TRANSACTIONAL_TARGET = 0.7
TRANSACTION_SIZE = 1000
#: The rebalance input, and the most an assign() call of these assignors should take.
MEMBERS = 100
REBALANCE_INPUTS = {"1 topic x 1,000": {"orders": 1000},
                    "4 topics x 250": {f"t{i}": 250 for i in range(4)}}
ASSIGN_TARGET_MS = {"range": 100.0, "roundrobin": 100.0}
#: The compaction input: (smaller, larger) record counts, 10x apart, and the keys; --quick's.
COMPACTION_SIZES, COMPACTION_KEYS = (100_000, 1_000_000), 10_000
QUICK_COMPACTION_SIZES, QUICK_COMPACTION_KEYS = (10_000, 100_000), 1_000
COMPACTED_TOPIC = "bench-compacted"
COMPACTION_BATCH = 128  # records per batch: about what a producer's 16 KiB batch holds
COMPACTION_SEGMENT_BYTES = 8 * 1024 * 1024
#: cleaner rate / floor rate at the larger size, same run; and the most the cleaner's cost per
#: dirty record may differ between the two sizes (linear: about 1x).
COMPACTION_TARGET = 0.25
LINEARITY_TARGET = 1.5


# --- the workload --------------------------------------------------------------------------------
@dataclass
class Workload:
    n: int
    keys: list[bytes] = field(init=False)
    values: list[bytes] = field(init=False)
    partitions: list[int] = field(init=False)  # Kafka's murmur2 partition of each key

    def __post_init__(self):
        self.keys = [str(i % KEYS).encode() for i in range(self.n)]
        self.values = [(b"%08d" % i).ljust(VALUE_SIZE, b".") for i in range(self.n)]
        by_key = {k: (murmur2(k) & 0x7FFFFFFF) % PARTITIONS for k in set(self.keys)}
        self.partitions = [by_key[k] for k in self.keys]

    def expected_counts(self) -> Counter:
        return Counter(self.partitions)


def timed(fn, profiler: cProfile.Profile | None = None):
    """(seconds, result) of one call, after a full collection so earlier garbage isn't billed.

    The collector stays as it is (enabled by default): objects a contestant creates or keeps
    alive cost collection time, as they do in a notebook. With ``--freeze-heap`` (a diagnostic),
    what existed before the call is frozen out of the collector's reach (``gc.freeze()``) for
    the call, so full collections walk only what the contestant made. With a ``profiler``, the
    call runs under it (the time is then not worth reporting).
    """
    gc.collect()
    if FREEZE_HEAP:
        gc.freeze()
    try:
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
    finally:
        gc.unfreeze()
    return seconds, result


# --- kafkalab ------------------------------------------------------------------------------------
def kafkalab_cluster(replication_factor: int = 1) -> kafkalab.Cluster:
    """A fresh cluster of ``replication_factor`` brokers holding the empty bench topic."""
    registry.clear()
    cluster = kafkalab.Cluster(brokers=replication_factor, seed=0)
    cluster.create_topic(TOPIC, partitions=PARTITIONS, replication_factor=replication_factor)
    return cluster


def kafkalab_produce(w: Workload, profiler: cProfile.Profile | None = None,
                     replication_factor: int = 1):
    """Timed: per-record send() then flush() (acks='all', kafka-python 3's default). Returns
    (seconds, cluster holding the data); with RF > 1, checks every replica holds it all."""
    cluster = kafkalab_cluster(replication_factor)
    producer = kafkalab.KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")

    def run():
        send = producer.send
        for key, value in zip(w.keys, w.values):
            send(TOPIC, value=value, key=key)
        producer.flush()

    seconds, _ = timed(run, profiler)
    producer.close()
    expected = w.expected_counts()
    for p in cluster.topic(TOPIC).partitions:
        ends = {broker: log.log_end_offset for broker, log in p.logs.items()}
        if set(ends.values()) != {expected[p.index]} or p.high_watermark != expected[p.index]:
            raise AssertionError(f"{p.name}: replicas end at {ends}, high watermark "
                                 f"{p.high_watermark}; expected {expected[p.index]} everywhere")
    return seconds, cluster


def kafkalab_produce_transactional(w: Workload, profiler: cProfile.Profile | None = None):
    """Timed: transactions of TRANSACTION_SIZE records (begin, send() per record, commit), the
    records and producer configs of :func:`kafkalab_produce`; ``init_transactions()`` before
    the clock starts. Returns seconds; checks every record committed (LSO = high watermark,
    one COMMIT marker per partition per transaction)."""
    cluster = kafkalab_cluster()
    producer = kafkalab.KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                                      transactional_id="bench-tx")
    producer.init_transactions()

    def run():
        send = producer.send
        begin, commit = producer.begin_transaction, producer.commit_transaction
        keys, values = w.keys, w.values
        for start in range(0, w.n, TRANSACTION_SIZE):
            begin()
            for key, value in zip(keys[start:start + TRANSACTION_SIZE],
                                  values[start:start + TRANSACTION_SIZE]):
                send(TOPIC, value=value, key=key)
            commit()

    seconds, _ = timed(run, profiler)
    producer.close()
    cluster.run_until_idle()
    expected = w.expected_counts()
    partitions_of = [set() for _ in range(0, w.n, TRANSACTION_SIZE)]
    for i, p in enumerate(w.partitions):
        partitions_of[i // TRANSACTION_SIZE].add(p)
    markers = Counter(p for ps in partitions_of for p in ps)
    for p in cluster.topic(TOPIC).partitions:
        log = p.leader_log
        data = sum(b.record_count for b in log.batches() if not b.is_control)
        control = sum(b.record_count for b in log.batches() if b.is_control)
        if (data, control) != (expected[p.index], markers[p.index]) or \
                log.last_stable_offset != log.high_watermark != log.log_end_offset:
            raise AssertionError(f"{p.name}: {data} records and {control} markers (expected "
                                 f"{expected[p.index]} and {markers[p.index]}), LSO "
                                 f"{log.last_stable_offset}, high watermark "
                                 f"{log.high_watermark}, log end {log.log_end_offset}")
    cluster.close()
    return seconds


def drain(poll, w: Workload, who: str, keep: bool) -> tuple[int, list[int], list]:
    """The consumer loop every poll()-style contestant runs: ``batch = poll()`` until all
    ``w.n`` records came, checking each partition's lists continue where the last ended.
    Returns (records, next offset per partition, the records kept if ``keep``). As in an
    application's loop, the previous poll's records live until the next poll() returns."""
    kept: list[ConsumerRecord] = []
    next_offset = [0] * PARTITIONS
    count = empty_polls = 0
    while count < w.n:
        batch = poll()
        if not batch:
            empty_polls += 1
            if empty_polls > 100:
                raise RuntimeError(f"{who} poll() stalled after {count} of {w.n} records")
            continue
        for tp, records in batch.items():
            if records[0].offset != next_offset[tp.partition]:
                raise AssertionError(f"{who} skipped from offset {next_offset[tp.partition]}"
                                     f" to {records[0].offset} in {tp}")
            next_offset[tp.partition] = records[-1].offset + 1
            count += len(records)
            if keep:
                kept.extend(records)
    return count, next_offset, kept


def check_drained(w: Workload, who: str, count: int, next_offset: list[int]) -> None:
    expected = [w.expected_counts()[p] for p in range(PARTITIONS)]
    if count != w.n or next_offset != expected:
        raise AssertionError(f"{who} consumed {count} records up to offsets {next_offset}; "
                             f"expected {w.n} up to {expected}")


def kafkalab_consume(w: Workload, cluster: kafkalab.Cluster, keep: bool = False,
                     profiler: cProfile.Profile | None = None) -> float:
    """Timed: poll() until every record has been handed out (kept only with ``keep``)."""
    consumer = kafkalab.KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                                      group_id=None, auto_offset_reset="earliest")
    consumer.assign([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
    seconds, (count, next_offset, _) = timed(
        lambda: drain(consumer.poll, w, "kafkalab", keep), profiler)
    consumer.close()
    check_drained(w, "kafkalab", count, next_offset)
    return seconds


# --- mockafka-py ---------------------------------------------------------------------------------
def mockafka_store() -> None:
    from confluent_kafka.admin import NewTopic
    from mockafka import FakeAdminClientImpl

    FakeAdminClientImpl(clean=True).create_topics([NewTopic(TOPIC, PARTITIONS)])


def mockafka_produce(w: Workload) -> float:
    from mockafka import FakeProducer

    mockafka_store()
    producer = FakeProducer()

    def run():
        produce = producer.produce
        for key, value, partition in zip(w.keys, w.values, w.partitions):
            produce(TOPIC, value=value, key=key, partition=partition)
        producer.flush()

    seconds, _ = timed(run)
    return seconds


def mockafka_consume(w: Workload, keep: bool = False) -> float:
    """Reads what mockafka_produce just stored (mockafka's store is a process-wide singleton)."""
    from mockafka import FakeConsumer

    consumer = FakeConsumer()
    consumer.subscribe([TOPIC])
    kept = []

    def run():
        count = 0
        while batch := consumer.consume(POLL_BATCH):
            count += len(batch)
            if keep:
                kept.extend(batch)
        return count

    seconds, count = timed(run)
    expected = w.expected_counts()
    positions = [consumer.consumer_store.get(f"{TOPIC}*{p}", 0) for p in range(PARTITIONS)]
    consumer.close()
    if count != w.n or positions != [expected[p] for p in range(PARTITIONS)]:
        raise AssertionError(f"mockafka consumed {count} messages up to offsets {positions}; "
                             f"expected {w.n}")
    return seconds


def mockafka_reset() -> None:
    from mockafka.kafka_store import KafkaStore

    KafkaStore.fresh()


# --- the least a send() can do ---------------------------------------------------------------
class _BareFuture(Future):
    """The lightest future a kafka-python-compatible send() can return: a kafka.future.Future
    with two slots (where its record is), made without running a Python ``__init__``."""

    __slots__ = ("records", "index")


class MinimalProducer:
    """A lower bound for any kafka-python-compatible ``send()``: under a lock (the engine is
    shared), append ``(key, value)`` to the list of the key's murmur2 partition and return a
    bare future. No serializers, headers, timestamps, sizes, batches, buffer bound, metadata,
    sender or delivery — everything KafkaProducer.send() does on top costs more."""

    def __init__(self, partitions: int):
        self._lock = threading.RLock()
        self._partitions = [[] for _ in range(partitions)]

    def send(self, topic, value=None, key=None, headers=None, partition=None,
             timestamp_ms=None) -> _BareFuture:
        lock = self._lock
        lock.acquire()
        try:
            records = self._partitions[(cached_murmur2(key) & 0x7FFFFFFF)
                                       % len(self._partitions)]
            future = _new_object(_BareFuture)
            future.records, future.index = records, len(records)
            records.append((key, value))
            return future
        finally:
            lock.release()


def minimal_produce(w: Workload) -> float:
    producer = MinimalProducer(PARTITIONS)

    def run():
        send = producer.send
        for key, value in zip(w.keys, w.values):
            send(TOPIC, value=value, key=key)

    seconds, _ = timed(run)
    counts = Counter({p: len(records) for p, records in enumerate(producer._partitions)})
    assert counts == w.expected_counts()
    return seconds


# --- floors --------------------------------------------------------------------------------------
def floor_produce(w: Workload) -> float:
    def run():
        out = []
        append = out.append
        for key, value in zip(w.keys, w.values):
            append((key, value))
        return out

    seconds, out = timed(run)
    assert len(out) == w.n
    return seconds


def floor_consume_input(w: Workload) -> list[tuple[int, list[tuple[int, int, bytes, bytes]]]]:
    """(partition, rows) in poll-sized chunks; a row is (offset, timestamp, key, value)."""
    rows: dict[int, list] = {p: [] for p in range(PARTITIONS)}
    for key, value, p in zip(w.keys, w.values, w.partitions):
        rows[p].append((len(rows[p]), 0, key, value))
    return [(p, part[i:i + POLL_BATCH]) for p, part in rows.items()
            for i in range(0, len(part), POLL_BATCH)]


def floor_consume(w: Workload, source, keep: bool = False) -> float:
    """Timed: the same consumer loop as kafkalab's (:func:`drain`), its poll() only building
    the ConsumerRecords of the next POLL_BATCH rows of one partition."""
    chunks = iter(source)
    partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]

    def poll():
        for partition, rows in chunks:
            records = []
            append = records.append
            for offset, timestamp, key, value in rows:
                append(ConsumerRecord(TOPIC, partition, 0, offset, timestamp, 0, key, value,
                                      [], None, len(key), len(value), -1))
            return {partitions[partition]: records}
        return {}

    seconds, (count, next_offset, _) = timed(lambda: drain(poll, w, "floor", keep))
    check_drained(w, "floor", count, next_offset)
    return seconds


# --- rebalance: the group leader's assign() -------------------------------------------------------
class _JoinedMember:
    """A JoinGroup member as the leader's assignor sees it (as kafkalab's group member builds)."""

    __slots__ = ("member_id", "group_instance_id", "metadata")

    def __init__(self, member_id: str, metadata):
        self.member_id = member_id
        self.group_instance_id = None
        self.metadata = metadata


class _StaticMetadata:
    """The part of kafka-python's ClusterMetadata an assignor reads, over fixed topics."""

    def __init__(self, topics: dict[str, int]):
        self._topics = topics

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self._topics.get(topic)
        return None if count is None else set(range(count))

    def topics(self, exclude_internal_topics: bool = True) -> set[str]:
        return set(self._topics)


ASSIGNORS = (assignors.RangePartitionAssignor, assignors.RoundRobinPartitionAssignor,
             assignors.StickyPartitionAssignor, assignors.CooperativeStickyAssignor)


def time_assign(assignor_class, topics: dict[str, int], members: int = MEMBERS) -> float:
    """Seconds of one ``assign()`` by a fresh leader over ``members`` joining members, each
    subscribed to every topic, with no previous assignment; the result is checked."""
    joined = []
    for i in range(members):
        metadata = assignor_class().metadata(set(topics))
        wire = ConsumerProtocolSubscription.encode(metadata)
        joined.append(_JoinedMember(f"consumer-{i:03d}",
                                    ConsumerProtocolSubscription.decode(wire)))
    leader = assignor_class()
    gc.collect()
    start = time.perf_counter()
    result = leader.assign(_StaticMetadata(topics), joined)
    seconds = time.perf_counter() - start
    received = [ConsumerProtocolAssignment.decode(ConsumerProtocolAssignment.encode(a))
                for a in result.values()]  # what each member gets in its SyncGroup answer
    assigned = [(item.topic, p) for a in received for item in a.assigned_partitions
                for p in item.partitions]
    total = sum(topics.values())
    if len(result) != members or len(assigned) != total or len(set(assigned)) != total:
        raise AssertionError(f"{assignor_class.__name__} assigned {len(assigned)} partitions "
                             f"({len(set(assigned))} distinct) to {len(result)} members; "
                             f"expected {total} to {members}")
    return seconds


def measure_rebalance(runs: int) -> dict[tuple[str, str], float]:
    """Best seconds of assign() per (input, assignor name) over ``runs`` tries."""
    return {(label, cls.name): min(time_assign(cls, topics) for _ in range(runs))
            for label, topics in REBALANCE_INPUTS.items() for cls in ASSIGNORS}


# --- compaction ----------------------------------------------------------------------------------
def compaction_pairs(n: int, keys: int) -> list[tuple[bytes, bytes]]:
    """``n`` (key, value) pairs over ``keys`` keys in round robin, 100-byte values."""
    names = [str(k).encode() for k in range(keys)]
    return [(names[i % keys], (b"%08d" % i).ljust(VALUE_SIZE, b".")) for i in range(n)]


def compacted_log(pairs: list[tuple[bytes, bytes]]) -> tuple[kafkalab.Cluster, PartitionLog]:
    """A fresh one-broker cluster whose compacted topic's partition holds ``pairs``: batches of
    COMPACTION_BATCH appended by the leader's own append path (what a Produce request does once
    decoded), the last segment rolled so every segment is closed, all committed (one replica:
    its high watermark is its log end offset), nothing cleaned yet."""
    registry.clear()
    cluster = kafkalab.Cluster(seed=0)
    cluster.create_topic(COMPACTED_TOPIC, partitions=1, config={
        "cleanup.policy": "compact", "segment.bytes": COMPACTION_SEGMENT_BYTES})
    p = cluster.partition(COMPACTED_TOPIC, 0)
    log, now = p.leader_log, cluster.now_ms()
    for start in range(0, len(pairs), COMPACTION_BATCH):
        rows = [(i, now, key, value, ())
                for i, (key, value) in enumerate(pairs[start:start + COMPACTION_BATCH])]
        log.append_as_leader(RecordBatch(rows), p.leader_epoch)
    log.roll("the benchmark closes the last segment: the whole log is cleanable")
    log.high_watermark = log.log_end_offset
    return cluster, log


def floor_compact(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The least a compaction can do: a dict of key -> last index, then a filtered list."""
    last = {}
    for i, (key, _) in enumerate(pairs):
        last[key] = i
    return [pair for i, pair in enumerate(pairs) if last[pair[0]] == i]


def kafkalab_compact(pairs: list[tuple[bytes, bytes]], expected: list[tuple[bytes, bytes]],
                     profiler: cProfile.Profile | None = None) -> float:
    """Timed: one cleaner pass over a fresh log of ``pairs``; checks it kept ``expected``."""
    cluster, log = compacted_log(pairs)
    cleaner = cluster.brokers[1].log_manager.cleaner
    seconds, stats = timed(lambda: cleaner.clean(log), profiler)
    kept = [(row[2], row[3]) for batch in log.batches() for row in batch.record_tuples]
    cluster.close()
    if stats.records_read != len(pairs) or kept != expected:
        raise AssertionError(f"the cleaner read {stats.records_read} of {len(pairs)} records "
                             f"and kept {len(kept)}; expected the last of each of "
                             f"{len(expected)} keys")
    return seconds


def measure_compaction(sizes: tuple[int, int], keys: int, runs: int
                       ) -> dict[tuple[int, str], float]:
    """Best seconds per (records, contestant) over ``runs`` interleaved rounds."""
    inputs = {n: compaction_pairs(n, keys) for n in sizes}
    expected = {n: floor_compact(pairs) for n, pairs in inputs.items()}
    best: dict[tuple[int, str], float] = {}
    for _ in range(runs):
        for n, pairs in inputs.items():
            seconds = kafkalab_compact(pairs, expected[n])
            best[(n, "kafkalab")] = min(seconds, best.get((n, "kafkalab"), float("inf")))
            seconds, kept = timed(lambda: floor_compact(pairs))
            if kept != expected[n]:
                raise AssertionError("the floor's compaction is not deterministic")
            best[(n, "floor")] = min(seconds, best.get((n, "floor"), float("inf")))
    return best


def report_compaction(sizes: tuple[int, int], keys: int, runs: int,
                      best: dict[tuple[int, str], float]) -> None:
    small, large = sizes
    print(f"compaction: {large:,} keyed records over {keys:,} keys, one partition, every "
          f"segment closed and dirty; best of {runs} run(s)")
    print(f"{'':<58}{'records/s':>14}{'best s':>10}")
    for who, label in (("kafkalab", "kafkalab  LogCleaner.clean(log), one pass"),
                       ("floor", "floor     dict key -> last index, then a filtered list")):
        seconds = best[(large, who)]
        print(f"  {label:<56}{large / seconds:>14,.0f}{seconds:>10.3f}")
    ratio = best[(large, "floor")] / best[(large, "kafkalab")]
    verdict = "meets" if ratio >= COMPACTION_TARGET else "below"
    print(f"  compaction ratio kafkalab/floor: {ratio:.3f}x "
          f"(target >= {COMPACTION_TARGET}x: {verdict})")
    per_record = {n: best[(n, "kafkalab")] / n for n in sizes}
    for n in sizes:
        print(f"  cleaner cost per dirty record at {n:>9,} records: "
              f"{per_record[n] * 1e6:.3f} us")
    growth = per_record[large] / per_record[small]
    verdict = "meets" if 1 / LINEARITY_TARGET <= growth <= LINEARITY_TARGET else "below"
    print(f"  compaction linearity (cost per record at {large:,} / at {small:,}): "
          f"{growth:.3f}x (target within {LINEARITY_TARGET}x: {verdict})")


# --- real clients over the wire: kafkalab serve vs librdkafka's mock cluster ---------------------
#: wire ratio targets (rate against kafkalab serve / rate against librdkafka's mock cluster)
WIRE_TARGETS = {("confluent-kafka", "produce"): 0.5, ("confluent-kafka", "consume"): 0.5,
                ("kafka-python", "produce"): 0.8}
#: the mock cluster auto-creates topics with 4 partitions (it has no CreateTopics); kafkalab
#: serve gets its topics created with as many
WIRE_PARTITIONS = 4
#: librdkafka's mock cluster answers ApiVersions v0-v2 only (and a v3 request with a frame
#: kafka-python cannot decode), so kafka-python is told the newest broker version whose
#: ApiVersions is v2, against both servers alike
KAFKA_PYTHON_API_VERSION = (2, 3)
#: kafka-python produces 1/4 of the records (its per-record Python cost would dominate the run)
KAFKA_PYTHON_SHARE = 4


class ServedProcess:
    """``kafkalab serve`` (one broker) in a process of its own, as a learner runs it, on a free
    port; ``bootstrap`` once started; stopped with SIGTERM. Invariant: the process is gone
    after ``stop()`` (killed if SIGTERM did not end it in 10 s)."""

    def __init__(self):
        import socket
        import subprocess

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kafkalab.cli", "serve", "--port", str(port),
             # the group's first join is outside the timing: don't wait 3 s for it
             "--config", "group.initial.rebalance.delay.ms=0"],
            stdout=subprocess.PIPE, text=True)
        for line in self.process.stdout:
            if line.startswith("bootstrap servers:"):
                self.bootstrap = line.split(":", 1)[1].strip()
                return
        self.stop()
        raise RuntimeError(f"kafkalab serve exited {self.process.returncode} before listening")

    def stop(self) -> None:
        import subprocess

        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def mock_cluster():
    """(the producer hosting it, bootstrap) of a new librdkafka mock cluster of one broker
    (``test.mock.num.brokers=1``): its address is its one broker's in the Metadata answer."""
    from confluent_kafka import Producer

    host = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "", "log_level": 3})
    (broker,) = host.list_topics(timeout=10).brokers.values()
    return host, f"{broker.host}:{broker.port}"


def wire_topic(bootstrap: str, name: str, mock: bool) -> None:
    """Create ``name`` with WIRE_PARTITIONS partitions: by CreateTopics on kafkalab serve, by a
    Metadata request (auto-creation) on the mock cluster."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    if not mock:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic(name, WIRE_PARTITIONS, 1)]).values():
            future.result(timeout=10)
    producer = Producer({"bootstrap.servers": bootstrap})
    partitions = len(producer.list_topics(name, timeout=10).topics[name].partitions)
    if partitions != WIRE_PARTITIONS:
        raise AssertionError(f"{name} has {partitions} partitions, not {WIRE_PARTITIONS}")


def wire_log_ends(bootstrap: str, topic: str) -> tuple[int, int]:
    """(records produced: the sum of high watermarks, records kept: of high - low)."""
    from confluent_kafka import Consumer
    from confluent_kafka import TopicPartition as ConfluentTopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks"})
    marks = [consumer.get_watermark_offsets(ConfluentTopicPartition(topic, p), timeout=10)
             for p in range(WIRE_PARTITIONS)]
    consumer.close()
    return sum(high for _, high in marks), sum(high - low for low, high in marks)


def confluent_produce(w: Workload, bootstrap: str) -> float:
    """Timed: ``Producer.produce(topic, value, key)`` per record (waiting in poll() while
    librdkafka's queue is full), then ``flush()``; acks=all, librdkafka's default linger.
    Checked: the high watermarks add up to every record."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.list_topics(TOPIC, timeout=10)  # metadata known before the clock starts

    def run():
        produce, poll = producer.produce, producer.poll
        for key, value in zip(w.keys, w.values):
            try:
                produce(TOPIC, value, key)
            except BufferError:  # queue.buffering.max.messages reached: let it drain
                poll(0.001)
                produce(TOPIC, value, key)
        return producer.flush(60)

    seconds, unsent = timed(run)
    produced, _ = wire_log_ends(bootstrap, TOPIC)
    if unsent or produced != w.n:
        raise AssertionError(f"confluent-kafka: {unsent} records unsent, {produced} in the log; "
                             f"expected {w.n}")
    return seconds


def confluent_consume(bootstrap: str) -> tuple[float, int]:
    """(seconds, records): a group member (subscribe, ``consume(500)``) reading every kept
    record of the topic; timed from its assignment (the group's join is not) to the last
    record. (The mock cluster keeps only its newest segments: fewer records than were sent.)"""
    from confluent_kafka import Consumer

    _, kept = wire_log_ends(bootstrap, TOPIC)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-consumers",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    assigned = []
    consumer.subscribe([TOPIC], on_assign=lambda _c, _p: assigned.append(time.perf_counter()))
    count = empty = 0
    gc.collect()
    while count < kept:
        batch = consumer.consume(POLL_BATCH, 1.0)
        count += sum(1 for message in batch if message.error() is None)
        empty = empty + 1 if not batch else 0
        if empty > 30:
            raise RuntimeError(f"confluent-kafka consume stalled after {count} of {kept}")
    seconds = time.perf_counter() - assigned[0]
    consumer.close()
    return seconds, count


def kafka_python_wire_produce(w: Workload, bootstrap: str, topic: str) -> float:
    """Timed: the real kafka-python's ``KafkaProducer.send()`` per record, then ``flush()``
    (its defaults: acks='all', idempotent, linger 0), for the first n / KAFKA_PYTHON_SHARE
    records. Checked: the high watermarks add up to them."""
    from kafka import KafkaProducer

    n = w.n // KAFKA_PYTHON_SHARE
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=KAFKA_PYTHON_API_VERSION)
    producer.partitions_for(topic)  # metadata known before the clock starts

    def run():
        send = producer.send
        for key, value in zip(w.keys[:n], w.values[:n]):
            send(topic, value=value, key=key)
        producer.flush()

    seconds, _ = timed(run)
    producer.close()
    produced, _ = wire_log_ends(bootstrap, topic)
    if produced != n:
        raise AssertionError(f"kafka-python: {produced} records in the log; expected {n}")
    return seconds


def measure_wire(w: Workload, runs: int) -> dict[tuple[str, str, str], float] | None:
    """Best records/s per (client, phase, server), fresh servers each round; None without
    confluent-kafka."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return None
    best: dict[tuple[str, str, str], float] = {}

    def note(key, records, seconds):
        best[key] = max(records / seconds, best.get(key, 0.0))

    kafka_python_topic = f"{TOPIC}-kafka-python"
    for _ in range(runs):
        served = ServedProcess()
        host, mock_bootstrap = mock_cluster()
        try:
            servers = (("serve", served.bootstrap), ("mock", mock_bootstrap))
            for server, bootstrap in servers:
                for name in (TOPIC, kafka_python_topic):
                    wire_topic(bootstrap, name, server == "mock")
            for server, bootstrap in servers:
                note(("confluent-kafka", "produce", server), w.n, confluent_produce(w, bootstrap))
            for server, bootstrap in servers:
                seconds, count = confluent_consume(bootstrap)
                note(("confluent-kafka", "consume", server), count, seconds)
            for server, bootstrap in servers:
                note(("kafka-python", "produce", server), w.n // KAFKA_PYTHON_SHARE,
                     kafka_python_wire_produce(w, bootstrap, kafka_python_topic))
        finally:
            served.stop()
            del host
    return best


def report_wire(w: Workload, runs: int, best: dict[tuple[str, str, str], float] | None) -> None:
    print(f"real clients over the wire, {WIRE_PARTITIONS} partitions, acks=all: kafkalab serve "
          f"(its own process) vs librdkafka's mock cluster (test.mock.num.brokers=1), "
          f"best of {runs} run(s)")
    if best is None:
        print("  skipped: confluent-kafka is not installed (pip install -e '.[test]')")
        return
    from confluent_kafka import libversion

    print(f"  confluent-kafka {metadata.version('confluent-kafka')} (librdkafka "
          f"{libversion()[0]}), kafka-python {metadata.version('kafka-python')} "
          f"(api_version={KAFKA_PYTHON_API_VERSION}: the mock answers ApiVersions up to v2)")
    labels = {
        ("confluent-kafka", "produce"): f"produce(), flush(): {w.n:,} records",
        ("confluent-kafka", "consume"): "group consume(500), from assignment",
        ("kafka-python", "produce"): f"send(), flush(): {w.n // KAFKA_PYTHON_SHARE:,} records",
    }
    print(f"{'':<58}{'serve rec/s':>14}{'mock rec/s':>14}")
    for (client, phase), label in labels.items():
        serve, mock = best[(client, phase, "serve")], best[(client, phase, "mock")]
        print(f"  {client + ' ' + label:<56}{serve:>14,.0f}{mock:>14,.0f}")
    for (client, phase), target in WIRE_TARGETS.items():
        ratio = best[(client, phase, "serve")] / best[(client, phase, "mock")]
        verdict = "meets" if ratio >= target else "below"
        print(f"  wire {phase} ratio {client} serve/mock: {ratio:.3f}x "
              f"(target >= {target}x: {verdict})")


# --- running and reporting -----------------------------------------------------------------------
def measure(w: Workload, runs: int, budget_s: float, keep_records: bool = False
            ) -> tuple[dict[tuple[str, str], float], int]:
    """Best seconds per (phase, contestant), and the rounds run.

    Every round runs each contestant once. No round starts that would likely end after
    ``budget_s`` (so a slow or busy machine still finishes in time; at least one round runs).
    """
    best: dict[tuple[str, str], float] = {}
    started = time.perf_counter()

    def note(name, seconds):
        best[name] = min(seconds, best.get(name, float("inf")))

    floor_source = floor_consume_input(w)
    for done in range(runs):
        elapsed = time.perf_counter() - started
        if done and elapsed + elapsed / done > budget_s:
            break
        seconds, cluster = kafkalab_produce(w)
        note(("produce", "kafkalab"), seconds)
        note(("consume", "kafkalab"), kafkalab_consume(w, cluster, keep_records))
        cluster.close()
        del cluster
        seconds, cluster = kafkalab_produce(w, replication_factor=3)
        note(("produce", "kafkalab-rf3"), seconds)
        cluster.close()
        del cluster
        note(("produce", "kafkalab-txn"), kafkalab_produce_transactional(w))
        registry.clear()

        note(("produce", "mockafka"), mockafka_produce(w))
        note(("consume", "mockafka"), mockafka_consume(w, keep_records))
        mockafka_reset()

        note(("produce", "floor"), floor_produce(w))
        note(("produce", "minimal"), minimal_produce(w))
        note(("consume", "floor"), floor_consume(w, floor_source, keep_records))
    else:
        done = runs
    return best, done


LABELS = {
    ("produce", "kafkalab"): "kafkalab  KafkaProducer.send() per record + flush()",
    ("produce", "mockafka"): "mockafka  FakeProducer.produce(partition=murmur2)",
    ("produce", "floor"): "floor     list.append((key, value))",
    ("produce", "minimal"): "minimal   lock + murmur2 + append + bare Future",
    ("consume", "kafkalab"): "kafkalab  KafkaConsumer.poll() (assign 8 partitions)",
    ("consume", "mockafka"): "mockafka  FakeConsumer.consume(500)",
    ("consume", "floor"): "floor     build ConsumerRecord namedtuples",
}


def report(w: Workload, runs: int, requested: int, best: dict[tuple[str, str], float],
           rebalance: dict[tuple[str, str], float], load: float, keep_records: bool) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"kafkalab {kafkalab.__version__} benchmark: {w.n:,} records, {VALUE_SIZE}-byte values, "
          f"{KEYS:,} keys, {PARTITIONS} partitions; best of {runs} run(s), fresh state each")
    if runs < requested:
        print(f"(stopped after {runs} of {requested} rounds: --budget reached)")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), "
          f"{cpus} cpu(s), {platform.machine()}, load average {load:.2f} at start")
    collector = "enabled (CPython defaults)" if gc.isenabled() else "DISABLED (--no-gc)"
    consumers = ("KEEP every record (--keep-records)" if keep_records
                 else "count records, then drop them")
    frozen = "then gc.freeze() (--freeze-heap)" if FREEZE_HEAP else "(heap not frozen)"
    print(f"cyclic gc: {collector}, gc.collect() {frozen} before each timed run; "
          f"consumers {consumers}")
    print(f"peer: mockafka-py {metadata.version('mockafka-py')} FakeProducer / FakeConsumer "
          "(confluent-kafka-style, in-memory); its partitions are Kafka's murmur2, computed "
          "outside the timing")
    for phase in ("produce", "consume"):
        print()
        print(f"{phase:<58}{'records/s':>14}{'best s':>10}")
        for who in ("kafkalab", "mockafka", "floor"):
            seconds = best[(phase, who)]
            print(f"  {LABELS[(phase, who)]:<56}{w.n / seconds:>14,.0f}{seconds:>10.3f}")
        for peer in ("mockafka", "floor"):
            ratio = best[(phase, peer)] / best[(phase, "kafkalab")]
            target = TARGETS[(phase, peer)]
            verdict = "meets" if ratio >= target else "below"
            print(f"  {phase} ratio kafkalab/{peer}: {ratio:.3f}x "
                  f"(target >= {target}x: {verdict})")
        if phase == "produce":
            seconds = best[("produce", "minimal")]
            print(f"  {LABELS[('produce', 'minimal')]:<56}{w.n / seconds:>14,.0f}"
                  f"{seconds:>10.3f}")
            print(f"  produce ratio minimal/floor: {best[('produce', 'floor')] / seconds:.3f}x "
                  "(the most any kafka-python-compatible send() could reach)")
            ratio = seconds / best[("produce", "kafkalab")]
            verdict = "meets" if ratio >= MINIMAL_TARGET else "below"
            print(f"  produce ratio kafkalab/minimal: {ratio:.3f}x "
                  f"(target >= {MINIMAL_TARGET}x: {verdict})")
    print()
    print(f"{'replicated produce (3 brokers, RF=3, acks=all)':<58}{'records/s':>14}{'best s':>10}")
    for who, label in (("kafkalab", "RF=1 (as above)"), ("kafkalab-rf3", "RF=3")):
        seconds = best[("produce", who)]
        print(f"  kafkalab  {label:<46}{w.n / seconds:>14,.0f}{seconds:>10.3f}")
    ratio = best[("produce", "kafkalab")] / best[("produce", "kafkalab-rf3")]
    verdict = "meets" if ratio >= REPLICATED_TARGET else "below"
    print(f"  replicated produce ratio RF=3/RF=1: {ratio:.3f}x "
          f"(target >= {REPLICATED_TARGET}x: {verdict})")
    print()
    print(f"{'transactional produce (' + format(TRANSACTION_SIZE, ',') + ' records per transaction)':<58}"
          f"{'records/s':>14}{'best s':>10}")
    for who, label in (("kafkalab", "no transactions (as above)"),
                       ("kafkalab-txn", "begin + sends + commit_transaction()")):
        seconds = best[("produce", who)]
        print(f"  kafkalab  {label:<46}{w.n / seconds:>14,.0f}{seconds:>10.3f}")
    ratio = best[("produce", "kafkalab")] / best[("produce", "kafkalab-txn")]
    verdict = "meets" if ratio >= TRANSACTIONAL_TARGET else "below"
    print(f"  transactional produce ratio transactions/none: {ratio:.3f}x "
          f"(target >= {TRANSACTIONAL_TARGET}x: {verdict})")
    print()
    print(f"rebalance: one assign() of {MEMBERS} members, best of {runs} run(s)")
    for label in REBALANCE_INPUTS:
        for cls in ASSIGNORS:
            ms = rebalance[(label, cls.name)] * 1000
            target = ASSIGN_TARGET_MS.get(cls.name)
            verdict = "" if target is None else \
                f" (target < {target:.0f} ms: {'meets' if ms < target else 'below'})"
            print(f"  {label:<18}{cls.__name__:<30}{ms:>10.1f} ms{verdict}")


def profile(w: Workload, phase: str, keep_records: bool = False, top: int = 25) -> None:
    """cProfile one kafkalab run of ``phase`` (the benchmark's own code), top by own time;
    ``compaction`` cleans ``w.n`` records over COMPACTION_KEYS keys."""
    profiler = cProfile.Profile()
    if phase == "compaction":
        pairs = compaction_pairs(w.n, COMPACTION_KEYS)
        kafkalab_compact(pairs, floor_compact(pairs), profiler)
        print(f"cProfile of kafkalab compaction, {w.n:,} records over {COMPACTION_KEYS:,} keys "
              "(cProfile overhead inflates every time)")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)
        return
    if phase == "produce-txn":
        kafkalab_produce_transactional(w, profiler)
        print(f"cProfile of kafkalab transactional produce, {w.n:,} records in transactions "
              f"of {TRANSACTION_SIZE:,} (cProfile overhead inflates every time)")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)
        return
    replication_factor = 3 if phase == "produce-rf3" else 1
    _, cluster = kafkalab_produce(w, profiler if phase.startswith("produce") else None,
                                  replication_factor)
    if phase == "consume":
        kafkalab_consume(w, cluster, keep_records, profiler)
    print(f"cProfile of kafkalab {phase}, {w.n:,} records, cyclic gc "
          f"{'on' if gc.isenabled() else 'off'} (cProfile overhead inflates every time)")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 20,000 records (compaction: 10,000 and 100,000)")
    parser.add_argument("--records", type=int, help="records per run (default 200,000)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the best counts")
    parser.add_argument("--budget", type=float, default=75.0,
                        help="seconds: start no round likely to end later (default 75)")
    parser.add_argument("--profile",
                        choices=("produce", "produce-rf3", "produce-txn", "consume",
                                 "compaction"),
                        help="print a cProfile of kafkalab's path instead of benchmarking")
    parser.add_argument("--no-gc", action="store_true",
                        help="diagnostic: disable the cyclic garbage collector while timing")
    parser.add_argument("--freeze-heap", action="store_true",
                        help="diagnostic: gc.freeze() the heap before each timed call, so full "
                             "collections walk only what the contestant made")
    parser.add_argument("--keep-records", action="store_true",
                        help="consumers keep every record they get (default: count and drop)")
    args = parser.parse_args(argv)
    if args.no_gc:
        gc.disable()
    global FREEZE_HEAP
    FREEZE_HEAP = args.freeze_heap
    n = args.records or (20_000 if args.quick else 200_000)
    w = Workload(n)
    if args.profile:
        profile(w, args.profile, args.keep_records)
        return 0
    load = os.getloadavg()[0]  # other work on the machine makes every rate noisier
    best, rounds = measure(w, args.runs, args.budget, args.keep_records)
    rebalance = measure_rebalance(rounds)
    report(w, rounds, args.runs, best, rebalance, load, args.keep_records)
    sizes, keys = ((QUICK_COMPACTION_SIZES, QUICK_COMPACTION_KEYS) if args.quick
                   else (COMPACTION_SIZES, COMPACTION_KEYS))
    print()
    report_compaction(sizes, keys, rounds, measure_compaction(sizes, keys, rounds))
    print()
    report_wire(w, rounds, measure_wire(w, rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
