"""The log cleaner (Kafka's LogCleaner): compacted topics keep the last record per key, through
the public API — Cluster, KafkaProducer, KafkaConsumer, KafkaAdminClient — and simulated time.
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafkalab.errors import InvalidRecordError
from kafkalab.record import RecordBatch

HOUR_MS = 3_600_000
USERS = "user1 user2 user1 user3 user2 user1".split()


def create(cluster: Cluster, name: str, rf: int = 1, **configs) -> KafkaAdminClient:
    """A one-partition topic made compacted as the lesson does it (kafka-configs --alter
    --add-config cleanup.policy=compact: kafka-python's alter_configs, which sends
    IncrementalAlterConfigs); segments roll after an hour unless ``configs`` say otherwise."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.create_topics([NewTopic(name, 1, rf)])
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, {
        "cleanup.policy": "compact", "segment.ms": str(HOUR_MS),
        **{k.replace("_", "."): str(v) for k, v in configs.items()}})])
    return admin


def send(cluster: Cluster, topic: str, pairs, **producer_config) -> list[int]:
    """Send (key, value) pairs one batch each; their offsets."""
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=0,
                             **producer_config)
    offsets = [producer.send(topic, key=None if k is None else k.encode(),
                             value=None if v is None else v.encode()).get(timeout=10).offset
               for k, v in pairs]
    producer.close()
    return offsets


def stored(cluster: Cluster, topic: str) -> list[tuple[int, str, str | None]]:
    """(offset, key, value) of the leader's records; a tombstone's value is None."""
    frame = cluster.records(topic)
    return [(o, k, v if isinstance(v, str) else None)
            for o, k, v in zip(frame["offset"], frame["key"], frame["value"])]


