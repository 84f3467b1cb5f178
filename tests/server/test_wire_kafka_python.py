"""The lesson's code with the real kafka-python (``from kafka import ...``) against kafkalab serve.

Every scenario checks what the client saw against the embedded API on the same cluster (the
offsets in ``cluster.records``, the group in ``cluster.describe_consumer_group``).
"""
from __future__ import annotations

import json

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError

FAST = {"group.initial.rebalance.delay.ms": 0}


def _consume(consumer, count: int, timeout_s: float = 20.0) -> list:
    records = []
    import time

    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def _poll_until_split(consumers, each: int, timeout_s: float = 30.0) -> list[set]:
    """Poll every consumer in a thread of its own (as each would run in its own process)
    until each owns ``each`` partitions; their assignments."""
    import threading
    import time

    done = threading.Event()

    def run(consumer):
        deadline = time.monotonic() + timeout_s
        while not done.is_set() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=500)
            if all(len(c.assignment()) == each for c in consumers):
                done.set()

    threads = [threading.Thread(target=run, args=(c,)) for c in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [c.assignment() for c in consumers]


def test_the_lessons_producer_and_consumer_run_verbatim(serve_cluster):
    served = serve_cluster(config=FAST)
    producer = KafkaProducer(
        bootstrap_servers=served.bootstrap_servers,
        value_serializer=lambda v: json.dumps(v).encode("utf-8"),
        key_serializer=lambda k: k.encode("utf-8") if k else None)
    sent = [producer.send("orders", key="user-789", value={"order_id": i}).get(timeout=10)
            for i in range(5)]
    producer.close()
    assert [m.offset for m in sent] == [0, 1, 2, 3, 4]
    assert len({m.partition for m in sent}) == 1  # one key, one partition

    consumer = KafkaConsumer(
        "orders", bootstrap_servers=served.bootstrap_servers, group_id="order-processors",
        auto_offset_reset="earliest", enable_auto_commit=False,
        value_deserializer=lambda m: json.loads(m.decode("utf-8")))
    records = _consume(consumer, 5)
    consumer.commit()
    consumer.close()
    assert [r.value["order_id"] for r in records] == [0, 1, 2, 3, 4]
    embedded = served.cluster.records("orders")
    assert list(embedded["offset"]) == [0, 1, 2, 3, 4]
    assert set(embedded["key"]) == {"user-789"}  # shown decoded
    lag = served.cluster.describe_consumer_group("order-processors")
    assert list(lag["CURRENT-OFFSET"]) == [5] and list(lag["LAG"]) == [0]


@pytest.mark.parametrize("assignor", ["range", "roundrobin", "sticky", "cooperative-sticky"])
def test_a_group_of_two_splits_the_partitions_with_every_assignor(serve_cluster, assignor):
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
    from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
    classes = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
               "sticky": StickyPartitionAssignor,
               "cooperative-sticky": CooperativeStickyAssignor}
    served = serve_cluster(config=FAST)
    served.cluster.create_topic("clicks", partitions=4)
    consumers = [KafkaConsumer("clicks", bootstrap_servers=served.bootstrap_servers,
                               group_id="g", partition_assignment_strategy=[classes[assignor]],
                               auto_offset_reset="earliest") for _ in range(2)]
    owned = _poll_until_split(consumers, 2)
    assert all(len(o) == 2 for o in owned), owned
    assert not owned[0] & owned[1]
    described = served.cluster.describe_consumer_group("g")
    assert sorted(described["PARTITION"]) == [0, 1, 2, 3]
    for consumer in consumers:
        consumer.close()


def test_admin_client_creates_alters_describes_and_deletes(serve_cluster):
    served = serve_cluster(brokers=3)
    admin = KafkaAdminClient(bootstrap_servers=served.bootstrap_servers)
    admin.create_topics([NewTopic("critical-events", 6, 3)])
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic("critical-events", 6, 3)], raise_errors=True)
    admin.alter_configs([ConfigResource("TOPIC", "critical-events",
                                        configs={"min.insync.replicas": "2"})])
    admin.create_partitions({"critical-events": NewPartitions(8)})
    described = served.cluster.describe_topic("critical-events")
    assert len(described) == 8
    assert served.cluster.topic("critical-events").config["min.insync.replicas"] == 2
    configs = admin.describe_configs([ConfigResource("TOPIC", "critical-events")])
    assert configs["topic"]["critical-events"]["min.insync.replicas"]["value"] == "2"
    assert "critical-events" in admin.list_topics()
    admin.delete_topics(["critical-events"])
    assert "critical-events" not in served.cluster.topics
    admin.close()


