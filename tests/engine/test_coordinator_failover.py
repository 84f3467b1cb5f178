"""The group coordinator is the leader of the group's ``__consumer_offsets`` partition, and moves
with it: records go through the broker's append path (acks=all, ``min.insync.replicas``), a new
leader rebuilds the group by replaying the partition, clients rediscover it (FindCoordinator)
and retry — as Kafka and kafka-python do.
"""
from __future__ import annotations

import pytest
from group_helpers import ask, member, poll_all, produce, settle

from kafkalab import Cluster, KafkaConsumer, TopicPartition
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import (
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    SyncGroupRequest,
)
from kafkalab.coordinator import offsets_topic as ot
from kafkalab.errors import (
    CoordinatorNotAvailableError,
    KafkaTimeoutError,
    NotCoordinatorError,
)

GROUP = "email-service"
ORDERS = [TopicPartition("orders", p) for p in range(3)]


def offsets_partition(cluster: Cluster, group: str = GROUP):
    return cluster.partition(ot.TOPIC, ot.partition_for(group))


def make_cluster(offsets_rf: int, **config) -> Cluster:
    cluster = Cluster(brokers=3, seed=1, config={"offsets.topic.replication.factor": offsets_rf,
                                                 **config})
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    produce(cluster, "orders", 30)
    return cluster


def error_of(response):
    return error_from(response.error_code, response.error_message)


@pytest.mark.parametrize("offsets_rf", [2, 3])
def test_commits_in_a_loop_survive_killing_the_offsets_leader(offsets_rf):
    """Kill the leader of the group's offsets partition while both members commit in a loop:
    each commit() is retried through rediscovery until the new leader took it; nothing
    acknowledged is lost, and the group keeps its generation (no rebalance)."""
    cluster = make_cluster(offsets_rf)
    a, b = (member(cluster, "orders", client_id=c, enable_auto_commit=False) for c in "ab")
    settle(cluster, [a, b])
    generation = cluster.group_coordinator.groups[GROUP].generation
    old_leader = offsets_partition(cluster).leader
    acknowledged = {}
    for i in range(40):
        if i == 10:
            cluster.kill_broker(old_leader)
            dead_leo = offsets_partition(cluster).logs[old_leader].log_end_offset
        for c in (a, b):
            c.poll(timeout_ms=100)
            offsets = {tp: 100 + i for tp in c.assignment()}
            c.commit(offsets)                       # returns only once stored
            acknowledged.update(offsets)
    new_leader = offsets_partition(cluster).leader
    assert new_leader not in (None, old_leader)
    assert any(e.kind == "consumer.coordinator_lost" for e in cluster.events)
    group = cluster.group_coordinator.groups[GROUP]
    assert group.generation == generation and group.state.value == "Stable"
    assert {m for m in group.members} == {c.group_metadata().member_id for c in (a, b)}
    committed = {tp: om.offset for tp, om in cluster.group_coordinator.fetch_offsets(GROUP).items()}
    assert committed == acknowledged
    # nothing was written into the dead broker's log after it died
    assert offsets_partition(cluster).logs[old_leader].log_end_offset == dead_leo
    cluster.restart_broker(old_leader)
    cluster.advance(seconds=30)
    assert cluster.group_coordinator.load()[GROUP] == cluster.group_coordinator.offsets[GROUP]
    cluster.close()


def test_a_killed_leader_takes_no_commit_and_the_commit_waits_for_the_new_one():
    cluster = make_cluster(3)
    c = member(cluster, "orders", enable_auto_commit=False)
    settle(cluster, [c])
    p = offsets_partition(cluster)
    dead = p.leader
    cluster.kill_broker(dead)
    before = p.logs[dead].log_end_offset
    start = cluster.now_ms()
    c.commit({ORDERS[0]: 7})                       # retried until the controller fenced `dead`
    assert p.logs[dead].log_end_offset == before    # not a record into the dead broker's log
    assert p.leader != dead and cluster.now_ms() - start > 1000
    assert p.logs[p.leader].high_watermark == p.logs[p.leader].log_end_offset  # replicated
    assert c.committed(ORDERS[0]) == 7
    cluster.close()