def consume(cluster: Cluster, topic: str, offset: int = 0) -> list[tuple[int, bytes, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, offset)
    return [(m.offset, m.key, m.value) for m in consumer]


def cleaned(cluster: Cluster) -> list:
    return cluster.events.of_kind("log.cleaned")


def roll(cluster: Cluster, topic: str, key: str = "roller") -> int:
    """Wait out segment.ms, then append one record: the active segment rolls (as in Kafka, a
    segment rolls on the append after its time is up); the record's offset."""
    cluster.advance(ms=HOUR_MS + 1)
    [offset] = send(cluster, topic, [(key, "r")])
    return offset


# --- the lesson ----------------------------------------------------------------------------------
def test_the_lessons_compaction_example(cluster):
    """Offsets 0-5, keys user1 user2 user1 user3 user2 user1 -> offsets 3, 4, 5 remain."""
    create(cluster, "user-profiles")
    assert send(cluster, "user-profiles", [(k, f"v{i}") for i, k in enumerate(USERS, 1)]) == \
        list(range(6))
    cluster.advance(hours=1)   # all six are in the active segment, which is never cleaned
    assert [o for o, _, _ in stored(cluster, "user-profiles")] == list(range(6))
    assert cleaned(cluster) == []
    assert list(cluster.describe_segments("user-profiles")["section"]) == ["active"]
    assert roll(cluster, "user-profiles") == 6
    assert list(cluster.describe_segments("user-profiles")["section"]) == ["dirty", "active"]
    cluster.advance(seconds=15)  # log.cleaner.backoff.ms: the cleaner looks again
    assert stored(cluster, "user-profiles")[:3] == [(3, "user3", "v4"), (4, "user2", "v5"),
                                                    (5, "user1", "v6")]
    assert consume(cluster, "user-profiles")[:3] == [
        (3, b"user3", b"v4"), (4, b"user2", b"v5"), (5, b"user1", b"v6")]
    [event] = cleaned(cluster)
    assert event.text == ("broker 1 cleaned user-profiles-0: 6 records -> 3, dirty ratio 1.00 > "
                          "min.cleanable.dirty.ratio 0.5")
    assert (event.data["records_before"], event.data["records_after"],
            event.data["topic"], event.data["partition"], event.data["broker"]) == (
        6, 3, "user-profiles", 0, 1)
    segments = cluster.describe_segments("user-profiles")
    assert list(segments["section"]) == ["clean", "active"]
    assert list(segments["records"]) == [3, 1]
    assert list(segments.columns) == ["base_offset", "next_offset", "records", "size_bytes",
                                      "created", "age", "largest_timestamp", "active",
                                      "section"]


def test_clean_asked_for_directly_runs_the_same_pass_whatever_the_ratio(cluster):
    create(cluster, "user-profiles", min_cleanable_dirty_ratio=1)
    send(cluster, "user-profiles", [(k, "v") for k in USERS])
    roll(cluster, "user-profiles")
    cluster.advance(minutes=1)
    assert cleaned(cluster) == []      # a ratio of 1.0 is never > 1
    cleaner = cluster.brokers[1].log_manager.cleaner
    log = cluster.partition("user-profiles", 0).leader_log
    stats = cleaner.clean(log)
    assert (stats.records_read, stats.records_written, stats.first_dirty_offset,
            stats.end_offset, stats.map_full) == (6, 3, 0, 6, False)
    assert cleaned(cluster)[0].text.endswith(
        "6 records -> 3, asked to (dirty ratio 1.00 <= min.cleanable.dirty.ratio 1)")
    again = cleaner.clean(log)          # nothing dirty now: the clean section is recopied
    assert (again.records_read, again.records_written, again.end_offset) == (3, 3, 6)
    assert cleaner.describe(log).first_dirty_offset == 6
    assert cleaner.clean_dirtiest() is None


def test_describe_says_why_the_active_segment_waits(cluster):
    create(cluster, "user-profiles")
    send(cluster, "user-profiles", [(k, "v") for k in USERS])
    log = cluster.partition("user-profiles", 0).leader_log
    state = cluster.brokers[1].log_manager.cleaner.describe(log)
    assert (state.first_dirty_offset, state.first_uncleanable_offset, state.dirty_bytes,
            state.cleanable_ratio, state.must_clean) == (0, 0, 0, 0.0, False)
    assert "active segment starts at offset 0" in state.uncleanable_reason
    roll(cluster, "user-profiles")
    state = cluster.brokers[1].log_manager.cleaner.describe(log)
    assert (state.first_dirty_offset, state.first_uncleanable_offset, state.clean_bytes) == (
        0, 6, 0)
    assert state.dirty_bytes == log.segments()[0].size_bytes and state.cleanable_ratio == 1.0


def test_the_checkpoint_follows_a_truncation_of_the_log(cluster):
    """Kafka's cleaner-offset-checkpoint: cut back when a replica truncates below it, reset to
    the log start offset when it lies outside the log."""
    create(cluster, "user-profiles")
    send(cluster, "user-profiles", [(k, "v") for k in USERS])
    roll(cluster, "user-profiles")
    cluster.advance(seconds=15)
    cleaner = cluster.brokers[1].log_manager.cleaner
    log = cluster.partition("user-profiles", 0).leader_log
    assert cleaner.describe(log).first_dirty_offset == 6
    log.truncate_to(4)          # as a follower truncating to a new leader's log
    assert cleaner.describe(log).first_dirty_offset == 4
    log.truncate_fully_and_start_at(10)
    assert cleaner.describe(log).first_dirty_offset == 10


# --- when a log is cleaned -----------------------------------------------------------------------
def test_min_compaction_lag_holds_records_back(cluster):
    create(cluster, "prices", min_compaction_lag_ms=2 * HOUR_MS)
    send(cluster, "prices", [("eur", "1"), ("eur", "2"), ("eur", "3")])
    roll(cluster, "prices")
    cluster.advance(minutes=5)
    assert len(stored(cluster, "prices")) == 4 and cleaned(cluster) == []
    frame = cluster.describe_segments("prices")
    assert list(frame["section"]) == ["uncleanable", "active"]
    log = cluster.partition("prices", 0).leader_log
    reason = cluster.brokers[1].log_manager.cleaner.describe(log).uncleanable_reason
    assert "newer than min.compaction.lag.ms=7200000 (2 h)" in reason
    cluster.advance(hours=1)
    assert [(o, v) for o, _, v in stored(cluster, "prices")] == [(2, "3"), (3, "r")]


def test_max_compaction_lag_forces_a_clean_under_the_ratio(cluster):
    create(cluster, "prices", min_cleanable_dirty_ratio=1, max_compaction_lag_ms=3 * HOUR_MS)
    send(cluster, "prices", [("eur", "1"), ("eur", "2")])
    roll(cluster, "prices")
    cluster.advance(minutes=30)   # a ratio of 1.0 is never > 1: only max.compaction.lag.ms
    assert cleaned(cluster) == []
    cluster.advance(hours=2)
    [event] = cleaned(cluster)
    assert "older than max.compaction.lag.ms=10800000 (3 h)" in event.text
    assert "whatever its dirty ratio 1.00" in event.text and event.data["must_clean"]
    assert [(o, v) for o, _, v in stored(cluster, "prices")] == [(1, "2"), (2, "r")]
    assert cluster.log_cleaner_metrics().loc[0, "max-compaction-delay-secs"] > 0


def test_a_tombstone_survives_delete_retention_ms_then_goes(cluster):
    create(cluster, "user-profiles", delete_retention_ms=3 * HOUR_MS,
           min_cleanable_dirty_ratio=0.01)
    send(cluster, "user-profiles", [("alice", "a1"), ("bob", "b1"), ("alice", None)])
    roll(cluster, "user-profiles", key="carol")
    cluster.advance(seconds=15)   # the first clean, at about 1 h: the delete horizon is 4 h
    # the delete is kept for consumers to see: alice's value is gone, her tombstone stays
    assert stored(cluster, "user-profiles")[:2] == [(1, "bob", "b1"), (2, "alice", None)]
    assert consume(cluster, "user-profiles")[:2] == [(1, b"bob", b"b1"), (2, b"alice", None)]
    cluster.advance(minutes=30)
    roll(cluster, "user-profiles", key="dave")     # more dirt: the cleaner runs at 2.5 h
    cluster.advance(seconds=15)
    assert (2, "alice", None) in stored(cluster, "user-profiles")   # horizon not passed yet
    cluster.advance(hours=1)
    roll(cluster, "user-profiles", key="erin")     # and at 4.5 h: past the horizon
    cluster.advance(seconds=15)
    # a consumer coming back now never learns that alice was deleted
    late = consume(cluster, "user-profiles")
    assert [k for _, k, _ in late] == [b"bob", b"carol", b"dave", b"erin"]
    assert len(cleaned(cluster)) == 3


def test_an_idempotent_producers_last_batch_stays_even_when_emptied(cluster):
    """As Kafka's cleaner: the last batch of each active idempotent producer is kept, empty
    if need be, so its sequence numbers survive; other emptied batches go."""
    create(cluster, "prices")
    send(cluster, "prices", [("eur", "a")])                                # idempotent: 0
    send(cluster, "prices", [("eur", "c")], enable_idempotence=False)     # plain: 1
    send(cluster, "prices", [("eur", "b")])                                # idempotent: 2
    roll(cluster, "prices")
    cluster.advance(seconds=15)
    batches = list(cluster.partition("prices", 0).leader_log.batches())
    assert [(b.base_offset, b.next_offset, b.record_count) for b in batches] == [
        (0, 1, 0), (2, 3, 1), (3, 4, 1)]
    assert batches[0].producer_id >= 0 and batches[0].base_sequence == 0
    assert consume(cluster, "prices") == [(2, b"eur", b"b"), (3, b"roller", b"r")]


def test_a_keyless_record_is_refused_by_a_compacted_topic(cluster):
    create(cluster, "user-profiles")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, retries=0)
    with pytest.raises(InvalidRecordError, match="Compacted topic cannot accept message "
                                                 "without key in topic partition "
                                                 "user-profiles-0"):
        producer.send("user-profiles", value=b"anonymous").get(timeout=10)
    assert InvalidRecordError.errno == 87
    assert cluster.partition("user-profiles", 0).log_end_offset == 0
    [refused] = cluster.events.of_kind("produce.rejected")
    assert "give every record a key" in refused.text


