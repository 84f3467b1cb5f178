"""The group coordinator: consumer-group membership, rebalances and committed offsets.

Kafka's classic group protocol as a state machine over simulated time (see :mod:`.group`):
JoinGroup collects members and elects a leader, the leader computes the assignment with an
assignor and hands it back in SyncGroup, heartbeats keep members alive, and a member that
stops heartbeating for ``session_timeout_ms`` (or leaves, or changes its subscription) starts
the next rebalance.

**Where it runs.** As in Kafka, every broker runs a coordinator (:class:`BrokerGroupCoordinator`)
and the coordinator of a group is the leader of the group's ``__consumer_offsets`` partition
(``Utils.abs(groupId.hashCode) % 50``, :mod:`.offsets_topic`). Clients find it with
FindCoordinator (``COORDINATOR_NOT_AVAILABLE`` while that partition has no leader or the topic
cannot be created yet) and send it their requests; a broker that does not lead the group's
partition answers ``NOT_COORDINATOR``, a broker that is down does not answer at all. The
cluster-wide :class:`GroupCoordinator` (``cluster.group_coordinator``) carries requests to a
broker's coordinator and back (one network latency each way) and keeps the lab's synchronous
API (``groups``, ``fetch_offsets``, ``commit_offsets`` ...) for views, the admin client and tests.

**State is a replay of the log.** Committed offsets and group metadata are records of the
compacted internal topic ``__consumer_offsets``. A coordinator appends them through its
broker's own append path — leadership, liveness, ``acks=-1`` (``offsets.commit.required.acks``)
and ``min.insync.replicas`` of the offsets topic — and a commit is acknowledged, and enters the
offsets cache through :meth:`BrokerGroupCoordinator.replay`, only once the partition accepted
it (replicated to the ISR). When a broker becomes the leader of an offsets partition it rebuilds
that partition's groups (members, generation, assignment) and offsets by replaying its log
(Kafka's ``onElection``/``loadGroupsForPartition``); the broker that lost it drops them and
answers requests still waiting with ``NOT_COORDINATOR`` (``onResignation``). Append failures
come back as Kafka maps them: ``COORDINATOR_NOT_AVAILABLE`` (not enough replicas, timed out) or
``NOT_COORDINATOR`` (leadership moved) — both retriable for the client.

A member waiting in JoinGroup or SyncGroup is kept alive (Kafka's shouldKeepAlive): the
rebalance timeout, not the session timeout, decides whether it made it; a request still waiting
when its member is removed is answered (``UnknownMemberIdError``). A new group's first
rebalance waits ``group.initial.rebalance.delay.ms``, and again while new members keep coming
(InitialDelayedJoin). The leader's assignment takes effect only once the group record carrying
it is stored; if storing fails, every member waiting in SyncGroup gets the error and the group
rebalances again (Kafka's resetAndPropagateAssignmentError). Offsets of a group Empty for
``offsets.retention.minutes`` expire, then the group itself is removed.

Invariants: every state change leaves an explained event; a commit from a member of an older
generation is refused (``IllegalGenerationError``); a coordinator holds only groups of offsets
partitions its broker leads, loaded at the current leader epoch; its offsets cache equals a
replay of the committed records of those partitions; a Stable group's assignment is in the log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..errors import (
    CoordinatorNotAvailableError,
    FencedInstanceIdError,
    IllegalGenerationError,
    InconsistentGroupProtocolError,
    InvalidReplicationFactorError,
    InvalidSessionTimeoutError,
    KafkaConnectionError,
    NotCoordinatorError,
    NotEnoughReplicasAfterAppendError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    OffsetMetadataTooLargeError,
    RebalanceInProgressError,
    RequestTimedOutError,
    UnknownMemberIdError,
    UnknownTopicOrPartitionError,
)
from ..record import Record, RecordBatch
from ..structs import OffsetAndMetadata, TopicPartition
from . import offsets_topic as ot
from .group import Group, GroupState, JoinResult, Member, SyncResult

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext

#: Kafka's ``offsets.commit.timeout.ms``: how long a coordinator's append waits for the ISR
OFFSETS_COMMIT_TIMEOUT_MS = 5000
#: Kafka's ``offsets.commit.required.acks``: the coordinator appends with acks=all
OFFSETS_COMMIT_REQUIRED_ACKS = -1


# --- responses (Kafka's response fields, one error per response) --------------------------------
@dataclass(frozen=True)
class FindCoordinatorResult:
    error: Exception | None = None
    node_id: int = -1


@dataclass(frozen=True)
class HeartbeatResult:
    error: Exception | None = None


@dataclass(frozen=True)
class LeaveGroupResult:
    error: Exception | None = None


@dataclass(frozen=True)
class OffsetCommitResult:
    error: Exception | None = None


@dataclass(frozen=True)
class OffsetFetchResult:
    error: Exception | None = None
    offsets: dict = field(default_factory=dict)


RESULTS = {"join_group": JoinResult, "sync_group": SyncResult, "heartbeat": HeartbeatResult,
           "leave_group": LeaveGroupResult, "offset_commit": OffsetCommitResult,
           "offset_fetch": OffsetFetchResult, "find_coordinator": FindCoordinatorResult}


def store_error(error: Exception, partition: str) -> Exception:
    """How Kafka's GroupMetadataManager maps a failed append to the client's error."""
    if isinstance(error, (UnknownTopicOrPartitionError, NotEnoughReplicasError,
                          NotEnoughReplicasAfterAppendError, RequestTimedOutError)):
        return CoordinatorNotAvailableError(
            f"the coordinator could not store the record in {partition}: {error}")
    if isinstance(error, (NotLeaderForPartitionError, KafkaConnectionError)):
        return NotCoordinatorError(f"the coordinator no longer leads {partition}: {error}")
    return error


class BrokerGroupCoordinator:
    """The group coordinator inside one broker (Kafka's GroupCoordinator with its
    GroupMetadataManager): the groups of the ``__consumer_offsets`` partitions this broker
    leads, rebuilt by :meth:`replay` when it becomes their leader."""

    def __init__(self, cluster: "GroupCoordinatorContext", broker_id: int):
        self.cluster = cluster
        self.broker_id = broker_id
        self.groups: dict[str, Group] = {}
        self.offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        self._empty_since: dict[str, int] = {}
        self._commit_ms: dict[str, dict[TopicPartition, int]] = {}  # last commit time per offset
        self.loaded: dict[int, int] = {}  # offsets partition -> leader epoch it was loaded at
        self._member_seq = 0
        self._retention_timer = None
        self.active = True

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _scheduler(self):
        return self.cluster.scheduler

    def _emit(self, kind: str, text: str, **data) -> None:
        self.cluster.events.emit(kind, text, **data)

    def _config(self, name: str):
        return self.cluster.config[name]

    def _partition_of(self, group_id: str):
        topic = self.cluster.topics.get(ot.TOPIC)
        if topic is None:
            return None
        return topic.partitions[ot.partition_for(group_id, len(topic.partitions))]

    def check_coordinator(self, group_id: str) -> Exception | None:
        """None if this broker coordinates ``group_id`` (loading its partition first if it
        has just become the leader), else Kafka's NOT_COORDINATOR."""
        p = self._partition_of(group_id)
        if p is None or p.leader != self.broker_id:
            if p is not None and p.index in self.loaded:
                self.unload(p.index)
            where = "no __consumer_offsets yet" if p is None else (
                f"{p.name} is led by broker {p.leader}" if p.leader is not None
                else f"{p.name} has no leader")
            return NotCoordinatorError(f"broker {self.broker_id} is not the coordinator of "
                                       f"group {group_id} ({where}): find the coordinator again")
        if self.loaded.get(p.index) != p.leader_epoch:
            self.load(p.index)
        return None

    def _write(self, group_id: str, records: list[tuple[bytes, bytes | None]],
               done: Callable[[Exception | None], None] | None = None) -> None:
        """Append records to the group's __consumer_offsets partition through this broker's
        append path (acks=all, min.insync.replicas); ``done(error)`` once the partition
        accepted them (replicated to the ISR) or refused them (Kafka's mapped error). An answer
        that comes after this coordinator lost the partition is NOT_COORDINATOR."""
        p = self._partition_of(group_id)
        epoch = self.loaded.get(p.index) if p is not None else None
        now = self.cluster.now_ms()
        batch = RecordBatch([Record(i, now, k, v, []) for i, (k, v) in enumerate(records)])

        def answered(result) -> None:
            if not self.active:
                return  # the broker crashed meanwhile: nobody is there to answer
            error = result.error
            if error is None and self.loaded.get(p.index) != epoch:
                error = NotLeaderForPartitionError(f"leadership of {p.name} moved meanwhile")
            if error is not None:
                error = store_error(error, p.name)
                self._emit("group.store_failed", f"coordinator on broker {self.broker_id} "
                           f"could not store {len(records)} record(s) of group {group_id} in "
                           f"{p.name}: {error}", group=group_id, error=type(error).__name__)
            if done is not None:
                done(error)

        if p is None:
            if done is not None:
                done(CoordinatorNotAvailableError(f"{ot.TOPIC} does not exist"))
            return
        self.cluster.brokers[self.broker_id].append_records(
            ot.TOPIC, p.index, batch, OFFSETS_COMMIT_REQUIRED_ACKS, OFFSETS_COMMIT_TIMEOUT_MS,
            answered, internal_topics_allowed=True)

    def _group(self, group_id: str, create: bool = False) -> Group | None:
        group = self.groups.get(group_id)
        if group is None and create:
            group = self.groups[group_id] = Group(group_id, state_since_ms=self.cluster.now_ms())
        return group

    def _set_state(self, group: Group, state: GroupState) -> None:
        group.state = state
        group.state_since_ms = self.cluster.now_ms()
        if state == GroupState.EMPTY:
            self._empty_since[group.group_id] = group.state_since_ms
        else:
            self._empty_since.pop(group.group_id, None)

    # --- JoinGroup -----------------------------------------------------------------------------
    def handle_join_group(self, group_id: str, member_id: str, group_instance_id: str | None,
                          client_id: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                          protocols: list[tuple[str, bytes]],
                          respond: Callable[[JoinResult], None], reason: str = "",
                          protocol_type: str = "consumer") -> None:
        not_coordinator = self.check_coordinator(group_id)
        if not_coordinator is not None:
            respond(JoinResult(not_coordinator))
            return
        low, high = (self._config("group.min.session.timeout.ms"),
                     self._config("group.max.session.timeout.ms"))
        if not low <= session_timeout_ms <= high:
            respond(JoinResult(InvalidSessionTimeoutError(
                f"session_timeout_ms={session_timeout_ms} is outside the broker's allowed range "
                f"{low}..{high} (group.min/max.session.timeout.ms)")))
            return
        group = self._group(group_id)
        if group is not None and group.members and group.protocol_type not in (None,
                                                                                 protocol_type):
            respond(JoinResult(InconsistentGroupProtocolError(
                f"group {group_id} has protocol type {group.protocol_type!r}; this member "
                f"asks for {protocol_type!r}")))
            return
        group = self._group(group_id, create=True)
        if not group.members:
            group.protocol_type = protocol_type
        if group.members and not (group.supported_protocols() & {n for n, _ in protocols}):
            respond(JoinResult(InconsistentGroupProtocolError(
                f"group {group_id} uses assignor(s) {sorted(group.supported_protocols())}; this "
                f"consumer offers {[n for n, _ in protocols]}: they must share one")))
            return
        if member_id in group.fenced:
            respond(JoinResult(self._check_member(group, group_id, -1, member_id)))
            return
        if member_id and member_id not in group.members:
            respond(JoinResult(UnknownMemberIdError(
                f"member {member_id} is not in group {group_id} (it was removed); rejoin "
                "with no member id")))
            return
        static = group.member_by_instance(group_instance_id) if group_instance_id else None
        if not member_id and static is not None:
            self._replace_static_member(group, static, client_id, protocols, respond)
            return
        if not member_id:
            if group.state == GroupState.PREPARING_REBALANCE and group.generation == 0:
                group.new_member_added = True  # a new group's first rebalance waits longer
            member = self._add_member(group, group_instance_id, client_id, session_timeout_ms,
                                      rebalance_timeout_ms, protocols)
            why = reason or f"member {member.member_id} joined"
        else:
            member = group.members[member_id]
            member.protocols = list(protocols)
            why = reason or f"member {member_id} rejoined"
        if member.join_callback is not None:  # a retried JoinGroup replaces the one waiting
            member.join_callback(JoinResult(RebalanceInProgressError(
                f"member {member.member_id} sent another JoinGroup")))
        member.join_callback = respond
        self._heartbeat_received(group, member)
        if group.state != GroupState.PREPARING_REBALANCE:
            self._prepare_rebalance(group, why)
        self._maybe_complete_join(group)

    def _add_member(self, group: Group, group_instance_id: str | None, client_id: str,
                    session_timeout_ms: int, rebalance_timeout_ms: int,
                    protocols: list[tuple[str, bytes]]) -> Member:
        self._member_seq += 1
        suffix = "%08x-%04x" % (self.cluster.rng.getrandbits(32), self._member_seq)
        member_id = f"{group_instance_id or client_id}-{suffix}"
        member = Member(member_id, group_instance_id, client_id, "/127.0.0.1",
                        session_timeout_ms, rebalance_timeout_ms, list(protocols))
        group.members[member_id] = member
        return member

    def _replace_static_member(self, group: Group, old: Member, client_id: str,
                               protocols: list[tuple[str, bytes]],
                               respond: Callable[[JoinResult], None]) -> None:
        """A static member (group_instance_id) came back: it takes its old place and, if the
        group is stable, its old assignment — no rebalance (KIP-345)."""
        del group.members[old.member_id]
        if old.session_timer:
            old.session_timer.cancel()
        group.fenced[old.member_id] = old.group_instance_id
        fenced = FencedInstanceIdError(
            f"member {old.member_id} was replaced by a newer instance of static member "
            f"{old.group_instance_id} in group {group.group_id}: this old instance is fenced")
        join, sync = old.join_callback, old.sync_callback
        old.join_callback = old.sync_callback = None
        if join is not None:
            join(JoinResult(fenced))
        if sync is not None:
            sync(SyncResult(fenced))
        member = self._add_member(group, old.group_instance_id, client_id,
                                  old.session_timeout_ms, old.rebalance_timeout_ms, protocols)
        member.assignment = old.assignment
        if group.leader_id == old.member_id:
            group.leader_id = member.member_id
        self._emit("group.static_member_rejoined",
                   f"static member {old.group_instance_id} of group {group.group_id} came back "
                   f"as {member.member_id}: it keeps its partitions, no rebalance",
                   group=group.group_id, member=member.member_id)
        self._heartbeat_received(group, member)
        if group.state == GroupState.STABLE:
            self._store_group(group)  # the new member id, so a new coordinator knows it
            respond(JoinResult(None, group.generation, group.protocol, group.leader_id,
                               member.member_id))
        else:
            member.join_callback = respond
            if group.state != GroupState.PREPARING_REBALANCE:
                self._prepare_rebalance(group, f"static member {old.group_instance_id} rejoined")
            self._maybe_complete_join(group)

    def _prepare_rebalance(self, group: Group, why: str) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            for member in group.members.values():
                if member.sync_callback:
                    callback, member.sync_callback = member.sync_callback, None
                    callback(SyncResult(RebalanceInProgressError(
                        f"group {group.group_id} started another rebalance: {why}")))
        was_empty = group.state == GroupState.EMPTY
        self._set_state(group, GroupState.PREPARING_REBALANCE)
        rebalance_timeout = max((m.rebalance_timeout_ms for m in group.members.values()),
                                default=0)
        if group.join_timer:
            group.join_timer.cancel()
        if was_empty:
            delay = self._config("group.initial.rebalance.delay.ms")
            group.initial_remaining_ms = max(rebalance_timeout - delay, 0)
            group.new_member_added = False
            group.join_timer = self._scheduler.call_later(
                delay, lambda: self._initial_delay_elapsed(group))
        else:
            delay = rebalance_timeout
            group.join_timer = self._scheduler.call_later(delay,
                                                          lambda: self._complete_join(group))
        group.initial_delay = was_empty
        wait = (f"waits {delay} ms (group.initial.rebalance.delay.ms) for more members" if
                was_empty else f"waits up to {delay} ms for every member to rejoin"
                if group.members else "has no members left")
        self._emit("group.rebalance_started", f"group {group.group_id} is rebalancing "
                   f"(generation {group.generation} ends): {why}; it {wait}",
                   group=group.group_id, generation=group.generation, reason=why)

    def _initial_delay_elapsed(self, group: Group) -> None:
        """Kafka's InitialDelayedJoin: while new members keep arriving at a new group's first
        rebalance, wait another group.initial.rebalance.delay.ms (up to the rebalance
        timeout), so a fleet of consumers starting together gets one rebalance, not many."""
        if group.state != GroupState.PREPARING_REBALANCE or not self._holds(group):
            return
        if group.new_member_added and group.initial_remaining_ms > 0:
            delay = min(self._config("group.initial.rebalance.delay.ms"),
                        group.initial_remaining_ms)
            group.initial_remaining_ms = max(group.initial_remaining_ms - delay, 0)
            group.new_member_added = False
            group.join_timer = self._scheduler.call_later(
                delay, lambda: self._initial_delay_elapsed(group))
            self._emit("group.rebalance_delayed", f"group {group.group_id}: new members joined "
                       f"during the initial delay; it waits another {delay} ms "
                       "(group.initial.rebalance.delay.ms) for more", group=group.group_id,
                       delay_ms=delay)
            return
        self._complete_join(group)

    def _holds(self, group: Group) -> bool:
        """Is ``group`` still this live coordinator's (a timer may outlive a resignation)?"""
        return (self.active and self.cluster.brokers[self.broker_id].alive
                and self.groups.get(group.group_id) is group)

    def _maybe_complete_join(self, group: Group) -> None:
        if (group.state == GroupState.PREPARING_REBALANCE and group.all_joined()
                and not group.initial_delay):
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE or not self._holds(group):
            return
        if group.join_timer:
            group.join_timer.cancel()
            group.join_timer = None
        for member in [m for m in group.members.values() if m.join_callback is None]:
            self._remove_member(group, member, "it did not rejoin within the rebalance timeout",
                                rebalance=False)
        group.generation += 1
        if not group.members:
            group.protocol = group.leader_id = None
            self._set_state(group, GroupState.EMPTY)
            # as Kafka: a failure to store the empty generation is only worth a warning (the
            # previous generation has no live members anyway)
            self._store_group(group)
            self._emit("group.empty", f"group {group.group_id} is empty (generation "
                       f"{group.generation}); its committed offsets stay", group=group.group_id)
            return
        group.protocol = group.choose_protocol()
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        self._set_state(group, GroupState.COMPLETING_REBALANCE)
        self._emit("group.joined", f"group {group.group_id} generation {group.generation}: "
                   f"{len(group.members)} member(s), leader {group.leader_id}, assignor "
                   f"{group.protocol}; waiting for the leader's assignment",
                   group=group.group_id, generation=group.generation,
                   members=list(group.members), leader=group.leader_id)
        everyone = tuple((m.member_id, m.group_instance_id, m.metadata_for(group.protocol))
                         for m in group.members.values())
        for member in list(group.members.values()):
            callback, member.join_callback = member.join_callback, None
            self._heartbeat_received(group, member)
            callback(JoinResult(None, group.generation, group.protocol, group.leader_id,
                                member.member_id,
                                everyone if member.member_id == group.leader_id else ()))

    # --- SyncGroup -----------------------------------------------------------------------------
    def handle_sync_group(self, group_id: str, generation: int, member_id: str,
                          assignments: dict[str, bytes],
                          respond: Callable[[SyncResult], None]) -> None:
        not_coordinator = self.check_coordinator(group_id)
        if not_coordinator is not None:
            respond(SyncResult(not_coordinator))
            return
        group = self._group(group_id)
        error = self._check_member(group, group_id, generation, member_id)
        if error is None and group.state == GroupState.PREPARING_REBALANCE:
            error = RebalanceInProgressError(f"group {group_id} is rebalancing: rejoin")
        if error is not None:
            respond(SyncResult(error))
            return
        member = group.members[member_id]
        self._heartbeat_received(group, member)
        if group.state == GroupState.STABLE:
            respond(SyncResult(None, member.assignment))
            return
        member.sync_callback = respond
        if member_id == group.leader_id and not group.assignment_pending:
            # Kafka's doSyncGroup: the assignment is stored first; the group moves on only
            # once the record is accepted, and only if nothing changed meanwhile
            group.assignment_pending = True
            proposed = {m: assignments.get(m, b"") for m in group.members}
            self._store_group(group, proposed, lambda error: self._assignment_stored(
                group, generation, proposed, error))

    def _assignment_stored(self, group: Group, generation: int, proposed: dict[str, bytes],
                           error: Exception | None) -> None:
        group.assignment_pending = False
        if (not self._holds(group) or group.state != GroupState.COMPLETING_REBALANCE
                or group.generation != generation):
            return  # another rebalance started (or the coordinator moved): nothing to hand out
        if error is not None:
            # Kafka's resetAndPropagateAssignmentError + maybePrepareRebalance: every member
            # waiting in SyncGroup hears the error and rejoins
            for m in group.members.values():
                m.assignment = b""
                if m.sync_callback:
                    callback, m.sync_callback = m.sync_callback, None
                    callback(SyncResult(error))
            self._emit("group.assignment_not_stored", f"group {group.group_id} generation "
                       f"{generation}: the leader's assignment could not be stored ({error}); "
                       "every member hears the error and rejoins", group=group.group_id,
                       generation=generation, error=type(error).__name__)
            self._prepare_rebalance(group, f"the assignment of generation {generation} could "
                                    "not be stored")
            return
        for m in group.members.values():
            m.assignment = proposed.get(m.member_id, b"")
        self._set_state(group, GroupState.STABLE)
        self._emit("group.stable", f"group {group.group_id} generation {generation} is stable: "
                   "the leader's assignment was stored and handed to every member",
                   group=group.group_id, generation=generation)
        for m in group.members.values():
            if m.sync_callback:
                callback, m.sync_callback = m.sync_callback, None
                self._heartbeat_received(group, m)
                callback(SyncResult(None, m.assignment))

    def _check_member(self, group: Group | None, group_id: str, generation: int,
                      member_id: str) -> Exception | None:
        if group is not None and member_id in group.fenced:
            return FencedInstanceIdError(
                f"member {member_id} (static member {group.fenced[member_id]}) was replaced by a "
                f"newer instance with the same group_instance_id in group {group_id}: it is "
                "fenced and must stop")
        if group is None or member_id not in group.members:
            return UnknownMemberIdError(f"member {member_id or '(none)'} is not in group "
                                        f"{group_id}; it must rejoin")
        if generation != group.generation:
            return IllegalGenerationError(
                f"member {member_id} speaks for generation {generation}, but group {group_id} "
                f"is at generation {group.generation}: a rebalance happened in between")
        return None

    # --- Heartbeat and LeaveGroup -------------------------------------------------------------
    def handle_heartbeat(self, group_id: str, generation: int, member_id: str,
                         respond: Callable[[HeartbeatResult], None]) -> None:
        respond(HeartbeatResult(self.heartbeat(group_id, generation, member_id)))

    def heartbeat(self, group_id: str, generation: int, member_id: str) -> Exception | None:
        not_coordinator = self.check_coordinator(group_id)
        if not_coordinator is not None:
            return not_coordinator
        group = self._group(group_id)
        error = self._check_member(group, group_id, generation, member_id)
        if error is not None:
            return error
        self._heartbeat_received(group, group.members[member_id])
        if group.state == GroupState.PREPARING_REBALANCE:
            return RebalanceInProgressError(f"group {group_id} is rebalancing: rejoin")
        return None

    def _heartbeat_received(self, group: Group, member: Member) -> None:
        if member.session_timer:
            member.session_timer.cancel()
        member.session_timer = self._scheduler.call_later(
            member.session_timeout_ms, lambda: self._session_expired(group, member),
            background=True)

    def _session_expired(self, group: Group, member: Member) -> None:
        if not self._holds(group) or group.members.get(member.member_id) is not member:
            return
        if member.join_callback is not None or member.sync_callback is not None:
            # Kafka keeps a member alive while it waits in JoinGroup/SyncGroup: the rebalance
            # timeout, not the session, decides whether it made it (shouldKeepAlive)
            self._heartbeat_received(group, member)
            return
        self._remove_member(group, member, f"no heartbeat for {member.session_timeout_ms} "
                            "ms (session.timeout.ms)")

    def handle_leave_group(self, group_id: str, member_id: str, reason: str,
                           respond: Callable[[LeaveGroupResult], None]) -> None:
        respond(LeaveGroupResult(self.leave_group(group_id, member_id, reason)))

    def leave_group(self, group_id: str, member_id: str, reason: str = "it left"
                    ) -> Exception | None:
        not_coordinator = self.check_coordinator(group_id)
        if not_coordinator is not None:
            return not_coordinator
        group = self._group(group_id)
        if group is not None and member_id in group.members:
            self._remove_member(group, group.members[member_id], reason)
            return None
        return UnknownMemberIdError(f"member {member_id} is not in group {group_id}")

    def _remove_member(self, group: Group, member: Member, why: str,
                       rebalance: bool = True) -> None:
        del group.members[member.member_id]
        if member.session_timer:
            member.session_timer.cancel()
        # a request still waiting for the group is answered: this member is gone
        join, sync = member.join_callback, member.sync_callback
        member.join_callback = member.sync_callback = None
        gone = UnknownMemberIdError(f"member {member.member_id} was removed from group "
                                    f"{group.group_id}: {why}")
        if join is not None:
            join(JoinResult(gone))
        if sync is not None:
            sync(SyncResult(gone))
        self._emit("group.member_removed", f"member {member.member_id} left group "
                   f"{group.group_id}: {why}", group=group.group_id, member=member.member_id,
                   reason=why)
        if not rebalance:
            return
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, f"member {member.member_id} left ({why})")
        self._maybe_complete_join(group)

    def _store_group(self, group: Group, assignments: dict[str, bytes] | None = None,
                     done: Callable[[Exception | None], None] | None = None) -> None:
        """Append the group's metadata record (with ``assignments``, default: the members'
        current ones)."""
        assignments = assignments if assignments is not None else {
            m.member_id: m.assignment for m in group.members.values()}
        members = tuple(ot.MemberRecord(m.member_id, m.group_instance_id, m.client_id,
                                        m.client_host, m.rebalance_timeout_ms,
                                        m.session_timeout_ms,
                                        m.metadata_for(group.protocol) if group.protocol else b"",
                                        assignments.get(m.member_id, b""))
                        for m in group.members.values())
        self._write(group.group_id, [ot.encode_group_metadata(ot.GroupMetadataRecord(
            group.group_id, group.protocol_type or "consumer", group.generation, group.protocol,
            group.leader_id, self.cluster.now_ms(), members))], done)

    # --- offsets -------------------------------------------------------------------------------
    def handle_offset_commit(self, group_id: str, generation: int, member_id: str,
                             offsets: dict[TopicPartition, OffsetAndMetadata],
                             respond: Callable[[OffsetCommitResult], None]) -> None:
        """Kafka's OffsetCommit: checks, then the records are appended; the answer (and the
        offsets cache) comes once the partition accepted them."""
        error = self.check_coordinator(group_id) or self._commit_error(
            group_id, generation, member_id, offsets)
        if error is not None:
            respond(OffsetCommitResult(error))
            return
        self._store_offsets(group_id, offsets,
                            lambda error: respond(OffsetCommitResult(error)))

    def _commit_error(self, group_id: str, generation: int, member_id: str,
                      offsets: dict[TopicPartition, OffsetAndMetadata]) -> Exception | None:
        group = self._group(group_id)
        if generation >= 0 or member_id:
            error = self._check_member(group, group_id, generation, member_id)
            # Kafka accepts commits of the current generation while members rejoin (so
            # on_partitions_revoked can commit), but not while the leader assigns
            if error is None and group.state == GroupState.COMPLETING_REBALANCE:
                error = RebalanceInProgressError(f"group {group_id} is completing a "
                                                 "rebalance; commit after rejoining")
        elif group is not None and group.members:
            error = UnknownMemberIdError(
                f"group {group_id} has active members; a consumer outside it cannot commit "
                "(use the same group_id with subscribe(), or another group_id)")
        else:
            error = None
        limit = self._config("offset.metadata.max.bytes")
        for tp, om in offsets.items():
            if error is None and len((om.metadata or "").encode()) > limit:
                error = OffsetMetadataTooLargeError(
                    f"commit metadata for {tp.topic}-{tp.partition} is longer than "
                    f"offset.metadata.max.bytes={limit}")
        if error is not None:
            self._emit("group.commit_rejected", f"commit of group {group_id} refused: {error}",
                       group=group_id, error=type(error).__name__)
        return error

    def _store_offsets(self, group_id: str, offsets: dict[TopicPartition, OffsetAndMetadata],
                       done: Callable[[Exception | None], None],
                       apply_now: bool = False) -> None:
        now = self.cluster.now_ms()
        records = [ot.OffsetCommit(group_id, tp.topic, tp.partition, om.offset, om.leader_epoch,
                                   om.metadata or "", now) for tp, om in offsets.items()]

        def stored(error: Exception | None) -> None:
            if error is None and not apply_now:
                for record in records:
                    self.replay(record)
            done(error)

        if apply_now:
            for record in records:
                self.replay(record)
        self._write(group_id, [ot.encode_offset_commit(r) for r in records], stored)

    def fetch_offsets(self, group_id: str, partitions=None
                      ) -> dict[TopicPartition, OffsetAndMetadata]:
        committed = self.offsets.get(group_id, {})
        if partitions is None:
            return dict(committed)
        return {tp: committed[tp] for tp in partitions if tp in committed}

    def handle_offset_fetch(self, group_id: str, partitions,
                            respond: Callable[[OffsetFetchResult], None]) -> None:
        error = self.check_coordinator(group_id)
        respond(OffsetFetchResult(error) if error is not None else
                OffsetFetchResult(None, self.fetch_offsets(group_id, partitions)))

    def delete_offsets(self, group_id: str, partitions, why: str) -> None:
        committed = self.offsets.get(group_id, {})
        gone = [tp for tp in partitions if tp in committed]
        if not gone:
            return
        records = [ot.OffsetCommit(group_id, tp.topic, tp.partition, None) for tp in gone]
        for record in records:
            self.replay(record)
        self._write(group_id, [ot.encode_offset_commit(r) for r in records])
        self._emit("group.offsets_deleted", f"committed offsets of group {group_id} for "
                   f"{len(gone)} partition(s) deleted: {why}", group=group_id)

    def _schedule_offsets_retention(self) -> None:
        self._retention_timer = self._scheduler.call_later(
            self._config("offsets.retention.check.interval.ms"), self._expire_offsets,
            background=True)

    def _expire_offsets(self) -> None:
        """Kafka's offsets retention (KIP-211): the offsets of a consumer group that has been
        Empty for offsets.retention.minutes are deleted; a standalone group (commits only, no
        members ever) loses each offset that long after its last commit. A group left with
        neither members nor offsets is removed (Dead), as Kafka's cleanupGroupMetadata does."""
        if not self.active:
            return
        minutes = self._config("offsets.retention.minutes")
        retention_ms = minutes * 60_000
        now = self.cluster.now_ms()
        for group_id, since in list(self._empty_since.items()):
            group, committed = self.groups.get(group_id), self.offsets.get(group_id, {})
            if group is None or self.check_coordinator(group_id) is not None:
                continue
            if group.protocol_type is None:
                stamps = self._commit_ms.get(group_id, {})
                expired = [tp for tp in committed if now - stamps.get(tp, since) >= retention_ms]
                why = f"committed longer ago than offsets.retention.minutes={minutes}"
            else:
                expired = list(committed) if now - since >= retention_ms else []
                why = (f"the group has been empty for {now - since} ms >= "
                       f"offsets.retention.minutes={minutes}")
            if expired:
                self.delete_offsets(group_id, expired, why)
            if not self.offsets.get(group_id) and now - since >= retention_ms:
                self._remove_group(group_id, "it has been empty and has no committed offsets "
                                   f"left (offsets.retention.minutes={minutes})")
        self._schedule_offsets_retention()

    def _remove_group(self, group_id: str, why: str) -> None:
        """The group is gone (Dead): a tombstone for its metadata, nothing left in memory."""
        self._write(group_id, [ot.encode_group_metadata(ot.GroupMetadataRecord(group_id,
                                                                                deleted=True))])
        group = self.groups.pop(group_id, None)
        if group is not None:
            group.state = GroupState.DEAD
        self.offsets.pop(group_id, None)
        self._commit_ms.pop(group_id, None)
        self._empty_since.pop(group_id, None)
        self._emit("group.deleted", f"group {group_id} deleted: {why}", group=group_id)

    def delete_group(self, group_id: str) -> None:
        from ..errors import GroupIdNotFoundError, NonEmptyGroupError

        not_coordinator = self.check_coordinator(group_id)
        if not_coordinator is not None:
            raise not_coordinator
        group = self._group(group_id)
        if group is None and group_id not in self.offsets:
            raise GroupIdNotFoundError(f"group {group_id} does not exist")
        if group is not None and group.members:
            raise NonEmptyGroupError(f"group {group_id} still has {len(group.members)} "
                                     "member(s); stop them first")
        self.delete_offsets(group_id, list(self.offsets.get(group_id, {})), "group deleted")
        self._remove_group(group_id, "an admin client deleted it")

    # --- the state machine: replay, load on election, unload on resignation --------------------
    def replay(self, record: "ot.OffsetCommit | ot.GroupMetadataRecord") -> None:
        """Apply one ``__consumer_offsets`` record to the state (Kafka's replay): what a commit
        does once stored, and what loading a partition does for each record of its log."""
        if isinstance(record, ot.OffsetCommit):
            offsets = self.offsets.setdefault(record.group, {})
            tp = TopicPartition(record.topic, record.partition)
            if record.offset is None:
                offsets.pop(tp, None)
                self._commit_ms.get(record.group, {}).pop(tp, None)
                if not offsets:
                    del self.offsets[record.group]
            else:
                offsets[tp] = OffsetAndMetadata(record.offset, record.metadata,
                                                record.leader_epoch)
                self._commit_ms.setdefault(record.group, {})[tp] = record.commit_timestamp
                if record.group not in self.groups:  # a standalone group: commits only
                    group = self._group(record.group, create=True)
                    self._set_state(group, GroupState.EMPTY)
            return
        if record.deleted:
            group = self.groups.pop(record.group, None)
            if group is not None:
                group.state = GroupState.DEAD
            self._empty_since.pop(record.group, None)
            return
        group = Group(record.group, GroupState.STABLE if record.members else GroupState.EMPTY,
                      record.generation, record.protocol_type, record.protocol, record.leader,
                      state_since_ms=record.state_timestamp)
        for m in record.members:
            group.members[m.member_id] = Member(
                m.member_id, m.group_instance_id, m.client_id, m.client_host,
                m.session_timeout_ms, m.rebalance_timeout_ms,
                [(record.protocol, m.subscription)] if record.protocol else [], m.assignment)
        old = self.groups.get(record.group)
        if old is not None and old.protocol_type is None and record.protocol_type:
            pass  # a standalone group that became a consumer group: the record wins
        self.groups[record.group] = group
        if group.state == GroupState.EMPTY:
            self._empty_since[record.group] = record.state_timestamp
        else:
            self._empty_since.pop(record.group, None)

    def load(self, index: int) -> None:
        """Become the coordinator of ``__consumer_offsets-<index>``: rebuild its groups and
        offsets by replaying this broker's replica of the partition (Kafka's onElection)."""
        if index in self.loaded:
            self.unload(index)
        p = self.cluster.topics[ot.TOPIC].partitions[index]
        log = p.logs[self.broker_id]
        count = 0
        for batch in log.batches():
            for record in batch.records:
                self.replay(ot.decode(record.key, record.value))
                count += 1
        self.loaded[index] = p.leader_epoch
        loaded = [g for g in self.groups.values() if self._index(g.group_id) == index]
        for group in loaded:
            for member in group.members.values():  # a full session to find the new coordinator
                self._heartbeat_received(group, member)
        if self._retention_timer is None:
            self._schedule_offsets_retention()
        if count or loaded:
            self._emit("group.coordinator_loaded", f"broker {self.broker_id} now coordinates "
                       f"the groups of {p.name} (leader epoch {p.leader_epoch}): it rebuilt "
                       f"{len(loaded)} group(s) by replaying {count} record(s)",
                       broker=self.broker_id, partition=index, groups=[g.group_id
                                                                       for g in loaded])

    def unload(self, index: int, error: Exception | None = None) -> None:
        """Stop coordinating ``__consumer_offsets-<index>`` (Kafka's onResignation): its groups
        leave memory and the requests still waiting are answered with ``error``."""
        self.loaded.pop(index, None)
        error = error or NotCoordinatorError(
            f"broker {self.broker_id} no longer leads __consumer_offsets-{index}: find the "
            "coordinator again")
        gone = [g for g in list(self.groups) if self._index(g) == index]
        for group_id in gone:
            self._drop(self.groups.pop(group_id), error)
        for group_id in [g for g in list(self.offsets) if self._index(g) == index]:
            del self.offsets[group_id]
        for table in (self._commit_ms, self._empty_since):
            for group_id in [g for g in list(table) if self._index(g) == index]:
                del table[group_id]
        if gone:
            self._emit("group.coordinator_unloaded", f"broker {self.broker_id} no longer "
                       f"coordinates the groups of __consumer_offsets-{index}: "
                       f"{', '.join(gone)}", broker=self.broker_id, partition=index)

    def _drop(self, group: Group, error: Exception | None) -> None:
        if group.join_timer:
            group.join_timer.cancel()
        for member in group.members.values():
            if member.session_timer:
                member.session_timer.cancel()
            join, sync = member.join_callback, member.sync_callback
            member.join_callback = member.sync_callback = None
            if error is not None:
                if join is not None:
                    join(JoinResult(error))
                if sync is not None:
                    sync(SyncResult(error))

    def stop(self) -> None:
        """The broker stopped: everything in memory is gone, nobody is answered."""
        self.active = False
        for group in self.groups.values():
            self._drop(group, None)
        if self._retention_timer is not None:
            self._retention_timer.cancel()
        self.groups.clear()
        self.offsets.clear()
        self.loaded.clear()

    def _index(self, group_id: str) -> int:
        topic = self.cluster.topics.get(ot.TOPIC)
        return ot.partition_for(group_id, len(topic.partitions) if topic else ot.PARTITIONS)


