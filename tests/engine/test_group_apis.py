"""The group APIs at the request layer, as a client (or, later, the wire server) sends them
through a transport: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups — with Kafka's error codes.
"""
from __future__ import annotations

import pytest
from group_helpers import ask, call, commit_errors, commit_request, coordinator

from kafkalab import Cluster, TopicPartition
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import (
    DeleteGroupsRequest,
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    LeaveGroupRequest,
    ListGroupsRequest,
    MemberIdentity,
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    SyncGroupRequest,
    SyncGroupRequestAssignment,
)
from kafkalab.client.transport import transport_for
from kafkalab.coordinator import offsets_topic as ot
from kafkalab.errors import (
    CoordinatorNotAvailableError,
    GroupIdNotFoundError,
    IllegalGenerationError,
    InvalidRequestError,
    InvalidSessionTimeoutError,
    NonEmptyGroupError,
    NotCoordinatorError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

GROUP = "email-service"
ORDERS = [TopicPartition("orders", p) for p in range(3)]
INITIAL_DELAY_MS = 3000  # group.initial.rebalance.delay.ms


def error_of(response):
    return error_from(response.error_code, response.error_message)


@pytest.fixture
def three():
    c = Cluster(brokers=3, seed=0)
    c.create_topic("orders", partitions=3, replication_factor=3)
    yield c
    c.close()


def join(group: str = GROUP, member_id: str = "", client_id: str = "c",
         session_timeout_ms: int = 10_000) -> JoinGroupRequest:
    return JoinGroupRequest(group, session_timeout_ms, 60_000, member_id, "consumer",
                            (JoinGroupRequestProtocol("range", b"subscription"),),
                            client_id=client_id)


def stable_member(cluster: Cluster, group: str = GROUP):
    """One member joined and synced: (its JoinGroup response)."""
    joined = ask(cluster, join(group), ms=INITIAL_DELAY_MS + 10)
    assert error_of(joined) is None
    synced = ask(cluster, SyncGroupRequest(group, joined.generation_id, joined.member_id, (
        SyncGroupRequestAssignment(joined.member_id, b"assignment"),)))
    assert error_of(synced) is None and synced.assignment == b"assignment"
    return joined


def start_rebalance(cluster: Cluster) -> None:
    """A second member's JoinGroup reaches the coordinator and waits there: the group is
    rebalancing."""
    answers: list = []
    transport_for(cluster.bootstrap_servers).send(coordinator(cluster, GROUP),
                                                  join(client_id="newcomer"), answers.append)
    cluster.advance(ms=cluster.network_latency_ms)
    assert answers == []
    assert cluster.group_coordinator.groups[GROUP].state.value == "PreparingRebalance"


def other_broker(cluster: Cluster, group: str = GROUP) -> int:
    return next(b for b in cluster.brokers if b != coordinator(cluster, group))


# --- FindCoordinator -----------------------------------------------------------------------------
def test_find_coordinator_names_the_leader_of_the_groups_offsets_partition(three):
    found = call(three, FindCoordinatorRequest(GROUP), None)
    p = three.partition(ot.TOPIC, ot.partition_for(GROUP))
    broker = three.brokers[p.leader]
    assert (found.error_code, found.node_id, found.host, found.port) == (
        0, p.leader, broker.host, broker.port)
    transactional = call(three, FindCoordinatorRequest("tx", key_type=1), None)
    assert transactional.node_id == three.transaction_coordinator_of("tx")
    unknown = call(three, FindCoordinatorRequest("x", key_type=2), None)
    assert isinstance(error_of(unknown), InvalidRequestError)
    assert "0 (group) and 1 (transaction)" in unknown.error_message


def test_find_coordinator_is_not_available_while_the_offsets_partition_has_no_leader():
    cluster = Cluster(brokers=2, seed=0, config={"offsets.topic.replication.factor": 1})
    leader = coordinator(cluster, GROUP)
    cluster.kill_broker(leader)
    cluster.advance(seconds=20)                     # fenced: the partition is offline
    answer = call(cluster, FindCoordinatorRequest(GROUP), None)
    assert isinstance(error_of(answer), CoordinatorNotAvailableError)
    assert answer.node_id == -1
    cluster.close()


# --- NOT_COORDINATOR from every other broker -----------------------------------------------------
@pytest.mark.parametrize("request_", [
    join(),
    SyncGroupRequest(GROUP, 1, "m"),
    HeartbeatRequest(GROUP, 1, "m"),
    LeaveGroupRequest(GROUP, (MemberIdentity("m"),)),
    OffsetFetchRequest(GROUP),
], ids=lambda r: r.API_NAME)
def test_a_broker_that_does_not_coordinate_the_group_answers_not_coordinator(three, request_):
    answer = call(three, request_, other_broker(three))
    assert isinstance(error_of(answer), NotCoordinatorError)
    assert "find the coordinator again" in answer.error_message


def test_not_coordinator_comes_per_partition_for_commits_and_per_group_for_describe(three):
    node = other_broker(three)
    answer = call(three, commit_request(GROUP, {ORDERS[0]: 1, ORDERS[2]: 1}), node)
    assert [type(e) for e in commit_errors(answer)] == [NotCoordinatorError] * 2
    [described] = call(three, DescribeGroupsRequest((GROUP,)), node).groups
    assert isinstance(error_of(described), NotCoordinatorError)
    [deleted] = ask(three, DeleteGroupsRequest((GROUP,)), node).results
    assert isinstance(error_of(deleted), NotCoordinatorError)


# --- JoinGroup and SyncGroup ---------------------------------------------------------------------
def test_the_join_round_answers_every_member_and_only_the_leader_gets_the_subscriptions(
        three):
    node = coordinator(three, GROUP)
    answers: list = []
    transport = transport_for(three.bootstrap_servers)
    for client in ("a", "b"):
        transport.send(node, join(client_id=client), answers.append)
    three.advance(ms=INITIAL_DELAY_MS + 10)
    assert answers == []                            # b came during the initial delay ...
    assert three.events.of_kind("group.rebalance_delayed")  # ... so it waits once more
    three.advance(ms=INITIAL_DELAY_MS)
    a, b = sorted(answers, key=lambda r: r.member_id)
    assert a.generation_id == b.generation_id == 1 and a.leader == b.leader
    assert a.protocol_type == "consumer" and a.protocol_name == "range"
    leader, follower = (a, b) if a.member_id == a.leader else (b, a)
    assert {m.member_id for m in leader.members} == {a.member_id, b.member_id}
    assert {m.metadata for m in leader.members} == {b"subscription"}
    assert follower.members == ()
    # the follower's SyncGroup waits for the leader's assignment, which waits to be stored
    synced: list = []
    transport.send(node, SyncGroupRequest(GROUP, 1, follower.member_id), synced.append)
    three.advance(ms=10)
    assert synced == []
    transport.send(node, SyncGroupRequest(GROUP, 1, leader.member_id, (
        SyncGroupRequestAssignment(leader.member_id, b"for-leader"),
        SyncGroupRequestAssignment(follower.member_id, b"for-follower"))), synced.append)
    three.advance(ms=10)
    assert sorted(r.assignment for r in synced) == [b"for-follower", b"for-leader"]
    p = three.partition(ot.TOPIC, ot.partition_for(GROUP))
    [record] = [ot.decode(r.key, r.value) for batch in p.leader_log.batches()
                for r in batch.records]
    assert {m.assignment for m in record.members} == {b"for-leader", b"for-follower"}


def test_join_group_errors(three):
    answer = call(three, join(session_timeout_ms=1000))
    assert isinstance(error_of(answer), InvalidSessionTimeoutError)
    assert "group.min/max.session.timeout.ms" in answer.error_message
    unknown = call(three, join(member_id="nobody-1"))
    assert isinstance(error_of(unknown), UnknownMemberIdError)


def test_sync_group_errors(three):
    joined = stable_member(three)
    unknown = call(three, SyncGroupRequest(GROUP, joined.generation_id, "nobody"))
    assert isinstance(error_of(unknown), UnknownMemberIdError)
    old = call(three, SyncGroupRequest(GROUP, joined.generation_id - 1, joined.member_id))
    assert isinstance(error_of(old), IllegalGenerationError)
    again = call(three, SyncGroupRequest(GROUP, joined.generation_id, joined.member_id))
    assert error_of(again) is None and again.assignment == b"assignment"   # Stable: at once


# --- Heartbeat and LeaveGroup --------------------------------------------------------------------
def test_heartbeat_errors_say_rejoin(three):
    joined = stable_member(three)
    ok = call(three, HeartbeatRequest(GROUP, joined.generation_id, joined.member_id))
    assert error_of(ok) is None
    unknown = call(three, HeartbeatRequest(GROUP, joined.generation_id, "nobody"))
    assert isinstance(error_of(unknown), UnknownMemberIdError)
    old = call(three, HeartbeatRequest(GROUP, joined.generation_id + 1, joined.member_id))
    assert isinstance(error_of(old), IllegalGenerationError)
    start_rebalance(three)
    rebalancing = call(three, HeartbeatRequest(GROUP, joined.generation_id,
                                                  joined.member_id))
    assert isinstance(error_of(rebalancing), RebalanceInProgressError)


def test_leave_group_answers_per_member(three):
    joined = stable_member(three)
    left = call(three, LeaveGroupRequest(GROUP, (
        MemberIdentity(joined.member_id, reason="shutting down"), MemberIdentity("nobody"))))
    assert left.error_code == 0
    assert [(m.member_id, type(error_of(m))) for m in left.members] == [
        (joined.member_id, type(None)), ("nobody", UnknownMemberIdError)]
    removed = three.events.of_kind("group.member_removed")[-1]
    assert "shutting down" in removed.text
    assert three.group_coordinator.groups[GROUP].state.value == "Empty"


# --- OffsetCommit and OffsetFetch ----------------------------------------------------------------
def test_a_commit_is_answered_only_after_the_offsets_partition_stored_it(three):
    node = coordinator(three, GROUP)
    p = three.partition(ot.TOPIC, ot.partition_for(GROUP))
    answers: list = []
    transport_for(three.bootstrap_servers).send(node, commit_request(GROUP, {ORDERS[0]: 5}),
                                                   answers.append)
    three.advance(ms=three.network_latency_ms)       # it reached the coordinator
    assert p.logs[node].log_end_offset == 1 and p.logs[node].high_watermark == 0
    assert answers == []                                    # appended, not yet replicated
    assert call(three, OffsetFetchRequest(GROUP)).topics == ()   # and not yet committed
    three.advance(ms=20)
    [answer] = answers
    assert commit_errors(answer) == [None]
    assert p.logs[node].high_watermark == 1                 # stored on the ISR
    [topic] = call(three, OffsetFetchRequest(GROUP)).topics
    assert [(q.partition_index, q.committed_offset) for q in topic.partitions] == [(0, 5)]


def test_a_commit_the_partition_cannot_store_is_coordinator_not_available():
    """min.insync.replicas=3 with a follower of the offsets partition down: the append is
    refused, the commit answered COORDINATOR_NOT_AVAILABLE (retriable) and nothing stored."""
    cluster = Cluster(brokers=3, seed=0, config={"min.insync.replicas": 3})
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    coordinator(cluster, GROUP)                     # creates __consumer_offsets
    p = cluster.partition(ot.TOPIC, ot.partition_for(GROUP))
    cluster.kill_broker(next(b for b in p.replicas if b != p.leader))
    cluster.advance(seconds=40)                     # the follower left the ISR
    answer = ask(cluster, commit_request(GROUP, {ORDERS[0]: 5, ORDERS[1]: 6}))
    errors = commit_errors(answer)
    assert [type(e) for e in errors] == [CoordinatorNotAvailableError] * 2
    assert "min.insync.replicas=3" in str(errors[0])
    assert call(cluster, OffsetFetchRequest(GROUP)).topics == ()
    cluster.close()


def test_commit_errors_of_members(three):
    joined = stable_member(three)
    gen, member = joined.generation_id, joined.member_id
    [old] = commit_errors(call(three, commit_request(GROUP, {ORDERS[0]: 1}, gen - 1, member)))
    assert isinstance(old, IllegalGenerationError)
    [unknown] = commit_errors(call(three, commit_request(GROUP, {ORDERS[0]: 1}, gen, "x")))
    assert isinstance(unknown, UnknownMemberIdError)
    [outsider] = commit_errors(call(three, commit_request(GROUP, {ORDERS[0]: 1})))
    assert isinstance(outsider, UnknownMemberIdError)      # the group has members
    start_rebalance(three)                                 # still allowed while rejoining
    assert commit_errors(ask(three, commit_request(GROUP, {ORDERS[0]: 2}, gen, member))) \
        == [None]


def test_a_commit_while_the_leader_assigns_is_rebalance_in_progress(three):
    joined = ask(three, join(), ms=INITIAL_DELAY_MS + 10)      # CompletingRebalance
    [error] = commit_errors(call(three, commit_request(
        GROUP, {ORDERS[0]: 1}, joined.generation_id, joined.member_id)))
    assert isinstance(error, RebalanceInProgressError)


def test_offset_fetch_answers_minus_one_for_a_partition_never_committed(three):
    ask(three, commit_request(GROUP, {ORDERS[1]: 7}))
    [topic] = call(three, OffsetFetchRequest(GROUP, (
        OffsetFetchRequestTopic("orders", (0, 1)),))).topics
    assert [(q.partition_index, q.committed_offset, q.error_code) for q in topic.partitions] \
        == [(0, -1, 0), (1, 7, 0)]


# --- DescribeGroups, ListGroups, DeleteGroups ----------------------------------------------------
def test_describe_and_list_groups(three):
    joined = stable_member(three)
    ask(three, commit_request("standalone", {ORDERS[0]: 3}))
    [described] = call(three, DescribeGroupsRequest((GROUP,))).groups
    assert (described.group_state, described.protocol_type, described.protocol_data) == (
        "Stable", "consumer", "range")
    [m] = described.members
    assert (m.member_id, m.client_id, m.member_metadata, m.member_assignment) == (
        joined.member_id, "c", b"subscription", b"assignment")
    [unknown] = call(three, DescribeGroupsRequest(("nobody-knows",))).groups
    assert (unknown.error_code, unknown.group_state) == (0, "Dead")
    listed = [g for b in three.brokers for g in call(three, ListGroupsRequest(), b).groups]
    assert sorted((g.group_id, g.protocol_type, g.group_state) for g in listed) == [
        (GROUP, "consumer", "Stable"), ("standalone", "", "Empty")]
    empty = [g for b in three.brokers
             for g in call(three, ListGroupsRequest(("empty",)), b).groups]
    assert [g.group_id for g in empty] == ["standalone"]


def test_delete_groups_answers_per_group(cluster):
    """One broker coordinates every group: one request, one result per group in order."""
    cluster.create_topic("orders", partitions=3)
    stable_member(cluster)
    ask(cluster, commit_request("standalone", {ORDERS[0]: 3}))
    answer = ask(cluster, DeleteGroupsRequest((GROUP, "standalone", "missing")))
    assert [(r.group_id, type(error_of(r))) for r in answer.results] == [
        (GROUP, NonEmptyGroupError), ("standalone", type(None)),
        ("missing", GroupIdNotFoundError)]
    [gone] = call(cluster, DescribeGroupsRequest(("standalone",))).groups
    assert gone.group_state == "Dead"
    assert call(cluster, OffsetFetchRequest("standalone")).topics == ()
    p = cluster.partition(ot.TOPIC, ot.partition_for("standalone"))
    last = [ot.decode(r.key, r.value) for batch in p.leader_log.batches()
            for r in batch.records][-2:]
    assert [type(r).__name__ for r in last] == ["OffsetCommit", "GroupMetadataRecord"]
    assert last[0].offset is None and last[1].deleted      # tombstones
