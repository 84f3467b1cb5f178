"""kafka-console-producer and kafka-console-consumer against the in-kernel cluster."""
from __future__ import annotations

import pytest
from tool_helpers import run_tool

from kafkalab import KafkaConsumer
from kafkalab.tools import console_consumer, console_producer, topics

PRODUCE = "--bootstrap-server localhost:9092 --topic orders"
KEYED = PRODUCE + " --property parse.key=true --property key.separator=:"
CONSUME = "--bootstrap-server localhost:9092 --topic orders"


@pytest.fixture
def orders(cluster):
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic orders "
                          "--partitions 3")
    return cluster


def stored(cluster) -> list[tuple]:
    consumer = KafkaConsumer("orders", bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    return sorted((r.partition, r.offset, r.key, r.value) for r in consumer)


def test_each_line_is_a_record(orders):
    result = run_tool(console_producer.main, PRODUCE, stdin="hello\nworld\n\n")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert sorted(v for *_, v in stored(orders)) == [b"", b"hello", b"world"]


def test_keys_are_parsed_and_go_to_their_partition(orders):
    run_tool(console_producer.main, KEYED, stdin="user1:a\nuser2:b\nuser1:c\n")
    records = stored(orders)
    by_key = {}
    for partition, _, key, value in records:
        by_key.setdefault(key, set()).add(partition)
    assert {k: len(ps) for k, ps in by_key.items()} == {b"user1": 1, b"user2": 1}
    assert [v for _, _, k, v in records if k == b"user1"] == [b"a", b"c"]  # in order


def test_a_line_without_the_separator_stops_the_producer(orders):
    result = run_tool(console_producer.main, KEYED, stdin="user1:a\nno key here\nuser2:b\n")
    assert result.code == 1
    assert result.err == ("org.apache.kafka.common.KafkaException: No key separator found on "
                          "line number 2: 'no key here'\n")
    assert [(k, v) for *_, k, v in stored(orders)] == [(b"user1", b"a")]
    ignored = run_tool(console_producer.main, KEYED + " --property ignore.error=true",
                       stdin="no key\n")
    assert ignored.code == 0
    assert (None, b"no key") in [(k, v) for *_, k, v in stored(orders)]


def test_producer_properties_reach_the_producer(orders):
    result = run_tool(console_producer.main, PRODUCE + " --producer-property acks=1 "
                      "--producer-property linger.ms=5 --compression-codec gzip --sync",
                      stdin="x\n")
    assert result.code == 0
    bad = run_tool(console_producer.main, PRODUCE + " --producer-property no.such=1",
                   stdin="x\n")
    assert bad.code == 1 and "no_such" in bad.err


def test_the_producer_needs_a_topic_and_a_bootstrap_server(orders):
    assert run_tool(console_producer.main, "--bootstrap-server localhost:9092",
                    stdin="").err.startswith('Missing required argument "[topic]"\n')
    assert run_tool(console_producer.main, "--topic orders",
                    stdin="").err.startswith('Missing required argument "[bootstrap-server]"\n')


@pytest.fixture
def filled(orders):
    run_tool(console_producer.main, KEYED, stdin="user1:a\nuser2:b\nuser1:c\nuser3:d\n")
    return orders


def test_from_beginning_prints_every_value_and_the_count(filled):
    result = run_tool(console_consumer.main, CONSUME + " --from-beginning")
    assert result.code == 0
    assert sorted(result.out.splitlines()) == ["a", "b", "c", "d"]
    assert result.err == "Processed a total of 4 messages\n"
    latest = run_tool(console_consumer.main, CONSUME)  # from the end: nothing new
    assert (latest.out, latest.err) == ("", "Processed a total of 0 messages\n")


def test_the_formatter_properties(filled):
    result = run_tool(console_consumer.main, CONSUME + " --from-beginning --property "
                      "print.key=true --property print.partition=true --property "
                      "print.offset=true --property print.timestamp=true --property "
                      "key.separator=|")
    lines = result.out.splitlines()
    assert len(lines) == 4
    for line in lines:
        timestamp, partition, offset, key, value = line.split("|")
        assert timestamp.startswith("CreateTime:") and int(timestamp.split(":")[1]) > 0
        assert partition.startswith("Partition:") and offset.startswith("Offset:")
        assert (key, value) in {("user1", "a"), ("user2", "b"), ("user1", "c"), ("user3", "d")}
    keys_only = run_tool(console_consumer.main, CONSUME + " --from-beginning --property "
                         "print.key=true --property print.value=false").out
    assert sorted(keys_only.splitlines()) == ["user1", "user1", "user2", "user3"]


def test_max_messages_partition_and_offset(filled):
    two = run_tool(console_consumer.main, CONSUME + " --from-beginning --max-messages 2")
    assert len(two.out.splitlines()) == 2 and two.err == "Processed a total of 2 messages\n"
    lines = run_tool(console_consumer.main, CONSUME + " --from-beginning --property "
                     "print.partition=true --property print.offset=true").out.splitlines()
    partition, offset = lines[-1].split("\t")[:2]
    p, o = partition.split(":")[1], int(offset.split(":")[1])
    one = run_tool(console_consumer.main, CONSUME + f" --partition {p} --offset {o} "
                   "--property print.offset=true")
    assert one.out.splitlines() == [lines[-1].split("\t", 1)[1]]
    earliest = run_tool(console_consumer.main, CONSUME + f" --partition {p} --offset earliest")
    assert earliest.err.startswith("Processed a total of")


def test_a_group_consumes_once_and_commits(filled):
    first = run_tool(console_consumer.main, CONSUME + " --group audit --from-beginning "
                     "--timeout-ms 5000")
    assert len(first.out.splitlines()) == 4
    again = run_tool(console_consumer.main, CONSUME + " --group audit --from-beginning "
                     "--timeout-ms 5000")
    assert (again.out, again.err) == ("", "Processed a total of 0 messages\n")


def test_read_committed_skips_aborted_records(orders):
    from kafkalab import KafkaProducer

    producer = KafkaProducer(bootstrap_servers="localhost:9092", transactional_id="tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("orders", b"aborted", partition=0)
    producer.flush()  # written, then aborted
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send("orders", b"committed", partition=0)
    producer.commit_transaction()
    everything = run_tool(console_consumer.main, CONSUME + " --from-beginning").out
    assert sorted(everything.splitlines()) == ["aborted", "committed"]
    committed = run_tool(console_consumer.main, CONSUME + " --from-beginning "
                         "--isolation-level read_committed").out
    assert committed.splitlines() == ["committed"]


@pytest.mark.parametrize("command, message", [
    ("--bootstrap-server localhost:9092", "Exactly one of --include/--topic is required. "),
    (CONSUME + " --from-beginning --partition 0 --offset 1",
     "Options from-beginning and offset cannot be specified together."),
    (CONSUME + " --offset 1", "The partition is required when offset is specified."),
    (CONSUME + " --group g --partition 0", "Options group and partition cannot be specified "
                                           "together."),
    (CONSUME + " --partition 0 --offset first",
     "The provided offset value 'first' is incorrect. Valid values are 'earliest', 'latest', "
     "or a non-negative long."),
])
def test_bad_consumer_commands(command, message, orders):
    result = run_tool(console_consumer.main, command)
    assert result.code == 1 and result.err.splitlines()[0] == message