def test_an_idempotent_producer_gets_a_producer_id_and_sequences(serve_cluster):
    served = serve_cluster()
    producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers,
                             enable_idempotence=True, acks="all")
    for i in range(3):
        producer.send("payments", f"p{i}".encode())
    producer.flush()
    producer.close()
    partition = served.cluster.partition("payments", 0)
    batches = list(partition.leader_log.batches())
    assert batches and all(b.producer_id >= 0 for b in batches)
    assert batches[0].base_sequence == 0


def test_a_transaction_is_seen_by_read_committed_only_when_committed(serve_cluster):
    served = serve_cluster(config=FAST)
    producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers,
                             transactional_id="orders-tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("orders", b"kept")
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send("orders", b"dropped")
    producer.flush()  # in the log, then aborted
    producer.abort_transaction()
    producer.close()
    consumer = KafkaConsumer("orders", bootstrap_servers=served.bootstrap_servers,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             group_id="reader")
    records = _consume(consumer, 1, timeout_s=10)
    records += _consume(consumer, 1, timeout_s=1)  # nothing more may come
    consumer.close()
    assert [r.value for r in records] == [b"kept"]
    log = served.cluster.records("orders")
    data = log[log["value"].notna()]  # without the COMMIT/ABORT markers
    assert list(data["value"]) == ["kept", "dropped"]  # shown decoded


def test_a_producer_follows_the_new_leader_when_the_lab_kills_the_old_one(serve_cluster):
    served = serve_cluster(brokers=3)
    cluster = served.cluster
    cluster.create_topic("orders", partitions=1, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers, acks="all",
                             retries=10, request_timeout_ms=5000)
    first = producer.send("orders", b"before").get(timeout=10)
    old_leader = cluster.describe_topic("orders")["leader"][0]
    cluster.kill_broker(int(old_leader))
    second = producer.send("orders", b"after").get(timeout=30)
    producer.close()
    new_leader = cluster.describe_topic("orders")["leader"][0]
    assert new_leader != old_leader
    assert (first.offset, second.offset) == (0, 1)
    assert list(cluster.records("orders")["value"]) == ["before", "after"]  # shown decoded


def test_consumer_positions_and_seek_match_the_embedded_log(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("events", partitions=1)
    producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers)
    for i in range(10):
        producer.send("events", str(i).encode())
    producer.flush()
    producer.close()
    tp = TopicPartition("events", 0)
    consumer = KafkaConsumer(bootstrap_servers=served.bootstrap_servers)
    consumer.assign([tp])
    assert consumer.end_offsets([tp]) == {tp: 10}
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    consumer.seek(tp, 7)
    records = _consume(consumer, 3)
    consumer.close()
    assert [r.offset for r in records] == [7, 8, 9]


def test_a_group_keeps_consuming_when_its_coordinator_broker_shuts_down(serve_cluster):
    served = serve_cluster(brokers=3, config={"group.initial.rebalance.delay.ms": 0})
    cluster = served.cluster
    cluster.create_topic("orders", partitions=1, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers, acks="all")
    for i in range(3):
        producer.send("orders", f"before-{i}".encode())
    producer.flush()
    consumer = KafkaConsumer("orders", bootstrap_servers=served.bootstrap_servers,
                             group_id="billing", auto_offset_reset="earliest",
                             enable_auto_commit=False)
    first = _consume(consumer, 3)
    consumer.commit()
    coordinator = cluster.group_coordinator.coordinator_of("billing")
    cluster.shutdown_broker(coordinator)
    for i in range(3):
        producer.send("orders", f"after-{i}".encode())
    producer.flush()
    second = _consume(consumer, 3)
    consumer.commit()
    consumer.close()
    producer.close()
    assert [r.value for r in first + second] == [
        b"before-0", b"before-1", b"before-2", b"after-0", b"after-1", b"after-2"]
    assert cluster.group_coordinator.coordinator_of("billing") != coordinator
    assert list(cluster.describe_consumer_group("billing")["CURRENT-OFFSET"]) == [6]
