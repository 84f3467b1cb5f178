"""KafkaProducer: the lesson's Producer section against the engine, in simulated time.

Covers partitioning (murmur2, same key -> same partition, explicit partitions), serializers,
headers and timestamps, the future API, when callbacks fire, batching by ``linger_ms`` and
``batch_size``, ``flush``, ``acks``, size limits and metrics.
"""
from __future__ import annotations

import json

import kafka.errors
import pytest
from kafka.partitioner import Partitioner

from engine_helpers import stored_records
from kafkalab import JsonSerializer, KafkaConsumer, KafkaProducer, Serializer, TopicPartition
from kafkalab.client.partitioner import murmur2, partition_for_key
from kafkalab.errors import (
    IllegalStateError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotEnoughReplicasError,
    RecordTooLargeError,
)
from kafkalab.record.batch import HEADER_SIZE, record_size
from kafkalab.structs import RecordMetadata

# Kafka's own test vectors (DefaultPartitionerTest / kafka-python): partition out of 1000.
MURMUR2_VECTORS = [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566)]


def batches(cluster, topic, partition=0) -> list[int]:
    """Record counts of the batches stored in a partition's log."""
    return [b.record_count for b in cluster.partition(topic, partition).leader_log.batches()]


def make_producer(cluster, **configs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)


# --- partitioning --------------------------------------------------------------------------------


@pytest.mark.parametrize("key, partition", MURMUR2_VECTORS)
def test_murmur2_vectors(key, partition):
    assert partition_for_key(key, 1000) == partition
    assert (murmur2(key) & 0x7FFFFFFF) % 1000 == partition


def test_sends_to_a_1000_partition_topic_land_where_java_would_put_them(cluster):
    cluster.create_topic("keys", partitions=1000)
    producer = make_producer(cluster)
    for key, partition in [(b"a", 524), (b"123456789", 566), (b"", 681)]:
        metadata = producer.send("keys", key=key, value=b"v").get(timeout=10)
        assert metadata.partition == partition
        assert batches(cluster, "keys", partition) == [1]


