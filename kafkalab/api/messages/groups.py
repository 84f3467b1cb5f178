"""The group APIs: finding a group's coordinator, membership, rebalancing, committed offsets and
group administration — shaped as Kafka's message schemas.

=================  ===  ============================================================
FindCoordinator     10  which broker coordinates a group (v3 shape: one key)
JoinGroup           11  join (or rejoin) a group; the leader gets every subscription
Heartbeat           12  keep a member alive; REBALANCE_IN_PROGRESS says "rejoin"
LeaveGroup          13  members leave at once instead of timing out (v5 shape)
SyncGroup           14  the leader hands in the assignment, every member gets its part
DescribeGroups      15  state, protocol and members of groups
ListGroups          16  the groups a broker coordinates (v5: states/types filters)
DeleteGroups        42  remove empty groups and their offsets, one result per group
OffsetCommit         8  store offsets; an error code per partition
OffsetFetch          9  read committed offsets (v7 shape: one group; topics None = all)
=================  ===  ============================================================

Kafka reads a member's ``client_id`` from the request header and its host from the connection;
here :class:`JoinGroupRequest` carries ``client_id`` itself (a wire codec fills it from the
header). The responses' ``error_message`` is kafkalab's explanation of ``error_code`` (see
:mod:`..base`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

#: the protocol type of a consumer group's JoinGroup (kafka-python's ConsumerProtocol)
CONSUMER_PROTOCOL_TYPE = "consumer"
#: FindCoordinator key types (Kafka's ``CoordinatorType``)
GROUP_KEY_TYPE = 0
TRANSACTION_KEY_TYPE = 1


# --- FindCoordinator (10) ------------------------------------------------------------------------
@dataclass(frozen=True)
class FindCoordinatorRequest(Request):
    API_KEY = 10
    API_NAME = "FindCoordinator"

    key: str
    key_type: int = GROUP_KEY_TYPE


@dataclass(frozen=True)
class FindCoordinatorResponse(Response):
    API_KEY = 10
    API_NAME = "FindCoordinator"

    error_code: int = 0
    error_message: str | None = None
    node_id: int = -1
    host: str = ""
    port: int = -1
    throttle_time_ms: int = 0


# --- JoinGroup (11) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class JoinGroupRequestProtocol:
    name: str
    metadata: bytes


@dataclass(frozen=True)
class JoinGroupRequest(Request):
    API_KEY = 11
    API_NAME = "JoinGroup"

    group_id: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    member_id: str
    protocol_type: str
    protocols: tuple[JoinGroupRequestProtocol, ...]
    group_instance_id: str | None = None
    reason: str | None = None
    #: from the request header in Kafka's protocol
    client_id: str = ""
    #: KIP-394, JoinGroup v4+: a new member without a member id first gets one with
    #: MEMBER_ID_REQUIRED, then joins with it (Kafka infers this from the request version)
    require_known_member_id: bool = False


@dataclass(frozen=True)
class JoinGroupResponseMember:
    member_id: str
    group_instance_id: str | None
    metadata: bytes


@dataclass(frozen=True)
class JoinGroupResponse(Response):
    API_KEY = 11
    API_NAME = "JoinGroup"

    error_code: int = 0
    error_message: str | None = None
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    skip_assignment: bool = False
    member_id: str = ""
    #: every member's subscription — for the leader only
    members: tuple[JoinGroupResponseMember, ...] = ()
    throttle_time_ms: int = 0


# --- Heartbeat (12) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeartbeatRequest(Request):
    API_KEY = 12
    API_NAME = "Heartbeat"

    group_id: str
    generation_id: int
    member_id: str
    group_instance_id: str | None = None


@dataclass(frozen=True)
class HeartbeatResponse(Response):
    API_KEY = 12
    API_NAME = "Heartbeat"

    error_code: int = 0
    error_message: str | None = None
    throttle_time_ms: int = 0


# --- LeaveGroup (13) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberIdentity:
    member_id: str
    group_instance_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class LeaveGroupRequest(Request):
    API_KEY = 13
    API_NAME = "LeaveGroup"

    group_id: str
    members: tuple[MemberIdentity, ...]


@dataclass(frozen=True)
class LeaveGroupResponseMember:
    member_id: str
    group_instance_id: str | None
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class LeaveGroupResponse(Response):
    API_KEY = 13
    API_NAME = "LeaveGroup"

    #: a group-level error (NOT_COORDINATOR ...); member errors are per member
    error_code: int = 0
    error_message: str | None = None
    members: tuple[LeaveGroupResponseMember, ...] = ()
    throttle_time_ms: int = 0


# --- SyncGroup (14) ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncGroupRequestAssignment:
    member_id: str
    assignment: bytes


@dataclass(frozen=True)
class SyncGroupRequest(Request):
    API_KEY = 14
    API_NAME = "SyncGroup"

    group_id: str
    generation_id: int
    member_id: str
    #: the leader's assignment of every member; empty from the other members
    assignments: tuple[SyncGroupRequestAssignment, ...] = ()
    group_instance_id: str | None = None
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True)
class SyncGroupResponse(Response):
    API_KEY = 14
    API_NAME = "SyncGroup"

    error_code: int = 0
    error_message: str | None = None
    protocol_type: str | None = None
    protocol_name: str | None = None
    assignment: bytes = b""
    throttle_time_ms: int = 0


# --- DescribeGroups (15) -------------------------------------------------------------------------
@dataclass(frozen=True)
class DescribeGroupsRequest(Request):
    API_KEY = 15
    API_NAME = "DescribeGroups"

    groups: tuple[str, ...]
    include_authorized_operations: bool = False


@dataclass(frozen=True)
class DescribedGroupMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    member_metadata: bytes
    member_assignment: bytes


@dataclass(frozen=True)
class DescribedGroup:
    group_id: str
    error_code: int = 0
    error_message: str | None = None
    #: "Dead" for a group the coordinator does not know
    group_state: str = ""
    protocol_type: str = ""
    protocol_data: str = ""
    members: tuple[DescribedGroupMember, ...] = ()
    authorized_operations: int = -2147483648


@dataclass(frozen=True)
class DescribeGroupsResponse(Response):
    API_KEY = 15
    API_NAME = "DescribeGroups"

    groups: tuple[DescribedGroup, ...]
    throttle_time_ms: int = 0


# --- ListGroups (16) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ListGroupsRequest(Request):
    API_KEY = 16
    API_NAME = "ListGroups"

    #: empty: every state
    states_filter: tuple[str, ...] = ()
    #: empty: every type ("classic" is the only one here)
    types_filter: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListedGroup:
    group_id: str
    protocol_type: str
    group_state: str
    group_type: str = "classic"


@dataclass(frozen=True)
class ListGroupsResponse(Response):
    API_KEY = 16
    API_NAME = "ListGroups"

    error_code: int = 0
    error_message: str | None = None
    groups: tuple[ListedGroup, ...] = ()
    throttle_time_ms: int = 0


# --- DeleteGroups (42) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DeleteGroupsRequest(Request):
    API_KEY = 42
    API_NAME = "DeleteGroups"

    groups_names: tuple[str, ...]


@dataclass(frozen=True)
class DeletableGroupResult:
    group_id: str
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class DeleteGroupsResponse(Response):
    API_KEY = 42
    API_NAME = "DeleteGroups"

    results: tuple[DeletableGroupResult, ...]
    throttle_time_ms: int = 0


# --- OffsetCommit (8) ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetCommitRequestPartition:
    partition_index: int
    committed_offset: int
    committed_leader_epoch: int = -1
    committed_metadata: str | None = ""


@dataclass(frozen=True)
class OffsetCommitRequestTopic:
    name: str
    partitions: tuple[OffsetCommitRequestPartition, ...]


@dataclass(frozen=True)
class OffsetCommitRequest(Request):
    API_KEY = 8
    API_NAME = "OffsetCommit"

    group_id: str
    topics: tuple[OffsetCommitRequestTopic, ...]
    #: -1 and an empty member id: a commit from outside the group (standalone, admin)
    generation_id_or_member_epoch: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


@dataclass(frozen=True)
class OffsetCommitResponsePartition:
    partition_index: int
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class OffsetCommitResponseTopic:
    name: str
    partitions: tuple[OffsetCommitResponsePartition, ...]


@dataclass(frozen=True)
class OffsetCommitResponse(Response):
    API_KEY = 8
    API_NAME = "OffsetCommit"

    topics: tuple[OffsetCommitResponseTopic, ...]
    throttle_time_ms: int = 0


# --- OffsetFetch (9) -----------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetFetchRequestTopic:
    name: str
    partition_indexes: tuple[int, ...]


@dataclass(frozen=True)
class OffsetFetchRequest(Request):
    API_KEY = 9
    API_NAME = "OffsetFetch"

    group_id: str
    #: None: every partition the group committed
    topics: tuple[OffsetFetchRequestTopic, ...] | None = None
    require_stable: bool = False


@dataclass(frozen=True)
class OffsetFetchResponsePartition:
    partition_index: int
    #: -1: nothing committed
    committed_offset: int = -1
    committed_leader_epoch: int = -1
    metadata: str | None = ""
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class OffsetFetchResponseTopic:
    name: str
    partitions: tuple[OffsetFetchResponsePartition, ...]


@dataclass(frozen=True)
class OffsetFetchResponse(Response):
    API_KEY = 9
    API_NAME = "OffsetFetch"

    topics: tuple[OffsetFetchResponseTopic, ...] = ()
    #: a group-level error (NOT_COORDINATOR ...)
    error_code: int = 0
    error_message: str | None = None
    throttle_time_ms: int = 0
