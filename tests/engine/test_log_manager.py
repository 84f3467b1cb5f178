"""Storage behind one protocol, a log manager per broker, and DeleteRecords (API key 21).

* The storage protocol: a suite every backend must pass, parametrized by storage URL — today
  ``memory://``; a ``file://`` backend adds its URL to ``BACKENDS``.
* The scheme registry: ``log.dirs`` picks the backend; an unknown scheme is refused naming the
  known ones; a new scheme plugs in without touching the brokers.
* Each broker's LogManager: it owns its replicas' logs, runs retention on its own schedule (not
  while its broker is down), and forgets the logs of a deleted topic.
* DeleteRecords, as the lesson's "Retention и Compaction" section would use it: the leader moves
  its log start offset, followers follow on their next fetch, the answer's low watermark is the
  smallest log start offset over the live replicas; errors per partition, as Kafka's.
"""
from __future__ import annotations


import pytest

from kafkalab import Cluster, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.api.messages.records import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsTopic,
)
from kafkalab.client.transport import InProcessTransport
from kafkalab.clock import SimClock
from kafkalab.errors import (
    BrokerResponseError,
    InvalidTopicError,
    NotLeaderForPartitionError,
    OffsetOutOfRangeError,
    PolicyViolationError,
    RequestTimedOutError,
    UnknownTopicOrPartitionError,
)
from kafkalab.record import Record, RecordBatch
from kafkalab.storage import backends, open_log_storage, register_scheme
from kafkalab.storage.memory import MemoryLogStorage

T0 = 1_767_225_600_000
DAY_MS = 24 * 3600 * 1000
BACKENDS = ["memory://"]


# --- the storage protocol, for every backend -----------------------------------------------------
def batch_at(base: int, n: int = 2, ts: int = T0) -> RecordBatch:
    batch = RecordBatch([Record(i, ts + i, None, b"v%d" % (base + i), []) for i in range(n)])
    batch.assign(base, 0)
    return batch


@pytest.fixture(params=BACKENDS)
def storage_and_clock(request):
    clock = SimClock(T0)
    return open_log_storage(request.param, "orders", 0, clock.now_ms), clock


@pytest.fixture
def storage(storage_and_clock):
    return storage_and_clock[0]


def fill(storage, sizes=(2, 2, 2), per_segment: int = 1) -> None:
    """Append batches of ``sizes`` records, rolling after every ``per_segment`` batches."""
    for i, n in enumerate(sizes):
        if i and i % per_segment == 0:
            storage.roll()
        storage.append(batch_at(storage.log_end_offset, n))


def offsets(batches) -> list[tuple[int, int]]:
    return [(b.base_offset, b.last_offset) for b in batches]


def test_a_new_storage_is_one_empty_active_segment_at_zero(storage):
    assert (storage.log_start_offset, storage.log_end_offset, storage.size_bytes) == (0, 0, 0)
    [active] = storage.segments()
    assert active == storage.active_segment()
    assert (active.base_offset, active.next_offset, active.empty) == (0, 0, True)


def test_appends_continue_the_log_and_refuse_an_overlap(storage):
    storage.append(batch_at(0, 3))
    storage.append(batch_at(3, 1))
    assert storage.log_end_offset == 4
    before = storage.segments()
    with pytest.raises(ValueError, match="a batch at offset 2 does not continue the log, "
                                         "which ends at offset 4"):
        storage.append(batch_at(2))
    assert storage.segments() == before
    storage.append(batch_at(7))  # a gap, as a follower copies a compacted leader's log
    assert storage.log_end_offset == 9