def test_compact_delete_compacts_and_deletes_old_segments(cluster):
    create(cluster, "sessions", cleanup_policy="compact,delete", retention_ms=24 * HOUR_MS)
    send(cluster, "sessions", [("s1", "1"), ("s1", "2"), ("s2", "1")])
    roll(cluster, "sessions")
    cluster.advance(seconds=15)
    assert [o for o, _, _ in stored(cluster, "sessions")] == [1, 2, 3]
    cluster.advance(hours=25)
    roll(cluster, "sessions", key="late")
    cluster.advance(minutes=10)   # log.retention.check.interval.ms
    assert [k for _, k, _ in stored(cluster, "sessions")] == ["late"]
    assert cluster.partition("sessions", 0).log_start_offset == 4


# --- who cleans --------------------------------------------------------------------------------
def test_every_replica_cleans_its_own_log_and_a_down_broker_cleans_nothing(cluster3):
    create(cluster3, "user-profiles", rf=3)
    send(cluster3, "user-profiles", [(k, "v") for k in USERS])
    roll(cluster3, "user-profiles")
    cluster3.advance(ms=100)  # the followers have everything
    p = cluster3.partition("user-profiles", 0)
    follower = next(b for b in p.replicas if b != p.leader)
    cluster3.kill_broker(follower)
    cluster3.advance(seconds=15)
    counts = {b: log.record_count for b, log in p.logs.items()}
    assert counts == {b: 7 if b == follower else 4 for b in p.replicas}
    assert len(cleaned(cluster3)) == 1   # the replicas report once, as one partition
    assert list(cluster3.describe_segments("user-profiles", broker=follower)["section"]) == [
        "dirty", "active"]
    cluster3.restart_broker(follower)
    cluster3.advance(seconds=30)
    assert p.logs[follower].record_count == 4


