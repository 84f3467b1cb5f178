"""The cluster: brokers, replica sets, the registry, broker configs, determinism (DESIGN §2-3)."""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.cluster import registry
from kafkalab.errors import KafkaConnectionError, KafkaTimeoutError, UnknownTopicOrPartitionError


# --- determinism -------------------------------------------------------------------------------


def lesson_run(seed: int):
    """Topics, keyless and keyed sends, a consumer: everything that could depend on chance."""
    registry.clear()
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    cluster.create_topic("clicks", partitions=6, replication_factor=2)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=5,
                             batch_size=200)
    metadata = []
    for i in range(40):
        producer.send("clicks", value=b"click %d" % i).add_callback(metadata.append)
        producer.send("orders", key=b"user_%d" % (i % 4), value=b"order %d" % i) \
            .add_callback(metadata.append)
        if i % 10 == 9:
            cluster.advance(ms=7)
    producer.flush()
    consumer = KafkaConsumer("orders", "clicks", bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumed = [(m.topic, m.partition, m.offset, m.value) for m in consumer]
    return {
        "offsets": [(m.topic, m.partition, m.offset, m.timestamp) for m in metadata],
        "leaders": {name: [(p.leader, tuple(p.replicas)) for p in t.partitions]
                    for name, t in cluster.topics.items()},
        "events": [(e.time_ms, e.kind, e.text) for e in cluster.events],
        "consumed": consumed,
        "now": cluster.now_ms(),
    }


def test_same_seed_same_calls_same_offsets_leaders_and_events():
    first, second = lesson_run(seed=7), lesson_run(seed=7)
    assert first["offsets"] == second["offsets"]
    assert first["leaders"] == second["leaders"]
    assert first["events"] == second["events"]
    assert first["consumed"] == second["consumed"]
    assert first["now"] == second["now"]
    assert len(first["offsets"]) == 80 and len(first["consumed"]) == 80


def test_different_seeds_may_place_leaders_differently():
    placements = set()
    for seed in range(8):
        registry.clear()
        cluster = Cluster(brokers=3, seed=seed)
        topic = cluster.create_topic("orders", partitions=3, replication_factor=3)
        placements.add(tuple(tuple(p.replicas) for p in topic.partitions))
        # whatever the seed: each broker leads one partition, every broker holds a replica
        assert sorted(p.leader for p in topic.partitions) == [1, 2, 3]
    assert len(placements) > 1


def test_validate_only_does_not_consume_randomness():
    registry.clear()
    a = Cluster(brokers=3, seed=3)
    a.create_topic("probe", partitions=4, replication_factor=2, validate_only=True)
    assert "probe" not in a.topics
    placed_a = [p.replicas for p in a.create_topic("orders", 4, 2).partitions]
    registry.clear()
    b = Cluster(brokers=3, seed=3)
    placed_b = [p.replicas for p in b.create_topic("orders", 4, 2).partitions]
    assert placed_a == placed_b


# --- the registry and bootstrap_servers ----------------------------------------------------------


def test_the_first_client_gets_a_default_single_broker_cluster_at_localhost_9092():
    producer = KafkaProducer(bootstrap_servers=["localhost:9092"])
    cluster = registry.resolve("localhost:9092")
    assert len(cluster.brokers) == 1 and cluster.bootstrap_servers == "localhost:9092"
    assert producer._transport.cluster is cluster
    # every spelling of the address reaches the same cluster
    for spelling in ("localhost", "127.0.0.1:9092", "PLAINTEXT://localhost:9092",
                     ["nowhere:1", "localhost:9092"]):
        assert registry.resolve(spelling) is cluster


def test_a_new_cluster_takes_over_the_lessons_address():
    old = Cluster()
    new = Cluster(brokers=3, seed=1)
    assert new.bootstrap_servers == "localhost:9092,localhost:9093,localhost:9094"
    assert registry.resolve(["localhost:9092"]) is new is not old


def test_an_unknown_address_is_refused_with_what_exists():
    Cluster(port=19092)
    with pytest.raises(KafkaConnectionError, match="No kafkalab cluster listens on "
                                                    "kafka:9092.*localhost:19092"):
        KafkaProducer(bootstrap_servers="kafka:9092")


# --- broker configs ------------------------------------------------------------------------------


def test_auto_create_topics_enable_true_creates_with_num_partitions():
    cluster = Cluster(config={"num.partitions": 3, "auto.create.topics.enable": "true"})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    metadata = producer.send("orders", key=b"user_789", value=b"{}").get(timeout=10)
    topic = cluster.topic("orders")
    assert len(topic.partitions) == 3
    assert metadata.partition in (0, 1, 2) and metadata.offset == 0
    auto = cluster.events.of_kind("topic.auto_created")
    assert len(auto) == 1 and "auto.create.topics.enable=true" in auto[0].text


def test_auto_create_topics_enable_false_refuses_unknown_topics():
    cluster = Cluster(config={"auto.create.topics.enable": False})
    cluster.create_topic("orders")
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    # as kafka-python: send() waits max_block_ms for the topic's metadata, then gives up
    with pytest.raises(KafkaTimeoutError, match=r"Failed to update metadata after 60\.0 secs\. "
                       r"Topic 'ordrs' .*existing topics: orders.*auto\.create\.topics\."
                       r"enable=false"):
        producer.send("ordrs", value=b"typo")
    assert sorted(cluster.topics) == ["orders"]
    assert not cluster.events.of_kind("topic.auto_created")


def test_default_replication_factor_is_used_for_new_topics():
    cluster = Cluster(brokers=3, config={"default.replication.factor": 3,
                                         "num.partitions": 2})
    topic = cluster.create_topic("orders")
    assert len(topic.partitions) == 2 and topic.replication_factor == 3


def test_a_client_may_forbid_auto_creation():
    cluster = Cluster()
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             allow_auto_create_topics=False)
    with pytest.raises(KafkaTimeoutError, match="allow_auto_create_topics=False"):
        producer.send("orders", value=b"x")
    assert "orders" not in cluster.topics


