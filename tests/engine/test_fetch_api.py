"""The consume path's request layer: Fetch, ListOffsets and OffsetForLeaderEpoch as a client
sends them through the transport (``call`` answered at once, ``send`` a round trip in
simulated time), with Kafka's per-partition error codes and the long-poll fetch of the
purgatory."""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaProducer
from kafkalab.api.messages.fetch import (
    MAX_TIMESTAMP,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from kafkalab.client.transport import transport_for
from kafkalab.errors import (
    FencedLeaderEpochError,
    NotLeaderForPartitionError,
    OffsetOutOfRangeError,
    UnknownLeaderEpochError,
    UnknownTopicOrPartitionError,
)

NONE = 0
OFFSET_OUT_OF_RANGE = OffsetOutOfRangeError.errno
UNKNOWN_TOPIC_OR_PARTITION = UnknownTopicOrPartitionError.errno
NOT_LEADER_OR_FOLLOWER = NotLeaderForPartitionError.errno
FENCED_LEADER_EPOCH = FencedLeaderEpochError.errno
UNKNOWN_LEADER_EPOCH = UnknownLeaderEpochError.errno


def producer_for(cluster: Cluster, **configs) -> KafkaProducer:
    configs.setdefault("linger_ms", 0)
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)


def send_batches(cluster: Cluster, topic: str, partition: int, batches: list[list[bytes]],
                 **configs) -> None:
    """Each inner list becomes one batch of ``partition``."""
    producer = producer_for(cluster, **configs)
    for values in batches:
        for value in values:
            producer.send(topic, value=value, partition=partition)
        producer.flush()


def fetch(*partitions: tuple, topic: str = "orders", **request) -> FetchRequest:
    """A consumer's FetchRequest for (partition, fetch_offset[, partition_max_bytes[,
    current_leader_epoch]]) of ``topic``; answered at once unless ``max_wait_ms`` is given."""
    request.setdefault("max_wait_ms", 0)
    return FetchRequest((FetchTopic(topic, tuple(FetchPartition(
        p[0], p[1], -1, *p[2:]) for p in partitions)),), **request)


def partitions_of(response) -> dict:
    """{(topic, partition): its entry} of a Fetch, ListOffsets or OffsetForLeaderEpoch answer."""
    topics = getattr(response, "responses", None) or response.topics
    out = {}
    for topic in topics:
        name = getattr(topic, "topic", None) or topic.name
        for p in topic.partitions:
            index = p.partition_index if hasattr(p, "partition_index") else p.partition
            out[(name, index)] = p
    return out


def values(data) -> list[bytes]:
    return [r.value for batch in data.records for r in batch.records]


@pytest.fixture
def transport(cluster):
    return transport_for(cluster.bootstrap_servers)


@pytest.fixture
def orders(cluster):
    cluster.create_topic("orders", partitions=2)
    send_batches(cluster, "orders", 0, [[b"a", b"b", b"c"], [b"d", b"e"]])
    return cluster


# --- Fetch ----------------------------------------------------------------------------------------
def test_a_fetch_returns_whole_batches_from_the_one_holding_the_offset(orders, transport):
    response = transport.call(1, fetch((0, 1), (1, 0)))
    assert isinstance(response, FetchResponse) and response.API_KEY == 1
    p0, p1 = partitions_of(response)[("orders", 0)], partitions_of(response)[("orders", 1)]
    assert (p0.error_code, p0.high_watermark, p0.last_stable_offset, p0.log_start_offset) == \
        (NONE, 5, 5, 0)
    # the batch holding offset 1 comes back whole: the consumer skips what it did not ask for
    assert [(b.base_offset, b.last_offset) for b in p0.records] == [(0, 2), (3, 4)]
    assert (p1.error_code, p1.high_watermark, p1.records) == (NONE, 0, ())


