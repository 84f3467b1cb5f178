"""Producers in depth: how a record travels from ``send()`` to the log, in simulated time.

Scenarios in the lesson's words — partitioning (sticky for records without a key, murmur2 for
keys, your own partitioner), the record accumulator (``batch_size``, ``linger_ms``, one request
per broker, ``buffer_memory``), compression, ``acks`` and the timeouts around retries, faults at
the transport seam (a lost acknowledgement, a refused request, a slow network) with and without
idempotence, the idempotence config rules, when callbacks fire, and the producer's metrics.
Every time here is simulated: ``cluster.now_ms()`` in a callback is when the answer arrived.
"""
from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from kafka.partitioner import Partitioner
from kafka.record.default_records import DefaultRecordBatch

from engine_helpers import stored_records
from kafkalab import Cluster, KafkaConsumer, KafkaProducer
from kafkalab.client.partitioner import partition_for_key
from kafkalab.errors import (
    KafkaConfigurationError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
    RequestTimedOutError,
)
from kafkalab.record.batch import HEADER_SIZE, record_size


def make_producer(cluster, **configs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)


def batch_counts(cluster, topic, partition=0) -> list[int]:
    """Record counts of the batches stored in a partition's leader log, oldest first."""
    return [b.record_count for b in cluster.partition(topic, partition).leader_log.batches()]


def values(cluster, topic, partition=0) -> list[str]:
    return cluster.records(topic, partition)["value"].tolist()


def order(i: int) -> dict:
    """The lesson's order, numbered."""
    return {"order_id": str(12345 + i), "user_id": str(789 + i % 7), "total": 99.99 + i,
            "items": ["item1", "item2"]}


def send_timed(producer, cluster, topic, value, log, **kwargs):
    """Send and note, in a callback, how long the answer took in simulated time."""
    sent_at = cluster.now_ms()
    return producer.send(topic, value=value, **kwargs).add_callback(
        lambda md: log.append((md.partition, md.offset, cluster.now_ms() - sent_at)))


# --- sticky partitioning (KIP-480) --------------------------------------------------------------


def test_a_burst_without_keys_sticks_to_one_partition_until_its_batch_is_sent(cluster):
    cluster.create_topic("clicks", partitions=4)
    producer = make_producer(cluster, linger_ms=10)
    first = [producer.send("clicks", value=b"click %d" % i) for i in range(20)]
    producer.flush()
    second = [producer.send("clicks", value=b"click %d" % i) for i in range(20)]
    producer.flush()
    [p1] = {f.get(timeout=0).partition for f in first}      # the whole burst: one partition
    [p2] = {f.get(timeout=0).partition for f in second}     # ... then the next one
    assert p1 != p2
    assert batch_counts(cluster, "clicks", p1) == [20] == batch_counts(cluster, "clicks", p2)


