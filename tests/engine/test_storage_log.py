"""PartitionLog: segments, indexes, positions, reads and retention (Kafka's UnifiedLog/LocalLog).

The log is read through its public seam only — positions, ``read``, ``batches()`` and the
segment snapshots of ``segments()`` — so the tests hold for any storage backend.

Scenarios from the lesson's "Offsets" and "Retention и Compaction" sections: offsets 0, 1, 2 ... per
partition; a consumer reads from any offset still kept; after ``retention.ms`` whole old segments
disappear and the log start offset moves forward.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_helpers import T0, append, make_log, stored_records
from kafkalab import KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.errors import OffsetOutOfRangeError, RecordTooLargeError
from kafkalab.record import Record, RecordBatch
from kafkalab.storage.index import OffsetIndex
from kafkalab.storage.retention import enforce_retention

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def batch_of(n: int, value_size: int = 20, ts: int = T0, key: bytes | None = None) -> RecordBatch:
    return RecordBatch([Record(i, ts, key, b"v" * value_size, []) for i in range(n)])


# --- positions ---------------------------------------------------------------------------------


def test_a_new_log_is_empty_at_offset_zero():
    log, _, _ = make_log()
    assert (log.log_start_offset, log.high_watermark, log.log_end_offset) == (0, 0, 0)
    assert len(log.segments()) == 1 and log.size_bytes == 0


def test_offsets_are_assigned_densely_batch_after_batch():
    log, _, _ = make_log()
    assert append(log, batch_of(3)) == 0
    assert append(log, batch_of(1)) == 3
    assert append(log, batch_of(5)) == 4
    assert log.log_end_offset == 9
    assert [(b.base_offset, b.last_offset) for b in log.batches()] == [(0, 2), (3, 3), (4, 8)]


def test_the_high_watermark_is_moved_by_the_leader_not_by_the_log():
    log, _, _ = make_log()
    append(log, batch_of(4), commit=False)
    assert log.log_end_offset == 4 and log.high_watermark == 0
    # consumers only see what is below the high watermark
    assert log.read(0, 10**6) == []
    assert len(log.read(0, 10**6, upper_offset=log.log_end_offset)) == 1
    log.high_watermark = 4
    assert [b.base_offset for b in log.read(0, 10**6)] == [0]


# --- segments ----------------------------------------------------------------------------------


def test_segments_roll_when_segment_bytes_would_be_exceeded():
    one = batch_of(1).size_in_bytes
    log, _, events = make_log(segment_bytes=3 * one)
    for _ in range(7):
        append(log, batch_of(1))
    assert [s.base_offset for s in log.segments()] == [0, 3, 6]
    assert [s.batch_count for s in log.segments()] == [3, 3, 1]
    assert all(s.size_bytes <= 3 * one for s in log.segments())
    rolled = [(text, data) for kind, text, data in events if kind == "segment.rolled"]
    assert [d["base_offset"] for _, d in rolled] == [3, 6]
    assert f"would exceed segment.bytes={3 * one}" in rolled[0][0]


def test_a_batch_larger_than_segment_bytes_gets_a_segment_of_its_own():
    log, _, _ = make_log(segment_bytes=100)
    append(log, batch_of(1, value_size=10))
    append(log, batch_of(1, value_size=500))
    append(log, batch_of(1, value_size=10))
    assert [s.base_offset for s in log.segments()] == [0, 1, 2]


def test_segments_roll_by_segment_ms_counted_on_record_timestamps():
    """Kafka's rule: a batch more than segment.ms newer than the active segment's first batch
    goes to a new segment; with timestamps in the records the broker's clock plays no part."""
    log, clock, events = make_log(segment_ms=HOUR_MS)
    append(log, batch_of(2, ts=T0))
    append(log, batch_of(2, ts=T0 + HOUR_MS))            # exactly segment.ms: not more
    clock.advance_to(T0 + 5 * HOUR_MS)
    append(log, batch_of(1, ts=T0 + HOUR_MS))
    assert len(log.segments()) == 1
    append(log, batch_of(2, ts=T0 + HOUR_MS + 1))
    assert [s.base_offset for s in log.segments()] == [0, 5]
    assert ("this batch is 1 h newer than the segment's first batch, more than "
            "segment.ms=3600000 (1 h)") in events[-1][1]
    append(log, batch_of(1, ts=T0 + 2 * HOUR_MS + 1))    # the new segment counts from its own
    assert len(log.segments()) == 2


