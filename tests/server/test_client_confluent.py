"""confluent-kafka (librdkafka, a C client) against kafkalab serve.

Produce with every codec and idempotence, group consumption with ``read_committed``,
transactions with ``send_offsets_to_transaction``, the AdminClient, and a leader killed while
producing with acks=all. Every scenario checks what the client saw against the embedded API on
the same cluster (``cluster.records``, ``cluster.describe_consumer_group``, the leader's log).
"""
from __future__ import annotations

import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import (  # noqa: E402
    Consumer, ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaError, KafkaException,
    Producer, TopicPartition,
)
from confluent_kafka.admin import (  # noqa: E402
    AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic,
    OffsetSpec, ResourceType,
)

FAST = {"group.initial.rebalance.delay.ms": 0}
#: librdkafka's timings, shortened for a server on loopback
CLIENT = {"socket.timeout.ms": 10000, "reconnect.backoff.ms": 20,
          "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 20,
          "topic.metadata.refresh.interval.ms": 1000, "log_level": 3}
CONSUMER = {**CLIENT, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "isolation.level": "read_committed", "fetch.wait.max.ms": 100}


@pytest.fixture
def clients(serve_cluster):
    """``clients(cls, config)``: a confluent-kafka client on the served cluster, closed after
    the test and before the server stops (so none retries against a closed port)."""
    made = []

    def make(cls, config):
        client = cls(config)
        made.append(client)
        return client

    yield make
    for client in reversed(made):
        if isinstance(client, Producer):
            client.purge()
        if isinstance(client, (Producer, Consumer)):
            try:
                client.close()
            except RuntimeError:
                pass  # the test closed it already
    made.clear()


def _produce(producer: Producer, topic: str, pairs, **kwargs) -> list:
    """Produce (key, value) pairs; their delivery reports (error, partition, offset, value),
    in order. A record not delivered, or delivered with an error, fails the test."""
    reports = []
    for key, value in pairs:
        producer.produce(topic, value, key=key,
                         on_delivery=lambda err, msg: reports.append(
                             (err, msg.partition(), msg.offset(), msg.value())), **kwargs)
    assert producer.flush(15) == 0, "records still undelivered after 15 s"
    assert [err for err, *_ in reports if err is not None] == []
    return reports


def _consume(consumer: Consumer, count: int, timeout_s: float = 20.0, quiet_s: float = 0.0):
    """At least ``count`` messages (then ``quiet_s`` more of polling), as (partition, offset,
    key, value); errors and fewer messages fail the test."""
    got = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        assert message.error() is None, message.error()
        got.append((message.partition(), message.offset(), message.key(), message.value()))
    assert len(got) >= count, f"{len(got)} of {count} messages in {timeout_s} s: {got}"
    quiet_end = time.monotonic() + quiet_s
    while time.monotonic() < quiet_end:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            got.append((message.partition(), message.offset(), message.key(), message.value()))
    return got


def _log_ends(reports) -> dict[int, int]:
    """partition -> the offset after its last delivered record."""
    ends: dict[int, int] = {}
    for _err, partition, offset, _value in reports:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends


