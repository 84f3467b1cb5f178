"""``__consumer_offsets`` is really compacted: a group's many commits shrink to one record per key,
and a coordinator that replays the cleaned log after a failover knows the same offsets."""
from __future__ import annotations

from collections import Counter

from kafkalab import Cluster, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafkalab.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafkalab.coordinator import offsets_topic as ot

GROUP = "email-service"
ORDERS = TopicPartition("orders", 0)
COMMITS = 10_000


def closed_section_keys(log) -> Counter:
    """How often each key occurs below the active segment of ``log``."""
    active = log.segments()[-1].base_offset
    return Counter(key for batch in log.batches() if batch.base_offset < active
                   for _, _, key, _, _ in batch.record_tuples)


def test_a_group_committing_10000_times_keeps_one_record_per_key_and_replays_the_same():
    cluster = Cluster(brokers=3, seed=1)
    cluster.create_topic("orders", partitions=1, replication_factor=3)
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=GROUP,
                             enable_auto_commit=False)
    consumer.assign([ORDERS])
    consumer.commit({ORDERS: OffsetAndMetadata(0, "", -1)})
    # small segments, so the commits fill closed segments the cleaner may clean
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, ot.TOPIC,
                                        {"segment.bytes": "16384"})])
    for offset in range(1, COMMITS + 1):
        consumer.commit({ORDERS: OffsetAndMetadata(offset, "", -1)})
    cluster.advance(seconds=30)
    p = cluster.partition(ot.TOPIC, ot.partition_for(GROUP))
    for broker, log in p.logs.items():   # every replica cleaned its own copy
        keys = closed_section_keys(log)
        assert keys and set(keys.values()) == {1}, broker
        assert log.record_count < COMMITS / 20
    assert any(e.data["topic"] == ot.TOPIC for e in cluster.events.of_kind("log.cleaned"))
    consumer.close()

    old_leader = p.leader
    cluster.kill_broker(old_leader)
    cluster.advance(seconds=30)   # the controller moves leadership; the new coordinator loads
    assert p.leader not in (None, old_leader)
    [loaded] = [e for e in cluster.events.of_kind("group.coordinator_loaded")
                if e.data["broker"] == p.leader]
    assert "replaying" in loaded.text
    reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=GROUP,
                           enable_auto_commit=False)
    assert reader.committed(ORDERS) == COMMITS
    cluster.close()