def test_an_offline_offsets_partition_gives_kafka_errors_never_engine_errors():
    """RF=1 offsets topic, its leader killed: commit() retries and then raises
    KafkaTimeoutError (kafka-python's commit_offsets_sync), another member's poll() raises
    nothing; once the broker is back the commit goes through."""
    cluster = make_cluster(1)
    a, b = (member(cluster, "orders", client_id=c, enable_auto_commit=False) for c in "ab")
    settle(cluster, [a, b])
    cluster.kill_broker(offsets_partition(cluster).leader)
    cluster.advance(seconds=20)                     # fenced: the partition is offline
    assert offsets_partition(cluster).leader is None
    with pytest.raises(KafkaTimeoutError):
        a.commit({tp: 3 for tp in a.assignment()}, timeout_ms=5_000)
    for _ in range(20):
        b.poll(timeout_ms=500)                      # no RuntimeError out of poll()
    for broker in cluster.brokers:
        cluster.restart_broker(broker)
    settle(cluster, [a, b])
    a.commit({tp: 3 for tp in a.assignment()})
    assert {a.committed(tp) for tp in a.assignment()} == {3}
    cluster.close()


def test_the_new_leader_rebuilds_the_group_by_replaying_the_partition():
    cluster = make_cluster(3)
    a, b = (member(cluster, "orders", client_id=c, enable_auto_commit=False) for c in "ab")
    settle(cluster, [a, b])
    a.commit({tp: 5 for tp in a.assignment()})
    old = cluster.group_coordinator.groups[GROUP]
    old_leader = offsets_partition(cluster).leader
    cluster.shutdown_broker(old_leader)             # leadership moves at once
    new_leader = offsets_partition(cluster).leader
    [loaded] = [e for e in cluster.events if e.kind == "group.coordinator_loaded"
                and e.data["broker"] == new_leader]
    assert GROUP in loaded.data["groups"]
    machine, _ = cluster.group_coordinator.on_broker(new_leader).machine_for(GROUP)
    rebuilt = machine.groups[GROUP]
    assert rebuilt is not old
    assert (rebuilt.generation, rebuilt.state.value, rebuilt.leader_id, rebuilt.protocol,
            rebuilt.protocol_type) == (old.generation, "Stable", old.leader_id, old.protocol,
                                       "consumer")
    assert {m: x.assignment for m, x in rebuilt.members.items()} == \
        {m: x.assignment for m, x in old.members.items()}
    assert machine.offsets.fetch(GROUP) == {tp: cluster.group_coordinator.fetch_offsets(
        GROUP)[tp] for tp in a.assignment()}
    cluster.close()


def test_the_old_coordinator_answers_not_coordinator_and_clients_rediscover():
    cluster = make_cluster(3)
    c = member(cluster, "orders", enable_auto_commit=False)
    settle(cluster, [c])
    old_leader = offsets_partition(cluster).leader
    meta = c.group_metadata()
    p = offsets_partition(cluster)
    other = next(b for b in p.isr if b != old_leader)
    cluster.controller.elect_leader(p, p.isr, "test: move the coordinator", preferred=other)
    heartbeat = HeartbeatRequest(GROUP, meta.generation_id, meta.member_id)
    assert isinstance(error_of(ask(cluster, heartbeat, old_leader)), NotCoordinatorError)
    assert ask(cluster, FindCoordinatorRequest(GROUP), None).node_id == other
    assert error_of(ask(cluster, heartbeat, other)) is None    # same member, same generation
    c.commit({ORDERS[0]: 9})                        # the consumer rediscovers by itself
    assert c._group.coordinator_id == other
    assert cluster.group_coordinator.groups[GROUP].generation == meta.generation_id
    cluster.close()


def test_find_coordinator_is_not_available_while_the_partition_has_no_leader():
    cluster = make_cluster(1)
    c = member(cluster, "orders", enable_auto_commit=False)
    settle(cluster, [c])
    cluster.kill_broker(offsets_partition(cluster).leader)
    cluster.advance(seconds=20)
    answer = ask(cluster, FindCoordinatorRequest(GROUP), None)
    assert isinstance(error_of(answer), CoordinatorNotAvailableError)
    cluster.close()