def test_a_fetch_reads_below_the_high_watermark_only(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    cluster3.slow_follower(3, 20_000)   # in the ISR, but it copies 20 s late
    send_batches(cluster3, "orders", 0, [[b"x"], [b"y"]], acks=1)
    cluster3.advance(ms=10)
    p = cluster3.partition("orders", 0)
    assert (p.high_watermark, p.log_end_offset) == (0, 2)
    data = partitions_of(transport_for(cluster3.bootstrap_servers).call(
        1, fetch((0, 0))))[("orders", 0)]
    assert (data.error_code, data.high_watermark, data.records) == (NONE, 0, ())


def test_fetch_errors_are_answered_per_partition(orders, transport):
    request = FetchRequest((
        FetchTopic("orders", (FetchPartition(0, 0), FetchPartition(1, 99),
                              FetchPartition(7, 0))),
        FetchTopic("nope", (FetchPartition(0, 0),))), max_wait_ms=0)
    got = partitions_of(transport.call(1, request))
    assert values(got[("orders", 0)]) == [b"a", b"b", b"c", b"d", b"e"]   # the others still read
    out_of_range = got[("orders", 1)]
    assert out_of_range.error_code == OFFSET_OUT_OF_RANGE
    assert "Offset 99 is out of range for orders-1" in out_of_range.error_message
    assert (out_of_range.high_watermark, out_of_range.log_start_offset,
            out_of_range.records) == (-1, -1, ())
    assert got[("orders", 7)].error_code == UNKNOWN_TOPIC_OR_PARTITION
    assert "does not exist" in got[("orders", 7)].error_message
    assert got[("nope", 0)].error_code == UNKNOWN_TOPIC_OR_PARTITION


def test_only_the_leader_in_the_current_epoch_answers_a_fetch(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [2, 3]})
    transport = transport_for(cluster3.bootstrap_servers)
    follower = partitions_of(transport.call(3, fetch((0, 0))))[("orders", 0)]
    assert follower.error_code == NOT_LEADER_OR_FOLLOWER
    assert follower.error_message == "Broker 3 is not the leader of orders-0 (leader: 2)"
    stranger = partitions_of(transport.call(1, fetch((0, 0))))[("orders", 0)]
    assert stranger.error_code == NOT_LEADER_OR_FOLLOWER
    assert "Broker 1 holds no replica of orders-0" in stranger.error_message
    leader = partitions_of(transport.call(2, fetch((0, 0, 1024, 0))))[("orders", 0)]
    assert leader.error_code == NONE                          # epoch 0: the current one
    newer = partitions_of(transport.call(2, fetch((0, 0, 1024, 5))))[("orders", 0)]
    assert newer.error_code == UNKNOWN_LEADER_EPOCH
    cluster3.shutdown_broker(2)                                # leadership moves: epoch 1
    stale = partitions_of(transport.call(3, fetch((0, 0, 1024, 0))))[("orders", 0)]
    assert stale.error_code == FENCED_LEADER_EPOCH
    assert "carries leader epoch 0, but the partition is in leader epoch 1" in \
        stale.error_message


def test_fetch_sizes_follow_kafka_first_batch_whole_then_what_fits(cluster, transport):
    cluster.create_topic("orders", partitions=2)
    for p in (0, 1):
        send_batches(cluster, "orders", p, [[b"x" * 100], [b"y" * 100]])
    [size] = {b.size_in_bytes for b in cluster.partition("orders", 0).leader_log.batches()}
    # partition_max_bytes smaller than a batch: the response's first batch still comes whole
    got = partitions_of(transport.call(1, fetch((0, 0, 10), (1, 0, 10))))
    assert len(got[("orders", 0)].records) == 1 and got[("orders", 1)].records == ()
    # max_bytes bounds the whole response; the first partition takes its part first
    got = partitions_of(transport.call(1, fetch((0, 0, 10_000), (1, 0, 10_000),
                                                max_bytes=3 * size)))
    assert len(got[("orders", 0)].records) == 2 and len(got[("orders", 1)].records) == 1
    assert got[("orders", 1)].high_watermark == 2


# --- the long poll --------------------------------------------------------------------------------
def long_poll(cluster: Cluster, node: int, request: FetchRequest) -> list:
    """Send ``request`` through the transport; the list fills with (time, response)."""
    answers: list = []
    transport_for(cluster.bootstrap_servers).send(
        node, request, lambda response: answers.append((cluster.now_ms(), response)))
    return answers


