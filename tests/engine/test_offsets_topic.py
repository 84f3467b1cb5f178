"""``__consumer_offsets``: committed offsets and group metadata are records of a compacted internal
topic — the group's partition by Java's ``String.hashCode``, Kafka's binary record formats, a
coordinator rebuilt by replaying the log, and offsets retention for empty groups.
"""
from __future__ import annotations

import pytest
from group_helpers import drain, member, produce, settle
from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

from kafkalab import KafkaAdminClient, OffsetAndMetadata, TopicPartition
from kafkalab.coordinator import offsets_topic as ot

ORDERS = [TopicPartition("orders", p) for p in range(3)]


def java_hash_by_hand(s: str) -> int:
    """s[0]*31^(n-1) + s[1]*31^(n-2) + ... + s[n-1], as a signed 32-bit int (Java's int)."""
    n = len(s)
    h = sum(ord(ch) * 31 ** (n - 1 - i) for i, ch in enumerate(s)) % 2**32
    return h - 2**32 if h >= 2**31 else h


@pytest.mark.parametrize("text, expected", [
    ("", 0),
    ("a", 97),
    ("ab", 97 * 31 + 98),
    ("hello", 99162322),                     # well-known Java values
    ("Hello World", -862545276),
    ("polygenelubricants", -2**31),          # Integer.MIN_VALUE
    ("email-service", 1121163652),
    ("analytics-service", -386506898),
    ("inventory-service", -1479039164),
])
def test_java_string_hash(text, expected):
    assert java_hash_by_hand(text) == expected
    assert ot.java_string_hash(text) == expected


def test_java_string_hash_counts_utf16_code_units():
    assert ot.java_string_hash("é") == 0xE9
    assert ot.java_string_hash("😀") == 0xD83D * 31 + 0xDE00      # a surrogate pair


@pytest.mark.parametrize("group, partition", [
    ("email-service", 1121163652 % 50),                # 2
    ("analytics-service", 386506898 % 50),             # 48: Math.abs, not & 0x7fffffff (-> 0)
    ("inventory-service", 1479039164 % 50),            # 14
    ("service-1", 194186471 % 50),                     # 21
    ("polygenelubricants", 0),                         # Utils.abs(MIN_VALUE) == 0
])
def test_the_groups_partition_is_kafkas_utils_abs_of_the_hash_mod_50(group, partition):
    assert ot.partition_for(group) == partition


@pytest.fixture
def orders(cluster):
    cluster.create_topic("orders", partitions=3)
    produce(cluster, "orders", 30)
    return cluster


def records_of(cluster, group):
    """Decoded records of the group's __consumer_offsets partition, in log order."""
    p = cluster.partition(ot.TOPIC, ot.partition_for(group))
    return [ot.decode(r.key, r.value) for b in p.leader_log.batches() for r in b.records]


def test_commits_are_records_of_the_groups_partition(orders):
    c = member(orders, "orders", group="analytics-service", enable_auto_commit=False)
    drain(orders, [c], "analytics-service")
    committed_at = orders.now_ms() + orders.network_latency_ms  # when it reaches the coordinator
    c.commit({ORDERS[0]: OffsetAndMetadata(7, "row 7 done", -1), ORDERS[2]: 10})
    topic = orders.topic(ot.TOPIC)
    assert len(topic.partitions) == 50
    nonempty = [p.index for p in topic.partitions if p.log_end_offset > 0]
    assert nonempty == [48]                                    # only the group's partition
    assert orders.group_coordinator.coordinator_of("analytics-service") == \
        topic.partitions[48].leader
    commits = [r for r in records_of(orders, "analytics-service")
               if isinstance(r, ot.OffsetCommit)]
    assert commits == [
        ot.OffsetCommit("analytics-service", "orders", 0, 7, -1, "row 7 done", committed_at),
        ot.OffsetCommit("analytics-service", "orders", 2, 10, -1, "", committed_at)]


def test_group_metadata_records_name_the_generation_and_the_assignment(orders):
    a = member(orders, "orders", client_id="a")
    b = member(orders, "orders", client_id="b")
    settle(orders, [a, b])
    [metadata] = [r for r in records_of(orders, "email-service")
                  if isinstance(r, ot.GroupMetadataRecord)]
    assert (metadata.group, metadata.protocol_type, metadata.generation,
            metadata.protocol) == ("email-service", "consumer", 1, "range")
    assert metadata.leader == a.group_metadata().member_id
    members = {m.client_id: m for m in metadata.members}
    assert sorted(members) == ["a", "b"]
    assert members["b"].member_id == b.group_metadata().member_id
    assert members["b"].session_timeout_ms == 45000
    assert members["b"].rebalance_timeout_ms == 300000        # max_poll_interval_ms
    assignment = ConsumerProtocolAssignment.decode(members["b"].assignment)
    assert set(assignment.partitions()) == b.assignment()
    a.close()
    b.close()
    empty = [r for r in records_of(orders, "email-service")
             if isinstance(r, ot.GroupMetadataRecord)][-1]
    assert empty.members == () and empty.generation == 2      # a left, then b: Empty
    assert empty.protocol is None and empty.leader is None