def _committed_offsets(cluster, group: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets, as ``kafka-consumer-groups --describe`` shows them."""
    frame = cluster.describe_consumer_group(group)
    return {(row["TOPIC"], int(row["PARTITION"])): int(row["CURRENT-OFFSET"])
            for _, row in frame.iterrows() if row["CURRENT-OFFSET"] != "-"}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_an_idempotent_producer_gets_offsets_with_every_codec(serve_cluster, clients, codec):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=3)
    producer = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers,
                                  "enable.idempotence": True, "compression.type": codec,
                                  "linger.ms": 5})
    pairs = [(f"user-{i % 4}".encode(), f"order {i} ".encode() * 8) for i in range(40)]
    reports = _produce(producer, "orders", pairs)

    by_partition: dict[int, list[int]] = {}
    for _, partition, offset, _value in reports:
        by_partition.setdefault(partition, []).append(offset)
    for offsets in by_partition.values():  # each partition's offsets dense from 0, in order
        assert offsets == list(range(len(offsets)))
    stored = served.cluster.records("orders")
    assert sorted(zip(stored["partition"], stored["offset"], stored["value"])) == sorted(
        (p, o, v.decode()) for _, p, o, v in reports)
    for partition in by_partition:
        batches = list(served.cluster.partition("orders", partition).leader_log.batches())
        assert {b.compression_type for b in batches} == {codec}
        assert all(b.producer_id >= 0 for b in batches)  # idempotent: a producer id
        assert batches[0].base_sequence == 0


def test_a_read_committed_group_consumes_exactly_what_was_produced_and_commits(
        serve_cluster, clients):
    served = serve_cluster(config=FAST)
    served.cluster.create_topic("clicks", partitions=3)
    producer = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers})
    reports = _produce(producer, "clicks", [(f"k{i}".encode(), f"v{i}".encode())
                                            for i in range(30)])
    consumer = clients(Consumer, {**CONSUMER, "bootstrap.servers": served.bootstrap_servers,
                                  "group.id": "clickers"})
    consumer.subscribe(["clicks"])
    got = _consume(consumer, 30, quiet_s=0.5)
    committed = consumer.commit(asynchronous=False)
    positions = consumer.position(consumer.assignment())
    consumer.close()

    assert sorted((p, o, v) for p, o, _k, v in got) == sorted(
        (p, o, v) for _e, p, o, v in reports)
    assert len(got) == 30  # each once
    ends = _log_ends(reports)
    assert {tp.partition: tp.offset for tp in committed} == ends
    assert {tp.partition: tp.offset for tp in positions} == ends
    assert _committed_offsets(served.cluster, "clickers") == {
        ("clicks", p): end for p, end in ends.items()}
    lag = served.cluster.describe_consumer_group("clickers")
    assert set(lag["LAG"]) == {0}


def test_transactions_commit_abort_and_send_offsets(serve_cluster, clients):
    served = serve_cluster(config=FAST)
    cluster = served.cluster
    cluster.create_topic("input", partitions=1)
    cluster.create_topic("output", partitions=1)
    plain = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers})
    _produce(plain, "input", [(None, f"in-{i}".encode()) for i in range(4)])

    source = clients(Consumer, {**CONSUMER, "bootstrap.servers": served.bootstrap_servers,
                                "group.id": "processors"})
    source.subscribe(["input"])
    inputs = _consume(source, 4)
    assert [v for *_, v in inputs] == [f"in-{i}".encode() for i in range(4)]

    producer = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers,
                                  "transactional.id": "orders-tx",
                                  "transaction.timeout.ms": 60000})
    producer.init_transactions(10)
    # a consume-transform-produce transaction: outputs and the input offsets commit together
    producer.begin_transaction()
    for *_, value in inputs[:2]:
        producer.produce("output", value.replace(b"in", b"out"))
    producer.send_offsets_to_transaction([TopicPartition("input", 0, inputs[1][1] + 1)],
                                         source.consumer_group_metadata(), 10)
    producer.commit_transaction(10)
    # an aborted one: its records and its offsets are never seen
    producer.begin_transaction()
    producer.produce("output", b"dropped")
    assert producer.flush(10) == 0  # written before the abort (else librdkafka purges it)
    producer.send_offsets_to_transaction([TopicPartition("input", 0, 4)],
                                         source.consumer_group_metadata(), 10)
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce("output", b"kept")
    producer.commit_transaction(10)
    source.close()

    reader = clients(Consumer, {**CONSUMER, "bootstrap.servers": served.bootstrap_servers,
                                "group.id": "reader"})
    reader.subscribe(["output"])
    seen = _consume(reader, 3, timeout_s=15, quiet_s=1.0)
    reader.close()
    assert [v for *_, v in seen] == [b"out-0", b"out-1", b"kept"]
    stored = cluster.records("output")
    data = stored[stored["value"].notna()]
    assert list(zip(data["value"], data["transaction"])) == [
        ("out-0", "committed"), ("out-1", "committed"), ("dropped", "aborted"),
        ("kept", "committed")]
    assert _committed_offsets(cluster, "processors") == {("input", 0): 2}
    (txn,) = cluster.describe_transactions().query("transactional_id == 'orders-tx'")\
        .to_dict("records")
    assert (txn["state"], txn["timeout_ms"]) == ("CompleteCommit", 60000)
    batches = list(cluster.partition("output", 0).leader_log.batches())
    assert {b.producer_id for b in batches} == {txn["producer_id"]}


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_the_admin_client_manages_topics_configs_groups_and_offsets(serve_cluster, clients):
    served = serve_cluster(brokers=3, config=FAST)
    cluster = served.cluster
    admin = clients(AdminClient, {**CLIENT, "bootstrap.servers": served.bootstrap_servers})

    def result(futures: dict) -> dict:
        return {key: future.result(timeout=10) for key, future in futures.items()}

    result(admin.create_topics([NewTopic("critical-events", 3, 3,
                                         config={"retention.ms": "3600000"})]))
    with pytest.raises(KafkaException) as raised:
        result(admin.create_topics([NewTopic("critical-events", 3, 3)]))
    assert raised.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    assert cluster.topic("critical-events").config["retention.ms"] == 3600000

    metadata = admin.list_topics(timeout=10)
    assert sorted(metadata.brokers) == sorted(cluster.brokers)
    topic = metadata.topics["critical-events"]
    assert sorted(topic.partitions) == [0, 1, 2]
    described = cluster.describe_topic("critical-events")
    for index, partition in topic.partitions.items():
        assert partition.leader == int(described["leader"][index])
        assert sorted(partition.replicas) == sorted(int(r) for r in described["replicas"][index])

    resource = ConfigResource(ResourceType.TOPIC, "critical-events",
                              set_config={"min.insync.replicas": "2"})
    result(admin.alter_configs([resource]))
    assert cluster.topic("critical-events").config["min.insync.replicas"] == 2
    incremental = ConfigResource(ResourceType.TOPIC, "critical-events", incremental_configs=[
        ConfigEntry("cleanup.policy", "compact",
                    incremental_operation=AlterConfigOpType.SET)])
    result(admin.incremental_alter_configs([incremental]))
    assert cluster.topic("critical-events").config["cleanup.policy"] == ["compact"]
    (configs,) = result(admin.describe_configs(
        [ConfigResource(ResourceType.TOPIC, "critical-events")])).values()
    assert configs["min.insync.replicas"].value == "2"
    assert configs["cleanup.policy"].value == "compact"
    # AlterConfigs replaces a topic's whole config (Kafka's legacy semantics): the
    # retention.ms set at creation went back to its default; the incremental SET kept the rest
    assert configs["retention.ms"].value == "604800000" and configs["retention.ms"].is_default
    assert configs["segment.bytes"].is_default

    result(admin.create_partitions([NewPartitions("critical-events", 5)]))
    assert len(cluster.describe_topic("critical-events")) == 5
    # (also refreshes the admin client's metadata cache, which list_offsets reads)
    assert len(admin.list_topics("critical-events", timeout=10)
               .topics["critical-events"].partitions) == 5

    producer = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers})
    # keyed: the topic is compacted now, and a compacted topic refuses records without a key
    _produce(producer, "critical-events", [(f"k{i}".encode(), b"x") for i in range(7)],
             partition=4)
    consumer = clients(Consumer, {**CONSUMER, "bootstrap.servers": served.bootstrap_servers,
                                  "group.id": "auditors"})
    consumer.subscribe(["critical-events"])
    _consume(consumer, 7)
    consumer.commit(offsets=[TopicPartition("critical-events", 4, 5)], asynchronous=False)

    listed = admin.list_consumer_groups().result(timeout=10)
    assert "auditors" in {group.group_id for group in listed.valid}
    (group,) = result(admin.describe_consumer_groups(["auditors"])).values()
    assert group.group_id == "auditors" and not group.is_simple_consumer_group
    assert group.state == ConsumerGroupState.STABLE and group.partition_assignor == "range"
    assert group.coordinator.id == served.cluster.group_coordinator.coordinator_of("auditors")
    assert len(group.members) == 1
    assigned = {tp.partition for tp in group.members[0].assignment.topic_partitions}
    assert assigned == set(range(5))
    (offsets,) = result(admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions("auditors")])).values()
    assert {(tp.topic, tp.partition): tp.offset for tp in offsets.topic_partitions} == \
        _committed_offsets(cluster, "auditors") == {("critical-events", 4): 5}
    consumer.close()

    ends = result(admin.list_offsets({TopicPartition("critical-events", 4): OffsetSpec.latest(),
                                      TopicPartition("critical-events", 0):
                                          OffsetSpec.earliest()}))
    assert {tp.partition: info.offset for tp, info in ends.items()} == {4: 7, 0: 0}

    result(admin.delete_topics(["critical-events"]))
    assert "critical-events" not in cluster.topics


def test_a_producer_with_acks_all_follows_the_new_leader_and_loses_nothing(
        serve_cluster, clients):
    served = serve_cluster(brokers=3)
    cluster = served.cluster
    cluster.create_topic("payments", partitions=1, replication_factor=3)
    producer = clients(Producer, {**CLIENT, "bootstrap.servers": served.bootstrap_servers,
                                  "acks": "all", "enable.idempotence": True,
                                  "message.timeout.ms": 30000, "linger.ms": 5})
    acknowledged = []

    def delivered(err, msg):
        if err is None:
            acknowledged.append((msg.offset(), msg.value()))

    old_leader = int(cluster.describe_topic("payments")["leader"][0])
    metadata = producer.list_topics("payments", timeout=10)
    assert metadata.topics["payments"].partitions[0].leader == old_leader
    before = [f"before-{i}".encode() for i in range(20)]
    for value in before:
        producer.produce("payments", value, on_delivery=delivered)
    producer.poll(0.01)  # the leader dies with these in flight or waiting to be sent
    cluster.kill_broker(old_leader)
    after = [f"after-{i}".encode() for i in range(20)]
    for value in after:
        producer.produce("payments", value, on_delivery=delivered)
        producer.poll(0.05)
    assert producer.flush(30) == 0

    new_leader = int(cluster.describe_topic("payments")["leader"][0])
    assert new_leader != old_leader
    assert sorted(v for _, v in acknowledged) == sorted(before + after)
    stored = cluster.records("payments")
    log = dict(zip(stored["offset"], stored["value"]))
    for offset, value in acknowledged:  # every acknowledged record is where it was reported
        assert log[offset] == value.decode()
    assert len(stored) == len(before) + len(after)  # and each once (idempotence)
    metadata = producer.list_topics("payments", timeout=10)
    assert metadata.topics["payments"].partitions[0].leader == new_leader