def test_segments_are_snapshots_of_counts_sizes_and_times(storage_and_clock):
    storage, clock = storage_and_clock
    clock.advance_to(T0 + 500)
    storage.append(batch_at(0, 3, ts=T0 + 100))
    snapshot = storage.segments()
    clock.advance_to(T0 + 900)
    rolled = storage.roll()
    assert (rolled.base_offset, rolled.created_ms, rolled.empty) == (3, T0 + 900, True)
    clock.advance_to(T0 + 1500)
    storage.append(batch_at(3, 1))
    first, second = storage.segments()
    assert snapshot == (first,)  # listed before the roll: unchanged by what came after
    assert (first.batch_count, first.record_count, first.largest_timestamp) == (1, 3, T0 + 102)
    assert first.created_ms == T0 + 500  # its first append, not when the storage was opened
    assert second.created_ms == T0 + 1500  # an empty segment counts from its first batch
    assert first.size_bytes + second.size_bytes == storage.size_bytes
    with pytest.raises(AttributeError):  # a snapshot cannot be changed
        first.size_bytes = 0


def test_read_is_whole_batches_bounded_by_bytes_and_an_upper_offset(storage):
    fill(storage, (2, 2, 2, 2), per_segment=2)              # [0-1 2-3] [4-5 6-7]
    size = storage.read(0, 1, 8)[0].size_in_bytes
    assert offsets(storage.read(3, 10**6, 8)) == [(2, 3), (4, 5), (6, 7)]
    assert offsets(storage.read(0, 2 * size, 8)) == [(0, 1), (2, 3)]
    assert offsets(storage.read(0, 1, 8)) == [(0, 1)]        # the first batch always whole
    assert offsets(storage.read(1, 10**6, 6)) == [(0, 1), (2, 3), (4, 5)]
    assert storage.read(8, 10**6, 8) == []


def test_find_offset_by_timestamp_starts_at_an_offset(storage):
    for i in range(3):
        storage.append(batch_at(2 * i, 2, ts=T0 + 1000 * i))  # timestamps T0+1000i, +1
        storage.roll()
    assert storage.find_offset_by_timestamp(T0 + 1000, 0) == (2, T0 + 1000)
    assert storage.find_offset_by_timestamp(T0 + 1001, 0) == (3, T0 + 1001)
    assert storage.find_offset_by_timestamp(0, 3) == (3, T0 + 1001)
    assert storage.find_offset_by_timestamp(T0 + 5000, 0) is None


def test_truncate_to_drops_whole_batches_and_later_segments(storage):
    fill(storage, (2, 2, 2, 2), per_segment=2)              # [0-1 2-3] [4-5 6-7]
    storage.truncate_to(3)                                  # 2-3 holds offset 3: it goes
    assert storage.log_end_offset == 2
    assert [s.base_offset for s in storage.segments()] == [0]
    storage.append(batch_at(2, 1))
    assert offsets(storage.read(0, 10**6, 3)) == [(0, 1), (2, 2)]


def test_truncate_fully_starts_again_empty_at_an_offset(storage):
    fill(storage)
    storage.truncate_fully_and_start_at(40)
    assert (storage.log_start_offset, storage.log_end_offset, storage.size_bytes) == (40, 40, 0)
    assert [s.base_offset for s in storage.segments()] == [40]
    storage.append(batch_at(40))
    assert storage.log_end_offset == 42


def test_the_log_start_offset_only_moves_forward_and_not_past_the_end(storage):
    fill(storage)                                           # offsets 0..5
    storage.advance_log_start_offset(3)
    storage.advance_log_start_offset(1)
    assert storage.log_start_offset == 3
    with pytest.raises(ValueError, match="cannot pass the log end offset 6"):
        storage.advance_log_start_offset(7)
    assert storage.log_start_offset == 3
    assert offsets(storage.read(3, 10**6, 6))[0] == (2, 3)  # batches below it stay for now


def test_deleting_oldest_segments_never_takes_the_active_one(storage):
    fill(storage)                                           # [0-1] [2-3] [4-5]
    [gone] = storage.delete_oldest_segments(1)
    assert (gone.base_offset, gone.record_count) == (0, 2)
    assert storage.log_start_offset == 2
    with pytest.raises(ValueError, match="never the active one"):
        storage.delete_oldest_segments(2)
    assert [s.base_offset for s in storage.segments()] == [2, 4]