def test_a_follower_copies_a_compacted_leader_across_its_gaps(cluster3):
    create(cluster3, "user-profiles", rf=3)
    p = cluster3.partition("user-profiles", 0)
    late = p.replicas[-1]
    cluster3.kill_broker(late)
    cluster3.advance(seconds=60)
    send(cluster3, "user-profiles", [(k, "v") for k in USERS], acks=1)
    roll(cluster3, "user-profiles")
    cluster3.advance(seconds=15)
    cluster3.restart_broker(late)
    cluster3.advance(seconds=30)
    leader = p.leader_log
    assert p.logs[late].log_end_offset == leader.log_end_offset == 7
    copied = [(b.base_offset, b.record_count) for b in p.logs[late].batches()]
    assert copied == [(b.base_offset, b.record_count) for b in leader.batches()]
    assert late in p.isr


def test_the_cleaner_looks_every_backoff_ms_and_sleeps_through_a_quiet_week(cluster):
    """Kafka's cleaner thread looks every log.cleaner.backoff.ms; kafkalab's skips the looks
    that cannot find anything (no timer waits while every log is settled), and a roll wakes it
    at the time of Kafka's next look — on the 15 s grid from its start."""
    create(cluster, "user-profiles")
    send(cluster, "user-profiles", [(k, "v") for k in USERS])
    cluster.advance(days=7)
    assert cluster.brokers[1].log_manager.cleaner.next_look_ms is None
    rolled_at = cluster.now_ms() + HOUR_MS // 2 + 1234
    cluster.advance(ms=rolled_at - cluster.now_ms())
    send(cluster, "user-profiles", [("roller", "r")])   # segment.ms passed long ago: it rolls
    cluster.advance(seconds=30)
    [event] = cleaned(cluster)
    assert 0 < event.time_ms - rolled_at <= 15_000
    assert (event.time_ms - cluster.start_ms) % 15_000 == 0


