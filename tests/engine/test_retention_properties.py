"""Properties of rolling and retention over random histories (hypothesis).

One log, driven directly: random appends, time advances, commits, config changes (retention.ms,
retention.bytes, segment sizes and times, jitter, index sizes), DeleteRecords, truncations of
the uncommitted tail (a follower following a new leader) and retention checks. A cluster of
three brokers, driven through the lab API: produce, time, config changes, broker kills and
restarts. Whatever happens:

* retention never deletes anything at or above the high watermark, nor the active segment (a
  log always has one, and retention leaves the log end offset where it was);
* the log start offset never moves back;
* offsets stay increasing, segment after segment;
* what remains is a suffix of what was written: every committed record from the log start
  offset on, unchanged, nothing before it;
* one retention check does all it can: a second one right after deletes nothing.
"""
from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kafkalab import Cluster, KafkaProducer
from kafkalab.clock import SimClock
from kafkalab.config import BrokerConfig, TopicConfig
from kafkalab.errors import KafkaTimeoutError
from kafkalab.record import Record, RecordBatch
from kafkalab.storage import PartitionLog
from kafkalab.storage.retention import enforce_retention

T0 = 1_767_225_600_000

CONFIG_CHOICES = {
    "retention.ms": st.sampled_from([-1, 1, 1_000, 60_000, 600_000]),
    "retention.bytes": st.sampled_from([-1, 0, 300, 1_000, 5_000]),
    "segment.bytes": st.integers(100, 3_000),
    "segment.ms": st.integers(1, 600_000),
    "segment.jitter.ms": st.sampled_from([0, 1_000, 300_000]),
    "segment.index.bytes": st.sampled_from([8, 24, 100, 10 * 1024 * 1024]),
    "index.interval.bytes": st.sampled_from([0, 100, 4096]),
}

appends = st.tuples(st.just("append"), st.integers(1, 6), st.integers(0, 200),
                    st.integers(0, 120_000))
log_ops = st.one_of(
    appends, appends, appends,
    st.tuples(st.just("commit"), st.floats(0, 1)),
    st.tuples(st.just("advance"), st.integers(0, 900_000)),
    st.tuples(st.just("config"), st.sampled_from(sorted(CONFIG_CHOICES)), st.data()),
    st.tuples(st.just("delete_records"), st.floats(0, 1)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("retention")), st.tuples(st.just("retention")),
)


def check_structure(log: PartitionLog) -> None:
    segments = log.segments()
    assert segments, "a log always has an active segment"
    assert log.log_start_offset <= log.high_watermark <= log.log_end_offset
    assert segments[0].base_offset <= log.log_start_offset
    assert segments[-1].next_offset == log.log_end_offset
    for before, after in zip(segments, segments[1:]):
        assert before.base_offset < after.base_offset
        assert before.next_offset <= after.base_offset
    offsets = [b.base_offset + r[0] for b in log.batches() for r in b.record_tuples]
    assert offsets == sorted(set(offsets))


def kept(log: PartitionLog) -> dict[int, bytes]:
    start = log.log_start_offset
    return {b.base_offset + r[0]: r[3] for b in log.batches() for r in b.record_tuples
            if b.base_offset + r[0] >= start}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(log_ops, min_size=10, max_size=60), seed=st.integers(0, 2**16))