def test_replace_segments_swaps_a_run_of_closed_segments_for_cleaned_ones(storage):
    fill(storage, (2, 2, 2, 2))                             # [0-1] [2-3] [4-5] [6-7]
    kept = [b for b in storage.read(0, 10**6, 4) if b.base_offset == 2]
    storage.replace_segments([0, 2], [(0, kept)])           # the cleaner kept one batch
    assert [(s.base_offset, s.batch_count) for s in storage.segments()] == [
        (0, 1), (4, 1), (6, 1)]
    assert offsets(storage.read(0, 10**6, 8)) == [(2, 3), (4, 5), (6, 7)]
    before = storage.segments()
    for old, new in (([4, 6], [(4, [])]),                   # 6 is the active segment
                     ([2], [(2, [])]),                      # 2 is no longer a segment
                     ([4], [(5, [])])):                     # must start where 4 started
        with pytest.raises(ValueError):
            storage.replace_segments(old, new)
    assert storage.segments() == before


# --- the scheme registry -------------------------------------------------------------------------
def test_an_unknown_storage_scheme_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"'s3://bucket' has no known scheme: use one of "
                                         r"memory://"):
        open_log_storage("s3://bucket", "orders", 0, lambda: T0)
    with pytest.raises(ValueError, match="use one of memory://"):
        Cluster(config={"log.dirs": "/tmp/kafka-logs"})


def test_a_new_scheme_plugs_in_without_touching_the_brokers(monkeypatch):
    monkeypatch.setattr(backends, "_SCHEMES", dict(backends._SCHEMES))
    opened = []

    def open_lab(url, topic, partition, now_ms):
        opened.append((url, topic, partition))
        return MemoryLogStorage(f"{topic}-{partition}", now_ms)

    register_scheme("lab", open_lab)
    with pytest.raises(ValueError, match="already has a backend"):
        register_scheme("lab", open_lab)
    cluster = Cluster(brokers=2, config={"log.dirs": "lab://shelf"})
    cluster.create_topic("orders", partitions=1, replication_factor=2)
    assert opened == [("lab://shelf", "orders", 0)] * 2
    assert cluster.brokers[1].log_manager.log_dirs == "lab://shelf"
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    producer.send("orders", b"kept").get(timeout=10)
    assert cluster.partition("orders", 0).high_watermark == 1
    cluster.close()


# --- the log manager of each broker --------------------------------------------------------------
def test_each_broker_owns_the_logs_of_its_replicas(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2], 1: [2, 3]})
    for broker_id, names in {1: ["orders-0"], 2: ["orders-0", "orders-1"],
                             3: ["orders-1"]}.items():
        manager = cluster3.brokers[broker_id].log_manager
        assert [log.name for log in manager.logs()] == names
    p = cluster3.partition("orders", 1)
    assert p.logs == {2: cluster3.brokers[2].log_manager.get_log("orders", 1),
                      3: cluster3.brokers[3].log_manager.get_log("orders", 1)}
    assert cluster3.brokers[1].log_manager.get_log("orders", 1) is None


def test_deleting_a_topic_deletes_its_logs_from_every_broker(cluster3):
    cluster3.create_topic("orders", partitions=2, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers)
    producer.send("orders", b"x", partition=0).get(timeout=10)
    cluster3.delete_topic("orders")
    for broker in cluster3.brokers.values():
        assert broker.log_manager.logs() == []
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    for broker in cluster3.brokers.values():  # the name again: new, empty logs
        assert broker.log_manager.get_log("orders", 0).log_end_offset == 0


def test_retention_runs_per_broker_and_not_on_a_stopped_one(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3,
                          config={"retention.ms": DAY_MS, "segment.ms": 3600_000})
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks="all")
    for _ in range(3):
        producer.send("orders", b"old").get(timeout=10)
    cluster3.advance(hours=2)
    producer.send("orders", b"new").get(timeout=10)          # rolls: the old segment closes
    p = cluster3.partition("orders", 0)
    cluster3.kill_broker(3)
    cluster3.advance(hours=23)                               # "old" is past retention.ms
    starts = {b: log.log_start_offset for b, log in p.logs.items()}
    assert starts == {1: 3, 2: 3, 3: 0}                      # broker 3 deleted nothing
    assert cluster3.brokers[3].log_manager.cleanup_logs() == 0
    cluster3.restart_broker(3)
    cluster3.advance(minutes=5)                              # its own next check
    assert p.logs[3].log_start_offset == 3
    assert len(p.logs[3].segments()) == 1


