"""The group APIs: a broker hands each request to its own group coordinator (Kafka's
``KafkaApis.handleJoinGroupRequest`` ... calling the GroupCoordinator), see
:mod:`...coordinator.runtime`.

FindCoordinator is answered by any broker (creating ``__consumer_offsets`` on a group's first
lookup; for ``key_type`` 1, the transactional id's coordinator, creating
``__transaction_state``); every other request goes to the broker that leads the group's offsets
partition, and any other broker answers ``NOT_COORDINATOR``. JoinGroup and SyncGroup are
answered when the join round gets that far; commits, deletions and the leader's SyncGroup once
the offsets partition stored their records.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...coordinator.group_state_machine import offset_commit_response
from ...errors import CoordinatorNotAvailableError, InvalidRequestError
from ..base import error_fields
from ..messages.groups import (
    GROUP_KEY_TYPE,
    TRANSACTION_KEY_TYPE,
    DeletableGroupResult,
    DeleteGroupsRequest,
    DeleteGroupsResponse,
    DescribedGroup,
    DescribeGroupsRequest,
    DescribeGroupsResponse,
    FindCoordinatorRequest,
    FindCoordinatorResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    LeaveGroupRequest,
    LeaveGroupResponse,
    ListGroupsRequest,
    ListGroupsResponse,
    OffsetCommitRequest,
    OffsetFetchRequest,
    OffsetFetchResponse,
    SyncGroupRequest,
    SyncGroupResponse,
)
from ..registry import handles

if TYPE_CHECKING:
    from ...cluster.context import GroupHandlerContext


def _coordinator(broker):
    """The group coordinator running inside ``broker``."""
    cluster: GroupHandlerContext = broker.cluster
    return cluster.group_coordinator.on_broker(broker.id)


@handles(FindCoordinatorRequest)
def handle_find_coordinator(broker, request: FindCoordinatorRequest, respond) -> None:
    cluster: GroupHandlerContext = broker.cluster
    routers = {GROUP_KEY_TYPE: cluster.group_coordinator,
               TRANSACTION_KEY_TYPE: cluster.transaction_coordinator}
    if request.key_type not in routers:
        respond(FindCoordinatorResponse(**error_fields(InvalidRequestError(
            f"FindCoordinator key_type {request.key_type} is not known: 0 (group) and 1 "
            "(transaction) are"))))
        return
    try:
        node = routers[request.key_type].coordinator_of(request.key)
    except CoordinatorNotAvailableError as error:
        respond(FindCoordinatorResponse(**error_fields(error)))
        return
    coordinator = cluster.brokers[node]
    respond(FindCoordinatorResponse(node_id=node, host=coordinator.host, port=coordinator.port))


@handles(JoinGroupRequest)
def handle_join_group(broker, request: JoinGroupRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.membership.join_group(
        request, respond), respond, lambda e: JoinGroupResponse(**error_fields(e)))


@handles(SyncGroupRequest)
def handle_sync_group(broker, request: SyncGroupRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.membership.sync_group(
        request, respond), respond, lambda e: SyncGroupResponse(**error_fields(e)))


@handles(HeartbeatRequest)
def handle_heartbeat(broker, request: HeartbeatRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.membership.heartbeat(request),
                             respond, lambda e: HeartbeatResponse(**error_fields(e)))


@handles(LeaveGroupRequest)
def handle_leave_group(broker, request: LeaveGroupRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.membership.leave_group(request),
                             respond, lambda e: LeaveGroupResponse(**error_fields(e)))


@handles(OffsetCommitRequest)
def handle_offset_commit(broker, request: OffsetCommitRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.commit_offsets(request), respond,
                             lambda e: offset_commit_response(request, e))


@handles(OffsetFetchRequest)
def handle_offset_fetch(broker, request: OffsetFetchRequest, respond) -> None:
    _coordinator(broker).run(request.group_id, lambda m: m.fetch_offsets(request), respond,
                             lambda e: OffsetFetchResponse(**error_fields(e)))


@handles(DescribeGroupsRequest)
def handle_describe_groups(broker, request: DescribeGroupsRequest, respond) -> None:
    coordinator = _coordinator(broker)
    described = []
    for group_id in request.groups:
        machine, error = coordinator.machine_for(group_id)
        described.append(DescribedGroup(group_id, **error_fields(error)) if error is not None
                         else machine.describe_group(group_id))
    respond(DescribeGroupsResponse(tuple(described)))


@handles(ListGroupsRequest)
def handle_list_groups(broker, request: ListGroupsRequest, respond) -> None:
    listed = [g for m in _coordinator(broker).led_machines()
              for g in m.listed_groups(request.states_filter, request.types_filter)]
    respond(ListGroupsResponse(groups=tuple(sorted(listed, key=lambda g: g.group_id))))


@handles(DeleteGroupsRequest)
def handle_delete_groups(broker, request: DeleteGroupsRequest, respond) -> None:
    """One result per group (in the request's order), sent once every deletion is stored."""
    names = list(dict.fromkeys(request.groups_names))
    results: dict[str, DeletableGroupResult] = {}

    def answered(group_id: str, result: DeletableGroupResult) -> None:
        results[group_id] = result
        if len(results) == len(names):
            respond(DeleteGroupsResponse(tuple(results[g] for g in names)))

    if not names:
        respond(DeleteGroupsResponse(()))
        return
    coordinator = _coordinator(broker)
    for group_id in names:
        coordinator.run(group_id, lambda m, g=group_id: m.delete_group(g),
                        lambda result, g=group_id: answered(g, result),
                        lambda e, g=group_id: DeletableGroupResult(g, **error_fields(e)))