class GroupCoordinator:
    """The cluster's group coordination (``cluster.group_coordinator``): one
    :class:`BrokerGroupCoordinator` per live broker, requests carried to them and answers
    back, FindCoordinator, and the lab's synchronous API for views, admin and tests.

    Invariants: a request reaches a broker's coordinator one ``network_latency_ms`` after it is
    sent and its answer comes back one later; a broker that is down answers with a connection
    error, one cut off from clients answers nothing; a stopped broker's coordinator is dropped,
    and a restarted broker starts with an empty one.
    """

    def __init__(self, cluster: "GroupCoordinatorContext"):
        self.cluster = cluster
        self._coordinators: dict[int, BrokerGroupCoordinator] = {}
        cluster.events.subscribe(self._on_event)

    # --- routing -------------------------------------------------------------------------------
    def on_broker(self, broker_id: int) -> BrokerGroupCoordinator:
        """The coordinator running inside broker ``broker_id`` (a new one after a restart)."""
        coordinator = self._coordinators.get(broker_id)
        if coordinator is None:
            coordinator = self._coordinators[broker_id] = BrokerGroupCoordinator(
                self.cluster, broker_id)
        return coordinator

    def on_broker_stopped(self, broker_id: int) -> None:
        """The broker crashed or shut down: its coordinator and all it held are gone."""
        coordinator = self._coordinators.pop(broker_id, None)
        if coordinator is not None:
            coordinator.stop()

    def _on_event(self, event) -> None:
        """Leadership of an offsets partition moved: load it at once on the new leader
        (Kafka's onElection) and unload it elsewhere. (Every request also checks leadership,
        so a coordinator that heard nothing yet still answers right.)"""
        kind, data = event.kind, event.data
        if kind not in ("partition.leader_changed", "partition.offline") or \
                data.get("topic") != ot.TOPIC:
            return
        with self.cluster.lock:  # listeners may run on a callback thread in wall-clock mode
            p = self.cluster.topics.get(ot.TOPIC)
            if p is None:
                return
            p = p.partitions[data["partition"]]
            for broker_id, coordinator in list(self._coordinators.items()):
                if broker_id != p.leader and p.index in coordinator.loaded:
                    coordinator.unload(p.index)
            if p.leader is not None and self.cluster.brokers[p.leader].alive and \
                    self.on_broker(p.leader).loaded.get(p.index) != p.leader_epoch:
                self.on_broker(p.leader).load(p.index)

    def offsets_partition(self, group_id: str):
        """The group's ``__consumer_offsets`` partition, creating the topic on first use
        (``offsets.topic.replication.factor``, at most the registered brokers); None while it
        cannot be created (too few brokers alive)."""
        cluster = self.cluster
        if ot.TOPIC not in cluster.topics:
            partitions = cluster.config["offsets.topic.num.partitions"]
            rf = min(cluster.config["offsets.topic.replication.factor"], len(cluster.brokers))
            try:
                cluster.create_topic(ot.TOPIC, partitions, rf,
                                     {"cleanup.policy": "compact", "segment.bytes": 104857600})
            except InvalidReplicationFactorError as error:
                cluster.events.emit("group.coordinator_unavailable", f"{ot.TOPIC} cannot be "
                                    f"created yet: {error} (offsets.topic.replication.factor="
                                    f"{rf}); FindCoordinator answers COORDINATOR_NOT_AVAILABLE "
                                    "until enough brokers are up", error=type(error).__name__)
                return None
        topic = cluster.topics[ot.TOPIC]
        return topic.partitions[ot.partition_for(group_id, len(topic.partitions))]

    def find_coordinator(self, group_id: str) -> FindCoordinatorResult:
        """Kafka's FindCoordinator: the leader of the group's offsets partition."""
        p = self.offsets_partition(group_id)
        if p is None or p.leader is None:
            why = ("the offsets topic cannot be created yet" if p is None
                   else f"{p.name} has no leader")
            return FindCoordinatorResult(CoordinatorNotAvailableError(
                f"no coordinator for group {group_id}: {why}"))
        return FindCoordinatorResult(None, p.leader)

    def send(self, node_id: int | None, api: str, respond: Callable, owner=None,
             **request) -> None:
        """A client request to broker ``node_id`` (None: any broker that answers, as for
        FindCoordinator); ``respond(result)`` runs when the answer is back — never if the
        broker is cut off from clients (the client's request timeout decides)."""
        cluster = self.cluster
        latency = cluster.network_latency_ms
        result_type = RESULTS[api]

        def back(result) -> None:
            cluster.scheduler.call_later(latency, lambda: respond(result), owner=owner)

        def arrive() -> None:
            node = node_id
            if node is None:
                node = next((b for b, broker in cluster.brokers.items() if broker.alive
                             and cluster.network.client_reaches(b)), None)
                if node is None:
                    back(result_type(KafkaConnectionError("no broker can be reached")))
                    return
            broker = cluster.brokers.get(node)
            if broker is None or not broker.alive:
                back(result_type(KafkaConnectionError(
                    f"connection to broker {node} failed: it is down")))
                return
            if not cluster.network.client_reaches(node):
                return  # the request never arrives: the client times out
            if api == "find_coordinator":
                back(self.find_coordinator(request["group_id"]))
                return

            def answer(result) -> None:
                if cluster.brokers[node].alive and cluster.network.client_reaches(node):
                    back(result)

            getattr(self.on_broker(node), "handle_" + api)(respond=answer, **request)

        cluster.scheduler.call_later(latency, arrive, owner=owner)

    # --- the lab's synchronous API (views, admin client, tests) --------------------------------
    def current(self, group_id: str, create: bool = False) -> BrokerGroupCoordinator | None:
        """The live coordinator of ``group_id`` (its partition loaded), or None. With
        ``create``, as FindCoordinator, the offsets topic is created if need be."""
        p = (self.offsets_partition(group_id) if create or ot.TOPIC in self.cluster.topics
             else None)
        if p is None or p.leader is None or not self.cluster.brokers[p.leader].alive:
            return None
        coordinator = self.on_broker(p.leader)
        coordinator.check_coordinator(group_id)
        return coordinator

    def coordinator_of(self, group_id: str) -> int | None:
        """The broker coordinating ``group_id``: leader of its __consumer_offsets partition."""
        p = self.offsets_partition(group_id)
        return None if p is None else p.leader

    @property
    def groups(self) -> dict[str, Group]:
        """Every group as its current coordinator holds it."""
        return self._merged("groups")

    @property
    def offsets(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Every group's committed offsets as its current coordinator holds them."""
        return self._merged("offsets")

    def _merged(self, table: str) -> dict:
        out: dict = {}
        topic = self.cluster.topics.get(ot.TOPIC)
        for p in (topic.partitions if topic else ()):
            if p.leader is None or not self.cluster.brokers[p.leader].alive:
                continue
            coordinator = self._coordinators.get(p.leader)
            if coordinator is None or coordinator.loaded.get(p.index) != p.leader_epoch:
                if not any(True for _ in p.logs[p.leader].batches()):
                    continue
                coordinator = self.on_broker(p.leader)
                coordinator.load(p.index)
            for group_id, value in getattr(coordinator, table).items():
                if coordinator._index(group_id) == p.index:
                    out[group_id] = value
        return dict(sorted(out.items()))

    def fetch_offsets(self, group_id: str, partitions=None
                      ) -> dict[TopicPartition, OffsetAndMetadata]:
        coordinator = self.current(group_id)
        return {} if coordinator is None else coordinator.fetch_offsets(group_id, partitions)

    def commit_offsets(self, group_id: str, generation: int, member_id: str,
                       offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Commit at once (the admin client's AlterConsumerGroupOffsets): raise why not. The
        offsets count once the partition's leader took the records (the admin client does not
        wait for the ISR here)."""
        coordinator = self._coordinator_or_raise(group_id)
        error = coordinator._commit_error(group_id, generation, member_id, offsets)
        if error is not None:
            raise error
        refused: list[Exception] = []
        coordinator._store_offsets(group_id, offsets, lambda e: e and refused.append(e),
                                   apply_now=True)
        if refused:
            raise refused[0]

    def _coordinator_or_raise(self, group_id: str) -> BrokerGroupCoordinator:
        coordinator = self.current(group_id, create=True)
        if coordinator is None:
            raise CoordinatorNotAvailableError(f"group {group_id} has no coordinator: its "
                                               f"{ot.TOPIC} partition has no live leader")
        return coordinator

    def heartbeat(self, group_id: str, generation: int, member_id: str) -> Exception | None:
        coordinator = self.current(group_id)
        if coordinator is None:
            return CoordinatorNotAvailableError(f"group {group_id}: no coordinator")
        return coordinator.heartbeat(group_id, generation, member_id)

    def leave_group(self, group_id: str, member_id: str, reason: str = "it left") -> None:
        coordinator = self.current(group_id)
        if coordinator is not None:
            coordinator.leave_group(group_id, member_id, reason)

    def delete_group(self, group_id: str) -> None:
        self._coordinator_or_raise(group_id).delete_group(group_id)

    def load(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Replay every __consumer_offsets partition into fresh coordinators: the offsets a new
        coordinator would rebuild (a check that the caches equal the log)."""
        rebuilt: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        topic = self.cluster.topics.get(ot.TOPIC)
        for p in (topic.partitions if topic else []):
            if p.leader is None:
                continue
            fresh = BrokerGroupCoordinator(self.cluster, p.leader)
            for batch in p.leader_log.batches():
                for record in batch.records:
                    fresh.replay(ot.decode(record.key, record.value))
            rebuilt.update(fresh.offsets)
        return {g: o for g, o in rebuilt.items() if o}
