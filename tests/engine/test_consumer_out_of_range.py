"""A consumer whose position fell below the log start offset (retention or DeleteRecords moved
it), exactly as kafka-python against Kafka (``consumer/fetcher.py``, ``_parse_fetched_data``):
the Fetch answer is OFFSET_OUT_OF_RANGE; with a reset policy the consumer resets —
'earliest' to the new log start offset, 'latest' to the end — and with
``auto_offset_reset='none'`` ``poll()`` raises ``OffsetOutOfRangeError({tp: fetch offset})``.
A committed offset below the log start offset does the same when a consumer starts from it.
"""
from __future__ import annotations

import pytest

from kafkalab import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.errors import OffsetOutOfRangeError

TP = TopicPartition("orders", 0)
DAY_MS = 24 * 3600 * 1000


def produce(cluster, first: int, last: int) -> None:
    """Records 'order <i>' for i in first..last-1, one a batch."""
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(first, last):
        producer.send("orders", b"order %d" % i, partition=0).get(timeout=10)


@pytest.fixture
def orders(cluster):
    """orders-0 with offsets 0..4."""
    cluster.create_topic("orders", partitions=1, config={"segment.bytes": 1000})
    produce(cluster, 0, 5)
    return cluster


def reader(cluster, **configs) -> KafkaConsumer:
    """A consumer of orders-0 that has read offsets 0..4 (its position is 5), then fell
    behind: offsets 5..19 came since."""
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, **configs)
    consumer.assign([TP])
    consumer.seek(TP, 0)
    assert [r.offset for r in consumer.poll()[TP]] == [0, 1, 2, 3, 4]
    produce(cluster, 5, 20)
    return consumer


def delete_below(cluster, offset: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.delete_records({TP: offset})
    assert cluster.partition("orders", 0).log_start_offset == offset


def offsets(consumer: KafkaConsumer) -> list[int]:
    return [r.offset for r in consumer]


def test_earliest_resets_to_the_new_log_start_offset(orders):
    consumer = reader(orders, auto_offset_reset="earliest")
    delete_below(orders, 12)
    assert offsets(consumer) == list(range(12, 20))
    [reset] = orders.events.of_kind("consumer.offset_reset")
    assert reset.text == ("consumer reset orders-0 to offset 12 (earliest): offset 5 is out of "
                          "range")


def test_latest_resets_to_the_end_and_skips_what_was_kept(orders):
    consumer = reader(orders, auto_offset_reset="latest")
    delete_below(orders, 12)
    assert consumer.poll() == {}
    assert consumer.position(TP) == 20
    produce(orders, 20, 21)
    assert offsets(consumer) == [20]


def test_none_raises_offset_out_of_range_from_poll_as_kafka_python(orders):
    consumer = reader(orders, auto_offset_reset="none")
    delete_below(orders, 12)
    with pytest.raises(OffsetOutOfRangeError) as info:
        consumer.poll()
    assert info.value.args[0] == {TP: 5}                      # kafka-python's argument
    assert "log start offset 12" in str(info.value)
    assert consumer.position(TP) == 5                         # nothing moved: it is up to you
    consumer.seek_to_beginning(TP)
    assert offsets(consumer)[0] == 12


def test_a_consumer_that_fell_behind_time_retention_resets(cluster):
    cluster.create_topic("orders", partitions=1, config={"segment.ms": DAY_MS // 2,
                                                         "retention.ms": 3 * DAY_MS})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for day in range(5):
        producer.send("orders", b"day %d" % day, partition=0).get(timeout=10)
        cluster.advance(days=1)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TP])
    consumer.seek(TP, 0)                                      # days 0 and 1 were deleted
    assert [r.value for r in consumer] == [b"day 2", b"day 3", b"day 4"]


@pytest.mark.parametrize("policy", ["earliest", "none"])
def test_a_committed_offset_below_the_log_start_offset_after_a_restart(orders, policy):
    first = KafkaConsumer("orders", bootstrap_servers=orders.bootstrap_servers,
                          group_id="billing", auto_offset_reset="earliest",
                          enable_auto_commit=False)
    assert [r.offset for r in first.poll(timeout_ms=5000)[TP]] == [0, 1, 2, 3, 4]
    first.commit()
    first.close()
    produce(orders, 5, 20)
    delete_below(orders, 12)
    again = KafkaConsumer("orders", bootstrap_servers=orders.bootstrap_servers,
                          group_id="billing", auto_offset_reset=policy,
                          enable_auto_commit=False)
    if policy == "none":
        with pytest.raises(OffsetOutOfRangeError) as info:
            again.poll(timeout_ms=5000)                       # joins, fetches from 5: refused
        assert info.value.args[0] == {TP: 5}
        assert again.position(TP) == 5                        # the committed offset, as is
    else:
        assert offsets(again) == list(range(12, 20))
