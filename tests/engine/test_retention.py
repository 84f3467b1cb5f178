"""Segment rolling and retention as Kafka does them (lesson 07, "Retention и Compaction").

* Rolling (Kafka's ``LogSegment.shouldRoll``): ``segment.bytes``; ``segment.ms`` counted on record
  timestamps from the segment's first batch, less a per-segment random ``segment.jitter.ms``
  drawn from the cluster's seeded RNG, or ``max.compaction.lag.ms`` on a compacted topic when it
  is smaller; a full offset or time index (``segment.index.bytes``, an entry every
  ``index.interval.bytes``).
* Retention (Kafka's ``deleteOldSegments``): whole segments, below the log start offset first,
  then by size, then by time, in one check; never at or above the high watermark, never the
  empty active segment; ``-1`` is unlimited; every ``log.retention.check.interval.ms``.
* The lesson's commands through the admin client: ``retention.ms=604800000`` and
  ``retention.bytes=10737418240`` (``kafka-configs --alter --add-config``).
* Followers take the leader's log start offset from their fetches.
"""
from __future__ import annotations

import random

import pytest

from engine_helpers import T0, append, make_log
from kafkalab import Cluster, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.admin import ConfigResource, ConfigResourceType
from kafkalab.record import Record, RecordBatch
from kafkalab.storage import PartitionLog
from kafkalab.storage.retention import enforce_retention

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def batch_at(ts: int, n: int = 1, key: bytes | None = None, value_size: int = 20
             ) -> RecordBatch:
    return RecordBatch([Record(i, ts, key, b"v" * value_size, []) for i in range(n)])


def bases(log: PartitionLog) -> list[int]:
    return [s.base_offset for s in log.segments()]


# --- rolling -------------------------------------------------------------------------------------