def test_offset_index_is_sparse_and_finds_the_batch_holding_an_offset():
    index = OffsetIndex()                        # entries: a batch's last offset -> position
    for last_offset, position in ((5, 2), (11, 4)):
        index.append(last_offset, position)
    assert [index.lookup(o) for o in (0, 4, 5, 10, 11, 99)] == [0, 0, 2, 2, 4, 4]
    one = batch_of(3).size_in_bytes
    log, _, _ = make_log(index_interval_bytes=2 * one)
    for _ in range(9):
        append(log, batch_of(3, ts=T0))
    # Kafka's rule: an entry once more than index.interval.bytes came since the last one
    # (batches 3 and 6); the time index adds one only when the largest timestamp grew
    [segment] = log.segments()
    assert (segment.offset_index_entries, segment.time_index_entries) == (2, 1)
    for offset in range(27):
        batch = log.read(offset, 1)[0]
        assert batch.base_offset <= offset <= batch.last_offset
    log, _, _ = make_log(segment_bytes=4 * batch_of(3).size_in_bytes)
    for n in (3, 3, 3, 3, 3, 3):
        append(log, batch_of(n))
    assert [(s.base_offset, s.batch_count) for s in log.segments()] == [(0, 4), (12, 2)]
    for offset in range(18):
        batch = log.read(offset, 1)[0]  # max_bytes=1: still one whole batch
        assert batch.base_offset <= offset <= batch.last_offset


def test_read_returns_whole_batches_from_the_one_holding_the_offset():
    log, _, _ = make_log()
    for _ in range(4):
        append(log, batch_of(5))  # offsets 0-4, 5-9, 10-14, 15-19
    batches = log.read(7, 10**6)
    assert [b.base_offset for b in batches] == [5, 10, 15]
    assert batches[0].records[0].offset_delta == 0  # the whole batch, from offset 5