def test_property_retention_of_one_log(ops, seed):
    import random
    clock = SimClock(T0)
    config = TopicConfig(BrokerConfig(), {"segment.bytes": 500, "segment.ms": 60_000})
    log = PartitionLog("orders", 0, config, clock.now_ms, rng=random.Random(seed))
    written: dict[int, bytes] = {}                     # offset -> value, what the log should hold
    counter = 0
    for op in ops:
        start_before = log.log_start_offset
        kind = op[0]
        if kind == "append":
            _, n, size, gap_ms = op
            clock.advance_to(clock.now_ms() + gap_ms)
            values = [b"%d:" % (counter + i) + b"x" * size for i in range(n)]
            counter += n
            batch = RecordBatch([Record(i, clock.now_ms(), None, v, [])
                                 for i, v in enumerate(values)])
            if batch.size_in_bytes > config["max.message.bytes"]:
                continue
            base = log.append_as_leader(batch, leader_epoch=0)
            written.update((base + i, v) for i, v in enumerate(values))
        elif kind == "commit":                         # replicas acknowledge whole batches
            ends = [b.next_offset for b in log.batches() if b.next_offset > log.high_watermark]
            if ends:
                log.high_watermark = ends[int((len(ends) - 1) * op[1])]
        elif kind == "advance":
            clock.advance_to(clock.now_ms() + op[1])
        elif kind == "config":
            name = op[1]
            config.alter({name: op[2].draw(CONFIG_CHOICES[name])})
        elif kind == "delete_records":
            start = log.log_start_offset
            log.maybe_increment_log_start_offset(start + int((log.high_watermark - start) * op[1]))
        elif kind == "truncate":                       # a follower drops its uncommitted tail
            hw = log.high_watermark
            log.truncate_to(hw + int((log.log_end_offset - hw) * op[1]))
            written = {o: v for o, v in written.items() if o < log.log_end_offset}
        else:
            end, hw = log.log_end_offset, log.high_watermark
            enforce_retention(log, clock.now_ms())
            assert log.log_end_offset == end and log.high_watermark == hw
            assert enforce_retention(log, clock.now_ms()) == 0   # it did all it could
        check_structure(log)
        assert log.log_start_offset >= start_before
        assert kept(log) == {o: v for o, v in written.items() if o >= log.log_start_offset}
    event(f"segments: {min(len(log.segments()), 3)}+, log start offset moved: "
          f"{log.log_start_offset > 0}")


produces = st.tuples(st.just("produce"), st.integers(1, 5))
cluster_ops = st.one_of(
    produces, produces,
    st.tuples(st.just("advance"), st.integers(1, 3_600_000)),
    st.tuples(st.just("advance"), st.integers(1, 3_600_000)),
    st.tuples(st.just("config"), st.sampled_from(["retention.ms", "retention.bytes",
                                                  "segment.bytes", "segment.ms"]), st.data()),
    st.tuples(st.just("kill"), st.integers(1, 3)),
    st.tuples(st.just("restart"), st.integers(1, 3)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(cluster_ops, min_size=10, max_size=40), seed=st.integers(0, 100))
def test_property_retention_in_a_cluster_with_broker_faults(ops, seed):
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic("orders", partitions=1, replication_factor=3,
                         config={"segment.bytes": 400, "segment.ms": 600_000,
                                 "retention.ms": 1_800_000})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                             linger_ms=0)
    p = cluster.partition("orders", 0)
    committed: dict[int, bytes] = {}
    starts = {b: 0 for b in p.replicas}
    counter = 0
    for op in ops:
        kind = op[0]
        if kind == "produce":
            for _ in range(op[1]):
                try:
                    producer.send("orders", b"order %d" % counter)
                except KafkaTimeoutError:                     # no broker to learn metadata from
                    break
                counter += 1
            cluster.advance(ms=100)
        elif kind == "advance":
            cluster.advance(ms=op[1])
        elif kind == "config":
            cluster.alter_topic_config("orders", {op[1]: op[2].draw(CONFIG_CHOICES[op[1]])})
        elif kind == "kill" and cluster.brokers[op[1]].alive:
            cluster.kill_broker(op[1])
        elif kind == "restart" and not cluster.brokers[op[1]].alive:
            cluster.restart_broker(op[1])
        for broker, log in p.logs.items():
            check_structure(log)
            assert log.log_start_offset >= starts[broker]
            starts[broker] = log.log_start_offset
        if p.leader is None:
            continue
        log = p.leader_log
        below_hw = {o: v for o, v in kept(log).items() if o < log.high_watermark}
        assert sorted(below_hw) == list(range(log.log_start_offset, log.high_watermark))
        for offset, value in below_hw.items():
            assert committed.setdefault(offset, value) == value   # committed records never change
    event(f"log start offsets moved: {sum(s > 0 for s in starts.values())}, "
          f"leader epoch > 0: {p.leader_epoch > 0}")
    producer.close(timeout=0)
    cluster.close()