def test_a_time_roll_waits_segment_ms_less_this_segments_jitter_from_the_rng():
    jitter = random.Random(7).randrange(HOUR_MS // 2)   # the draw the log will make
    log, _, events = make_log(rng=random.Random(7), segment_ms=HOUR_MS,
                              segment_jitter_ms=HOUR_MS // 2)
    append(log, batch_at(T0))
    append(log, batch_at(T0 + HOUR_MS - jitter))         # exactly segment.ms - jitter: stays
    assert bases(log) == [0]
    append(log, batch_at(T0 + HOUR_MS - jitter + 1))
    assert bases(log) == [0, 2]
    [why] = events.texts("segment.rolled")
    assert "more than segment.ms=3600000 (1 h) less this segment's random jitter of" in why
    assert "(segment.jitter.ms=1800000)" in why


def test_each_segment_draws_its_own_jitter_below_segment_ms():
    """Kafka draws from [0, min(segment.jitter.ms, segment.ms)) for every new segment."""
    draws = random.Random(3)
    first, second = draws.randrange(HOUR_MS), draws.randrange(HOUR_MS)
    log, _, _ = make_log(rng=random.Random(3), segment_ms=HOUR_MS, segment_jitter_ms=DAY_MS)
    append(log, batch_at(T0))
    append(log, batch_at(T0 + HOUR_MS - first + 1))      # rolls: the second segment starts
    start = T0 + HOUR_MS - first + 1
    append(log, batch_at(start + HOUR_MS - second))      # its own jitter: not yet
    assert bases(log) == [0, 1]
    append(log, batch_at(start + HOUR_MS - second + 1))
    assert bases(log) == [0, 1, 3]


def rolled_bases(seed: int) -> list[int]:
    cluster = Cluster(seed=seed)
    cluster.create_topic("clicks", config={"segment.ms": HOUR_MS,
                                           "segment.jitter.ms": HOUR_MS})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for _ in range(40):
        producer.send("clicks", b"click").get(timeout=10)
        cluster.advance(minutes=10)
    layout = [s.base_offset for s in cluster.partition("clicks", 0).leader_log.segments()]
    cluster.close()
    return layout


def test_the_jitter_is_the_same_for_the_same_seed():
    layouts = {seed: rolled_bases(seed) for seed in (0, 1, 2)}
    assert rolled_bases(0) == layouts[0]
    assert len(set(map(tuple, layouts.values()))) > 1    # the draws depend on the seed


def test_without_timestamps_a_segment_rolls_by_its_age():
    """A batch without timestamps (-1, an old message format a follower copied) cannot be
    aged by its records: Kafka falls back to how long the segment has existed."""
    log, clock, events = make_log(segment_ms=HOUR_MS)
    for base in (0, 1):
        batch = batch_at(-1)
        batch.assign(base, 0)
        log.append_as_follower(batch)
        clock.advance_to(T0 + HOUR_MS + 1)
    assert bases(log) == [0, 1]
    assert "the segment is 1 h old, more than segment.ms=3600000" in events.texts(
        "segment.rolled")[0]


def test_a_compacted_topic_rolls_by_a_smaller_max_compaction_lag_ms():
    log, _, events = make_log(cleanup_policy="compact", max_compaction_lag_ms=HOUR_MS)
    append(log, batch_at(T0, key=b"user1"))
    append(log, batch_at(T0 + HOUR_MS + 1, key=b"user1"))
    assert bases(log) == [0, 1]
    assert "more than max.compaction.lag.ms=3600000 (1 h)" in events.texts("segment.rolled")[0]
    log, _, _ = make_log(max_compaction_lag_ms=HOUR_MS)  # a delete-only topic ignores it
    append(log, batch_at(T0))
    append(log, batch_at(T0 + HOUR_MS + 1))
    assert bases(log) == [0]


def test_a_full_time_index_rolls_the_segment():
    """segment.index.bytes=24: two 12-byte time-index entries. With index.interval.bytes=0
    every batch after the first adds an entry; a growing timestamp adds a time entry."""
    log, _, events = make_log(segment_index_bytes=24, index_interval_bytes=0)
    for i in range(4):
        append(log, batch_at(T0 + i))
    assert [(s.base_offset, s.offset_index_entries, s.time_index_entries)
            for s in log.segments()] == [(0, 2, 2), (3, 0, 0)]
    assert events.texts("segment.rolled") == [
        "orders-0 rolled a new segment at offset 3: its time index is full: 2 entries of 12 "
        "bytes fill segment.index.bytes=24"]


def test_a_full_offset_index_rolls_the_segment():
    """Records with one timestamp add a single time-index entry: the offset index (3 entries
    of 8 bytes in 24) fills first."""
    log, _, events = make_log(segment_index_bytes=24, index_interval_bytes=0)
    for _ in range(5):
        append(log, batch_at(T0))
    assert [(s.base_offset, s.offset_index_entries) for s in log.segments()] == [(0, 3), (4, 0)]
    assert "its offset index is full: 3 entries of 8 bytes" in events.texts("segment.rolled")[0]


def test_the_sparse_indexes_still_find_every_offset_and_time():
    """Reads and ListOffsets by time start from the last index entry before what they look
    for and scan on: out-of-order timestamps included, they find what a full scan finds."""
    log, _, _ = make_log(index_interval_bytes=150)
    stamps = [T0 + (i * 37) % 300 for i in range(30)]     # two records a batch, out of order
    for ts in stamps:
        append(log, batch_at(ts, n=2))
    [segment] = log.segments()
    assert 0 < segment.offset_index_entries < 29
    for offset in range(60):
        assert log.read(offset, 1)[0].base_offset == offset - offset % 2
    for target in range(T0 - 5, T0 + 305, 3):
        expected = next(((2 * i, ts) for i, ts in enumerate(stamps) if ts >= target), None)
        assert log.offset_for_timestamp(target) == expected


# --- retention of one log ------------------------------------------------------------------------


def daily_log(days: int, **configs):
    """A log with one segment per day (records at T0 + d days), the clock at the last day."""
    log, clock, events = make_log(segment_ms=DAY_MS - 1, **configs)
    for day in range(days):
        clock.advance_to(T0 + day * DAY_MS)
        append(log, batch_at(T0 + day * DAY_MS, n=2, value_size=100))
    return log, clock, events


def test_one_check_deletes_by_size_then_by_time():
    log, clock, events = daily_log(6, retention_ms=3 * DAY_MS)
    per_segment = log.segments()[0].size_bytes
    log.config.alter({"retention.bytes": 4 * per_segment})   # two of six segments too many
    clock.advance_to(T0 + 6 * DAY_MS)                        # days 0-2 are older than 3 days
    assert enforce_retention(log, clock.now_ms()) == 6
    deleted = events.texts("retention.deleted")
    assert "2 segment(s) with 4 record(s): the partition holds" in deleted[0]
    assert "1 segment(s) with 2 record(s): their newest record is older than " \
           "retention.ms=259200000 (3 days)" in deleted[1]
    assert bases(log) == [6, 8, 10] and log.log_start_offset == 6


def test_minus_one_means_unlimited():
    log, clock, _ = daily_log(5, retention_ms=-1, retention_bytes=-1)
    clock.advance_to(T0 + 400 * DAY_MS)
    assert enforce_retention(log, clock.now_ms()) == 0
    assert log.log_start_offset == 0 and len(log.segments()) == 5


def test_compact_delete_topics_are_deleted_by_time_too():
    log, clock, _ = make_log(cleanup_policy="compact,delete", retention_ms=DAY_MS,
                             segment_ms=HOUR_MS)
    append(log, batch_at(T0, key=b"user1"))
    append(log, batch_at(T0 + 2 * HOUR_MS, key=b"user2"))
    clock.advance_to(T0 + DAY_MS + HOUR_MS)
    assert enforce_retention(log, clock.now_ms()) == 1
    assert log.log_start_offset == 1


def test_an_empty_active_segment_is_never_deleted():
    log, clock, _ = daily_log(3, retention_bytes=0)
    assert enforce_retention(log, clock.now_ms()) == 6        # everything: a fresh segment
    assert [(s.base_offset, s.empty) for s in log.segments()] == [(6, True)]
    clock.advance_to(T0 + 30 * DAY_MS)
    assert enforce_retention(log, clock.now_ms()) == 0        # the empty one stays
    assert [(s.base_offset, s.empty) for s in log.segments()] == [(6, True)]


def test_a_segment_goes_only_if_everything_up_to_the_next_segment_is_committed():
    """After compaction a segment can end in a gap: Kafka judges it by where the next segment
    starts, so the log start offset never passes the high watermark."""
    log, clock, _ = make_log(retention_ms=DAY_MS, segment_bytes=2 * batch_at(T0).size_in_bytes)
    for _ in range(6):
        append(log, batch_at(T0), commit=False)               # [0 1] [2 3] [4 5]
    first = next(log.batches())
    log.replace_segments([0], [(0, [first])])                 # offset 1 cleaned away
    log.high_watermark = 1                                    # offsets 0..0 committed
    clock.advance_to(T0 + 2 * DAY_MS)
    assert enforce_retention(log, clock.now_ms()) == 0
    log.high_watermark = 2
    assert enforce_retention(log, clock.now_ms()) == 1
    assert log.log_start_offset == 2 <= log.high_watermark


# --- the lesson's commands through the admin client ----------------------------------------------


def topic_config(name: str, configs) -> ConfigResource:
    return ConfigResource(ConfigResourceType.TOPIC, name, configs)


def test_lesson_retention_ms_seven_days_through_incremental_alter_configs(cluster):
    """kafka-configs --alter --entity-name orders --add-config retention.ms=604800000, then
    ten days of orders, one segment a day: what is older than 7 days goes, the rest stays."""
    cluster.create_topic("orders", partitions=1, config={"segment.ms": DAY_MS // 2})
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    assert admin.alter_configs([topic_config("orders", {"retention.ms": "604800000"})],
                               incremental=True) == {"topic": {"orders": "OK"}}
    described = admin.describe_configs([topic_config("orders", None)])["topic"]["orders"]
    assert (described["retention.ms"]["value"],
            described["retention.ms"]["config_source"]) == ("604800000", "DYNAMIC_TOPIC_CONFIG")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    sent = []
    for day in range(10):
        for i in range(2):
            sent.append(producer.send("orders", b"day %d order %d" % (day, i)).get(timeout=10))
        cluster.advance(days=1)
    cluster.advance(hours=1)                                  # day 3 is now 7 days 1 h old
    now = cluster.now_ms()
    p = cluster.partition("orders", 0)
    young = [m.offset for m in sent if now - m.timestamp <= 7 * DAY_MS]
    assert p.log_start_offset == young[0] == 8                # days 0-3 are gone, whole segments
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("orders", 0)])
    assert [m.offset for m in consumer] == young
    deleted = cluster.events.of_kind("retention.deleted")
    assert all("older than retention.ms=604800000 (7 days)" in e.text for e in deleted)
    cluster.advance(days=7)                                   # fast-forward 7 days: all of it
    assert p.log_start_offset == p.log_end_offset == 20
    assert [s.empty for s in p.leader_log.segments()] == [True]


def test_lesson_retention_bytes_ten_gib_through_alter_configs(cluster):
    """kafka-configs --add-config retention.bytes=10737418240: a 10 GiB cap per partition
    deletes nothing at lab sizes; a cap of 3000 bytes deletes the oldest segments."""
    cluster.create_topic("clicks", partitions=1, config={"segment.bytes": 1000})
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.alter_configs([topic_config("clicks", {"retention.bytes": "10737418240"})],
                        incremental=False)                    # AlterConfigs (replaces all)
    described = admin.describe_configs([topic_config("clicks", None)])["topic"]["clicks"]
    assert {k: (v["value"], v["config_source"]) for k, v in described.items()} == {
        "retention.bytes": ("10737418240", "DYNAMIC_TOPIC_CONFIG"),
        "segment.bytes": ("1000", "DYNAMIC_TOPIC_CONFIG")}   # kept: the client sent it again
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(100):
        producer.send("clicks", b"click %03d " % i + b"x" * 80).get(timeout=10)
    p = cluster.partition("clicks", 0)
    cluster.advance(minutes=10)
    assert p.log_start_offset == 0 and cluster.events.of_kind("retention.deleted") == []
    admin.alter_configs([topic_config("clicks", {"retention.bytes": "3000"})], incremental=True)
    cluster.advance(minutes=5)
    log = p.leader_log
    assert 3000 <= log.size_bytes < 3000 + log.segments()[0].size_bytes
    assert p.log_start_offset == log.segments()[0].base_offset > 0
    [deleted] = cluster.events.of_kind("retention.deleted")
    assert "retention.bytes=3000" in deleted.text


def test_retention_runs_every_log_retention_check_interval_ms():
    cluster = Cluster(config={"log.retention.check.interval.ms": MINUTE_MS})
    cluster.create_topic("orders", config={"retention.ms": HOUR_MS, "segment.ms": 1000})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    old = producer.send("orders", b"old").get(timeout=10)
    cluster.advance(minutes=30)
    producer.send("orders", b"new").get(timeout=10)           # rolls: "old" is closed
    cluster.advance(ms=old.timestamp + HOUR_MS - cluster.now_ms())
    assert cluster.partition("orders", 0).log_start_offset == 0   # exactly 1 h old: kept
    cluster.advance(minutes=1)                                # the next check, a minute later
    [deleted] = cluster.events.of_kind("retention.deleted")
    assert cluster.partition("orders", 0).log_start_offset == 1
    assert 0 < deleted.time_ms - (old.timestamp + HOUR_MS) <= MINUTE_MS
    cluster.close()


# --- followers and the leader's log start offset -------------------------------------------------


def test_a_follower_takes_the_leaders_log_start_offset_before_its_own_retention_runs(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3,
                          config={"retention.ms": DAY_MS, "segment.ms": HOUR_MS})
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks="all")
    for _ in range(3):
        producer.send("orders", b"old").get(timeout=10)
    cluster3.advance(hours=2)
    producer.send("orders", b"new").get(timeout=10)          # rolls: the old segment closes
    p = cluster3.partition("orders", 0)
    follower = next(b for b in p.replicas if b != p.leader)
    cluster3.kill_broker(follower)
    cluster3.advance(hours=23)                               # the others delete "old"
    assert p.log_start_offset == 3 and p.logs[follower].log_start_offset == 0
    cluster3.restart_broker(follower)
    cluster3.advance(seconds=5)                              # fetches, before its own check
    log = p.logs[follower]
    assert log.log_start_offset == 3
    assert log.segments()[0].base_offset == 0                # its segments go at its next check
    cluster3.advance(minutes=5)
    assert [s.base_offset for s in log.segments()] == [3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_followers_take_a_log_start_offset_retention_moved_on_the_leader(seed):
    """With segment.jitter.ms each replica cuts its own segments, so retention deletes
    different amounts on each. A follower behind the leader takes the leader's log start offset
    from the answer to its waiting fetch, even with nothing new to copy."""
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic("clicks", partitions=1, replication_factor=3, config={
        "segment.ms": HOUR_MS, "segment.jitter.ms": HOUR_MS, "retention.ms": 10 * HOUR_MS})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    for _ in range(30):
        producer.send("clicks", b"click").get(timeout=10)
        cluster.advance(minutes=20)
    p = cluster.partition("clicks", 0)
    cluster.advance(hours=3)                                  # nothing produced since
    leader_start = p.log_start_offset
    assert leader_start > 0
    assert all(log.log_start_offset >= leader_start for log in p.logs.values())
    cluster.close()
