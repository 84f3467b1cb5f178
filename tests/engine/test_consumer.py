"""KafkaConsumer without a group: the lesson's Consumer section ("Partition Assignment", "Batch
Processing", offsets and replay) against the engine, in simulated time."""
from __future__ import annotations

import json

import pytest

from kafkalab import Cluster, Deserializer, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.client.transport import InProcessTransport
from kafkalab.errors import (
    IllegalStateError,
    KafkaTimeoutError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
)
from kafkalab.structs import ConsumerRecord, OffsetAndTimestamp

P0, P1, P2 = (TopicPartition("orders", i) for i in range(3))


@pytest.fixture
def orders(cluster):
    """Topic orders with 3 partitions; 5 records each (values 'p<partition>-<i>')."""
    cluster.create_topic("orders", partitions=3)
    produce(cluster, {p: [f"p{p}-{i}" for i in range(5)] for p in range(3)})
    return cluster


def produce(cluster, per_partition: dict[int, list[str]], topic="orders", **configs):
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)
    for p, values in per_partition.items():
        for v in values:
            producer.send(topic, value=v.encode(), partition=p)
    producer.flush()
    return producer


def consumer_for(cluster, *topics, **configs) -> KafkaConsumer:
    return KafkaConsumer(*topics, bootstrap_servers=cluster.bootstrap_servers, **configs)


def values(records) -> list[str]:
    return [r.value.decode() if isinstance(r.value, bytes) else r.value for r in records]


# --- assignment ----------------------------------------------------------------------------------


def test_assign_reads_exactly_the_given_partitions(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P0, P2])
    assert consumer.assignment() == {P0, P2}
    got = consumer.poll(timeout_ms=1000)
    assert set(got) == {P0, P2}
    assert values(got[P0]) == [f"p0-{i}" for i in range(5)]
    assert values(got[P2]) == [f"p2-{i}" for i in range(5)]


def test_poll_returns_kafka_pythons_consumer_records(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P1])
    [record] = consumer.poll(max_records=1)[P1]
    assert isinstance(record, ConsumerRecord)
    assert record._fields == ("topic", "partition", "leader_epoch", "offset", "timestamp",
                              "timestamp_type", "key", "value", "headers", "checksum",
                              "serialized_key_size", "serialized_value_size",
                              "serialized_header_size")
    assert (record.topic, record.partition, record.offset, record.key, record.value) == \
        ("orders", 1, 0, None, b"p1-0")
    assert record.timestamp_type == 0 and record.timestamp == orders.events[0].time_ms
    assert record.headers == [] and record.serialized_header_size == -1
    assert record.serialized_key_size == -1 and record.serialized_value_size == 4
    assert record.leader_epoch == 0


def test_topics_without_group_id_get_every_partition(orders):
    consumer = consumer_for(orders, "orders", auto_offset_reset="earliest")
    assert consumer.assignment() == {P0, P1, P2}
    assert consumer.subscription() == {"orders"}
    records = list(consumer)
    assert len(records) == 15
    for p in range(3):  # in offset order within each partition
        assert [r.offset for r in records if r.partition == p] == [0, 1, 2, 3, 4]


def test_subscribe_by_pattern(orders):
    orders.create_topic("orders-dlq")
    orders.create_topic("payments")
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.subscribe(pattern="^orders")
    assert {tp.topic for tp in consumer.assignment()} == {"orders", "orders-dlq"}


def test_assign_and_subscribe_are_mutually_exclusive(orders):
    consumer = consumer_for(orders)
    consumer.assign([P0])
    with pytest.raises(IllegalStateError, match="only one way to configure your consumer"):
        consumer.subscribe(["orders"])
    consumer.unsubscribe()
    consumer.subscribe(["orders"])
    with pytest.raises(IllegalStateError, match="only one way to configure your consumer"):
        consumer.assign([P0])


# --- positions -----------------------------------------------------------------------------------


def test_seek_replays_and_skips(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P0])
    assert consumer.position(P0) == 0
    consumer.poll(max_records=3)
    assert consumer.position(P0) == 3
    consumer.seek(P0, 1)                 # replay
    assert values(consumer.poll()[P0]) == ["p0-1", "p0-2", "p0-3", "p0-4"]
    assert consumer.position(P0) == 5
    consumer.seek(P0, 4)                 # skip
    assert values(consumer.poll()[P0]) == ["p0-4"]
    with pytest.raises(ValueError, match="Offset must be int >= 0"):
        consumer.seek(P0, -1)