# --- replicas ------------------------------------------------------------------------------------


def test_followers_copy_the_leaders_batches_and_the_high_watermark_follows_the_isr(cluster3):
    cluster3.create_topic("critical-events", partitions=1, replication_factor=3)
    p = cluster3.partition("critical-events", 0)
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks="all")
    future = producer.send("critical-events", value=b"payment 99.99")
    cluster3.run_until_idle()
    assert future.succeeded() and future.value.offset == 0
    assert p.high_watermark == p.log_end_offset == 1
    for broker_id, log in p.logs.items():
        assert log.log_end_offset == 1
        # replicas hold the very same batch objects (identical by construction)
        assert list(log.batches())[0] is list(p.leader_log.batches())[0]


def test_acks_1_answers_before_followers_have_the_record(cluster3):
    cluster3.create_topic("orders", partitions=1, replication_factor=3)
    p = cluster3.partition("orders", 0)
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks=1)
    leader_only, all_replicas = [], []
    producer.send("orders", value=b"x").add_callback(
        lambda md: leader_only.append((md.offset, p.high_watermark, cluster3.now_ms())))
    cluster3.run_until_idle()
    producer2 = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers, acks="all")
    producer2.send("orders", value=b"y").add_callback(
        lambda md: all_replicas.append((md.offset, p.high_watermark, cluster3.now_ms())))
    started = cluster3.now_ms()
    cluster3.run_until_idle()
    # acks=1: the leader answered while the record was not yet committed (HW 0)
    assert leader_only[0][:2] == (0, 0)
    # acks=all: the answer came only once the high watermark passed the record
    assert all_replicas[0][:2] == (1, 2)
    assert all_replicas[0][2] - started > 2  # it took a replication round trip too


def test_describe_topic_shows_kafkas_positions(cluster3):
    cluster3.create_topic("orders", partitions=3, replication_factor=2)
    producer = KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers)
    for i in range(6):
        producer.send("orders", value=b"v", partition=i % 3)
    producer.flush()
    frame = cluster3.describe_topic("orders")
    assert list(frame["partition"]) == [0, 1, 2]
    assert list(frame["log_end_offset"]) == [2, 2, 2]
    assert list(frame["high_watermark"]) == [2, 2, 2]
    assert list(frame["log_start_offset"]) == [0, 0, 0]
    assert all(len(r) == 2 for r in frame["replicas"])


def test_cluster_advance_moves_simulated_time_and_refuses_going_back(cluster):
    start = cluster.now_ms()
    assert cluster.advance(days=1, hours=1, minutes=1, seconds=1, ms=1) == \
        start + 86_400_000 + 3_600_000 + 60_000 + 1000 + 1
    with pytest.raises(ValueError, match="forward only"):
        cluster.advance(ms=-5)


def test_unknown_partition_is_refused_with_the_range(cluster):
    cluster.create_topic("orders", partitions=3)
    with pytest.raises(UnknownTopicOrPartitionError, match="Partition 3 of topic 'orders' does "
                                                           "not exist: it has partitions 0..2"):
        cluster.partition("orders", 3)


def test_the_lab_api_works_with_every_client_at_once(cluster):
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.create_topics([{"orders": {}}][0] | {"payments": {"num_partitions": 2}})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    producer.send("payments", value=b"99.99", partition=1).get(timeout=10)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("payments", 1)])
    assert [m.value for m in consumer] == [b"99.99"]
    assert set(cluster.clients) >= {producer, consumer}


def test_a_wall_clock_cluster_runs_in_real_time():
    cluster = Cluster(clock="wall", network_latency_ms=5)
    try:
        cluster.create_topic("orders")
        producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
        started = cluster.now_ms()
        metadata = producer.send("orders", value=b"live").get(timeout=5)
        assert metadata.offset == 0
        assert cluster.now_ms() - started >= 10   # a real round trip of 2 x 5 ms
        consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                                 auto_offset_reset="earliest")
        consumer.assign([TopicPartition("orders", 0)])
        assert [r.value for r in consumer.poll(timeout_ms=1000)[TopicPartition("orders", 0)]] \
            == [b"live"]
        with pytest.raises(RuntimeError, match="real time"):
            cluster.advance(seconds=1)
    finally:
        cluster.close()


@pytest.mark.parametrize("brokers, controllers, refused", [
    (0, 3, "brokers must be a whole number >= 1"),
    (3, 0, "controllers must be a whole number >= 1"),
    (3, "3", "controllers must be a whole number >= 1"),
])
def test_a_cluster_needs_at_least_one_broker_and_one_controller(brokers, controllers, refused):
    """With no controller voter nothing could ever be elected: refuse it with the reason."""
    with pytest.raises(ValueError, match=refused):
        Cluster(brokers=brokers, controllers=controllers)
