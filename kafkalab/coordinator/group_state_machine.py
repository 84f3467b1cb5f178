"""The group coordinator's state machine for one ``__consumer_offsets`` partition (Kafka's
GroupCoordinatorShard with its GroupMetadataManager and OffsetMetadataManager).

**Handlers decide, the runtime writes.** Each handler takes a request and returns a
:class:`~.result.CoordinatorResult`: the records to append (group metadata, offset commits,
tombstones) and the response to send once they are stored. Group metadata records describe
state the machine already holds (``replayed``); offset commits enter the state only through
:meth:`GroupStateMachine.replay` once stored. Replaying is also how a coordinator that becomes
the leader of the partition rebuilds every group and offset from the log. The membership
handlers (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) are :mod:`.membership`'s; offsets,
describing, listing and deleting groups, and offsets retention are here.

Offsets of a group Empty for ``offsets.retention.minutes`` expire, then the group itself is
removed; a standalone group (commits only, no members ever) loses each offset that long after
its last commit.

Transactional offsets (TxnOffsetCommit, ``send_offsets_to_transaction``) are written as a
transactional batch of the producer; they stay *pending* for that producer — invisible to
OffsetFetch — until the transaction's COMMIT marker reaches this partition (then they are
committed) or its ABORT marker (then they are dropped), as Kafka's ``pendingTransactionalOffsets``.
A fetch with ``require_stable`` for a partition with pending offsets is answered
``UNSTABLE_OFFSET_COMMIT`` (KIP-447), so a new consumer waits for the transaction's outcome.

Invariants: a commit from a member of an older generation is refused (``ILLEGAL_GENERATION``);
the committed offsets equal a replay of the partition's stored commits and markers; a Stable group's
assignment is in the log; once :meth:`GroupStateMachine.unload` ran, the machine changes
nothing and answers nobody.
"""
from __future__ import annotations

from typing import Protocol

from ..api.base import error_fields
from ..api.messages.groups import (
    DeletableGroupResult,
    DescribedGroup,
    DescribedGroupMember,
    ListedGroup,
    OffsetCommitRequest,
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
    OffsetFetchRequest,
    OffsetFetchResponse,
    OffsetFetchResponsePartition,
    OffsetFetchResponseTopic,
)
from ..api.messages.transactions import (
    PartitionResult,
    TopicResult,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)
from ..errors import (
    GroupIdNotFoundError,
    NonEmptyGroupError,
    OffsetMetadataTooLargeError,
    RebalanceInProgressError,
    UnknownMemberIdError,
    UnstableOffsetCommitError,
)
from ..record.control import Marker
from ..structs import TopicPartition
from . import offsets_topic as ot
from .group import Group, GroupState, Member, check_member
from .membership import ClassicGroupMembership, MembershipContext
from .offset_store import OffsetStore
from .result import CoordinatorResult


class MachineContext(MembershipContext, Protocol):
    """What a state machine uses of the coordinator runtime of its broker: the membership
    protocol's needs, and appending records nobody waits for."""

    def append(self, machine: "GroupStateMachine", result: CoordinatorResult) -> None: ...


def offset_commit_response(request: OffsetCommitRequest,
                           error: Exception | None = None) -> OffsetCommitResponse:
    """Kafka's answer to a commit: the same error (or none) for every partition it named."""
    fields = error_fields(error)
    return OffsetCommitResponse(tuple(
        OffsetCommitResponseTopic(t.name, tuple(
            OffsetCommitResponsePartition(p.partition_index, **fields) for p in t.partitions))
        for t in request.topics))