def test_offset_records_round_trip_through_the_binary_format():
    commit = ot.OffsetCommit("g", "orders", 2, 12345678901, 4, "métadata", 1767225600000)
    key, value = ot.encode_offset_commit(commit)
    assert key[:2] == b"\x00\x01" and value[:2] == b"\x00\x03"   # key v1, value v3
    assert ot.decode(key, value) == commit
    tomb_key, tomb_value = ot.encode_offset_commit(ot.OffsetCommit("g", "orders", 2, None))
    assert tomb_key == key and tomb_value is None
    assert ot.decode(tomb_key, None).offset is None


def test_a_new_coordinator_replaying_the_log_has_the_same_offsets(orders):
    admin = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers)
    for group in ("email-service", "analytics-service", "inventory-service"):
        c = member(orders, "orders", group=group, enable_auto_commit=False)
        drain(orders, [c], group)
        c.commit()
        c.commit({ORDERS[1]: OffsetAndMetadata(3, f"{group} replay", -1)})   # overwrites
        c.close()
    admin.reset_group_offsets("email-service", {ORDERS[0]: 0})
    admin.delete_groups(["inventory-service"])
    coordinator = orders.group_coordinator
    live = {g: o for g, o in coordinator.offsets.items() if o}
    assert coordinator.load() == live
    assert sorted(live) == ["analytics-service", "email-service"]
    assert live["email-service"][ORDERS[0]].offset == 0
    assert live["analytics-service"][ORDERS[1]] == OffsetAndMetadata(3, "analytics-service "
                                                                        "replay", -1)


def test_the_offsets_topic_is_internal_compacted_and_hidden(orders):
    c = member(orders, "orders")
    settle(orders, [c])
    topic = orders.topic(ot.TOPIC)
    assert topic.internal and topic.config["cleanup.policy"] == ["compact"]
    assert c.topics() == {"orders"}
    assert ot.TOPIC in member(orders, exclude_internal_topics=False).topics()
    [described] = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers
                                   ).describe_topics([ot.TOPIC])
    assert described["is_internal"] is True


def test_the_offsets_topic_appears_with_the_first_group(cluster):
    assert ot.TOPIC not in cluster.topics
    cluster.create_topic("orders", partitions=1)
    member(cluster, "orders").poll(timeout_ms=10)
    assert ot.TOPIC in cluster.topics


# --- offsets retention -----------------------------------------------------------------------
def test_offsets_of_a_group_empty_longer_than_the_retention_are_deleted(orders):
    c = member(orders, "orders")
    drain(orders, [c])
    c.close()                                                   # commits, leaves: Empty
    emptied = orders.now_ms()
    orders.advance(days=6)
    assert [c.committed(tp) for tp in ORDERS] == [10, 10, 10]   # 6 days < 7 (10080 minutes)
    mark = len(orders.events)
    orders.advance(days=2)
    [deleted] = orders.events.of_kind("group.offsets_deleted")
    assert "offsets.retention.minutes=10080" in deleted.text
    retention_ms = 10080 * 60_000
    assert emptied + retention_ms <= deleted.time_ms <= emptied + retention_ms + 600_000
    assert [c.committed(tp) for tp in ORDERS] == [None, None, None]
    tombstones = [r for r in records_of(orders, "email-service")
                  if isinstance(r, ot.OffsetCommit) and r.offset is None]
    assert sorted(r.partition for r in tombstones) == [0, 1, 2]
    assert orders.group_coordinator.load() == {}
    admin = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers)
    assert admin.list_groups() == []                            # the group is gone (Dead)
    assert [e.kind for e in list(orders.events)[mark:] if e.kind.startswith("group.")] == [
        "group.offsets_deleted", "group.deleted"]
    mark = len(orders.events)
    again = member(orders, "orders")                            # back to auto_offset_reset
    produce(orders, "orders", 3, start=30)
    # the records expired as well (retention.ms = 7 days): earliest is the log start, 10
    assert [orders.partition("orders", p).log_start_offset for p in range(3)] == [10, 10, 10]
    assert sorted(r.value for r in drain(orders, [again])[again]) == [
        b"orders-30", b"orders-31", b"orders-32"]
    resets = [e.text for e in list(orders.events)[mark:] if e.kind == "consumer.offset_reset"]
    assert len(resets) == 3 and all("has no committed offset" in t for t in resets)


def test_offsets_of_an_active_group_do_not_expire(orders):
    c = member(orders, "orders", max_poll_interval_ms=10 * 86_400_000,
               session_timeout_ms=1_800_000, heartbeat_interval_ms=600_000)
    drain(orders, [c])
    c.commit()
    orders.advance(days=8)
    assert [c.committed(tp) for tp in ORDERS] == [10, 10, 10]
    assert not orders.events.of_kind("group.offsets_deleted")


def test_standalone_offsets_expire_by_their_own_commit_time(orders):
    """A consumer with assign() and a group_id (no membership): each offset expires
    offsets.retention.minutes after it was last committed."""
    c = member(orders, enable_auto_commit=False)
    c.assign(ORDERS)
    c.commit({tp: 1 for tp in ORDERS})
    orders.advance(days=5)
    c.commit({ORDERS[0]: 2})                                    # committed again on day 5
    orders.advance(days=3)                                      # day 8
    assert [c.committed(tp) for tp in ORDERS] == [2, None, None]
    groups = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers).list_groups()
    assert groups == [{"group_id": "email-service", "protocol_type": "",
                       "group_state": "Empty", "group_type": "classic"}]
    orders.advance(days=5)                                      # day 13
    assert c.committed(ORDERS[0]) is None
    assert orders.group_coordinator.groups == {}
