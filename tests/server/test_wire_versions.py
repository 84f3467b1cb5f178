"""Old and new versions of the same API answered alike: each served version's own shape
(batched FindCoordinator and OffsetFetch, one-member LeaveGroup, ListOffsets v0's offset list,
DeleteTopics v6's topic structs, JoinGroup v0 without a rebalance timeout, KIP-394's member id)."""
from __future__ import annotations

import time

from kafka.protocol.admin import DeleteTopicsRequest
import pytest
from kafka.protocol.consumer import (
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, ListOffsetsRequest, OffsetCommitRequest,
    OffsetFetchRequest,
)
from kafka.protocol.metadata import FindCoordinatorRequest

from wire_helpers import RawClient, first_port

SUBSCRIPTION = b"\x00\x00\x00\x00\x00\x01\x00\x06orders\xff\xff\xff\xff"


def _find_coordinator(client) -> None:
    """As every client does first: this creates __consumer_offsets (one broker here, so the
    coordinator of every group is the broker the client talks to)."""
    assert client.request(FindCoordinatorRequest(key="g", key_type=0), 3).error_code == 0


def _join_request(member_id: str = "", group: str = "g") -> JoinGroupRequest:
    protocol = JoinGroupRequest.JoinGroupRequestProtocol(name="range", metadata=SUBSCRIPTION)
    return JoinGroupRequest(
        group_id=group, session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id=member_id,
        group_instance_id=None, protocol_type="consumer", protocols=[protocol])


def _join(client, version: int, member_id: str = "", group: str = "g"):
    return client.request(_join_request(member_id, group), version)