def test_log_cleaner_enable_false_means_no_cleaner():
    cluster = Cluster(seed=0, config={"log.cleaner.enable": False})
    create(cluster, "user-profiles")
    send(cluster, "user-profiles", [(k, "v") for k in USERS])
    roll(cluster, "user-profiles")
    cluster.advance(hours=1)
    assert cluster.brokers[1].log_manager.cleaner is None
    assert len(stored(cluster, "user-profiles")) == 7 and cleaned(cluster) == []
    assert list(cluster.describe_segments("user-profiles")["section"]) == ["closed", "active"]
    assert cluster.log_cleaner_metrics().loc[0, "enabled"] == False  # noqa: E712
    cluster.close()


def test_a_delete_only_topic_is_never_cleaned_and_its_segments_are_closed(cluster):
    cluster.create_topic("orders", config={"segment.ms": HOUR_MS})
    send(cluster, "orders", [("a", "1"), ("a", "2")])
    roll(cluster, "orders")
    cluster.advance(hours=1)
    assert len(stored(cluster, "orders")) == 3 and cleaned(cluster) == []
    assert list(cluster.describe_segments("orders")["section"]) == ["closed", "active"]


# --- metrics, the offset map -------------------------------------------------------------------
def test_cleaner_metrics_have_kafkas_names(cluster):
    create(cluster, "user-profiles")
    send(cluster, "user-profiles", [(k, "v" * 50) for k in USERS])
    roll(cluster, "user-profiles")
    cluster.advance(seconds=15)
    [row] = cluster.log_cleaner_metrics().to_dict("records")
    [event] = cleaned(cluster)
    recopy = round(100 * event.data["bytes_after"] / event.data["bytes_before"], 1)
    assert row == {"broker": 1, "alive": True, "enabled": True, "max-dirty-percent": 0.0,
                   "cleaner-recopy-percent": recopy, "max-clean-time-secs": 0.0,
                   "max-buffer-utilization-percent": row["max-buffer-utilization-percent"],
                   "max-compaction-delay-secs": 0.0, "DeadThreadCount": 0}
    assert 0 < recopy < 100 and 0 < row["max-buffer-utilization-percent"] < 0.001


def test_max_dirty_percent_counts_compacted_logs_only(cluster):
    """A delete-only topic's closed segments are never cleaned: they do not make the broker's
    logs look dirty, even once the cleaner has settled them and looks again much later."""
    cluster.create_topic("orders", config={"segment.ms": HOUR_MS})
    send(cluster, "orders", [("a", "1"), ("a", "2")])
    roll(cluster, "orders")
    for i in range(2):  # the cleaner settles orders-0, then looks again with a compacted log
        cluster.advance(hours=1)
        assert cluster.log_cleaner_metrics().loc[0, "max-dirty-percent"] == 0.0
        create(cluster, f"profiles-{i}")


def test_a_full_offset_map_cleans_part_of_the_dirty_section_per_pass():
    # 240 bytes: 10 slots of 24 bytes, 9 usable at load factor 0.9
    cluster = Cluster(seed=0, config={"log.cleaner.dedupe.buffer.size": 240})
    create(cluster, "user-profiles", min_cleanable_dirty_ratio=0.01)
    send(cluster, "user-profiles", [(f"user{i}", "v1") for i in range(12)] +
         [(f"user{i}", "v2") for i in range(12)])
    roll(cluster, "user-profiles")
    cluster.advance(seconds=15)
    events = cleaned(cluster)
    assert "the offset map filled up, so only offsets 0..8 of the dirty section were cleaned" \
        in events[0].text
    assert [(e.data["first_dirty_offset"], e.data["end_offset"]) for e in events] == [
        (0, 9), (9, 18), (18, 24)]
    # the last pass mapped 6 keys into 10 slots
    assert cluster.log_cleaner_metrics().loc[0, "max-buffer-utilization-percent"] == 60.0
    assert [(k, v) for _, k, v in stored(cluster, "user-profiles")][:12] == [
        (f"user{i}", "v2") for i in range(12)]


def test_a_dedupe_buffer_too_small_for_one_key_is_refused():
    with pytest.raises(ValueError, match="too small to hold even one key: "
                                         "log.cleaner.dedupe.buffer.size=23 bytes"):
        Cluster(seed=0, config={"log.cleaner.dedupe.buffer.size": 23})