def test_a_burst_larger_than_a_batch_moves_on_each_time_a_batch_fills(cluster):
    """KIP-480: the record that does not fit closes the batch and goes to a new partition."""
    cluster.create_topic("clicks", partitions=4)
    value = b"x" * 50
    per_record = record_size(0, 0, None, value, [])
    producer = make_producer(cluster, linger_ms=1000,
                             batch_size=HEADER_SIZE + 10 * per_record)   # 10 records a batch
    futures = [producer.send("clicks", value=value) for _ in range(100)]
    start = cluster.now_ms()
    cluster.advance(ms=2)
    # every full batch went at once, without waiting for linger_ms; the 100th record's batch is
    # full too (exactly 10 records), so everything is acknowledged one round trip later
    assert all(f.succeeded() for f in futures) and cluster.now_ms() == start + 2
    partitions = [f.get(timeout=0).partition for f in futures]
    runs = [partitions[i] for i in range(0, 100, 10)]       # the partition of each batch of 10
    assert all(partitions[i:i + 10] == [runs[i // 10]] * 10 for i in range(0, 100, 10))
    assert all(a != b for a, b in zip(runs, runs[1:]))      # each new batch: another partition
    assert sorted(n for p in range(4) for n in batch_counts(cluster, "clicks", p)) == [10] * 10
    assert len(set(runs)) >= 3


def test_over_many_batches_records_without_keys_spread_evenly(cluster):
    cluster.create_topic("clicks", partitions=4)
    producer = make_producer(cluster)
    for burst in range(200):
        for i in range(10):
            producer.send("clicks", value=b"click %d" % i)
        producer.flush()
    per_partition = [batch_counts(cluster, "clicks", p) for p in range(4)]
    assert all(n == 10 for counts in per_partition for n in counts)   # one batch per burst
    batches = [len(counts) for counts in per_partition]
    assert sum(batches) == 200
    assert all(30 <= n <= 70 for n in batches), batches               # 50 each, give or take


def test_keyed_records_always_go_by_murmur2_between_sticky_bursts(cluster):
    cluster.create_topic("orders", partitions=6)
    # None-safe: kafka-python hands a missing key (None) to the key_serializer too
    producer = make_producer(cluster, key_serializer=lambda k: None if k is None else k.encode())
    keyed = []
    for burst in range(8):
        for i in range(5):
            producer.send("orders", value=b"anonymous")
            keyed.append((f"user_{burst}_{i}", producer.send("orders", key=f"user_{burst}_{i}",
                                                             value=b"order")))
        producer.flush()
    for key, future in keyed:
        assert future.get(timeout=0).partition == partition_for_key(key.encode(), 6), key


def test_a_kafka_python_3_partitioner_subclass_places_records_without_keys(cluster):
    cluster.create_topic("orders", partitions=3)

    class RoundRobin(Partitioner):
        def __init__(self):
            self.next = 0

        def partition(self, topic, key, serialized_key, value, serialized_value, metadata):
            partitions = sorted(metadata.partitions_for_topic(topic))
            chosen = partitions[self.next % len(partitions)]
            self.next += 1
            return chosen

    producer = make_producer(cluster, partitioner=RoundRobin())
    futures = [producer.send("orders", value=b"%d" % i) for i in range(7)]
    producer.flush()
    assert [f.get(timeout=0).partition for f in futures] == [0, 1, 2, 0, 1, 2, 0]  # not sticky


def test_a_plain_callable_partitioner_places_records_with_and_without_keys(cluster):
    cluster.create_topic("orders", partitions=4)
    calls = []

    def last_available(key_bytes, all_partitions, available):
        calls.append(key_bytes)
        return available[-1]

    producer = make_producer(cluster, partitioner=last_available)
    futures = [producer.send("orders", value=b"v"), producer.send("orders", key=b"k", value=b"v")]
    producer.flush()
    assert [f.get(timeout=0).partition for f in futures] == [3, 3]
    assert calls == [None, b"k"]


def test_a_custom_partitioner_with_on_new_batch_hears_when_its_batch_is_done(cluster):
    """kafka-python 3's hook: ``on_new_batch(topic, cluster, prev_partition)`` before a record
    without a key would open a new batch; the partitioner is then asked again."""
    cluster.create_topic("clicks", partitions=3)

    class NextOnNewBatch(Partitioner):
        def __init__(self):
            self.current, self.heard = 0, []

        def partition(self, topic, key, serialized_key, value, serialized_value, metadata):
            return self.current

        def on_new_batch(self, topic, metadata, prev_partition):
            self.heard.append(prev_partition)
            self.current = (prev_partition + 1) % len(metadata.partitions_for_topic(topic))

    partitioner = NextOnNewBatch()
    producer = make_producer(cluster, partitioner=partitioner, linger_ms=5)
    bursts = []
    for burst in range(4):
        bursts.append([producer.send("clicks", value=b"c") for _ in range(3)])
        producer.flush()
    assert [{f.get(timeout=0).partition for f in b} for b in bursts] == [{1}, {2}, {0}, {1}]
    assert partitioner.heard == [0, 1, 2, 0]


# --- the record accumulator ---------------------------------------------------------------------


def test_a_full_batch_goes_at_once_and_the_rest_after_linger_ms(cluster):
    cluster.create_topic("orders")
    value = b"x" * 40
    per_record = record_size(0, 0, None, value, [])
    producer = make_producer(cluster, linger_ms=20, batch_size=HEADER_SIZE + 5 * per_record)
    answered = []
    for _ in range(7):
        send_timed(producer, cluster, "orders", value, answered)
    cluster.advance(ms=100)
    # 5 records fill a batch: sent at once, answered a round trip (2 ms) later; the other 2
    # wait linger_ms=20 for company, then go
    assert [t for _, _, t in answered] == [2] * 5 + [22] * 2
    assert batch_counts(cluster, "orders") == [5, 2]


def linger_run(linger_ms: int) -> tuple[list[int], float, dict]:
    """200 orders, one every simulated millisecond, with this linger_ms: (records per stored
    batch, mean send-to-acknowledgement time in ms, producer metrics)."""
    cluster = Cluster(brokers=1, seed=0)
    try:
        cluster.create_topic("orders")
        producer = make_producer(cluster, linger_ms=linger_ms,
                                 value_serializer=lambda v: json.dumps(v).encode("utf-8"))
        answered = []
        for i in range(200):
            send_timed(producer, cluster, "orders", order(i), answered)
            cluster.advance(ms=1)
        producer.flush()
        assert len(answered) == 200
        latency = sum(t for _, _, t in answered) / len(answered)
        return batch_counts(cluster, "orders"), latency, producer.metrics()["producer-metrics"]
    finally:
        cluster.close()


def test_linger_ms_trades_latency_for_fewer_larger_batches():
    runs = {linger: linger_run(linger) for linger in (0, 5, 50)}
    batches = {linger: len(counts) for linger, (counts, _, _) in runs.items()}
    per_batch = {linger: sum(counts) / len(counts) for linger, (counts, _, _) in runs.items()}
    latency = {linger: lat for linger, (_, lat, _) in runs.items()}
    assert batches[0] > batches[5] > batches[50]
    assert per_batch[0] < per_batch[5] < per_batch[50]
    assert latency[0] < latency[5] < latency[50]
    assert batches[0] == 200 and latency[0] == 2            # no linger: every record alone
    assert 30 <= batches[5] <= 40 and batches[50] <= 5
    assert latency[50] > 20                                 # records waited for company
    sizes = {linger: m["batch-size-avg"] for linger, (_, _, m) in runs.items()}
    assert sizes[0] < sizes[5] < sizes[50]


def test_batches_for_several_partitions_of_one_broker_go_as_one_request(cluster):
    cluster.create_topic("orders", partitions=6)
    producer = make_producer(cluster, linger_ms=5)
    for i in range(30):
        producer.send("orders", value=b"order %d" % i, partition=i % 6)
    producer.flush()
    assert [batch_counts(cluster, "orders", p) for p in range(6)] == [[5]] * 6
    metrics = producer.metrics()["producer-metrics"]
    assert metrics["records-per-request-avg"] == 30 > 5      # one request carried six batches


def test_each_broker_gets_one_request_for_the_partitions_it_leads(cluster3):
    topic = cluster3.create_topic("orders", partitions=6)
    leaders = Counter(p.leader for p in topic.partitions)
    producer = make_producer(cluster3, linger_ms=5)
    for i in range(60):
        producer.send("orders", value=b"order %d" % i, partition=i % 6)
    producer.flush()
    metrics = producer.metrics()["producer-metrics"]
    assert metrics["records-per-request-avg"] == 60 / len(leaders)   # one request per broker
    assert metrics["records-per-request-avg"] > 10                      # > one batch


def test_max_request_size_bounds_how_many_batches_share_a_request(cluster):
    cluster.create_topic("orders", partitions=4)
    value = b"x" * 100
    producer = make_producer(cluster, linger_ms=5, max_request_size=1000)
    for i in range(12):
        producer.send("orders", value=value, partition=i % 4)  # 4 batches of ~400 bytes
    producer.flush()
    assert [batch_counts(cluster, "orders", p) for p in range(4)] == [[3]] * 4
    # two batches fit in 1000 bytes, a third does not: two requests of 6 records
    assert producer.metrics()["producer-metrics"]["records-per-request-avg"] == 6


def test_a_full_buffer_blocks_send_for_max_block_ms_then_raises_and_keeps_what_it_took(cluster):
    """The broker stores but its acknowledgements are lost: unacknowledged records fill
    buffer_memory, send() waits max_block_ms for room, then gives up with KafkaTimeoutError."""
    cluster.create_topic("orders")
    producer = make_producer(cluster, buffer_memory=4096, max_block_ms=2000)
    cluster.faults.drop_produce_responses(count=float("inf"))
    accepted = []
    start = cluster.now_ms()
    with pytest.raises(KafkaTimeoutError, match=r"max_block_ms=2000.*buffer_memory=4096"):
        for i in range(1000):
            accepted.append(producer.send("orders", value=b"order %05d" % i + b" " * 80))
    assert cluster.now_ms() == start + 2000                 # it blocked for max_block_ms
    assert 10 < len(accepted) < 100 and not any(f.is_done for f in accepted)
    # the network heals: every accepted record is delivered, once and in order
    cluster.faults.clear()
    producer.flush()
    offsets = [f.get(timeout=0).offset for f in accepted]
    assert offsets == list(range(len(accepted)))
    assert [v.rstrip() for v in values(cluster, "orders")] == [f"order {i:05d}"
                                                               for i in range(len(accepted))]
    assert cluster.events.of_kind("produce.duplicate")      # the retry was recognised


def test_a_record_larger_than_the_buffer_or_a_request_is_refused_at_send(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster, buffer_memory=2048, max_request_size=100_000)
    with pytest.raises(MessageSizeTooLargeError, match="buffer_memory configuration"):
        producer.send("orders", value=b"x" * 4000)
    producer = make_producer(cluster, max_request_size=1000)
    with pytest.raises(MessageSizeTooLargeError,
                       match=r"The message is \d+ bytes.*max_request_size configuration \(1000\)"):
        producer.send("orders", value=b"x" * 2000)
    assert stored_records(cluster, "orders") == []


# --- compression --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_stores_smaller_batches_that_consumers_read_transparently(cluster, codec):
    """### Producer с compression: "Сжатие для экономии bandwidth и storage"."""
    orders = [order(i) for i in range(100)]
    sizes = {}
    for topic, compression_type in (("plain", None), ("packed", codec)):
        cluster.create_topic(topic)
        producer = make_producer(cluster, compression_type=compression_type,
                                 value_serializer=lambda v: json.dumps(v).encode("utf-8"))
        for o in orders:
            producer.send(topic, value=o)
        producer.flush()
        sizes[topic] = int(cluster.describe_topic(topic)["size_bytes"].sum())
    [stored] = list(cluster.partition("packed", 0).leader_log.batches())
    assert stored.compression_type == codec and stored.record_count == 100
    # the bytes really are compressed: kafka-python's own reader says so and decodes them
    reader = DefaultRecordBatch(stored.raw)
    assert reader.compression_type == {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
    assert [json.loads(r.value) for r in reader] == orders
    assert sizes["packed"] < sizes["plain"] / 2
    metrics = producer.metrics()["producer-metrics"]
    assert 0 < metrics["compression-rate-avg"] < 0.5
    assert metrics["batch-size-avg"] == stored.size_in_bytes
    consumer = KafkaConsumer("packed", bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest",
                             value_deserializer=lambda m: json.loads(m.decode("utf-8")))
    assert [m.value for m in consumer] == orders


def test_without_compression_the_rate_is_1(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    producer.send("orders", value=json.dumps(order(0)).encode()).get(timeout=10)
    assert producer.metrics()["producer-metrics"]["compression-rate-avg"] == 1.0
    assert next(cluster.partition("orders", 0).leader_log.batches()).compression_type == "none"


def test_an_unknown_codec_is_refused_like_kafka_python_does(cluster):
    with pytest.raises(ValueError, match="Not supported codec: 'brotli'"):
        make_producer(cluster, compression_type="brotli")


# --- acks and the timeouts around retries --------------------------------------------------------


def test_acks_0_resolves_at_once_without_an_offset_and_still_stores(cluster):
    cluster.create_topic("metrics")
    producer = make_producer(cluster, acks=0, batch_size=HEADER_SIZE + 100)  # ~10 a batch
    futures = [producer.send("metrics", value=b"cpu=%d" % i) for i in range(50)]
    assert not any(f.is_done for f in futures)             # never inside send(), full or not
    start = cluster.now_ms()
    cluster.advance(ms=0)                                  # the sender runs, no time passes
    assert [f.get(timeout=0).offset for f in futures] == [-1] * 50
    assert cluster.now_ms() == start
    cluster.run_until_idle()
    assert [v for _, _, _, v in stored_records(cluster, "metrics")] == [
        b"cpu=%d" % i for i in range(50)]


def test_acks_all_waits_for_the_followers_acks_1_does_not(cluster3):
    cluster3.create_topic("payments", replication_factor=3)
    p = cluster3.partition("payments", 0)
    answered = {}
    for acks in (1, "all"):
        producer = make_producer(cluster3, acks=acks)
        took = []
        future = send_timed(producer, cluster3, "payments", b"99.99", took)
        cluster3.advance(ms=2)
        if acks == 1:
            # acknowledged after one round trip, though no follower has the record yet
            assert future.succeeded()
            assert [p.logs[b].log_end_offset for b in p.replicas[1:]] == [0, 0]
        else:
            assert not future.is_done                      # the followers have not fetched yet
        producer.flush()
        answered[acks] = took[0][2]
    assert answered == {1: 2, "all": 4}                    # ms: the follower fetch costs a trip
    assert all(p.logs[b].log_end_offset == 2 for b in p.replicas)


def test_request_timeout_ms_without_retries_fails_on_a_slow_broker(cluster):
    cluster.create_topic("orders")
    cluster.faults.delay(ms=5000)
    producer = make_producer(cluster, request_timeout_ms=1000, retries=0)
    future = producer.send("orders", value=b"v")
    start = cluster.now_ms()
    with pytest.raises(RequestTimedOutError, match="request_timeout_ms=1000"):
        future.get(timeout=60)
    assert 1000 <= cluster.now_ms() - start < 1100
    assert cluster.events.of_kind("fault.delayed")


def test_retries_0_fails_at_the_first_retriable_error(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=1)
    producer = make_producer(cluster, retries=0)
    assert producer.producer_id == -1                      # retries=0 turned idempotence off
    future = producer.send("orders", value=b"v")
    with pytest.raises(NotLeaderForPartitionError, match="injected fault"):
        future.get(timeout=10)
    metrics = producer.metrics()["producer-metrics"]
    assert metrics["record-retry-rate"] == 0 and metrics["record-error-total"] == 1
    assert stored_records(cluster, "orders") == []
    [event] = cluster.events.of_kind("fault.request_failed")
    assert "NotLeaderForPartitionError" in event.text


def test_retries_counts_the_attempts_after_the_first(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=10)
    producer = make_producer(cluster, retries=2, retry_backoff_ms=100)
    future = producer.send("orders", value=b"v")
    with pytest.raises(NotLeaderForPartitionError):
        future.get(timeout=60)
    assert len(cluster.events.of_kind("fault.request_failed")) == 3   # 1 try + 2 retries


def test_acks_0_never_hears_that_the_broker_refused_a_record(cluster):
    """acks=0: "fastest, least reliable" — the future succeeds even if nothing was stored."""
    cluster.create_topic("metrics")
    cluster.faults.fail_produce_requests(count=1)
    producer = make_producer(cluster, acks=0)
    future = producer.send("metrics", value=b"cpu=42")
    producer.flush()
    cluster.run_until_idle()
    assert future.get(timeout=0).offset == -1
    assert stored_records(cluster, "metrics") == []
    assert cluster.events.of_kind("fault.request_failed")


def test_retry_backoff_ms_spaces_the_retries(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=2)
    producer = make_producer(cluster, retry_backoff_ms=250)
    took = []
    send_timed(producer, cluster, "orders", b"v", took)
    producer.flush()
    assert took == [(0, 0, 2 + 250 + 2 + 250 + 2)]          # fail, wait, fail, wait, succeed
    assert len(cluster.events.of_kind("fault.request_failed")) == 2


def test_delivery_timeout_ms_fails_a_batch_with_its_last_error(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=float("inf"))
    producer = make_producer(cluster, delivery_timeout_ms=5000, request_timeout_ms=1000)
    future = producer.send("orders", value=b"v")
    start = cluster.now_ms()
    with pytest.raises(NotLeaderForPartitionError, match="injected fault") as caught:
        future.get(timeout=60)
    assert cluster.now_ms() - start <= 5000                # an upper bound, as in Kafka
    assert cluster.now_ms() - start > 4500                 # retried until then
    assert "delivery_timeout_ms=5000" in str(caught.value)
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] > 0


def test_delivery_timeout_ms_also_bounds_a_request_still_in_flight(cluster):
    """Acknowledgements keep getting lost: the batch fails at delivery_timeout_ms even though a
    retry is still waiting for its answer."""
    cluster.create_topic("orders")
    cluster.faults.drop_produce_responses(count=float("inf"))
    producer = make_producer(cluster, delivery_timeout_ms=5000, request_timeout_ms=1000)
    future = producer.send("orders", value=b"v")
    start = cluster.now_ms()
    with pytest.raises(RequestTimedOutError, match="Expiring 1 record.*5000 ms has passed"):
        future.get(timeout=60)
    assert cluster.now_ms() - start == 5000
    cluster.faults.clear()
    cluster.run_until_idle()                               # late answers change nothing
    assert future.failed()
    assert producer.metrics()["producer-metrics"]["record-error-total"] == 1


def test_delivery_timeout_ms_must_cover_linger_and_request_timeout(cluster):
    with pytest.raises(KafkaConfigurationError, match="delivery_timeout_ms higher than "
                                                      "linger_ms \\+ request_timeout_ms"):
        make_producer(cluster, delivery_timeout_ms=20_000, linger_ms=100,
                      request_timeout_ms=30_000)


def test_an_idempotent_producer_recovers_after_a_batch_times_out(cluster):
    """KIP-360: the failed batch leaves a hole in the sequence numbers; the producer bumps its
    epoch and numbers from 0 again instead of being refused for ever."""
    cluster.create_topic("orders")
    producer = make_producer(cluster, delivery_timeout_ms=5000, request_timeout_ms=1000)
    producer.send("orders", value=b"first").get(timeout=10)
    cluster.faults.fail_produce_requests(count=float("inf"))
    lost = producer.send("orders", value=b"lost")
    with pytest.raises(NotLeaderForPartitionError):
        lost.get(timeout=60)
    cluster.faults.clear()
    assert producer.send("orders", value=b"after").get(timeout=10).offset == 1
    assert producer.producer_epoch == 1
    [bump] = cluster.events.of_kind("producer.epoch_bumped")
    assert "epoch 0 -> 1" in bump.text and "orders-0" in bump.text
    assert values(cluster, "orders") == ["first", "after"]


def test_a_batch_whose_answer_was_lost_is_never_renumbered(cluster):
    """KIP-360's rule: a batch that may already be stored (its answer never came) keeps its
    epoch and sequence on every retry, so the broker recognises it. The batch before it expired
    with its fate unknown; the second one's acknowledgement shows the first was stored after
    all, so no epoch bump is needed. Failed is not "not stored"."""
    cluster.create_topic("orders")
    cluster.faults.drop_produce_responses(count=float("inf"))
    producer = make_producer(cluster, delivery_timeout_ms=5000, request_timeout_ms=1000)
    first = producer.send("orders", value=b"first")
    cluster.advance(ms=4000)
    second = producer.send("orders", value=b"second")     # stored; its answer is lost too
    cluster.advance(ms=1000)                               # first expires, its fate unknown
    assert first.failed() and not second.is_done
    cluster.faults.clear()
    assert second.get(timeout=60).offset == 1              # its retry: a duplicate, recognised
    assert producer.producer_epoch == 0                    # no gap: nothing to renumber
    assert producer.send("orders", value=b"third").get(timeout=10).offset == 2
    assert values(cluster, "orders") == ["first", "second", "third"]   # each stored once


def test_a_refused_batch_does_not_break_the_idempotent_producer(cluster):
    """A record over max.message.bytes is refused for good; the records around it still go."""
    cluster.create_topic("orders", config={"max.message.bytes": 500})
    producer = make_producer(cluster)
    futures = []
    for value in (b"small 1", b"x" * 1000, b"small 2", b"small 3"):
        futures.append(producer.send("orders", value=value))
        cluster.advance(ms=0)                              # each record its own request
    producer.flush()
    assert isinstance(futures[1].exception, RecordTooLargeError)
    assert [f.get(timeout=0).offset for f in futures[::2]] == [0, 1]
    assert futures[3].get(timeout=0).offset == 2
    assert values(cluster, "orders") == ["small 1", "small 2", "small 3"]


# --- faults at the transport seam ---------------------------------------------------------------


def test_a_lost_acknowledgement_stores_a_duplicate_without_idempotence(cluster):
    cluster.create_topic("payments")
    producer = make_producer(cluster, enable_idempotence=False)
    cluster.faults.drop_produce_responses(count=1)
    metadata = producer.send("payments", value=b"charge 99.99").get(timeout=60)
    # no answer within request_timeout_ms: the producer retried, and the broker stored it again
    assert values(cluster, "payments") == ["charge 99.99", "charge 99.99"]
    assert metadata.offset == 1
    [dropped] = cluster.events.of_kind("fault.response_dropped")
    assert "acknowledgement is lost" in dropped.text
    assert not cluster.events.of_kind("produce.duplicate")
    assert producer.metrics()["producer-metrics"]["record-retry-rate"] > 0


def test_a_lost_acknowledgement_is_harmless_with_idempotence(cluster):
    cluster.create_topic("payments")
    producer = make_producer(cluster)                      # enable_idempotence=True by default
    cluster.faults.drop_produce_responses(count=1)
    start = cluster.now_ms()
    metadata = producer.send("payments", value=b"charge 99.99").get(timeout=60)
    assert values(cluster, "payments") == ["charge 99.99"]
    assert metadata.offset == 0                            # the original offset
    assert cluster.now_ms() - start > 30_000               # after request_timeout_ms
    [duplicate] = cluster.events.of_kind("produce.duplicate")
    assert "already stored at offsets 0..0, not appended again" in duplicate.text
    assert duplicate.data["producer_id"] == producer.producer_id
    metrics = producer.metrics()["producer-metrics"]
    assert metrics["record-retry-rate"] > 0 and metrics["record-error-rate"] == 0


def send_three_in_separate_requests(producer, cluster) -> list:
    fired = []
    for i in range(3):
        producer.send("orders", value=b"%d" % i) \
            .add_callback(lambda md, i=i: fired.append((i, md.offset))) \
            .add_errback(lambda exc, i=i: fired.append((i, type(exc).__name__)))
        cluster.advance(ms=0)                              # the sender ships it on its own
    producer.flush()
    return fired


def test_a_refused_request_reorders_records_without_idempotence(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=1)
    producer = make_producer(cluster, enable_idempotence=False,
                             max_in_flight_requests_per_connection=5)
    fired = send_three_in_separate_requests(producer, cluster)
    assert values(cluster, "orders") == ["1", "2", "0"]     # the retried batch landed last
    assert fired == [(1, 0), (2, 1), (0, 2)]
    assert cluster.events.of_kind("fault.request_failed")


def test_one_request_in_flight_keeps_the_order_without_idempotence(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=1)
    producer = make_producer(cluster, enable_idempotence=False,
                             max_in_flight_requests_per_connection=1)
    fired = send_three_in_separate_requests(producer, cluster)
    assert values(cluster, "orders") == ["0", "1", "2"]
    assert fired == [(0, 0), (1, 1), (2, 2)]


def test_idempotence_keeps_the_order_through_a_refused_request(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=1)
    producer = make_producer(cluster, max_in_flight_requests_per_connection=5)
    fired = send_three_in_separate_requests(producer, cluster)
    assert values(cluster, "orders") == ["0", "1", "2"]
    assert fired == [(0, 0), (1, 1), (2, 2)]                # callbacks in send order too
    # the later batches were refused as out of order, then retried behind the first
    refused = cluster.events.of_kind("produce.rejected")
    assert [e.data["error"] for e in refused] == ["OutOfOrderSequenceNumberError"] * 2


def test_idempotence_keeps_the_order_when_the_first_request_is_slow(cluster):
    """The later batches overtake the slow one and are refused as out of order while it is
    still on its way: they are retried, not failed."""
    cluster.create_topic("orders")
    cluster.faults.delay(ms=10, count=1)
    producer = make_producer(cluster)
    fired = send_three_in_separate_requests(producer, cluster)
    assert values(cluster, "orders") == ["0", "1", "2"]
    assert fired == [(0, 0), (1, 1), (2, 2)]
    [delayed] = cluster.events.of_kind("fault.delayed")
    assert "10 ms longer" in delayed.text


def test_a_slow_network_raises_request_latency(cluster):
    cluster.create_topic("orders")
    producer = make_producer(cluster)
    took = []
    send_timed(producer, cluster, "orders", b"fast", took)
    producer.flush()
    cluster.faults.delay(ms=40)
    send_timed(producer, cluster, "orders", b"slow", took)
    producer.flush()
    assert [t for _, _, t in took] == [2, 82]              # 40 ms more each way
    metrics = producer.metrics()["producer-metrics"]
    assert metrics["request-latency-avg"] == 42 and metrics["request-latency-max"] == 82
    assert len(cluster.events.of_kind("fault.delayed")) == 1


def test_a_drop_rule_is_not_used_up_by_acks_0(cluster):
    """acks=0 gets no answer, so there is none to lose: the rule waits for one that exists."""
    cluster.create_topic("orders")
    cluster.faults.drop_produce_responses(count=1)
    make_producer(cluster, acks=0).send("orders", value=b"fire and forget")
    cluster.run_until_idle()
    assert not cluster.events.of_kind("fault.response_dropped")
    assert cluster.faults.active == ["drop_response x1 topic=*"]


# --- idempotence config rules (kafka-python 3) --------------------------------------------------


def test_idempotence_is_on_by_default(cluster):
    producer = make_producer(cluster)
    assert producer.config["enable_idempotence"] is True and producer.config["acks"] == -1
    assert producer.producer_id >= 0 and producer.producer_epoch == 0
    assert cluster.events.of_kind("producer.id_assigned")


@pytest.mark.parametrize("conflict, shown", [
    ({"acks": 1}, "acks=1"),
    ({"acks": 0}, "acks=0"),
    ({"retries": 0}, "retries=0"),
    ({"max_in_flight_requests_per_connection": 6}, "max_in_flight_requests_per_connection=6"),
])
def test_explicit_idempotence_refuses_a_conflicting_config(cluster, conflict, shown):
    with pytest.raises(KafkaConfigurationError, match="enable_idempotence=True is incompatible "
                                                      f"with user-provided {shown}"):
        make_producer(cluster, enable_idempotence=True, **conflict)


@pytest.mark.parametrize("conflict", [{"acks": 1}, {"retries": 0},
                                      {"max_in_flight_requests_per_connection": 6}])
def test_a_conflicting_config_silently_turns_default_idempotence_off(cluster, conflict):
    producer = make_producer(cluster, **conflict)
    assert producer.config["enable_idempotence"] is False and producer.producer_id == -1
    assert not cluster.events.of_kind("producer.id_assigned")


def test_the_lessons_idempotent_settings_are_accepted(cluster):
    producer = make_producer(cluster, enable_idempotence=True, acks="all", retries=5,
                             max_in_flight_requests_per_connection=5)
    assert producer.producer_id >= 0


# --- callbacks and errbacks ----------------------------------------------------------------------


def test_callbacks_fire_as_time_advances_in_send_order_per_partition_never_in_send(cluster):
    cluster.create_topic("orders", partitions=2,
                         config={"max.message.bytes": 300})
    value = b"x" * 40
    per_record = record_size(0, 0, None, value, [])
    producer = make_producer(cluster, linger_ms=30, batch_size=HEADER_SIZE + 3 * per_record)
    fired = []
    for i in range(10):
        big = i == 7
        producer.send("orders", value=b"y" * 400 if big else value, partition=i % 2) \
            .add_callback(lambda md, i=i: fired.append((i, "ok", cluster.now_ms()))) \
            .add_errback(lambda exc, i=i: fired.append((i, type(exc).__name__, cluster.now_ms())))
        assert fired == []                                 # not even when a batch filled
    start = cluster.now_ms()
    cluster.advance(ms=1)
    assert fired == []                                     # requests are on their way
    cluster.advance(ms=100)
    assert sorted(i for i, _, _ in fired) == list(range(10))
    for partition in (0, 1):
        mine = [i for i, _, _ in fired if i % 2 == partition]
        assert mine == sorted(mine)                        # send order within a partition
    outcome = {i: what for i, what, _ in fired}
    assert outcome[7] == "RecordTooLargeError"
    assert {what for i, what in outcome.items() if i != 7} == {"ok"}
    times = {i: t - start for i, _, t in fired}
    # full batches make their broker ready, and a ready broker takes the head batch of each of
    # its partitions (Kafka's drain): [0 2 4] [1 3 5], then [6 8] riding along with [7] ...
    assert all(times[i] == 2 for i in range(9))
    assert times[9] == 32                                  # ... while [9] waits out linger_ms


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_after_a_lost_acknowledgement_and_a_refused_record(cluster):
    cluster.create_topic("orders", config={"max.message.bytes": 1000})
    producer = make_producer(cluster, compression_type="gzip")
    cluster.faults.drop_produce_responses(count=1)
    for i in range(20):
        producer.send("orders", value=json.dumps(order(i)).encode())
    producer.flush()
    noise = random.Random(0).randbytes(1500)               # does not compress below 1000 bytes
    refused = producer.send("orders", value=noise)
    producer.flush()
    assert isinstance(refused.exception, RecordTooLargeError)
    metrics = producer.metrics()["producer-metrics"]
    assert {"record-send-rate", "record-error-rate", "request-latency-avg", "batch-size-avg",
            "compression-rate-avg", "records-per-request-avg", "record-retry-rate"} <= set(metrics)
    assert metrics["record-send-total"] == 20 and metrics["record-error-total"] == 1
    assert metrics["record-retry-rate"] > 0                # the lost acknowledgement
    assert metrics["record-send-rate"] > 0 and metrics["record-error-rate"] > 0
    assert metrics["request-latency-max"] > 30_000         # the request that timed out
    assert 0 < metrics["compression-rate-avg"] < 1
    assert metrics["records-per-request-avg"] == (20 + 20 + 1) / 3   # sent, retried, refused
    assert metrics["batch-size-avg"] > 0