def test_seek_inside_a_batch_starts_at_that_offset(orders):
    consumer = consumer_for(orders)
    consumer.assign([P0])
    consumer.seek(P0, 2)   # the five records of p0 were sent as one batch
    assert [r.offset for r in consumer.poll()[P0]] == [2, 3, 4]


def test_seek_to_beginning_and_end(orders):
    consumer = consumer_for(orders, auto_offset_reset="none")
    consumer.assign([P0, P1])
    consumer.seek_to_end()
    assert (consumer.position(P0), consumer.position(P1)) == (5, 5)
    assert consumer.poll() == {}
    consumer.seek_to_beginning(P1)
    assert consumer.position(P1) == 0
    assert set(consumer.poll()) == {P1}
    resets = orders.events.of_kind("consumer.offset_reset")
    assert "seek_to_beginning()" in resets[-1].text


def test_auto_offset_reset_earliest_and_latest(orders):
    earliest = consumer_for(orders, auto_offset_reset="earliest")
    latest = consumer_for(orders)   # kafka-python's default is 'latest'
    for c in (earliest, latest):
        c.assign([P0])
    assert earliest.position(P0) == 0 and latest.position(P0) == 5
    produce(orders, {0: ["new"]})
    assert values(latest.poll()[P0]) == ["new"]
    assert len(earliest.poll()[P0]) == 6


def test_auto_offset_reset_none_needs_a_position(orders):
    consumer = consumer_for(orders, auto_offset_reset="none")
    consumer.assign([P0])
    with pytest.raises(NoOffsetForPartitionError, match="orders-0 has no position.*'none'"):
        consumer.poll()
    consumer.seek(P0, 3)
    assert values(consumer.poll()[P0]) == ["p0-3", "p0-4"]


def test_seek_past_the_end_with_reset_none_raises_with_the_reason(orders):
    consumer = consumer_for(orders, auto_offset_reset="none")
    consumer.assign([P0])
    consumer.seek(P0, 100)
    with pytest.raises(OffsetOutOfRangeError) as info:
        consumer.poll()
    message = str(info.value)
    assert "Fetch position 100 is out of range for orders-0" in message
    assert "auto_offset_reset='none'" in message and "log end offset 5" in message


def test_seek_past_the_end_with_reset_earliest_resets_and_explains(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P0])
    consumer.seek(P0, 100)
    records = list(consumer)
    assert [r.offset for r in records] == [0, 1, 2, 3, 4]
    [reset] = orders.events.of_kind("consumer.offset_reset")
    assert reset.text == ("consumer reset orders-0 to offset 0 (earliest): offset 100 is out "
                          "of range")
    assert reset.data == {"topic": "orders", "partition": 0, "offset": 0}


def test_position_of_an_unassigned_partition(orders):
    consumer = consumer_for(orders)
    consumer.assign([P0])
    with pytest.raises(IllegalStateError, match="No current assignment for partition"):
        consumer.position(P1)


# --- poll and waiting ----------------------------------------------------------------------------


def test_poll_without_data_waits_its_timeout_in_simulated_time(orders):
    consumer = consumer_for(orders)   # latest: nothing new to read
    consumer.assign([P0])
    start = orders.now_ms()
    assert consumer.poll(timeout_ms=1000) == {}
    assert orders.now_ms() == start + 1000
    assert consumer.poll() == {}      # timeout 0: no waiting
    assert orders.now_ms() == start + 1000


def test_poll_returns_as_soon_as_data_arrives(orders):
    consumer = consumer_for(orders)
    consumer.assign([P0])
    consumer.position(P0)
    producer = KafkaProducer(bootstrap_servers=orders.bootstrap_servers, linger_ms=300)
    producer.send("orders", value=b"late order", partition=0)
    start = orders.now_ms()
    got = consumer.poll(timeout_ms=1000)
    assert values(got[P0]) == ["late order"]
    assert orders.now_ms() == start + 301   # linger, then the request reaches the leader