def test_read_is_bounded_by_max_bytes_but_returns_at_least_one_batch():
    log, _, _ = make_log()
    for _ in range(4):
        append(log, batch_of(5, value_size=100))
    size = next(log.batches()).size_in_bytes
    assert len(log.read(0, 1)) == 1
    assert len(log.read(0, size)) == 1
    assert len(log.read(0, 2 * size)) == 2
    assert len(log.read(0, 2 * size + size // 2)) == 2
    assert len(log.read(0, 10 * size)) == 4


@pytest.mark.parametrize("offset", [-1, 11, 1000])
def test_reads_outside_the_log_raise_offset_out_of_range_with_the_numbers(offset):
    log, _, _ = make_log()
    append(log, batch_of(10))
    with pytest.raises(OffsetOutOfRangeError) as info:
        log.read(offset, 1000)
    message = str(info.value)
    assert f"Offset {offset} is out of range for orders-0" in message
    assert "log start offset 0" in message and "log end offset 10" in message


def test_out_of_range_on_an_emptied_log_says_it_holds_nothing():
    log, clock, _ = make_log(retention_ms=1000)
    append(log, batch_of(3))
    clock.advance_to(T0 + 2000)
    enforce_retention(log, clock.now_ms())
    with pytest.raises(OffsetOutOfRangeError) as info:
        log.read(0, 1000)
    assert str(info.value).endswith(
        "Offset 0 is out of range for orders-0: the log holds no records (log start offset 3, "
        "log end offset 3); valid fetch offsets are 3..3")


def test_truncate_to_removes_whole_batches_across_segments():
    log, _, _ = make_log(segment_bytes=2 * batch_of(2).size_in_bytes)
    for _ in range(5):
        append(log, batch_of(2))          # batches 0-1, 2-3 | 4-5, 6-7 | 8-9
    assert [s.base_offset for s in log.segments()] == [0, 4, 8]
    log.truncate_to(6)                    # a follower truncating to its new leader's end
    assert log.log_end_offset == 6 and log.high_watermark == 6
    assert [s.base_offset for s in log.segments()] == [0, 4]
    assert append(log, batch_of(3)) == 6  # appends continue at the new end
    assert [b.base_offset for b in log.read(5, 10**6)] == [4, 6]
    assert log.offset_for_timestamp(T0) == (0, T0)


def test_reading_at_the_log_end_offset_is_fine_and_empty():
    log, _, _ = make_log()
    append(log, batch_of(10))
    assert log.read(10, 1000) == []


def test_offsets_for_times_uses_the_time_index():
    log, clock, _ = make_log(segment_bytes=2 * batch_of(2).size_in_bytes)
    for i in range(6):  # batches at T0, T0+1000, ...; two records each
        append(log, RecordBatch([Record(0, T0 + 1000 * i, None, b"v", []),
                                 Record(1, T0 + 1000 * i + 10, None, b"v", [])]))
    assert len(log.segments()) == 3
    assert log.offset_for_timestamp(0) == (0, T0)
    assert log.offset_for_timestamp(T0 + 5) == (1, T0 + 10)
    assert log.offset_for_timestamp(T0 + 2500) == (6, T0 + 3000)
    assert log.offset_for_timestamp(T0 + 5010) == (11, T0 + 5010)
    assert log.offset_for_timestamp(T0 + 5011) is None
    # not above the high watermark
    log.high_watermark = 4
    assert log.offset_for_timestamp(T0 + 2500) is None


def test_a_refused_batch_leaves_the_log_unchanged():
    log, _, _ = make_log(max_message_bytes=200)
    append(log, batch_of(2))
    before = (log.log_end_offset, log.size_bytes, [b.base_offset for b in log.batches()])
    too_big = batch_of(1, value_size=500)
    with pytest.raises(RecordTooLargeError, match=r"larger than max\.message\.bytes=200"):
        log.append_as_leader(too_big, 0)
    assert (log.log_end_offset, log.size_bytes, [b.base_offset for b in log.batches()]) == before
    assert too_big.base_offset == 0  # not even the batch was touched


# --- the log start offset (DeleteRecords) ------------------------------------------------------


def test_the_log_start_offset_moves_forward_up_to_the_high_watermark_only():
    log, _, _ = make_log(segment_bytes=2 * batch_of(2).size_in_bytes)
    for epoch in (0, 0, 1, 1):                 # [0-1 2-3] [4-5 6-7]; epoch 1 from offset 4
        log.append_as_leader(batch_of(2), leader_epoch=epoch)
    log.high_watermark = 6
    assert log.epochs.entries == [(0, 0), (1, 4)]
    assert log.maybe_increment_log_start_offset(3)
    assert not log.maybe_increment_log_start_offset(2)   # never backwards
    assert log.log_start_offset == 3 and log.epochs.entries == [(0, 3), (1, 4)]
    with pytest.raises(OffsetOutOfRangeError, match="beyond the high watermark 6"):
        log.maybe_increment_log_start_offset(7)
    assert log.log_start_offset == 3
    # the batch 2-3 holds the log start offset: it stays whole, offset 2 is gone for readers
    assert [b.base_offset for b in log.batches()] == [2, 4, 6]
    assert log.record_count == 5
    with pytest.raises(OffsetOutOfRangeError, match="log start offset 3"):
        log.read(2, 1000)
    assert log.read(3, 1000)[0].base_offset == 2
    assert log.offset_for_timestamp(T0) == (3, T0)
    assert log.maybe_increment_log_start_offset(5)
    assert log.epochs.entries == [(1, 5)]


def test_retention_deletes_the_segments_wholly_below_the_log_start_offset():
    log, clock, events = make_log(segment_bytes=2 * batch_of(2).size_in_bytes)
    for _ in range(5):
        append(log, batch_of(2))               # [0-1 2-3] [4-5 6-7] [8-9]
    log.maybe_increment_log_start_offset(5)
    assert enforce_retention(log, clock.now_ms()) == 4
    assert [s.base_offset for s in log.segments()] == [4, 8]
    kind, text, _ = events[-1]
    assert kind == "retention.deleted"
    assert text == ("orders-0 deleted 1 segment(s) with 4 record(s): they hold only offsets "
                    "below the log start offset 5 (records deleted by DeleteRecords); log start "
                    "offset stays 5")
    assert enforce_retention(log, clock.now_ms()) == 0   # 4-5 holds offset 5: it stays


# --- retention ---------------------------------------------------------------------------------


def test_retention_by_time_deletes_whole_closed_segments():
    log, clock, events = make_log(segment_ms=DAY_MS, retention_ms=2 * DAY_MS)
    append(log, batch_of(3, ts=T0))                      # segment [0..2] of day 0
    clock.advance_to(T0 + DAY_MS + 1)
    append(log, batch_of(3, ts=T0 + DAY_MS + 1))         # segment [3..5] of day 1
    clock.advance_to(T0 + 2 * DAY_MS + 1)
    assert enforce_retention(log, clock.now_ms()) == 3   # day 0 is older than 2 days
    assert log.log_start_offset == 3
    assert [s.base_offset for s in log.segments()] == [3]
    kind, text, data = events[-1]
    assert kind == "retention.deleted" and data["records"] == 3
    assert "older than retention.ms=172800000" in text and "log start offset 0 -> 3" in text
    with pytest.raises(OffsetOutOfRangeError, match="log start offset 3"):
        log.read(0, 1000)
    assert enforce_retention(log, clock.now_ms()) == 0   # day 1 is not old enough yet


def test_retention_by_time_also_takes_the_active_segment_rolling_a_fresh_one():
    log, clock, events = make_log(retention_ms=DAY_MS)
    append(log, batch_of(5))
    clock.advance_to(T0 + DAY_MS + 1)
    assert enforce_retention(log, clock.now_ms()) == 5
    assert (log.log_start_offset, log.high_watermark, log.log_end_offset) == (5, 5, 5)
    assert len(log.segments()) == 1 and log.segments()[0].empty
    assert append(log, batch_of(1)) == 5  # offsets never restart


def test_retention_never_deletes_records_above_the_high_watermark():
    log, clock, _ = make_log(retention_ms=DAY_MS)
    append(log, batch_of(5), commit=False)
    clock.advance_to(T0 + 2 * DAY_MS)
    assert enforce_retention(log, clock.now_ms()) == 0
    assert log.log_start_offset == 0


def test_retention_by_bytes_keeps_at_least_retention_bytes():
    size = batch_of(1, value_size=100).size_in_bytes
    log, clock, events = make_log(segment_bytes=2 * size, retention_bytes=3 * size)
    for _ in range(10):
        append(log, batch_of(1, value_size=100))   # 5 segments of 2 batches
    assert len(log.segments()) == 5
    removed = enforce_retention(log, clock.now_ms())
    assert removed == 6
    assert log.size_bytes == 4 * size >= 3 * size
    assert log.log_start_offset == 6
    assert "retention.bytes=%d" % (3 * size) in events[-1][1]


def test_compacted_topics_are_not_deleted_by_retention():
    log, clock, _ = make_log(retention_ms=1000, cleanup_policy="compact")
    append(log, batch_of(5, key=b"k"))
    clock.advance_to(T0 + DAY_MS)
    assert enforce_retention(log, clock.now_ms()) == 0


def test_a_week_of_retention_in_the_cluster(cluster):
    """The lesson's default: events are kept for 7 days (retention.ms=604800000)."""
    cluster.create_topic("orders", partitions=1, config={"segment.ms": str(DAY_MS)})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for day in range(4):
        for i in range(3):
            producer.send("orders", value=b"day %d order %d" % (day, i))
        producer.flush()
        cluster.advance(days=1)
    p = cluster.topic("orders").partitions[0]
    assert (p.log_start_offset, p.log_end_offset) == (0, 12)
    assert len(p.leader_log.segments()) == 4
    cluster.advance(days=3, hours=23)   # day 0's records are now a bit over 7 days old
    assert p.log_start_offset == 3
    cluster.advance(days=1)
    assert p.log_start_offset == 6
    deleted = cluster.events.of_kind("retention.deleted")
    assert [e.data["log_start_offset"] for e in deleted] == [3, 6]
    assert "newest record is older than retention.ms=604800000" in deleted[0].text
    assert "log start offset 0 -> 3" in deleted[0].text
    # the check runs every log.retention.check.interval.ms = 5 minutes of simulated time
    first_eligible = T0 + 7 * DAY_MS + 1   # day 0's newest record was written at T0
    assert first_eligible <= deleted[0].time_ms <= first_eligible + 300_000
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("orders", 0)])
    assert [m.value for m in consumer][0] == b"day 2 order 0"
    assert [o for _, o, _, _ in stored_records(cluster, "orders")] == list(range(6, 12))