def test_find_coordinator_v4_answers_every_key_v3_one(serve_cluster):
    client = RawClient(first_port(serve_cluster(brokers=2)))
    batched = client.request(FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"]), 4)
    assert [(c.key, c.error_code) for c in batched.coordinators] == [("a", 0), ("b", 0)]
    single = client.request(FindCoordinatorRequest(key="a", key_type=0), 3)
    assert (single.error_code, single.node_id) == (0, batched.coordinators[0].node_id)


def test_join_group_v4_hands_out_a_member_id_first_v0_joins_at_once(serve_cluster):
    served = serve_cluster(config={"group.initial.rebalance.delay.ms": 0})
    client = RawClient(first_port(served))
    _find_coordinator(client)
    first = _join(client, 7)
    assert (first.error_code, first.generation_id) == (79, -1)  # MEMBER_ID_REQUIRED
    joined = _join(client, 7, first.member_id)
    assert (joined.error_code, joined.member_id, joined.generation_id) == (0, first.member_id, 1)
    old = _join(RawClient(first_port(served)), 0, group="legacy")
    # v0: no member id round; the session timeout serves as the rebalance timeout
    assert (old.error_code, old.generation_id, old.leader) == (0, 1, old.member_id)


def test_leave_group_v0_names_one_member_and_carries_its_error(serve_cluster):
    served = serve_cluster(config={"group.initial.rebalance.delay.ms": 0})
    client = RawClient(first_port(served))
    _find_coordinator(client)
    member = _join(client, 7, _join(client, 7).member_id).member_id
    unknown = client.request(LeaveGroupRequest(group_id="g", member_id="nobody"), 0)
    assert unknown.error_code == 25  # UNKNOWN_MEMBER_ID
    assert client.request(LeaveGroupRequest(group_id="g", member_id=member), 0).error_code == 0
    removed = served.cluster.events.of_kind("group.member_removed")
    assert [e.data["member"] for e in removed] == [member]


def test_offset_fetch_v8_answers_per_group_v7_one(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=1)
    client = RawClient(first_port(served))
    _find_coordinator(client)
    commit = OffsetCommitRequest(
        group_id="g", generation_id_or_member_epoch=-1, member_id="", group_instance_id=None,
        topics=[OffsetCommitRequest.OffsetCommitRequestTopic(
            name="orders", partitions=[
                OffsetCommitRequest.OffsetCommitRequestTopic.OffsetCommitRequestPartition(
                    partition_index=0, committed_offset=5, committed_leader_epoch=-1,
                    committed_metadata="")])])
    assert client.request(commit, 8).topics[0].partitions[0].error_code == 0
    group = OffsetFetchRequest.OffsetFetchRequestGroup(group_id="g", topics=None)
    batched = client.request(OffsetFetchRequest(groups=[group], require_stable=False), 8)
    assert batched.groups[0].group_id == "g"
    assert batched.groups[0].topics[0].partitions[0].committed_offset == 5
    single = client.request(OffsetFetchRequest(group_id="g", topics=None), 7)
    assert single.topics[0].partitions[0].committed_offset == 5


def test_list_offsets_v0_answers_with_a_list(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=1)
    client = RawClient(first_port(served))
    partition = ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition(
        partition_index=0, timestamp=-1, max_num_offsets=1)
    request = ListOffsetsRequest(replica_id=-1, topics=[ListOffsetsRequest.ListOffsetsTopic(
        name="orders", partitions=[partition])])
    answer = client.request(request, 0).topics[0].partitions[0]
    assert (answer.error_code, answer.old_style_offsets) == (0, [0])
    newest = client.request(request, 7).topics[0].partitions[0]
    assert (newest.error_code, newest.offset) == (0, 0)


def test_delete_topics_v6_takes_topic_structs(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("old", partitions=1)
    client = RawClient(first_port(served))
    answer = client.request(DeleteTopicsRequest(
        topics=[DeleteTopicsRequest.DeleteTopicState(name="old", topic_id=None)],
        timeout_ms=5000), 6)
    assert [(r.name, r.error_code) for r in answer.responses] == [("old", 0)]
    assert "old" not in served.cluster.topics


def test_a_follower_joining_again_unchanged_keeps_its_generation_a_leader_rebalances(
        serve_cluster):
    from kafka.protocol.consumer import SyncGroupRequest

    served = serve_cluster(config={"group.initial.rebalance.delay.ms": 0})
    port = first_port(served)
    leader, follower = RawClient(port), RawClient(port)
    _find_coordinator(leader)
    leader_id = _join(leader, 7, group="g2").member_id
    follower_id = _join(follower, 7, group="g2").member_id
    assert _join(leader, 7, leader_id, group="g2").generation_id == 1
    leader.request(SyncGroupRequest(group_id="g2", generation_id=1, member_id=leader_id,
                                    assignments=[]), 5)
    # the follower's join starts generation 2; the leader learns it by joining again
    started = len(served.cluster.events.of_kind("group.rebalance_started"))
    follower.send(follower.frame(_join_request(follower_id, "g2"), 7))
    deadline = time.monotonic() + 5  # the follower's join is taken before the leader's
    while (len(served.cluster.events.of_kind("group.rebalance_started")) == started
           and time.monotonic() < deadline):
        time.sleep(0.01)
    assert _join(leader, 7, leader_id, group="g2").generation_id == 2
    assert JoinGroupResponse.decode(follower.read_frame(), version=7,
                                    header=True).generation_id == 2
    for client, member in ((leader, leader_id), (follower, follower_id)):
        client.request(SyncGroupRequest(group_id="g2", generation_id=2, member_id=member,
                                        assignments=[]), 5)
    rebalances = len(served.cluster.events.of_kind("group.rebalance_started"))
    again = _join(follower, 7, follower_id, group="g2")  # the same metadata, stable group
    assert (again.error_code, again.generation_id, again.members) == (0, 2, [])
    assert len(served.cluster.events.of_kind("group.rebalance_started")) == rebalances
    leader.send(leader.frame(_join_request(leader_id, "g2"), 7))  # the leader: a rebalance
    leader.sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        leader.read_frame()  # waits for the follower to join the new round
    assert len(served.cluster.events.of_kind("group.rebalance_started")) == rebalances + 1