def test_a_long_poll_fetch_is_answered_when_a_produce_brings_data(orders):
    producer = producer_for(orders)
    start = orders.now_ms()
    answers = long_poll(orders, 1, fetch((0, 5), max_wait_ms=500))
    orders.advance(ms=100)
    assert answers == []                                       # nothing to read: it waits
    assert len(orders.brokers[1].purgatories["Fetch"].watched(("orders", 0))) == 1
    producer.send("orders", value=b"late", partition=0)
    produced = orders.now_ms()
    producer.flush()
    orders.advance(ms=5)
    [(answered, response)] = answers
    data = partitions_of(response)[("orders", 0)]
    assert values(data) == [b"late"] and data.high_watermark == 6
    # the produce reaches the leader 1 ms after it is sent, the answer the client 1 ms later
    assert answered == produced + 2 and answered - start < 500
    assert orders.brokers[1].purgatories["Fetch"].watched(("orders", 0)) == []


def test_a_long_poll_fetch_expires_after_max_wait_ms_with_what_there_is(orders):
    start = orders.now_ms()
    answers = long_poll(orders, 1, fetch((0, 5), max_wait_ms=500))
    orders.advance(ms=1000)
    [(answered, response)] = answers
    data = partitions_of(response)[("orders", 0)]
    assert (data.error_code, data.records, data.high_watermark) == (NONE, (), 5)
    assert answered == start + 1 + 500 + 1                     # there, waited, back
    assert len(orders.brokers[1].purgatories["Fetch"]) == 0


def test_a_long_poll_fetch_waits_for_min_bytes(orders):
    producer = producer_for(orders)
    answers = long_poll(orders, 1, fetch((1, 0), max_wait_ms=10_000, min_bytes=300))
    producer.send("orders", value=b"s" * 100, partition=1).get(timeout=10)
    orders.advance(ms=100)
    [first] = orders.partition("orders", 1).leader_log.batches()
    assert first.size_in_bytes < 300 and answers == []        # one batch: too few bytes
    producer.send("orders", value=b"m" * 100, partition=1).get(timeout=10)
    orders.advance(ms=5)
    [(_, response)] = answers                                  # two batches: enough
    assert values(partitions_of(response)[("orders", 1)]) == [b"s" * 100, b"m" * 100]


def test_a_long_poll_fetch_of_a_failing_partition_is_answered_at_once(orders):
    start = orders.now_ms()
    answers = long_poll(orders, 1, fetch((0, 5), (7, 0), max_wait_ms=500))
    orders.advance(ms=10)
    [(answered, response)] = answers
    assert answered == start + 2
    assert partitions_of(response)[("orders", 7)].error_code == UNKNOWN_TOPIC_OR_PARTITION


