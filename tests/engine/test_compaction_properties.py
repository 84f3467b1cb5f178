"""Properties of log compaction over random keyed workloads (hypothesis), through the public API:
records with tombstones, small random segment sizes, random time advances, a random offset-map
size, then what the leader stores and what a consumer reading from offset 0 gets.

* every stored record is the one written at its offset, and offsets strictly increase;
* every key's last value is present at its original offset (its tombstone may go, once its
  delete horizon passed);
* nothing at or past the first uncleanable offset, and nothing newer than
  ``min.compaction.lag.ms``, was dropped;
* a consumer from 0 sees exactly the compacted view: the last record per key of the cleaned
  section, below the first dirty offset (a tombstone may have gone), then everything.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.cluster import registry

MINUTE_MS = 60_000
KEYS = [f"k{i}" for i in range(6)]

steps = st.lists(st.one_of(
    st.tuples(st.just("send"), st.sampled_from(KEYS),
              st.sampled_from([True, True, True, False])),   # (send, key, has a value)
    st.tuples(st.just("advance"), st.integers(0, 20 * MINUTE_MS), st.just(True)),
), min_size=1, max_size=60)

topic_configs = st.fixed_dictionaries({
    "segment.bytes": st.integers(150, 1500),
    "min.compaction.lag.ms": st.sampled_from([0, 0, 30 * MINUTE_MS]),
    "delete.retention.ms": st.sampled_from([0, MINUTE_MS, 60 * MINUTE_MS]),
    "min.cleanable.dirty.ratio": st.sampled_from([0.01, 0.3, 0.5, 0.9]),
})
dedupe_buffers = st.sampled_from([128 * 1024 * 1024, 24 * 4])   # 3 keys fit into the second


def run(config: dict, dedupe_buffer: int, workload) -> tuple[Cluster, dict]:
    """Play ``workload`` on a fresh one-broker cluster; the written records by offset:
    (key, value, timestamp)."""
    registry.clear()
    cluster = Cluster(seed=0, config={"log.cleaner.dedupe.buffer.size": dedupe_buffer})
    cluster.create_topic("t", config={"cleanup.policy": "compact", **config})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=0)
    written = {}
    for i, (kind, what, has_value) in enumerate(workload):
        if kind == "advance":
            cluster.advance(ms=what)
            continue
        value = f"v{i}".encode() if has_value else None
        meta = producer.send("t", key=what.encode(), value=value).get(timeout=10)
        written[meta.offset] = (what.encode(), value, meta.timestamp)
    cluster.advance(seconds=16)   # one more look by the cleaner (log.cleaner.backoff.ms)
    producer.close()
    return cluster, written


def stored(cluster: Cluster) -> list[tuple[int, bytes, bytes | None]]:
    log = cluster.partition("t", 0).leader_log
    return [(batch.base_offset + delta, key, value) for batch in log.batches()
            for delta, _, key, value, _ in batch.record_tuples]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=topic_configs, dedupe_buffer=dedupe_buffers, workload=steps)
def test_compaction_keeps_the_last_value_per_key_and_everything_it_may_not_touch(
        config, dedupe_buffer, workload):
    cluster, written = run(config, dedupe_buffer, workload)
    log = cluster.partition("t", 0).leader_log
    state = cluster.brokers[1].log_manager.cleaner.describe(log)
    kept = stored(cluster)
    offsets = [o for o, _, _ in kept]
    assert offsets == sorted(set(offsets))                                  # strictly increase
    assert all((k, v) == written[o][:2] for o, k, v in kept)                # unchanged
    present = set(offsets)
    last = {}
    for offset in sorted(written):
        last[written[offset][0]] = offset
    for offset in last.values():
        assert offset in present or written[offset][1] is None             # last value per key
    lag = config["min.compaction.lag.ms"]
    now = cluster.now_ms()
    for offset, (_, _, timestamp) in written.items():
        if offset >= state.first_uncleanable_offset or (lag and timestamp > now - lag):
            assert offset in present                                        # untouchable
    dirty = state.first_dirty_offset
    last_cleaned = {}   # the last record per key of the cleaned section
    for offset in sorted(o for o in written if o < dirty):
        last_cleaned[written[offset][0]] = offset
    required = {o for o in written if o >= dirty} | {
        o for o in last_cleaned.values() if written[o][1] is not None}
    optional = {o for o in last_cleaned.values() if written[o][1] is None}
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers)
    consumer.assign([TopicPartition("t", 0)])
    consumer.seek(TopicPartition("t", 0), 0)
    seen = [(m.offset, m.key, m.value) for m in consumer]
    assert seen == kept                                  # the consumer sees what is stored
    assert required <= present <= required | optional    # ... which is the compacted view
    cluster.close()
