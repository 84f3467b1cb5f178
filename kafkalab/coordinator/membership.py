"""The classic group membership protocol of a group coordinator (the classic-group part of
Kafka's GroupMetadataManager): JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the rebalance
they drive.

JoinGroup collects members and elects a leader, the leader computes the assignment with an
assignor and hands it back in SyncGroup, heartbeats keep members alive, and a member that stops
heartbeating for ``session_timeout_ms`` (or leaves, or changes its subscription) starts the next
rebalance (see :mod:`.group` for the states). Join rounds wait in the broker's join purgatory
(:mod:`.delayed_join`); a new group's first rebalance waits ``group.initial.rebalance.delay.ms``.

A member waiting in JoinGroup or SyncGroup is kept alive (Kafka's shouldKeepAlive): the
rebalance timeout, not the session timeout, decides whether it made it; a request still waiting
when its member is removed is answered (``UNKNOWN_MEMBER_ID``). The leader's assignment takes
effect only once the group record carrying it is stored; if storing fails, every member waiting
in SyncGroup gets the error and the group rebalances again (Kafka's
resetAndPropagateAssignmentError). A static member (``group_instance_id``) that comes back takes
its old place without a rebalance, and its old instance is fenced (KIP-345). A new member of a
client speaking JoinGroup v4+ first gets its member id with MEMBER_ID_REQUIRED and joins again
with it (KIP-394). A member that joins again with unchanged metadata while its generation stands
gets that generation back, unless it is a stable group's leader (whose JoinGroup asks for a
rebalance), as Kafka's classicGroupJoinExistingMember does.

Invariants: every state change leaves an explained event; a waiting JoinGroup or SyncGroup is
answered exactly once; the groups it changes are those of its :class:`GroupHolder`, and only
while the holder still holds them.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from ..api.base import error_fields
from ..api.messages.groups import (
    HeartbeatRequest,
    HeartbeatResponse,
    JoinGroupRequest,
    JoinGroupResponse,
    JoinGroupResponseMember,
    LeaveGroupRequest,
    LeaveGroupResponse,
    LeaveGroupResponseMember,
    SyncGroupRequest,
    SyncGroupResponse,
)
from ..errors import (
    FencedInstanceIdError,
    InconsistentGroupProtocolError,
    InvalidSessionTimeoutError,
    MemberIdRequiredError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from . import offsets_topic as ot
from .delayed_join import DelayedJoin, InitialDelayedJoin
from .group import Group, GroupState, Member, check_member
from .result import CoordinatorResult

#: Kafka's client host of a member (kafkalab's clients all run in this process)
CLIENT_HOST = "/127.0.0.1"


class MembershipContext(Protocol):
    """What the membership protocol uses of its broker's coordinator runtime."""

    join_purgatory: Any  # a Purgatory of DelayedJoin, keyed by group id

    def now_ms(self) -> int: ...

    def call_later(self, delay_ms: int, callback: Callable[[], None],
                   background: bool = False) -> Any: ...

    def emit(self, kind: str, text: str, **data) -> None: ...

    def config(self, name: str) -> Any: ...

    def new_member_id(self, prefix: str) -> str: ...


class GroupHolder(Protocol):
    """The state machine whose groups the membership protocol changes."""

    context: MembershipContext

    def group(self, group_id: str, create: bool = False) -> Group | None: ...

    def holds(self, group: Group) -> bool: ...

    def set_state(self, group: Group, state: GroupState) -> None: ...

    def group_record(self, group: Group, assignments: dict[str, bytes] | None = None
                     ) -> ot.GroupMetadataRecord: ...

    def store_group(self, group: Group) -> None: ...