def test_same_key_same_partition_and_order_is_kept(cluster):
    """Все заказы пользователя 789 — в одной партиции (сохраняется порядок)."""
    cluster.create_topic("orders", partitions=3)
    producer = make_producer(cluster, key_serializer=lambda k: k.encode("utf-8"),
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    futures = [producer.send("orders", key="user_789", value={"order_id": f"order_{i}"})
               for i in range(10)]
    producer.flush()
    metadata = [f.get(timeout=0) for f in futures]
    expected = partition_for_key(b"user_789", 3)
    assert {m.partition for m in metadata} == {expected}
    assert [m.offset for m in metadata] == list(range(10))
    stored = [json.loads(v)["order_id"] for p, _, _, v in stored_records(cluster, "orders")]
    assert stored == [f"order_{i}" for i in range(10)]


def test_keys_spread_over_partitions(cluster):
    cluster.create_topic("orders", partitions=3)
    producer = make_producer(cluster)
    for i in range(60):
        producer.send("orders", key=b"user_%d" % i, value=b"v")
    producer.flush()
    counts = [sum(batches(cluster, "orders", p)) for p in range(3)]
    assert sum(counts) == 60 and min(counts) > 5


def test_records_without_a_key_stick_to_one_partition_per_batch(cluster):
    cluster.create_topic("clicks", partitions=4)
    producer = make_producer(cluster, linger_ms=10)
    for _ in range(5):
        for i in range(20):
            producer.send("clicks", value=b"click %d" % i)
        producer.flush()
    per_partition = [batches(cluster, "clicks", p) for p in range(4)]
    assert sorted(n for b in per_partition for n in b) == [20] * 5  # each burst: one batch
    assert sum(1 for b in per_partition if b) >= 2                   # ... that moves on


def test_explicit_partition_wins_over_the_key(cluster):
    cluster.create_topic("orders", partitions=3)
    producer = make_producer(cluster)
    key = b"user_789"
    other = (partition_for_key(key, 3) + 1) % 3
    metadata = producer.send("orders", key=key, value=b"v", partition=other).get(timeout=10)
    assert metadata.partition == other and metadata.topic_partition == TopicPartition("orders",
                                                                                       other)


@pytest.mark.parametrize("partition", [3, 7, -1])
def test_a_partition_out_of_range_is_refused_like_kafka_python_does(cluster, partition):
    cluster.create_topic("orders", partitions=3)
    producer = make_producer(cluster)
    with pytest.raises(ValueError, match=f"partition {partition} .*'orders'.*0..2"):
        producer.send("orders", value=b"v", partition=partition)
    assert stored_records(cluster, "orders") == []


def test_a_kafka_python_partitioner_object_is_used(cluster):
    cluster.create_topic("orders", partitions=4)

    class LastPartition(Partitioner):
        def __init__(self):
            self.calls = []

        def partition(self, topic, key, serialized_key, value, serialized_value, metadata):
            self.calls.append((topic, key, serialized_key, value, serialized_value))
            return max(metadata.partitions_for_topic(topic))

    partitioner = LastPartition()
    producer = make_producer(cluster, partitioner=partitioner,
                             key_serializer=str.encode, value_serializer=str.encode)
    assert producer.send("orders", key="k", value="v").get(timeout=10).partition == 3
    assert partitioner.calls == [("orders", "k", b"k", "v", b"v")]


def test_a_plain_function_partitioner_gets_kafka_python_2_arguments(cluster):
    cluster.create_topic("orders", partitions=4)
    seen = []

    def first(key, all_partitions, available):
        seen.append((key, list(all_partitions), list(available)))
        return all_partitions[0]

    producer = make_producer(cluster, partitioner=first)
    assert producer.send("orders", key=b"k", value=b"v").get(timeout=10).partition == 0
    assert seen == [(b"k", [0, 1, 2, 3], [0, 1, 2, 3])]


# --- serializers, headers, timestamps -----------------------------------------------------------


def test_serializers_turn_values_into_bytes(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, key_serializer=lambda k: k.encode("utf-8"),
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    order = {"order_id": "12345", "user_id": "789", "total": 99.99, "items": ["item1", "item2"]}
    metadata = producer.send("orders", key="user_789", value=order).get(timeout=10)
    [(_, _, key, value)] = stored_records(cluster, "orders")
    assert key == b"user_789" and json.loads(value) == order
    assert metadata.serialized_key_size == len(b"user_789")
    assert metadata.serialized_value_size == len(value)
    assert metadata.serialized_header_size == -1


def test_kafka_python_serializer_objects_work(cluster):
    cluster.create_topic("orders")

    class Upper(Serializer):
        def serialize(self, topic, headers, data):
            return f"{topic}:{data}".upper().encode()

    producer = make_producer(cluster, key_serializer=Upper(), value_serializer=JsonSerializer())
    producer.send("orders", key="k", value={"total": 1}).get(timeout=10)
    assert stored_records(cluster, "orders") == [(0, 0, b"ORDERS:K", b'{"total": 1}')]


def test_values_must_be_bytes_after_serialization(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    with pytest.raises(TypeError, match="value must be bytes.*got dict.*value_serializer"):
        producer.send("orders", value={"order_id": 1})
    with pytest.raises(ValueError, match="Need at least one: key or value"):
        producer.send("orders")
    assert stored_records(cluster, "orders") == []


def test_headers_travel_with_the_record(cluster):
    """The lesson's Dead Letter Queue: the error and the retry count go in headers."""
    cluster.create_topic("orders-dlq")
    producer = make_producer(cluster)
    headers = [("original_topic", b"orders"), ("error", "ошибка".encode("utf-8")),
               ("retries", b"3"), ("ключ", b"")]
    metadata = producer.send("orders-dlq", value=b"{}", headers=headers).get(timeout=10)
    assert metadata.serialized_header_size == sum(len(k.encode("utf-8")) + len(v)
                                                  for k, v in headers)
    consumer = KafkaConsumer("orders-dlq", bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    [record] = list(consumer)
    assert record.headers == headers
    assert record.serialized_header_size == metadata.serialized_header_size
    with pytest.raises(TypeError, match=r"\(str, bytes\) tuples"):
        producer.send("orders-dlq", value=b"{}", headers=[("retries", 3)])


def test_timestamp_ms_is_kept_as_create_time(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    metadata = producer.send("orders", value=b"v", timestamp_ms=1_600_000_000_000).get(timeout=10)
    assert metadata.timestamp == 1_600_000_000_000
    default = producer.send("orders", value=b"v").get(timeout=10)
    assert default.timestamp == cluster.now_ms() - 2  # the send time, one round trip ago
    records = list(KafkaConsumer("orders", bootstrap_servers=cluster.bootstrap_servers,
                                 auto_offset_reset="earliest"))
    assert [(r.timestamp, r.timestamp_type) for r in records] == [
        (1_600_000_000_000, 0), (default.timestamp, 0)]


def test_log_append_time_topics_stamp_the_brokers_time(cluster):
    cluster.create_topic("audit", config={"message.timestamp.type": "LogAppendTime"})
    producer = make_producer(cluster)
    sent_at = cluster.now_ms()
    metadata = producer.send("audit", value=b"v", timestamp_ms=1_600_000_000_000).get(timeout=10)
    assert metadata.timestamp == sent_at + 1  # when the broker appended it
    [record] = list(KafkaConsumer("audit", bootstrap_servers=cluster.bootstrap_servers,
                                  auto_offset_reset="earliest"))
    assert (record.timestamp, record.timestamp_type) == (sent_at + 1, 1)


# --- futures and callbacks ---------------------------------------------------------------------


def test_the_future_api(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    future = producer.send("orders", value=b"v")
    assert not future.is_done and not future.succeeded() and not future.failed()
    successes, errors = [], []
    assert future.add_callback(successes.append) is future   # chaining, as in the lesson
    assert future.add_errback(errors.append) is future
    metadata = future.get(timeout=10)
    assert isinstance(metadata, RecordMetadata)
    assert (metadata.topic, metadata.partition, metadata.offset) == ("orders", 0, 0)
    assert future.is_done and future.succeeded() and not future.failed()
    assert successes == [metadata] and errors == []
    late = []
    future.add_callback(late.append)  # a callback added after the fact runs at once
    assert late == [metadata]


def test_get_times_out_in_simulated_time(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, linger_ms=5000)
    future = producer.send("orders", value=b"v")
    start = cluster.now_ms()
    with pytest.raises(KafkaTimeoutError, match="Timeout after waiting for 1 secs"):
        future.get(timeout=1)
    assert cluster.now_ms() == start + 1000 and not future.is_done
    assert future.get(timeout=10).offset == 0
    assert cluster.now_ms() == start + 5002  # linger, then one round trip


def test_callbacks_fire_in_send_order_per_partition_as_time_advances_not_at_send(cluster):
    cluster.create_topic("orders", partitions=2)
    producer = make_producer(cluster)
    fired = []
    for i in range(6):
        producer.send("orders", value=b"%d" % i, partition=i % 2).add_callback(
            lambda md, i=i: fired.append((i, md.partition, md.offset, cluster.now_ms())))
    assert fired == []                     # nothing at send()
    start = cluster.now_ms()
    cluster.advance(ms=1)
    assert fired == []                     # the request is on its way
    cluster.advance(ms=1)                  # one round trip: request + response
    assert [f[:3] for f in fired if f[1] == 0] == [(0, 0, 0), (2, 0, 1), (4, 0, 2)]
    assert [f[:3] for f in fired if f[1] == 1] == [(1, 1, 0), (3, 1, 1), (5, 1, 2)]
    assert {f[3] for f in fired} == {start + 2}


def test_errbacks_get_the_error_and_callbacks_do_not_run(cluster):
    cluster.create_topic("orders", config={"max.message.bytes": 200})
    producer = make_producer(cluster)
    successes, errors = [], []
    producer.send("orders", value=b"x" * 500).add_callback(successes.append) \
        .add_errback(errors.append)
    producer.flush()
    assert successes == [] and len(errors) == 1 and isinstance(errors[0], RecordTooLargeError)


# --- batching ------------------------------------------------------------------------------------


def test_linger_ms_collects_records_into_one_batch(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, linger_ms=50)
    start = cluster.now_ms()
    futures = [producer.send("orders", value=b"order %d" % i) for i in range(5)]
    cluster.advance(ms=49)
    assert batches(cluster, "orders") == []
    cluster.advance(ms=2)  # sent at +50, appended at +51
    assert batches(cluster, "orders") == [5]
    assert not any(f.is_done for f in futures)
    cluster.advance(ms=1)
    assert all(f.succeeded() for f in futures) and cluster.now_ms() == start + 52


def test_linger_zero_still_batches_what_is_sent_before_time_moves(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    for i in range(5):
        producer.send("orders", value=b"order %d" % i)
    producer.flush()
    assert batches(cluster, "orders") == [5]


def test_batch_size_caps_a_batch(cluster):
    cluster.create_topic("orders")
    value = b"x" * 50
    per_record = record_size(0, 0, None, value, [])
    batch_size = HEADER_SIZE + 4 * per_record + per_record // 2   # room for 4 records
    producer = make_producer(cluster, linger_ms=1000, batch_size=batch_size)
    for _ in range(10):
        producer.send("orders", value=value)
    # full batches go at once, without waiting for linger_ms
    cluster.advance(ms=2)
    assert batches(cluster, "orders") == [4, 4]
    producer.flush()
    assert batches(cluster, "orders") == [4, 4, 2]
    for batch in cluster.partition("orders", 0).leader_log.batches():
        assert batch.size_in_bytes <= batch_size


def test_flush_sends_open_batches_now_and_waits_for_every_answer(cluster):
    cluster.create_topic("orders", partitions=3)
    producer = make_producer(cluster, linger_ms=60_000)
    futures = [producer.send("orders", value=b"v", partition=i % 3) for i in range(9)]
    start = cluster.now_ms()
    producer.flush()
    assert all(f.succeeded() for f in futures)
    assert cluster.now_ms() - start == 2  # one round trip, no linger
    assert [batches(cluster, "orders", p) for p in range(3)] == [[3], [3], [3]]


def follower_down(cluster3) -> None:
    """A follower of orders-0 stops fetching (alive, heartbeating): acks='all' records wait for
    it until replica.lag.time.max.ms drops it from the ISR."""
    p = cluster3.create_topic("orders", replication_factor=3).partitions[0]
    cluster3.slow_follower(p.replicas[1], 10**9)


def test_flush_timeout_in_simulated_time(cluster3):
    follower_down(cluster3)
    producer = make_producer(cluster3, acks="all")
    future = producer.send("orders", value=b"v")
    start = cluster3.now_ms()
    with pytest.raises(KafkaTimeoutError, match="5 secs"):
        producer.flush(timeout=5)
    assert cluster3.now_ms() == start + 5000 and not future.is_done


def test_get_without_timeout_waits_until_the_lagging_follower_leaves_the_isr(cluster3):
    """A produce waiting for replication is work in flight: get() must not give up early."""
    follower_down(cluster3)
    producer = make_producer(cluster3, acks="all", request_timeout_ms=60_000,
                             delivery_timeout_ms=120_000)
    future = producer.send("orders", value=b"v")
    start = cluster3.now_ms()
    assert future.get().offset == 0
    waited = cluster3.now_ms() - start
    lag = cluster3.config["replica.lag.time.max.ms"]
    assert lag <= waited <= lag + 1000  # acknowledged once the ISR shrank
    assert cluster3.events.of_kind("isr.shrunk")


def test_compression_type_gzip_stores_compressed_batches(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, compression_type="gzip")
    for i in range(50):
        producer.send("orders", value=json.dumps({"order_id": i, "items": ["item1"] * 20})
                      .encode())
    producer.flush()
    [batch] = list(cluster.partition("orders", 0).leader_log.batches())
    assert batch.compression_type == "gzip"
    assert producer.metrics()["producer-metrics"]["compression-rate-avg"] < 0.2
    values = [m.value for m in KafkaConsumer("orders", bootstrap_servers=cluster.bootstrap_servers,
                                             auto_offset_reset="earliest")]
    assert [json.loads(v)["order_id"] for v in values] == list(range(50))


# --- acks ----------------------------------------------------------------------------------------


def test_acks_0_futures_resolve_with_offset_minus_one(cluster):
    cluster.create_topic("metrics")
    producer = make_producer(cluster, acks=0)
    futures = [producer.send("metrics", value=b"cpu=%d" % i) for i in range(3)]
    producer.flush()
    assert [f.get(timeout=0).offset for f in futures] == [-1, -1, -1]
    cluster.run_until_idle()
    assert [o for _, o, _, _ in stored_records(cluster, "metrics")] == [0, 1, 2]


def test_acks_all_fails_after_retries_when_min_insync_replicas_cannot_be_met(cluster):
    cluster.create_topic("payments", config={"min.insync.replicas": 2})  # RF=1 < 2
    producer = make_producer(cluster, acks="all")
    future = producer.send("payments", value=b"99.99")
    with pytest.raises(NotEnoughReplicasError, match="min.insync.replicas=2"):
        future.get(timeout=300)
    # retried (the error is retriable) until delivery_timeout_ms = 120 s of simulated time
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] > 0
    assert stored_records(cluster, "payments") == []
    rejected = cluster.events.of_kind("produce.rejected")
    assert rejected and "in-sync replica(s) [1] < min.insync.replicas=2" in rejected[0].text


# --- size limits ---------------------------------------------------------------------------------


def test_max_request_size_is_checked_at_send(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, max_request_size=1000)
    with pytest.raises(MessageSizeTooLargeError, match="max_request_size"):
        producer.send("orders", value=b"x" * 2000)
    assert stored_records(cluster, "orders") == []
    assert producer.send("orders", value=b"x" * 500).get(timeout=10).offset == 0


def test_a_record_larger_than_max_message_bytes_is_refused_by_the_broker(cluster):
    cluster.create_topic("orders", config={"max.message.bytes": "1000"})
    producer = make_producer(cluster)
    producer.send("orders", value=b"small").get(timeout=10)
    p = cluster.partition("orders", 0)
    before = (p.log_end_offset, p.high_watermark, p.leader_log.size_bytes)
    future = producer.send("orders", value=b"x" * 5000)
    with pytest.raises(RecordTooLargeError, match=r"larger than max\.message\.bytes=1000"):
        future.get(timeout=10)
    assert isinstance(future.exception, kafka.errors.MessageSizeTooLargeError)
    assert (p.log_end_offset, p.high_watermark, p.leader_log.size_bytes) == before
    [rejected] = cluster.events.of_kind("produce.rejected")
    assert "max.message.bytes=1000" in rejected.text
    # not retriable: one attempt only
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] == 0
    assert producer.metrics()["producer-metrics"]["record-error-total"] == 1


def test_negative_timestamps_are_refused_by_the_broker(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    future = producer.send("orders", value=b"v", timestamp_ms=-5)
    with pytest.raises(kafka.errors.InvalidTimestampError, match=">= 0 ms since the epoch, got -5"):
        future.get(timeout=10)
    assert stored_records(cluster, "orders") == []


def test_a_topic_deleted_under_lingering_records_fails_them_after_retries(cluster):
    cluster.create_topic("orders", partitions=2)
    producer = make_producer(cluster, linger_ms=100, delivery_timeout_ms=5000,
                             request_timeout_ms=1000, allow_auto_create_topics=False)
    future = producer.send("orders", value=b"v")
    cluster.delete_topic("orders")
    with pytest.raises(kafka.errors.UnknownTopicOrPartitionError, match="'orders' does not exist"):
        future.get(timeout=60)
    assert 5000 <= cluster.now_ms() - cluster.events.of_kind("topic.deleted")[0].time_ms < 6000
    assert "orders" not in cluster.topics
    producer.flush()   # nothing left to wait for, nothing raised into other calls


def test_a_producer_that_may_auto_create_brings_a_deleted_topic_back(cluster):
    """As with Kafka: the refused batch (UNKNOWN_TOPIC_OR_PARTITION) makes the producer ask
    for the topic's metadata again, and that Metadata request auto-creates it."""
    cluster.create_topic("orders", partitions=2)
    producer = make_producer(cluster, linger_ms=100)
    future = producer.send("orders", value=b"v", partition=0)
    cluster.delete_topic("orders")
    assert (future.get(timeout=10).partition, future.get().offset) == (0, 0)
    assert [e.text for e in cluster.events.of_kind("topic.auto_created")] == [
        "topic orders was auto-created because a client used it (auto.create.topics.enable=true)"]
    assert len(cluster.topics["orders"].partitions) == 1   # num.partitions, not the old 2


# --- metadata: the producer routes by what its Metadata requests answered -----------------------


def test_new_partitions_are_used_after_a_metadata_refresh(cluster):
    """As with Kafka: added partitions reach a producer when it refreshes its metadata —
    after metadata_max_age_ms (kafka-python's default: 5 minutes), or after an error."""
    cluster.create_topic("orders")
    producer = make_producer(cluster, metadata_max_age_ms=10_000)
    producer.send("orders", key=b"k", value=b"v").get(timeout=10)
    cluster.create_partitions("orders", 4)
    assert producer.partitions_for("orders") == {0}
    with pytest.raises(ValueError, match="Unrecognized partition 3 .* partitions 0..0"):
        producer.send("orders", value=b"v", partition=3)
    keys = [b"key-%d" % i for i in range(20)]
    assert {producer.send("orders", key=k, value=b"v").get(timeout=10).partition
            for k in keys} == {0}
    cluster.advance(ms=10_000)
    producer.send("orders", value=b"v").get(timeout=10)  # its sender refreshes first
    assert producer.partitions_for("orders") == {0, 1, 2, 3}
    assert [producer.send("orders", key=k, value=b"v").get(timeout=10).partition
            for k in keys] == [partition_for_key(k, 4) for k in keys]
    assert producer.send("orders", value=b"v", partition=3).get(timeout=10).partition == 3


def test_a_moved_leader_is_learned_from_the_old_leaders_refusal(cluster3):
    """kafka-python's sender: NOT_LEADER_OR_FOLLOWER asks for a metadata refresh, and the
    retry goes to the new leader."""
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    cluster3.shutdown_broker(1)                          # leader 1 -> 2
    cluster3.restart_broker(1)
    cluster3.advance(seconds=1)                          # broker 1 catches up, rejoins the ISR
    producer = make_producer(cluster3)
    assert producer.send("orders", value=b"first").get(timeout=10).offset == 0  # via broker 2
    cluster3.elect_preferred_leaders()                  # 2 -> 1: the producer is not told
    mark = len(cluster3.events)
    assert producer.send("orders", value=b"second").get(timeout=10).offset == 1
    [refused] = [e for e in cluster3.events[mark:] if e.kind == "produce.rejected"]
    assert "broker 2 refused a batch for orders-0" in refused.text
    assert "not the leader" in refused.text
    assert cluster3.partition("orders", 0).leader == 1
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] > 0


# --- lifecycle and metrics ------------------------------------------------------------------------


def test_close_flushes_and_then_refuses_sends(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, linger_ms=10_000)
    future = producer.send("orders", value=b"last words")
    producer.close()
    assert future.succeeded()
    with pytest.raises(IllegalStateError, match="closed"):
        producer.send("orders", value=b"too late")
    producer.close()  # closing twice is fine


def test_partitions_for(cluster):
    cluster.create_topic("orders", partitions=3)
    assert make_producer(cluster).partitions_for("orders") == {0, 1, 2}


def test_metrics_have_kafkas_names_and_count_in_simulated_time(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    for _ in range(10):
        producer.send("orders", value=b"v")
    producer.flush()
    metrics = producer.metrics()["producer-metrics"]
    assert {"record-send-rate", "record-send-total", "record-error-rate", "record-error-total",
            "record-retry-rate", "request-latency-avg", "request-latency-max", "batch-size-avg",
            "compression-rate-avg", "records-per-request-avg"} <= set(metrics)
    assert metrics["record-send-total"] == 10
    assert metrics["records-per-request-avg"] == 10
    assert metrics["request-latency-avg"] == 2  # ms: one simulated round trip
    assert metrics["record-error-rate"] == 0
    assert metrics["batch-size-avg"] == next(cluster.partition("orders", 0).leader_log.batches()
                                             ).size_in_bytes


def test_unknown_producer_configs_are_refused_with_the_known_ones():
    # kafka-python's producer raises ValueError here (its consumer and admin a
    # KafkaConfigurationError)
    with pytest.raises(ValueError, match="lingerms.*knows:.*linger_ms"):
        KafkaProducer(lingerms=5)