def test_max_records_limits_a_poll_and_nothing_is_lost(orders):
    consumer = consumer_for(orders, "orders", auto_offset_reset="earliest", max_poll_records=4)
    seen = []
    for _ in range(10):
        got = consumer.poll()
        assert sum(len(r) for r in got.values()) <= 4
        seen += [(tp.partition, r.offset) for tp, rs in got.items() for r in rs]
    assert sorted(seen) == [(p, o) for p in range(3) for o in range(5)]
    assert len(consumer.poll(max_records=2).get(P0, [])) == 0


def test_consumers_only_see_committed_records(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks=1)
    consumer = consumer_for(cluster3, auto_offset_reset="earliest")
    consumer.assign([P0])
    future = producer.send("orders", value=b"v")
    cluster3.advance(ms=1)  # on the leader, not yet on the followers
    p = cluster3.partition("orders", 0)
    assert (p.log_end_offset, p.high_watermark) == (1, 0)
    assert consumer.poll() == {}
    assert consumer.end_offsets([P0]) == {P0: 0}
    assert values(consumer.poll(timeout_ms=100)[P0]) == ["v"]
    assert future.succeeded()


# --- iteration ------------------------------------------------------------------------------------


def test_iteration_ends_when_the_simulated_world_is_idle(orders):
    consumer = consumer_for(orders, "orders", auto_offset_reset="earliest")
    start = orders.now_ms()
    assert len(list(consumer)) == 15
    assert orders.now_ms() == start  # nothing was pending: no time had to pass
    assert list(consumer) == []       # and again: still nothing, still no hanging


def test_iteration_waits_for_work_in_flight(orders):
    consumer = consumer_for(orders, "orders", auto_offset_reset="latest")
    consumer.assignment()
    for tp in (P0, P1, P2):
        consumer.position(tp)
    producer = KafkaProducer(bootstrap_servers=orders.bootstrap_servers, linger_ms=10_000)
    producer.send("orders", value=b"after ten seconds", partition=1)
    start = orders.now_ms()
    assert values(list(consumer)) == ["after ten seconds"]
    # linger 10 s, the request reaches the leader at +1 ms; the loop then ran the producer's
    # response (+2 ms) before the world was idle and iteration ended
    assert orders.now_ms() == start + 10_002


def test_consumer_timeout_ms_stops_iteration_in_simulated_time(orders):
    consumer = consumer_for(orders, "orders", consumer_timeout_ms=1000)
    for tp in (P0, P1, P2):
        consumer.position(tp)
    producer = KafkaProducer(bootstrap_servers=orders.bootstrap_servers, linger_ms=5000)
    producer.send("orders", value=b"too late for this loop", partition=0)
    start = orders.now_ms()
    assert list(consumer) == []
    assert orders.now_ms() == start + 1000
    assert list(consumer) == []       # iterating again waits another second
    assert orders.now_ms() == start + 2000
    orders.advance(seconds=3)
    assert values(list(consumer)) == ["too late for this loop"]


def test_iteration_moves_the_position_record_by_record(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P0])
    it = iter(consumer)
    next(it), next(it)
    assert consumer.position(P0) == 2
    assert values(consumer.poll()[P0]) == ["p0-2", "p0-3", "p0-4"]


# --- deserializers -------------------------------------------------------------------------------


def test_deserializers(cluster):
    cluster.create_topic("orders")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             key_serializer=str.encode,
                             value_serializer=lambda v: None if v is None
                             else json.dumps(v).encode("utf-8"))  # None-safe, as kafka-python
    producer.send("orders", key="user_789", value={"order_id": "12345", "total": 99.99})
    producer.send("orders", key="user_789", value=None)   # a tombstone stays None
    producer.flush()

    class Upper(Deserializer):
        def deserialize(self, topic, headers, data):
            return f"{topic}/{data.decode().upper()}"

    consumer = consumer_for(cluster, "orders", auto_offset_reset="earliest",
                            key_deserializer=Upper(),
                            value_deserializer=lambda m: None if m is None
                            else json.loads(m.decode("utf-8")))
    first, tombstone = list(consumer)
    assert first.key == "orders/USER_789"
    assert first.value == {"order_id": "12345", "total": 99.99}
    assert first.serialized_key_size == 8
    assert tombstone.value is None and tombstone.serialized_value_size == -1


