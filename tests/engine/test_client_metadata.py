"""A client's metadata cache: what it knows is what a Metadata request last answered."""
from __future__ import annotations

from kafkalab import Cluster, KafkaProducer
from kafkalab.client.metadata import ClusterMetadata
from kafkalab.client.transport import transport_for
from kafkalab.structs import TopicPartition


def cache(cluster: Cluster, **kwargs) -> ClusterMetadata:
    return ClusterMetadata(transport_for(cluster.bootstrap_servers), **kwargs)


def test_a_new_cache_asks_at_once_then_after_metadata_max_age_ms():
    cluster = Cluster(brokers=3, seed=0)
    cluster.create_topic("orders", 3, 3)
    metadata = cache(cluster, metadata_max_age_ms=60000)
    metadata.add_topic("orders")
    assert metadata.ttl() == 0 and metadata.partitions_for_topic("orders") is None
    assert metadata.maybe_update()
    assert metadata.partitions_for_topic("orders") == {0, 1, 2}
    assert metadata.brokers() == {1, 2, 3}
    assert metadata.ttl() == 60000 and not metadata.maybe_update()
    cluster.advance(ms=60000)
    assert metadata.ttl() == 0


def test_a_leadership_move_is_seen_only_after_a_refresh():
    cluster = Cluster(brokers=3, seed=0)
    cluster.create_topic("orders", 1, 3)
    metadata = cache(cluster)
    metadata.update(["orders"])
    tp = TopicPartition("orders", 0)
    old = metadata.leader_for_partition(tp)
    version = metadata.version
    cluster.shutdown_broker(old)  # leadership moves at once
    assert metadata.leader_for_partition(tp) == old  # the cache does not know yet
    metadata.request_update()  # what a NOT_LEADER_OR_FOLLOWER answer makes a client do
    assert metadata.ttl() == 0 and metadata.maybe_update()
    assert metadata.leader_for_partition(tp) not in (old, None)
    assert metadata.version > version


def test_a_missing_topic_is_asked_for_again_every_retry_backoff_ms():
    cluster = Cluster(brokers=1, seed=0, config={"auto.create.topics.enable": False})
    metadata = cache(cluster, retry_backoff_ms=250)
    metadata.add_topic("late")
    metadata.maybe_update()
    assert type(metadata.topic_error("late")).__name__ == "UnknownTopicOrPartitionError"
    assert metadata.ttl() == 250
    cluster.create_topic("late", 2)
    cluster.advance(ms=250)
    assert metadata.maybe_update()
    assert metadata.topic_error("late") is None
    assert metadata.partitions_for_topic("late") == {0, 1}
    assert metadata.ttl() == 300000


def test_a_producer_sees_new_partitions_after_its_metadata_refresh():
    cluster = Cluster(brokers=1, seed=0)
    cluster.create_topic("clicks", 1)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             metadata_max_age_ms=10000)
    assert producer.partitions_for("clicks") == {0}
    cluster.create_partitions("clicks", 4)
    assert producer.partitions_for("clicks") == {0}  # as a real client: not refreshed yet
    cluster.advance(ms=10000)
    producer.send("clicks", b"x").get(timeout=5)  # the sender refreshes what is too old
    assert producer.partitions_for("clicks") == {0, 1, 2, 3}