class ClassicGroupMembership:
    """The membership handlers of one state machine; each returns a
    :class:`~.result.CoordinatorResult` (or answers later through the ``respond`` it keeps)."""

    def __init__(self, machine: GroupHolder):
        self.machine = machine
        self.context = machine.context

    def _emit(self, kind: str, text: str, **data) -> None:
        self.context.emit(kind, text, **data)

    def _join_response(self, group: Group, member: Member, members: tuple = ()
                       ) -> JoinGroupResponse:
        return JoinGroupResponse(generation_id=group.generation,
                                 protocol_type=group.protocol_type,
                                 protocol_name=group.protocol, leader=group.leader_id or "",
                                 member_id=member.member_id, members=members)

    # --- JoinGroup -----------------------------------------------------------------------------
    def join_group(self, request: JoinGroupRequest,
                   respond: Callable[[JoinGroupResponse], None]) -> CoordinatorResult:
        """Kafka's classicGroupJoin: the member waits in the group's join round (``respond``
        is called when it completes), or is refused at once."""
        error = self._join_error(request)
        if error is not None:
            return CoordinatorResult(response=JoinGroupResponse(**error_fields(error)))
        group = self.machine.group(request.group_id, create=True)
        if not group.members:
            group.protocol_type = request.protocol_type
        protocols = [(p.name, p.metadata) for p in request.protocols]
        member_id = request.member_id
        static = (group.member_by_instance(request.group_instance_id)
                  if request.group_instance_id else None)
        if not member_id and static is not None:
            return self._replace_static_member(group, static, request, protocols, respond)
        if not member_id and request.require_known_member_id and not request.group_instance_id:
            return self._member_id_required(group, request)
        if not member_id or member_id in group.pending_members:
            group.pending_members.discard(member_id)
            if group.state == GroupState.PREPARING_REBALANCE and group.generation == 0:
                group.new_member_added = True  # a new group's first rebalance waits longer
            member = self._add_member(group, request.group_instance_id, request.client_id,
                                      request.session_timeout_ms,
                                      request.rebalance_timeout_ms, protocols, member_id)
            why = request.reason or f"member {member.member_id} joined"
        else:
            member = group.members[member_id]
            if self._keeps_generation(group, member, protocols):
                self.heartbeat_received(group, member)
                return CoordinatorResult(response=self._join_response(
                    group, member, self._everyone(group)
                    if member_id == group.leader_id else ()))
            member.protocols = protocols
            why = request.reason or f"member {member_id} rejoined"
        if member.awaiting_join is not None:  # a retried JoinGroup replaces the one waiting
            member.awaiting_join(JoinGroupResponse(**error_fields(RebalanceInProgressError(
                f"member {member.member_id} sent another JoinGroup"))))
        member.awaiting_join = respond
        self.heartbeat_received(group, member)
        self._join_round(group, why)
        return CoordinatorResult()

    @staticmethod
    def _keeps_generation(group: Group, member: Member, protocols: list) -> bool:
        """Kafka's classicGroupJoinExistingMember: a member that joins again with the same
        metadata while its generation stands (awaiting sync, or stable and not the leader —
        a leader's JoinGroup asks for a rebalance) just gets the current generation back (it
        may have missed the first answer); anything else starts a rebalance."""
        if member.protocols != protocols:
            return False
        return (group.state == GroupState.COMPLETING_REBALANCE
                or group.state == GroupState.STABLE and member.member_id != group.leader_id)

    @staticmethod
    def _everyone(group: Group) -> tuple:
        """Every member's subscription, for the leader's JoinGroup answer."""
        return tuple(JoinGroupResponseMember(m.member_id, m.group_instance_id,
                                             m.metadata_for(group.protocol))
                     for m in group.members.values())

    def _join_error(self, request: JoinGroupRequest) -> Exception | None:
        group_id, member_id = request.group_id, request.member_id
        low, high = (self.context.config("group.min.session.timeout.ms"),
                     self.context.config("group.max.session.timeout.ms"))
        if not low <= request.session_timeout_ms <= high:
            return InvalidSessionTimeoutError(
                f"session_timeout_ms={request.session_timeout_ms} is outside the broker's "
                f"allowed range {low}..{high} (group.min/max.session.timeout.ms)")
        group = self.machine.group(group_id)
        if group is not None and group.members:
            if group.protocol_type not in (None, request.protocol_type):
                return InconsistentGroupProtocolError(
                    f"group {group_id} has protocol type {group.protocol_type!r}; this member "
                    f"asks for {request.protocol_type!r}")
            offered = [p.name for p in request.protocols]
            if not group.supported_protocols() & set(offered):
                return InconsistentGroupProtocolError(
                    f"group {group_id} uses assignor(s) {sorted(group.supported_protocols())}; "
                    f"this consumer offers {offered}: they must share one")
        if group is not None and member_id in group.fenced:
            return check_member(group, group_id, -1, member_id)
        if member_id and (group is None or member_id not in group.members
                          and member_id not in group.pending_members):
            return UnknownMemberIdError(
                f"member {member_id} is not in group {group_id} (it was removed); rejoin "
                "with no member id")
        return None

    def _member_id_required(self, group: Group, request: JoinGroupRequest) -> CoordinatorResult:
        """KIP-394: hand a new member its id and ask it to join again with it (it is pending
        until then, for at most its session timeout)."""
        member_id = self.context.new_member_id(request.client_id)
        group.pending_members.add(member_id)
        self.context.call_later(request.session_timeout_ms,
                                lambda: group.pending_members.discard(member_id),
                                background=True)
        return CoordinatorResult(response=JoinGroupResponse(
            member_id=member_id, **error_fields(MemberIdRequiredError(
                f"group {group.group_id} gave this new member the id {member_id}: join again "
                "with it (KIP-394)"))))

    def _add_member(self, group: Group, group_instance_id: str | None, client_id: str,
                    session_timeout_ms: int, rebalance_timeout_ms: int,
                    protocols: list[tuple[str, bytes]], member_id: str = "") -> Member:
        member_id = member_id or self.context.new_member_id(group_instance_id or client_id)
        member = Member(member_id, group_instance_id, client_id, CLIENT_HOST,
                        session_timeout_ms, rebalance_timeout_ms, protocols)
        group.members[member_id] = member
        return member

    def _replace_static_member(self, group: Group, old: Member, request: JoinGroupRequest,
                               protocols: list[tuple[str, bytes]],
                               respond: Callable[[JoinGroupResponse], None]
                               ) -> CoordinatorResult:
        """A static member (group_instance_id) came back: it takes its old place and, if the
        group is stable, its old assignment — no rebalance (KIP-345)."""
        del group.members[old.member_id]
        if old.session_timer:
            old.session_timer.cancel()
        group.fenced[old.member_id] = old.group_instance_id
        fenced = FencedInstanceIdError(
            f"member {old.member_id} was replaced by a newer instance of static member "
            f"{old.group_instance_id} in group {group.group_id}: this old instance is fenced")
        self.answer_waiting(old, fenced)
        member = self._add_member(group, old.group_instance_id, request.client_id,
                                  old.session_timeout_ms, old.rebalance_timeout_ms, protocols)
        member.assignment = old.assignment
        if group.leader_id == old.member_id:
            group.leader_id = member.member_id
        self._emit("group.static_member_rejoined",
                   f"static member {old.group_instance_id} of group {group.group_id} came back "
                   f"as {member.member_id}: it keeps its partitions, no rebalance",
                   group=group.group_id, member=member.member_id)
        self.heartbeat_received(group, member)
        if group.state == GroupState.STABLE:
            # the new member id is stored first, so a new coordinator knows it
            return CoordinatorResult((self.machine.group_record(group),),
                                     self._join_response(group, member), replayed=True)
        member.awaiting_join = respond
        self._join_round(group, f"static member {old.group_instance_id} rejoined")
        return CoordinatorResult()

    def _join_round(self, group: Group, why: str) -> None:
        """Start a rebalance, or let the one under way see that a member (re)joined."""
        if group.state != GroupState.PREPARING_REBALANCE:
            self._prepare_rebalance(group, why)
        else:
            self.context.join_purgatory.check_and_complete(group.group_id)

    def _prepare_rebalance(self, group: Group, why: str) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            for member in group.members.values():
                if member.awaiting_sync:
                    respond, member.awaiting_sync = member.awaiting_sync, None
                    respond(SyncGroupResponse(**error_fields(RebalanceInProgressError(
                        f"group {group.group_id} started another rebalance: {why}"))))
        was_empty = group.state == GroupState.EMPTY
        self.machine.set_state(group, GroupState.PREPARING_REBALANCE)
        rebalance_timeout = max((m.rebalance_timeout_ms for m in group.members.values()),
                                default=0)
        if was_empty:
            delay = self.context.config("group.initial.rebalance.delay.ms")
            group.new_member_added = False
            join = InitialDelayedJoin(self, group, delay, max(rebalance_timeout - delay, 0))
        else:
            delay = rebalance_timeout
            join = DelayedJoin(self, group, delay)
        wait = (f"waits {delay} ms (group.initial.rebalance.delay.ms) for more members" if
                was_empty else f"waits up to {delay} ms for every member to rejoin"
                if group.members else "has no members left")
        self._emit("group.rebalance_started", f"group {group.group_id} is rebalancing "
                   f"(generation {group.generation} ends): {why}; it {wait}",
                   group=group.group_id, generation=group.generation, reason=why)
        group.pending_join = join
        self.context.join_purgatory.try_complete_else_watch(join, (group.group_id,))

    def initial_delay_elapsed(self, group: Group, remaining_ms: int) -> None:
        """Kafka's InitialDelayedJoin: while new members keep arriving at a new group's first
        rebalance, wait another group.initial.rebalance.delay.ms (up to the rebalance
        timeout), so a fleet of consumers starting together gets one rebalance, not many."""
        if group.state != GroupState.PREPARING_REBALANCE or not self.machine.holds(group):
            return
        if group.new_member_added and remaining_ms > 0:
            delay = min(self.context.config("group.initial.rebalance.delay.ms"), remaining_ms)
            group.new_member_added = False
            join = group.pending_join = InitialDelayedJoin(self, group, delay,
                                                           max(remaining_ms - delay, 0))
            self.context.join_purgatory.try_complete_else_watch(join, (group.group_id,))
            self._emit("group.rebalance_delayed", f"group {group.group_id}: new members joined "
                       f"during the initial delay; it waits another {delay} ms "
                       "(group.initial.rebalance.delay.ms) for more", group=group.group_id,
                       delay_ms=delay)
            return
        self.complete_join(group)

    def complete_join(self, group: Group) -> None:
        """The join round is over: members that did not rejoin are removed, the generation
        moves on, and every member gets its JoinGroup answer (the leader with everyone's
        subscription)."""
        if group.state != GroupState.PREPARING_REBALANCE or not self.machine.holds(group):
            return
        group.pending_join = None
        for member in [m for m in group.members.values() if m.awaiting_join is None]:
            self._remove_member(group, member, "it did not rejoin within the rebalance timeout",
                                rebalance=False)
        group.generation += 1
        if not group.members:
            group.protocol = group.leader_id = None
            self.machine.set_state(group, GroupState.EMPTY)
            # as Kafka: a failure to store the empty generation is only worth a warning (the
            # previous generation has no live members anyway)
            self.machine.store_group(group)
            self._emit("group.empty", f"group {group.group_id} is empty (generation "
                       f"{group.generation}); its committed offsets stay", group=group.group_id)
            return
        group.protocol = group.choose_protocol()
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        self.machine.set_state(group, GroupState.COMPLETING_REBALANCE)
        self._emit("group.joined", f"group {group.group_id} generation {group.generation}: "
                   f"{len(group.members)} member(s), leader {group.leader_id}, assignor "
                   f"{group.protocol}; waiting for the leader's assignment",
                   group=group.group_id, generation=group.generation,
                   members=list(group.members), leader=group.leader_id)
        everyone = self._everyone(group)
        for member in list(group.members.values()):
            respond, member.awaiting_join = member.awaiting_join, None
            self.heartbeat_received(group, member)
            respond(self._join_response(group, member, everyone if
                                        member.member_id == group.leader_id else ()))

    # --- SyncGroup -----------------------------------------------------------------------------
    def sync_group(self, request: SyncGroupRequest,
                   respond: Callable[[SyncGroupResponse], None]) -> CoordinatorResult:
        """Kafka's classicGroupSync: members wait for the leader's assignment, which is
        stored before anyone gets it."""
        group_id, generation = request.group_id, request.generation_id
        group = self.machine.group(group_id)
        error = check_member(group, group_id, generation, request.member_id)
        if error is None and group.state == GroupState.PREPARING_REBALANCE:
            error = RebalanceInProgressError(f"group {group_id} is rebalancing: rejoin")
        if error is not None:
            return CoordinatorResult(response=SyncGroupResponse(**error_fields(error)))
        member = group.members[request.member_id]
        self.heartbeat_received(group, member)
        if group.state == GroupState.STABLE:
            return CoordinatorResult(response=self._sync_response(group, member))
        member.awaiting_sync = respond
        if request.member_id != group.leader_id or group.assignment_pending:
            return CoordinatorResult()
        # Kafka's doSyncGroup: the assignment is stored first; the group moves on only once
        # the record is accepted, and only if nothing changed meanwhile
        group.assignment_pending = True
        given = {a.member_id: a.assignment for a in request.assignments}
        proposed = {m: given.get(m, b"") for m in group.members}
        return CoordinatorResult(
            (self.machine.group_record(group, proposed),), replayed=True,
            on_stored=lambda error: self._assignment_stored(group, generation, proposed, error))

    def _sync_response(self, group: Group, member: Member) -> SyncGroupResponse:
        return SyncGroupResponse(protocol_type=group.protocol_type,
                                 protocol_name=group.protocol, assignment=member.assignment)

    def _assignment_stored(self, group: Group, generation: int, proposed: dict[str, bytes],
                           error: Exception | None) -> None:
        group.assignment_pending = False
        if (not self.machine.holds(group) or group.state != GroupState.COMPLETING_REBALANCE
                or group.generation != generation):
            return  # another rebalance started (or the coordinator moved): nothing to hand out
        if error is not None:
            # Kafka's resetAndPropagateAssignmentError + maybePrepareRebalance: every member
            # waiting in SyncGroup hears the error and rejoins
            for m in group.members.values():
                m.assignment = b""
                if m.awaiting_sync:
                    respond, m.awaiting_sync = m.awaiting_sync, None
                    respond(SyncGroupResponse(**error_fields(error)))
            self._emit("group.assignment_not_stored", f"group {group.group_id} generation "
                       f"{generation}: the leader's assignment could not be stored ({error}); "
                       "every member hears the error and rejoins", group=group.group_id,
                       generation=generation, error=type(error).__name__)
            self._prepare_rebalance(group, f"the assignment of generation {generation} could "
                                    "not be stored")
            return
        for m in group.members.values():
            m.assignment = proposed.get(m.member_id, b"")
        self.machine.set_state(group, GroupState.STABLE)
        self._emit("group.stable", f"group {group.group_id} generation {generation} is stable: "
                   "the leader's assignment was stored and handed to every member",
                   group=group.group_id, generation=generation)
        for m in group.members.values():
            if m.awaiting_sync:
                respond, m.awaiting_sync = m.awaiting_sync, None
                self.heartbeat_received(group, m)
                respond(self._sync_response(group, m))

    # --- Heartbeat and LeaveGroup -------------------------------------------------------------
    def heartbeat(self, request: HeartbeatRequest) -> CoordinatorResult:
        group_id = request.group_id
        group = self.machine.group(group_id)
        error = check_member(group, group_id, request.generation_id, request.member_id)
        if error is None:
            self.heartbeat_received(group, group.members[request.member_id])
            if group.state == GroupState.PREPARING_REBALANCE:
                error = RebalanceInProgressError(f"group {group_id} is rebalancing: rejoin")
        return CoordinatorResult(response=HeartbeatResponse(**error_fields(error)))

    def heartbeat_received(self, group: Group, member: Member) -> None:
        if member.session_timer:
            member.session_timer.cancel()
        member.session_timer = self.context.call_later(
            member.session_timeout_ms, lambda: self._session_expired(group, member),
            background=True)

    def _session_expired(self, group: Group, member: Member) -> None:
        if not self.machine.holds(group) or group.members.get(member.member_id) is not member:
            return
        if member.awaiting_join is not None or member.awaiting_sync is not None:
            # Kafka keeps a member alive while it waits in JoinGroup/SyncGroup: the rebalance
            # timeout, not the session, decides whether it made it (shouldKeepAlive)
            self.heartbeat_received(group, member)
            return
        self._remove_member(group, member, f"no heartbeat for {member.session_timeout_ms} "
                            "ms (session.timeout.ms)")

    def leave_group(self, request: LeaveGroupRequest) -> CoordinatorResult:
        """Kafka's classicGroupLeave: each named member (by member id, or a static member by
        its group_instance_id) leaves at once; an error per member."""
        group = self.machine.group(request.group_id)
        answers = []
        for identity in request.members:
            error = None
            if identity.group_instance_id is not None:
                found = group.member_by_instance(identity.group_instance_id) if group else None
                if found is not None and identity.member_id not in ("", found.member_id):
                    error = FencedInstanceIdError(
                        f"member {identity.member_id} is not the current instance of static "
                        f"member {identity.group_instance_id} ({found.member_id})")
            else:
                found = group.members.get(identity.member_id) if group else None
            if found is None and error is None:
                error = UnknownMemberIdError(f"member {identity.member_id or '(none)'} is not "
                                             f"in group {request.group_id}")
            if error is None:
                self._remove_member(group, found, identity.reason or "it left")
            answers.append(LeaveGroupResponseMember(identity.member_id,
                                                    identity.group_instance_id,
                                                    **error_fields(error)))
        return CoordinatorResult(response=LeaveGroupResponse(members=tuple(answers)))

    def answer_waiting(self, member: Member, error: Exception) -> None:
        """Answer the member's JoinGroup/SyncGroup still waiting with ``error``."""
        join, sync = member.awaiting_join, member.awaiting_sync
        member.awaiting_join = member.awaiting_sync = None
        if join is not None:
            join(JoinGroupResponse(**error_fields(error)))
        if sync is not None:
            sync(SyncGroupResponse(**error_fields(error)))

    def _remove_member(self, group: Group, member: Member, why: str,
                       rebalance: bool = True) -> None:
        del group.members[member.member_id]
        if member.session_timer:
            member.session_timer.cancel()
        # a request still waiting for the group is answered: this member is gone
        self.answer_waiting(member, UnknownMemberIdError(
            f"member {member.member_id} was removed from group {group.group_id}: {why}"))
        self._emit("group.member_removed", f"member {member.member_id} left group "
                   f"{group.group_id}: {why}", group=group.group_id, member=member.member_id,
                   reason=why)
        if not rebalance:
            return
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, f"member {member.member_id} left ({why})")
        elif group.state == GroupState.PREPARING_REBALANCE:
            self.context.join_purgatory.check_and_complete(group.group_id)