# --- DeleteRecords -------------------------------------------------------------------------------
def delete_request(*entries: tuple[str, int, int], timeout_ms: int = 30_000
                   ) -> DeleteRecordsRequest:
    topics: dict[str, list] = {}
    for topic, partition, offset in entries:
        topics.setdefault(topic, []).append(DeleteRecordsPartition(partition, offset))
    return DeleteRecordsRequest(tuple(DeleteRecordsTopic(t, tuple(ps))
                                      for t, ps in topics.items()), timeout_ms)


def results(response) -> dict[tuple[str, int], tuple[int, int]]:
    return {(t.name, p.partition_index): (p.low_watermark, p.error_code)
            for t in response.topics for p in t.partitions}


def produce(cluster: Cluster, topic: str, n: int) -> None:
    """``n`` records to partition 0, one batch each."""
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all")
    for i in range(n):
        producer.send(topic, b"order %d" % i, partition=0).get(timeout=10)


def test_delete_records_moves_the_log_start_offset_through_a_transport_call(cluster):
    cluster.create_topic("orders", partitions=1)
    produce(cluster, "orders", 60)
    response = InProcessTransport(cluster).call(1, delete_request(("orders", 0, 40)))
    assert results(response) == {("orders", 0): (40, 0)}
    p = cluster.partition("orders", 0)
    assert (p.log_start_offset, p.high_watermark, p.log_end_offset) == (40, 60, 60)
    [event] = cluster.events.of_kind("records.deleted")
    assert "log start offset of orders-0 moved 0 -> 40" in event.text
    with pytest.raises(OffsetOutOfRangeError, match="log start offset 40"):
        p.leader_log.read(39, 1000)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("orders", 0)])
    assert [m.offset for m in consumer] == list(range(40, 60))
    assert cluster.describe_topic("orders").loc[0, "records"] == 20
    assert [o for o, _ in p.snapshot().records] == list(range(40, 60))


def test_delete_records_to_the_high_watermark_and_the_refusals_per_partition(cluster):
    cluster.create_topic("orders", partitions=2)
    cluster.create_topic("prices", partitions=1, config={"cleanup.policy": "compact"})
    produce(cluster, "orders", 10)
    response = InProcessTransport(cluster).call(1, delete_request(
        ("orders", 0, -1), ("orders", 1, 5), ("orders", 7, 0), ("prices", 0, 0),
        ("__consumer_offsets", 0, 0), ("orders", 0, -5)))
    codes = {key: error for key, (_, error) in results(response).items()}
    assert results(response)[("orders", 0)] == (10, 0)
    expected = {("orders", 1): OffsetOutOfRangeError, ("orders", 7): UnknownTopicOrPartitionError,
                ("prices", 0): PolicyViolationError, ("__consumer_offsets", 0): InvalidTopicError}
    assert {k: codes[k] for k in expected} == {k: e.errno for k, e in expected.items()}
    messages = {(t.name, p.partition_index): p.error_message
                for t in response.topics for p in t.partitions}
    assert "beyond the high watermark 0" in messages[("orders", 1)]
    assert "can not be deleted due to the configured policy" in messages[("prices", 0)]
    assert cluster.partition("orders", 1).log_start_offset == 0


def test_delete_records_is_answered_by_the_leader_only(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [2, 1, 3]})
    produce(cluster3, "orders", 5)
    response = InProcessTransport(cluster3).call(1, delete_request(("orders", 0, 2)))
    [(low, code)] = results(response).values()
    assert (low, code) == (-1, NotLeaderForPartitionError.errno)
    assert cluster3.partition("orders", 0).log_start_offset == 0