def test_a_failed_assignment_store_reaches_every_waiting_member_and_they_rejoin():
    """The leader's SyncGroup: the group becomes Stable only once its assignment record is
    stored. While it cannot be (min.insync.replicas=3, a follower down) every member waiting
    in SyncGroup gets the error and rejoins; nobody gets partitions; after the follower is
    back the group settles, and a member that crashed meanwhile is removed."""
    cluster = make_cluster(3, **{"min.insync.replicas": 3})
    cluster.group_coordinator.coordinator_of(GROUP)  # creates __consumer_offsets
    p = offsets_partition(cluster)
    follower = next(b for b in p.replicas if b != p.leader)
    cluster.kill_broker(follower)
    cluster.advance(seconds=30)                     # the ISR shrank below 3
    a, b, crashing = (member(cluster, "orders", client_id=c, enable_auto_commit=False)
                      for c in ("a", "b", "crashing"))
    for _ in range(100):
        for c in (a, b, crashing):
            c.poll(timeout_ms=100)
    group = cluster.group_coordinator.groups[GROUP]
    assert group.state.value != "Stable"
    assert any(e.kind == "group.assignment_not_stored" for e in cluster.events)
    assert a.assignment() == b.assignment() == set()
    assert all(m.awaiting_sync is None for m in group.members.values())  # all answered
    cluster.faults.crash_consumer(crashing)
    cluster.restart_broker(follower)
    settle(cluster, [a, b])
    poll_all([a, b], rounds=100, timeout_ms=500)   # the crashed member's session ends
    settle(cluster, [a, b])
    group = cluster.group_coordinator.groups[GROUP]
    assert len(group.members) == 2 and a.assignment() | b.assignment() == set(ORDERS)
    cluster.close()


def test_the_first_join_with_a_broker_down_waits_for_the_offsets_topic():
    """offsets.topic.replication.factor=3 with one of three brokers down: the topic cannot be
    created yet, FindCoordinator answers COORDINATOR_NOT_AVAILABLE, poll() raises nothing and
    the group forms once the broker is back."""
    cluster = make_cluster(3)
    cluster.kill_broker(3)
    cluster.advance(seconds=20)                     # fenced
    c = member(cluster, "orders", enable_auto_commit=False)
    for _ in range(10):
        assert c.poll(timeout_ms=500) == {}
    assert ot.TOPIC not in cluster.topics
    assert any(e.kind == "group.coordinator_unavailable" for e in cluster.events)
    cluster.restart_broker(3)
    got = settle(cluster, [c])[c]
    got += [r for _ in range(5) for rs in c.poll(timeout_ms=100).values() for r in rs]
    assert len(got) == 30
    assert cluster.topic(ot.TOPIC).replication_factor == 3
    cluster.close()


def test_a_single_broker_cluster_creates_the_offsets_topic_with_rf_1(cluster):
    cluster.create_topic("orders", partitions=3)
    c = member(cluster, "orders")
    settle(cluster, [c])
    assert cluster.topic(ot.TOPIC).replication_factor == 1


def test_the_protocol_type_comes_from_the_join_request(cluster):
    node = ask(cluster, FindCoordinatorRequest("connect-cluster"), None).node_id
    joined = ask(cluster, JoinGroupRequest(
        "connect-cluster", 10_000, 10_000, "", "connect",
        (JoinGroupRequestProtocol("default", b""),), client_id="worker"), node, ms=5000)
    assert error_of(joined) is None and joined.protocol_type == "connect"
    group = cluster.group_coordinator.groups["connect-cluster"]
    assert group.protocol_type == "connect"
    synced = ask(cluster, SyncGroupRequest("connect-cluster", joined.generation_id,
                                           joined.member_id), node)
    assert error_of(synced) is None and synced.protocol_type == "connect"
    p = offsets_partition(cluster, "connect-cluster")
    [record] = [ot.decode(r.key, r.value) for b in p.leader_log.batches() for r in b.records]
    assert record.protocol_type == "connect"


def test_a_consumer_without_a_group_coordinator_never_sees_engine_errors():
    """A standalone consumer (assign + group_id) commits and reads committed offsets through
    the coordinator too, with the same retries."""
    cluster = make_cluster(3)
    c = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id="standalone",
                      enable_auto_commit=False)
    c.assign([ORDERS[0]])
    c.commit({ORDERS[0]: 4})
    leader = offsets_partition(cluster, "standalone").leader
    cluster.kill_broker(leader)
    c.commit({ORDERS[0]: 6})
    assert c.committed(ORDERS[0]) == 6
    cluster.close()