def test_a_waiting_fetch_is_answered_when_its_leader_moves_away(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    cluster3.shutdown_broker(1)
    cluster3.restart_broker(1)
    cluster3.advance(ms=100)                                   # 1 is back in the ISR
    p = cluster3.partition("orders", 0)
    assert (p.leader, p.isr) == (2, [2, 3, 1])
    start = cluster3.now_ms()
    answers = long_poll(cluster3, 2, fetch((0, 0), max_wait_ms=500))
    cluster3.advance(ms=10)
    assert answers == []
    assert cluster3.elect_preferred_leaders() == 1             # leadership goes back to 1
    cluster3.advance(ms=10)
    [(answered, response)] = answers
    assert partitions_of(response)[("orders", 0)].error_code == NOT_LEADER_OR_FOLLOWER
    assert answered < start + 500


# --- ListOffsets ----------------------------------------------------------------------------------
def list_offsets(*asked: tuple, topic: str = "orders", **request) -> ListOffsetsRequest:
    """(partition, timestamp[, current_leader_epoch]) of ``topic``."""
    return ListOffsetsRequest((ListOffsetsTopic(topic, tuple(
        ListOffsetsPartition(*a) for a in asked)),), **request)


def offsets(response) -> list[tuple[int, int, int, int]]:
    """(error_code, offset, timestamp, leader_epoch) of each partition, in the asked order."""
    return [(p.error_code, p.offset, p.timestamp, p.leader_epoch)
            for t in response.topics for p in t.partitions]


def test_list_offsets_earliest_latest_max_timestamp_and_by_time(cluster, transport):
    cluster.create_topic("orders")
    start = cluster.now_ms()
    for minute in range(3):
        send_batches(cluster, "orders", 0, [[b"m%d" % minute]])
        cluster.advance(minutes=1)
    t = [r.timestamp for b in cluster.partition("orders", 0).leader_log.batches()
         for r in b.records]
    response = transport.call(1, list_offsets(
        (0, -2), (0, -1), (0, MAX_TIMESTAMP), (0, start + 30_000), (0, start + 3_600_000)))
    assert response.API_KEY == 2
    assert offsets(response) == [
        (NONE, 0, -1, 0),              # earliest: the log start offset, written in epoch 0
        (NONE, 3, -1, 0),              # latest: the high watermark, the current leader epoch
        (NONE, 2, t[2], 0),            # the newest record
        (NONE, 1, t[1], 0),            # the first record at or after the time
        (NONE, -1, -1, -1),            # no record that new
    ]


def test_list_offsets_latest_is_the_high_watermark_not_the_log_end(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    cluster3.slow_follower(3, 20_000)
    send_batches(cluster3, "orders", 0, [[b"x"], [b"y"]], acks=1)
    cluster3.advance(ms=10)
    transport = transport_for(cluster3.bootstrap_servers)
    assert offsets(transport.call(1, list_offsets((0, -1), (0, MAX_TIMESTAMP)))) == [
        (NONE, 0, -1, 0), (NONE, -1, -1, -1)]
    assert offsets(transport.call(1, list_offsets((0, -1), isolation_level=1))) == [
        (NONE, 0, -1, 0)]          # read_committed: the last stable offset, the same for now


def test_list_offsets_errors_are_answered_per_partition(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [2, 3], 1: [1, 2]})
    transport = transport_for(cluster3.bootstrap_servers)
    got = offsets(transport.call(1, list_offsets((0, -1), (1, -1), (5, -1), (1, -1, 3))))
    assert [g[0] for g in got] == [NOT_LEADER_OR_FOLLOWER, NONE, UNKNOWN_TOPIC_OR_PARTITION,
                                   UNKNOWN_LEADER_EPOCH]
    assert [g[1:] for g in got if g[0]] == [(-1, -1, -1)] * 3


# --- OffsetForLeaderEpoch -------------------------------------------------------------------------
def test_offset_for_leader_epoch_after_a_leader_change(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]})
    send_batches(cluster3, "orders", 0, [[b"e0-0", b"e0-1", b"e0-2"]], acks="all")
    cluster3.shutdown_broker(1)                                # leader 2, epoch 1
    send_batches(cluster3, "orders", 0, [[b"e1-0", b"e1-1"]], acks="all")
    cluster3.restart_broker(1)
    transport = transport_for(cluster3.bootstrap_servers)
    request = OffsetForLeaderEpochRequest((OffsetForLeaderTopic("orders", (
        OffsetForLeaderPartition(0, 0), OffsetForLeaderPartition(0, 1),
        OffsetForLeaderPartition(0, 0, current_leader_epoch=0))),))
    answer = transport.call(2, request)
    assert answer.API_KEY == 23
    got = [(e.error_code, e.leader_epoch, e.end_offset) for e in answer.topics[0].partitions]
    assert got == [(NONE, 0, 3),                   # epoch 0 ended where epoch 1 began
                   (NONE, 1, 5),                   # the current epoch ends at the log end
                   (FENCED_LEADER_EPOCH, -1, -1)]  # the asker's idea of the leader is stale
    follower = transport.call(1, request).topics[0].partitions[0]
    assert (follower.error_code, follower.leader_epoch) == (NOT_LEADER_OR_FOLLOWER, -1)