def test_retention_bytes_in_the_cluster(cluster):
    """kafka-configs --add-config retention.bytes=... : a size cap per partition."""
    cluster.create_topic("clicks", config={"segment.bytes": "1000", "retention.bytes": "3000"})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(100):
        producer.send("clicks", value=b"click %03d " % i + b"x" * 80).get(timeout=10)
    p = cluster.partition("clicks", 0)
    log = p.leader_log
    assert log.size_bytes > 3000 and p.log_start_offset == 0
    cluster.advance(minutes=5)   # the next retention check
    first = log.segments()[0]
    assert 3000 <= log.size_bytes < 3000 + first.size_bytes
    assert p.log_start_offset == first.base_offset > 0
    [deleted] = cluster.events.of_kind("retention.deleted")
    assert "retention.bytes=3000" in deleted.text
    assert f"log start offset 0 -> {p.log_start_offset}" in deleted.text
    cluster.advance(days=1)      # already within the cap: nothing more goes
    assert len(cluster.events.of_kind("retention.deleted")) == 1


# --- property: the log's invariants hold for any sequence of appends ---------------------------


@st.composite
def append_plans(draw):
    segment_bytes = draw(st.integers(80, 2000))
    batches = draw(st.lists(
        st.tuples(st.integers(1, 8),                      # records in the batch
                  st.integers(0, 120),                    # value size
                  st.integers(0, 50_000),                 # ms since the previous batch
                  st.booleans()),                         # committed (HW moves) afterwards
        min_size=1, max_size=40))
    return segment_bytes, batches


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=append_plans(), max_bytes=st.integers(1, 3000), segment_ms=st.integers(1, 100_000))
def test_property_offsets_dense_hw_below_leo_every_record_read_exactly_once(plan, max_bytes,
                                                                          segment_ms):
    segment_bytes, batches = plan
    log, clock, _ = make_log(segment_bytes=segment_bytes, segment_ms=segment_ms)
    expected = []   # (offset, value) in append order
    for n, size, wait_ms, commit in batches:
        clock.advance_to(clock.now_ms() + wait_ms)
        leo = log.log_end_offset
        values = [b"%d:" % (leo + i) + b"x" * size for i in range(n)]
        batch = RecordBatch([Record(i, clock.now_ms(), None, v, []) for i, v in enumerate(values)])
        assert log.append_as_leader(batch, 0) == leo
        expected += [(leo + i, v) for i, v in enumerate(values)]
        if commit:
            log.high_watermark = log.log_end_offset
        assert log.log_start_offset <= log.high_watermark <= log.log_end_offset
    log.high_watermark = log.log_end_offset

    # offsets are dense and increase strictly, across batches and segments
    stored = [b.base_offset + r.offset_delta for b in log.batches() for r in b.records]
    assert stored == list(range(log.log_end_offset))
    segments = log.segments()
    bases = [s.base_offset for s in segments]
    assert bases == sorted(set(bases)) and bases[0] == 0
    for seg, nxt in zip(segments, segments[1:]):
        assert seg.next_offset == nxt.base_offset
    assert sum(s.batch_count for s in segments) == len(list(log.batches()))
    assert sum(s.record_count for s in segments) == log.record_count == log.log_end_offset
    assert log.size_bytes == sum(s.size_bytes for s in segments) == sum(
        b.size_in_bytes for b in log.batches())

    # paging with read() hands out every record exactly once, in offset order
    seen, offset = [], 0
    while offset < log.high_watermark:
        page = log.read(offset, max_bytes)
        assert page, f"read({offset}) returned nothing below the high watermark"
        assert page[0].base_offset <= offset <= page[0].last_offset
        assert sum(b.size_in_bytes for b in page[1:]) + page[0].size_in_bytes <= max(
            max_bytes, page[0].size_in_bytes)
        for b in page:
            for r in b.records:
                if b.base_offset + r.offset_delta >= offset:
                    seen.append((b.base_offset + r.offset_delta, r.value))
        offset = page[-1].next_offset
    assert seen == expected