class GroupStateMachine:
    """The groups and committed offsets of ``__consumer_offsets-<index>``, as loaded at the
    partition's leader ``epoch``."""

    def __init__(self, context: MachineContext, index: int, epoch: int):
        self.context = context
        self.index = index
        self.epoch = epoch
        self.groups: dict[str, Group] = {}
        self.offsets = OffsetStore()
        #: producer id -> (group, partition) -> its transactional commit awaiting the marker
        self.pending_txn: dict[int, dict[tuple[str, TopicPartition], ot.OffsetCommit]] = {}
        self._empty_since: dict[str, int] = {}
        self.active = True
        self.membership = ClassicGroupMembership(self)

    # --- helpers -------------------------------------------------------------------------------
    def _emit(self, kind: str, text: str, **data) -> None:
        self.context.emit(kind, text, **data)

    def holds(self, group: Group) -> bool:
        """Is ``group`` still this live machine's (a timer may outlive a resignation)?"""
        return self.active and self.groups.get(group.group_id) is group

    def group(self, group_id: str, create: bool = False) -> Group | None:
        group = self.groups.get(group_id)
        if group is None and create:
            group = self.groups[group_id] = Group(group_id,
                                                  state_since_ms=self.context.now_ms())
        return group

    def set_state(self, group: Group, state: GroupState) -> None:
        group.state = state
        group.state_since_ms = self.context.now_ms()
        if state == GroupState.EMPTY:
            self._empty_since[group.group_id] = group.state_since_ms
        else:
            self._empty_since.pop(group.group_id, None)

    def group_record(self, group: Group, assignments: dict[str, bytes] | None = None
                     ) -> ot.GroupMetadataRecord:
        """The group's metadata record (with ``assignments``, default: the members' current
        ones)."""
        if assignments is None:
            assignments = {m.member_id: m.assignment for m in group.members.values()}
        members = tuple(ot.MemberRecord(m.member_id, m.group_instance_id, m.client_id,
                                        m.client_host, m.rebalance_timeout_ms,
                                        m.session_timeout_ms,
                                        m.metadata_for(group.protocol) if group.protocol else b"",
                                        assignments.get(m.member_id, b""))
                        for m in group.members.values())
        return ot.GroupMetadataRecord(group.group_id, group.protocol_type or "consumer",
                                      group.generation, group.protocol, group.leader_id,
                                      self.context.now_ms(), members)

    def store_group(self, group: Group) -> None:
        """Append the group's metadata; nobody waits for it (a failure is only an event)."""
        self.context.append(self, CoordinatorResult((self.group_record(group),),
                                                    replayed=True))

    # --- offsets -------------------------------------------------------------------------------
    def commit_offsets(self, request: OffsetCommitRequest) -> CoordinatorResult:
        """Kafka's OffsetCommit: checks, then the records are appended; the answer (and the
        offsets) come once the partition accepted them."""
        error = self._commit_error(request)
        if error is not None:
            return CoordinatorResult(response=offset_commit_response(request, error))
        now = self.context.now_ms()
        records = tuple(ot.OffsetCommit(request.group_id, t.name, p.partition_index,
                                        p.committed_offset, p.committed_leader_epoch,
                                        p.committed_metadata or "", now)
                        for t in request.topics for p in t.partitions)
        return CoordinatorResult(records, offset_commit_response(request))

    def commit_transactional_offsets(self, request: TxnOffsetCommitRequest) -> CoordinatorResult:
        """Kafka's TxnOffsetCommit: the offsets are written as part of the producer's
        transaction; they count only once its COMMIT marker arrives (see the module)."""
        error = self._commit_error(request, request.generation_id, request.topics)
        now = self.context.now_ms()
        response = TxnOffsetCommitResponse(tuple(
            TopicResult(t.name, tuple(PartitionResult(p.partition_index, **error_fields(error))
                                      for p in t.partitions)) for t in request.topics))
        if error is not None:
            return CoordinatorResult(response=response)
        records = tuple(ot.OffsetCommit(request.group_id, t.name, p.partition_index,
                                        p.committed_offset, p.committed_leader_epoch,
                                        p.committed_metadata or "", now)
                        for t in request.topics for p in t.partitions)
        self._emit("group.txn_offsets", f"group {request.group_id}: producer "
                   f"{request.producer_id} ({request.transactional_id}) writes "
                   f"{len(records)} offset(s) as part of its transaction; they count once it "
                   "commits", group=request.group_id, producer_id=request.producer_id)
        return CoordinatorResult(records, response,
                                 producer=(request.producer_id, request.producer_epoch))

    def _commit_error(self, request, generation: int | None = None,
                      topics=None) -> Exception | None:
        group_id = request.group_id
        if generation is None:
            generation = request.generation_id_or_member_epoch
        topics = request.topics if topics is None else topics
        group = self.group(group_id)
        if generation >= 0 or request.member_id:
            error = check_member(group, group_id, generation, request.member_id)
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
        limit = self.context.config("offset.metadata.max.bytes")
        for t in topics:
            for p in t.partitions:
                if error is None and len((p.committed_metadata or "").encode()) > limit:
                    error = OffsetMetadataTooLargeError(
                        f"commit metadata for {t.name}-{p.partition_index} is longer than "
                        f"offset.metadata.max.bytes={limit}")
        if error is not None:
            self._emit("group.commit_rejected", f"commit of group {group_id} refused: {error}",
                       group=group_id, error=type(error).__name__)
        return error

    def fetch_offsets(self, request: OffsetFetchRequest) -> CoordinatorResult:
        """Kafka's OffsetFetch: the committed offsets (-1 for a partition with none)."""
        committed = self.offsets.fetch(request.group_id)
        if request.topics is None:
            wanted: dict[str, list[int]] = {}
            for tp in sorted(committed):
                wanted.setdefault(tp.topic, []).append(tp.partition)
        else:
            wanted = {t.name: list(t.partition_indexes) for t in request.topics}
        topics = []
        for name, indexes in wanted.items():
            entries = []
            for index in indexes:
                tp = TopicPartition(name, index)
                om = committed.get(tp)
                if request.require_stable and self._pending_for(request.group_id, tp):
                    entries.append(OffsetFetchResponsePartition(index, **error_fields(
                        UnstableOffsetCommitError(
                            f"group {request.group_id} has an offset for {name}-{index} in a "
                            "transaction not decided yet; retry once it commits or aborts"))))
                    continue
                entries.append(OffsetFetchResponsePartition(index) if om is None else
                               OffsetFetchResponsePartition(index, om.offset, om.leader_epoch,
                                                            om.metadata))
            topics.append(OffsetFetchResponseTopic(name, tuple(entries)))
        return CoordinatorResult(response=OffsetFetchResponse(tuple(topics)))

    def _pending_for(self, group_id: str, tp: TopicPartition) -> bool:
        return any((group_id, tp) in pending for pending in self.pending_txn.values())

    def _committed_at(self, group_id: str, tp: TopicPartition, default: int) -> int:
        at = self.offsets.committed_at(group_id, tp)
        return default if at is None else at

    def _delete_offsets(self, group_id: str, partitions, why: str) -> tuple:
        """Tombstones for the group's offsets of ``partitions``, applied at once."""
        records = self.offsets.tombstones(group_id, partitions)
        for record in records:
            self.offsets.replay(record)
        if records:
            self._emit("group.offsets_deleted", f"committed offsets of group {group_id} for "
                       f"{len(records)} partition(s) deleted: {why}", group=group_id)
        return records

    def expire_offsets(self) -> None:
        """Kafka's offsets retention (KIP-211): the offsets of a consumer group that has been
        Empty for offsets.retention.minutes are deleted; a standalone group (commits only, no
        members ever) loses each offset that long after its last commit. A group left with
        neither members nor offsets is removed (Dead), as Kafka's cleanupGroupMetadata does."""
        minutes = self.context.config("offsets.retention.minutes")
        retention_ms = minutes * 60_000
        now = self.context.now_ms()
        for group_id, since in list(self._empty_since.items()):
            group, committed = self.groups.get(group_id), self.offsets.fetch(group_id)
            if group is None:
                continue
            if group.protocol_type is None:
                expired = [tp for tp in committed
                           if now - self._committed_at(group_id, tp, since) >= retention_ms]
                why = f"committed longer ago than offsets.retention.minutes={minutes}"
            else:
                expired = list(committed) if now - since >= retention_ms else []
                why = (f"the group has been empty for {now - since} ms >= "
                       f"offsets.retention.minutes={minutes}")
            records = self._delete_offsets(group_id, expired, why)
            if records:
                self.context.append(self, CoordinatorResult(records, replayed=True))
            if not self.offsets.fetch(group_id) and now - since >= retention_ms:
                self.context.append(self, CoordinatorResult(self._remove_group(
                    group_id, "it has been empty and has no committed offsets left "
                    f"(offsets.retention.minutes={minutes})"), replayed=True))

    # --- describing, listing, deleting groups --------------------------------------------------
    def describe_group(self, group_id: str) -> DescribedGroup:
        """Kafka's DescribeGroups entry: a group this coordinator does not know is Dead."""
        group = self.groups.get(group_id)
        if group is None:
            return DescribedGroup(group_id, group_state=GroupState.DEAD.value)
        members = tuple(DescribedGroupMember(
            m.member_id, m.group_instance_id, m.client_id, m.client_host,
            m.metadata_for(group.protocol) if group.protocol else b"", m.assignment)
            for m in group.members.values())
        return DescribedGroup(group_id, group_state=group.state.value,
                              protocol_type=group.protocol_type or "",
                              protocol_data=group.protocol or "", members=members)

    def listed_groups(self, states_filter=(), types_filter=()) -> list[ListedGroup]:
        """Kafka's ListGroups entries (filters match case-insensitively; every group here is
        a classic group). A standalone group has no protocol type."""
        states = {s.lower() for s in states_filter}
        if types_filter and "classic" not in {t.lower() for t in types_filter}:
            return []
        return [ListedGroup(g.group_id, g.protocol_type or "", g.state.value)
                for g in self.groups.values()
                if not states or g.state.value.lower() in states]

    def delete_group(self, group_id: str) -> CoordinatorResult:
        """Kafka's DeleteGroups for one group: only an empty group, with its offsets."""
        group = self.group(group_id)
        error = None
        if group is None and not self.offsets.fetch(group_id):
            error = GroupIdNotFoundError(f"group {group_id} does not exist")
        elif group is not None and group.members:
            error = NonEmptyGroupError(f"group {group_id} still has {len(group.members)} "
                                       "member(s); stop them first")
        if error is not None:
            return CoordinatorResult(response=DeletableGroupResult(group_id,
                                                                   **error_fields(error)))
        records = self._delete_offsets(group_id, list(self.offsets.fetch(group_id)),
                                       "group deleted")
        records += self._remove_group(group_id, "an admin client deleted it")
        return CoordinatorResult(records, DeletableGroupResult(group_id), replayed=True)

    def _remove_group(self, group_id: str, why: str) -> tuple:
        """The group is gone (Dead): nothing left in memory; its tombstone to append."""
        group = self.groups.pop(group_id, None)
        if group is not None:
            group.state = GroupState.DEAD
        self._empty_since.pop(group_id, None)
        self._emit("group.deleted", f"group {group_id} deleted: {why}", group=group_id)
        return (ot.GroupMetadataRecord(group_id, deleted=True),)

    # --- replay, unload ------------------------------------------------------------------------
    def replay(self, record: "ot.OffsetCommit | ot.GroupMetadataRecord",
               producer_id: int = -1) -> None:
        """Apply one ``__consumer_offsets`` record to the state (Kafka's replay): what a commit
        does once stored, and what loading a partition does for each record of its log. A
        record of ``producer_id``'s transaction (>= 0) waits for the transaction's marker."""
        if producer_id >= 0 and isinstance(record, ot.OffsetCommit):
            self.pending_txn.setdefault(producer_id, {})[
                (record.group, TopicPartition(record.topic, record.partition))] = record
            return
        if isinstance(record, ot.OffsetCommit):
            self.offsets.replay(record)
            if record.offset is not None and record.group not in self.groups:
                # a standalone group: commits only
                self.set_state(self.group(record.group, create=True), GroupState.EMPTY)
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
        self.groups[record.group] = group
        if group.state == GroupState.EMPTY:
            self._empty_since[record.group] = record.state_timestamp
        else:
            self._empty_since.pop(record.group, None)

    def replay_marker(self, marker: Marker) -> None:
        """The marker ending ``marker.producer_id``'s transaction reached this partition: its
        pending offsets are committed, or dropped."""
        pending = self.pending_txn.pop(marker.producer_id, {})
        if not pending:
            return
        if marker.committed:
            for record in pending.values():
                self.replay(record)
        groups = sorted({group for group, _ in pending})
        self._emit("group.txn_offsets_" + ("committed" if marker.committed else "aborted"),
                   f"{'committed' if marker.committed else 'dropped'} {len(pending)} "
                   f"transactional offset(s) of group(s) {', '.join(groups)}: producer "
                   f"{marker.producer_id}'s transaction "
                   f"{'committed' if marker.committed else 'aborted'}",
                   producer_id=marker.producer_id, groups=groups)

    def loaded(self) -> None:
        """The log is replayed: every member gets a full session to find this coordinator."""
        for group in self.groups.values():
            for member in group.members.values():
                self.membership.heartbeat_received(group, member)

    def unload(self, error: Exception | None) -> None:
        """Stop (Kafka's onResignation): timers stop, and requests still waiting are answered
        with ``error`` — or not at all (None: the broker stopped)."""
        self.active = False
        for group in self.groups.values():
            if group.pending_join is not None:
                group.pending_join.force_complete()  # inactive: completes nothing
            for member in group.members.values():
                if member.session_timer:
                    member.session_timer.cancel()
                if error is None:
                    member.awaiting_join = member.awaiting_sync = None
                else:
                    self.membership.answer_waiting(member, error)