def test_followers_follow_the_leaders_log_start_offset_before_the_admin_returns(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3,
                          config={"segment.bytes": 2000})
    produce(cluster3, "orders", 60)
    admin = KafkaAdminClient(bootstrap_servers=cluster3.bootstrap_servers)
    tp = TopicPartition("orders", 0)
    assert admin.delete_records({tp: 40}) == {
        tp: {"partition_index": 0, "low_watermark": 40, "error_code": 0}}
    p = cluster3.partition("orders", 0)
    assert {b: log.log_start_offset for b, log in p.logs.items()} == {1: 40, 2: 40, 3: 40}
    segments = len(p.leader_log.segments())
    cluster3.advance(minutes=5)  # the next retention check deletes what lies below 40
    for log in p.logs.values():
        assert log.segments()[0].base_offset <= 40 < log.segments()[0].next_offset
    assert len(p.leader_log.segments()) < segments
    deleted = cluster3.events.of_kind("retention.deleted")
    assert "hold only offsets below the log start offset 40" in deleted[0].text
    assert "log start offset stays 40" in deleted[0].text


def test_a_stopped_follower_does_not_hold_delete_records_and_follows_on_restart(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    produce(cluster3, "orders", 10)
    p = cluster3.partition("orders", 0)
    cluster3.kill_broker(3)
    admin = KafkaAdminClient(bootstrap_servers=cluster3.bootstrap_servers)
    result = admin.delete_records({TopicPartition("orders", 0): 6}, timeout_ms=5000)
    assert result[TopicPartition("orders", 0)]["low_watermark"] == 6
    assert p.logs[3].log_start_offset == 0
    cluster3.restart_broker(3)
    cluster3.advance(seconds=10)
    assert p.logs[3].log_start_offset == 6


def test_a_follower_resets_to_a_log_start_offset_inside_a_batch(cluster3):
    """The leader's log start offset may fall inside a batch: a follower that must start over
    there takes that whole batch and then moves its own log start offset up to the leader's."""
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    cluster3.kill_broker(3)
    cluster3.advance(seconds=30)                             # 3 leaves the ISR
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks="all")
    for i in range(10):
        producer.send("orders", b"order %d" % i, partition=0)
    producer.flush(timeout=10)                               # one batch: offsets 0..9
    admin = KafkaAdminClient(bootstrap_servers=cluster3.bootstrap_servers)
    admin.delete_records({TopicPartition("orders", 0): 5})
    cluster3.restart_broker(3)
    cluster3.advance(seconds=30)
    p = cluster3.partition("orders", 0)
    log = p.logs[3]
    assert (log.log_start_offset, log.log_end_offset) == (5, 10) and 3 in p.isr
    assert [b.base_offset for b in log.batches()] == [0]
    [reset] = cluster3.events.of_kind("replica.reset")
    assert "copies the leader's from 5" in reset.text


def test_delete_records_times_out_while_a_live_follower_cannot_fetch(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    produce(cluster3, "orders", 10)
    cluster3.isolate_broker(3, from_brokers=True, from_clients=False)
    admin = KafkaAdminClient(bootstrap_servers=cluster3.bootstrap_servers)
    with pytest.raises(RequestTimedOutError, match="Error deleting records from topic orders "
                                                   "partition 0: .*did not all delete"):
        admin.delete_records({TopicPartition("orders", 0): 6}, timeout_ms=1000)
    assert cluster3.partition("orders", 0).log_start_offset == 6  # the leader did


def test_admin_delete_records_raises_every_refusal_at_once(cluster):
    cluster.create_topic("orders", partitions=2)
    produce(cluster, "orders", 3)
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    with pytest.raises(BrokerResponseError, match=r"orders\(partition=0\): "
                                                  r"OffsetOutOfRangeError.*orders\(partition=1\)"):
        admin.delete_records({TopicPartition("orders", 0): 9, TopicPartition("orders", 1): 9})
    with pytest.raises(UnknownTopicOrPartitionError, match="not known: .*orders.*5"):
        admin.delete_records({TopicPartition("orders", 5): 0})