# --- offsets lookups ------------------------------------------------------------------------------


def test_beginning_and_end_offsets(orders):
    consumer = consumer_for(orders)
    assert consumer.beginning_offsets([P0, P1]) == {P0: 0, P1: 0}
    assert consumer.end_offsets([P0, P1, P2]) == {P0: 5, P1: 5, P2: 5}


def test_beginning_offsets_follow_retention(cluster):
    cluster.create_topic("orders", config={"retention.ms": "3600000", "segment.ms": "60000"})
    produce(cluster, {0: ["old"]})                  # at minute 0
    cluster.advance(minutes=10)
    produce(cluster, {0: ["new"]})                  # at minute 10, in a new segment
    cluster.advance(minutes=49)
    assert consumer_for(cluster).beginning_offsets([P0]) == {P0: 0}   # 59 min: not 1 h old yet
    cluster.advance(minutes=7)                      # a retention check ran at minute 65
    consumer = consumer_for(cluster, auto_offset_reset="earliest")
    consumer.assign([P0])
    assert consumer.beginning_offsets([P0]) == {P0: 1}
    assert values(list(consumer)) == ["new"]


def test_offsets_for_times(cluster):
    cluster.create_topic("orders")
    start = cluster.now_ms()
    for i in range(4):
        produce(cluster, {0: [f"minute {i}"]})
        cluster.advance(minutes=1)
    consumer = consumer_for(cluster)
    found = consumer.offsets_for_times({P0: start + 90_000})   # with the leader epoch
    assert found == {P0: OffsetAndTimestamp(2, start + 120_000 + 4, 0)}
    assert consumer.offsets_for_times({P0: start + 3_600_000}) == {P0: None}
    with pytest.raises(ValueError, match="cannot be negative"):
        consumer.offsets_for_times({P0: -5})
    # replay from a point in time, the way the lesson's event sourcing rebuilds state
    consumer.assign([P0])
    consumer.seek(P0, found[P0].offset)
    assert values(list(consumer)) == ["minute 2", "minute 3"]


def test_pause_and_resume(orders):
    consumer = consumer_for(orders, "orders", auto_offset_reset="earliest")
    consumer.pause(P0, P1)
    assert consumer.paused() == {P0, P1}
    assert {r.partition for r in consumer} == {2}
    consumer.resume(P1)
    assert {r.partition for r in consumer} == {1}
    assert consumer.paused() == {P0}


def test_partitions_for_topic_and_topics(orders):
    orders.create_topic("__consumer_offsets", partitions=2)
    consumer = consumer_for(orders)
    assert consumer.partitions_for_topic("orders") == {0, 1, 2}
    assert consumer.partitions_for_topic("nope") is None
    assert consumer.topics() == {"orders"}      # internal topics excluded by default
    assert consumer_for(orders, exclude_internal_topics=False).topics() == {
        "orders", "__consumer_offsets"}


def test_close(orders):
    consumer = consumer_for(orders, "orders")
    consumer.close()
    with pytest.raises(IllegalStateError, match="closed"):
        consumer.poll()


def test_metrics_report_lag(orders):
    consumer = consumer_for(orders, auto_offset_reset="earliest")
    consumer.assign([P0])
    consumer.poll(max_records=2)
    metrics = consumer.metrics()["consumer-fetch-manager-metrics"]
    assert metrics["records-lag-max"] == 3   # Lag = LOG-END-OFFSET 5 - CURRENT-OFFSET 2
    assert metrics["records-consumed-total"] == 2
    consumer.seek(P0, 0)
    assert consumer.metrics()["consumer-fetch-manager-metrics"]["records-lag-max"] == 5
    assert {"records-consumed-rate", "fetch-latency-avg", "fetch-latency-max"} <= set(metrics)


# --- leadership moves --------------------------------------------------------------------------


def requests_sent(monkeypatch) -> list[tuple[str, int | None]]:
    """(Kafka API, broker) of every request clients ``call`` through the transport from now
    on (None: any broker)."""
    sent = []
    call = InProcessTransport.call

    def recording(self, node_id, request):
        sent.append((request.API_NAME, node_id))
        return call(self, node_id, request)
    monkeypatch.setattr(InProcessTransport, "call", recording)
    return sent