# --- consumers across compacted gaps (kafka-python's fetcher) ------------------------------------
def test_a_consumer_reads_across_gaps_and_a_position_in_a_gap_gets_the_next_record(cluster):
    create(cluster, "user-profiles")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=1000)
    for i, key in enumerate(USERS, 1):   # one batch 0..5
        producer.send("user-profiles", key=key.encode(), value=b"v%d" % i)
    producer.flush()
    roll(cluster, "user-profiles")
    cluster.advance(seconds=15)
    [batch, _] = cluster.partition("user-profiles", 0).leader_log.batches()
    assert (batch.base_offset, batch.last_offset, batch.record_count) == (0, 5, 3)
    assert [o for o, _, _ in consume(cluster, "user-profiles", 0)] == [3, 4, 5, 6]
    assert [o for o, _, _ in consume(cluster, "user-profiles", 1)] == [3, 4, 5, 6]
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers)
    tp = TopicPartition("user-profiles", 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    assert [r.offset for r in consumer.poll(timeout_ms=1000, max_records=10)[tp]] == [3, 4, 5, 6]
    assert consumer.position(tp) == 7


def test_a_consumer_skips_batches_the_cleaner_emptied(cluster):
    """Keyless records written before the topic became compacted are removed by the cleaner;
    the batch that ends the cleaning round stays, empty, so its offsets stay known, and a
    consumer positioned in it moves past it (kafka-python: the next fetch offset is the last
    batch's next offset)."""
    cluster.create_topic("events", config={"segment.ms": HOUR_MS})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=1000)
    for i in range(3):
        producer.send("events", value=b"anonymous %d" % i)
    producer.flush()
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "events",
                                        {"cleanup.policy": "compact"})])
    roll(cluster, "events")
    cluster.advance(seconds=15)
    [empty, _] = cluster.partition("events", 0).leader_log.batches()
    assert (empty.base_offset, empty.next_offset, empty.record_count) == (0, 3, 0)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers)
    tp = TopicPartition("events", 0)
    consumer.assign([tp])
    consumer.seek(tp, 1)
    assert [r.offset for r in consumer.poll(timeout_ms=1000)[tp]] == [3]
    assert consumer.position(tp) == 4


# --- what a cleaned batch is on the wire ---------------------------------------------------------
def test_a_retained_batch_keeps_its_header_and_carries_its_delete_horizon_in_v2_bytes():
    """Kafka's filterTo: same base offset, last offset delta, producer id/epoch/sequence; the
    delete horizon replaces firstTimestamp, flagged by attribute bit 6."""
    original = RecordBatch([(0, 100, b"k", b"v", ()), (1, 105, b"j", None, ()),
                            (2, 107, b"k", b"w", ())], producer_id=5, producer_epoch=1,
                           base_sequence=10)
    original.assign(40, 3)
    kept = RecordBatch.retained(original, (original.record_tuples[1],), 5000)
    wire = RecordBatch.from_bytes(kept.raw)
    assert len(kept.raw) == kept.size_in_bytes
    assert (wire.base_offset, wire.last_offset, wire.record_count, wire.producer_id,
            wire.producer_epoch, wire.base_sequence, wire.last_sequence,
            wire.partition_leader_epoch, wire.delete_horizon_ms) == (
        40, 42, 1, 5, 1, 10, 12, 3, 5000)
    assert wire.record_tuples == ((1, 105, b"j", None, ()),)
    empty = RecordBatch.from_bytes(RecordBatch.retained(original, (), -1).raw)
    assert (empty.record_count, empty.next_offset, empty.delete_horizon_ms,
            empty.max_timestamp) == (0, 43, -1, 107)


def test_a_ratio_just_over_the_threshold_never_reads_as_equal_to_it():
    from kafkalab.storage.cleaner_manager import ratio_text

    assert ratio_text(0.503, 0.5) == "0.503"          # not "0.50 > 0.5"
    assert ratio_text(0.4999, 0.5) == "0.4999"
    assert ratio_text(0.62, 0.5) == "0.62"
    assert ratio_text(1.0, 1.0) == "1.00"              # equal stays equal