def read_until_quiet(consumer: KafkaConsumer, timeout_ms: int = 100) -> list[ConsumerRecord]:
    records = []
    while got := consumer.poll(timeout_ms=timeout_ms).get(P0):
        records += got
    return records


def test_the_leader_moves_while_consuming_and_the_consumer_follows_it(cluster3, monkeypatch):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    produce(cluster3, {0: [f"v{i}" for i in range(6)]}, acks="all")
    consumer = consumer_for(cluster3, auto_offset_reset="earliest", max_poll_records=4)
    consumer.assign([P0])
    first = consumer.poll(timeout_ms=100)[P0]       # fetched from broker 1, two still buffered
    cluster3.shutdown_broker(1)                     # leadership moves to broker 2 (epoch 1)
    cluster3.restart_broker(1)                      # back, as a follower
    produce(cluster3, {0: [f"v{i}" for i in range(6, 9)]}, acks="all")
    sent = requests_sent(monkeypatch)
    rest = read_until_quiet(consumer)
    assert [r.offset for r in first + rest] == list(range(9))   # nothing skipped or repeated
    assert values(first + rest) == [f"v{i}" for i in range(9)]
    assert [r.leader_epoch for r in rest] == [0, 0, 1, 1, 1]
    # broker 1 answers that the leader epoch moved on: the consumer asks for metadata, then
    # fetches from the new leader at the same position
    assert sent[:3] == [("Fetch", 1), ("Metadata", None), ("Fetch", 2)]


def test_a_consumer_rides_out_its_leader_crashing(cluster3, monkeypatch):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    produce(cluster3, {0: ["before"]}, acks="all")
    consumer = consumer_for(cluster3, auto_offset_reset="earliest")
    consumer.assign([P0])
    assert values(read_until_quiet(consumer)) == ["before"]
    cluster3.kill_broker(1)                         # no answer until the controller fences it
    produce(cluster3, {0: ["after"]}, acks="all")   # the producer waits out the failover
    assert cluster3.partition("orders", 0).leader == 2
    sent = requests_sent(monkeypatch)
    records = read_until_quiet(consumer)
    assert [(r.offset, r.value) for r in records] == [(1, b"after")]
    # the fetch to broker 1 fails to connect: the consumer asks who leads now
    assert sent[:3] == [("Fetch", 1), ("Metadata", None), ("Fetch", 2)]


def test_without_a_leader_offsets_wait_and_lookups_time_out_as_kafka_python(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1]})
    produce(cluster3, {0: ["kept"]}, acks="all")
    consumer = consumer_for(cluster3, auto_offset_reset="earliest")
    consumer.assign([P0])
    cluster3.kill_broker(1)                         # its only replica: nobody can answer
    start = cluster3.now_ms()
    with pytest.raises(KafkaTimeoutError, match=r"in 1000 ms: no leader of .*orders"):
        consumer.beginning_offsets([P0], timeout_ms=1000)
    assert cluster3.now_ms() - start == 1000        # asked again every retry_backoff_ms
    assert consumer.poll(timeout_ms=500) == {}      # the reset waits for a leader: no error
    assert consumer.known_positions() == {}
    assert cluster3.events.of_kind("consumer.offset_reset") == []
    cluster3.restart_broker(1)
    assert values(consumer.poll(timeout_ms=1000)[P0]) == ["kept"]
    [reset] = cluster3.events.of_kind("consumer.offset_reset")
    assert reset.text == "consumer reset orders-0 to offset 0 (earliest): no position yet"


def test_commit_async_without_a_group_fails_its_future_a_round_trip_later(orders):
    consumer = consumer_for(orders)
    calls = []
    future = consumer.commit_async({P0: 1}, callback=lambda o, e: calls.append(e))
    assert not future.is_done
    orders.advance(ms=2)
    assert isinstance(future.exception, IllegalStateError)
    assert "requires a group_id" in str(future.exception) and calls == [future.exception]


def test_unknown_topic_is_created_on_subscribe_when_the_broker_allows():
    cluster = Cluster(config={"num.partitions": 2})
    consumer = consumer_for(cluster, "page-views")
    assert consumer.assignment() == {TopicPartition("page-views", 0),
                                     TopicPartition("page-views", 1)}
