"""The group coordinator: consumer-group membership, rebalances and committed offsets.

Kafka's classic group protocol as a state machine over simulated time (see :mod:`.group`):
JoinGroup collects members and elects a leader, the leader computes the assignment with an
assignor and hands it back in SyncGroup, heartbeats keep members alive, and a member that
stops heartbeating for ``session_timeout_ms`` (or leaves, or changes its subscription) starts
the next rebalance. Committed offsets and group metadata are records of the compacted internal
topic ``__consumer_offsets`` (see :mod:`.offsets_topic`); the in-memory view is a cache of that
log, and :meth:`load` rebuilds it by replaying the log.

A member waiting in JoinGroup or SyncGroup is kept alive (Kafka's shouldKeepAlive): the
rebalance timeout, not the session timeout, decides whether it made it; a request still waiting
when its member is removed is answered (``UnknownMemberIdError``). A new group's first
rebalance waits ``group.initial.rebalance.delay.ms``, and again while new members keep coming
(InitialDelayedJoin). Offsets of a group Empty for ``offsets.retention.minutes`` expire, then the
group itself is removed.

Invariants: every state change leaves an explained event; a commit from a member of an older
generation is refused (``IllegalGenerationError``); the offsets cache equals a replay of the log.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import (
    FencedInstanceIdError,
    IllegalGenerationError,
    InconsistentGroupProtocolError,
    InvalidSessionTimeoutError,
    OffsetMetadataTooLargeError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from ..record import Record, RecordBatch
from ..structs import OffsetAndMetadata, TopicPartition
from . import offsets_topic as ot
from .group import Group, GroupState, JoinResult, Member, SyncResult

if TYPE_CHECKING:
    from ..cluster.cluster import Cluster


class GroupCoordinator:
    def __init__(self, cluster: "Cluster"):
        self.cluster = cluster
        self.groups: dict[str, Group] = {}
        self.offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        self._empty_since: dict[str, int] = {}
        self._commit_ms: dict[str, dict[TopicPartition, int]] = {}  # last commit time per offset
        self._member_seq = 0
        self._retention_timer = None

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _scheduler(self):
        return self.cluster.scheduler

    def _emit(self, kind: str, text: str, **data) -> None:
        self.cluster.events.emit(kind, text, **data)

    def _config(self, name: str):
        return self.cluster.config[name]

    def coordinator_of(self, group_id: str) -> int | None:
        """The broker coordinating ``group_id``: leader of its __consumer_offsets partition."""
        return self._offsets_partition(group_id).leader

    def _offsets_partition(self, group_id: str):
        cluster = self.cluster
        if ot.TOPIC not in cluster.topics:
            partitions = self._config("offsets.topic.num.partitions")
            rf = min(self._config("offsets.topic.replication.factor"), len(cluster.brokers))
            cluster.create_topic(ot.TOPIC, partitions, rf,
                                 {"cleanup.policy": "compact", "segment.bytes": 104857600})
            self._schedule_offsets_retention()
        topic = cluster.topics[ot.TOPIC]
        return topic.partitions[ot.partition_for(group_id, len(topic.partitions))]

    def _write(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> None:
        """Append records to the group's __consumer_offsets partition (as its leader would)."""
        partition = self._offsets_partition(group_id)
        now = self.cluster.now_ms()
        batch = RecordBatch([Record(i, now, k, v, []) for i, (k, v) in enumerate(records)])
        partition.leader_log.append_as_leader(batch, partition.leader_epoch)
        self.cluster.replicas.on_leader_append(partition)

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
    def join_group(self, group_id: str, member_id: str, group_instance_id: str | None,
                   client_id: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                   protocols: list[tuple[str, bytes]],
                   respond: Callable[[JoinResult], None], reason: str = "") -> None:
        low, high = (self._config("group.min.session.timeout.ms"),
                     self._config("group.max.session.timeout.ms"))
        if not low <= session_timeout_ms <= high:
            respond(JoinResult(InvalidSessionTimeoutError(
                f"session_timeout_ms={session_timeout_ms} is outside the broker's allowed range "
                f"{low}..{high} (group.min/max.session.timeout.ms)")))
            return
        self._offsets_partition(group_id)  # the coordinator's partition exists from now on
        group = self._group(group_id, create=True)
        group.protocol_type = "consumer"
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
        if group.state != GroupState.PREPARING_REBALANCE:
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

    def _maybe_complete_join(self, group: Group) -> None:
        if (group.state == GroupState.PREPARING_REBALANCE and group.all_joined()
                and not group.initial_delay):
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE:
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
    def sync_group(self, group_id: str, generation: int, member_id: str,
                   assignments: dict[str, bytes], respond: Callable[[SyncResult], None]) -> None:
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
        if member_id == group.leader_id:
            for m in group.members.values():
                m.assignment = assignments.get(m.member_id, b"")
            self._set_state(group, GroupState.STABLE)
            self._store_group(group)
            self._emit("group.stable", f"group {group_id} generation {generation} is stable: "
                       "the leader's assignment was handed to every member",
                       group=group_id, generation=generation)
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
    def heartbeat(self, group_id: str, generation: int, member_id: str) -> Exception | None:
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
        if group.members.get(member.member_id) is not member:
            return
        if member.join_callback is not None or member.sync_callback is not None:
            # Kafka keeps a member alive while it waits in JoinGroup/SyncGroup: the rebalance
            # timeout, not the session, decides whether it made it (shouldKeepAlive)
            self._heartbeat_received(group, member)
            return
        self._remove_member(group, member, f"no heartbeat for {member.session_timeout_ms} "
                            "ms (session.timeout.ms)")

    def leave_group(self, group_id: str, member_id: str, reason: str = "it left") -> None:
        group = self._group(group_id)
        if group is not None and member_id in group.members:
            self._remove_member(group, group.members[member_id], reason)

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

    def _store_group(self, group: Group) -> None:
        members = tuple(ot.MemberRecord(m.member_id, m.group_instance_id, m.client_id,
                                        m.client_host, m.rebalance_timeout_ms,
                                        m.session_timeout_ms,
                                        m.metadata_for(group.protocol) if group.protocol else b"",
                                        m.assignment) for m in group.members.values())
        self._write(group.group_id, [ot.encode_group_metadata(ot.GroupMetadataRecord(
            group.group_id, "consumer", group.generation, group.protocol, group.leader_id,
            self.cluster.now_ms(), members))])

    # --- offsets -------------------------------------------------------------------------------
    def commit_offsets(self, group_id: str, generation: int, member_id: str,
                       offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        """Store committed offsets, or raise why not (nothing is stored then)."""
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
            raise error
        now = self.cluster.now_ms()
        self._write(group_id, [ot.encode_offset_commit(ot.OffsetCommit(
            group_id, tp.topic, tp.partition, om.offset, om.leader_epoch, om.metadata or "", now))
            for tp, om in offsets.items()])
        self.offsets.setdefault(group_id, {}).update(offsets)
        self._commit_ms.setdefault(group_id, {}).update(dict.fromkeys(offsets, now))
        if group is None:
            self._group(group_id, create=True)
            self._set_state(self.groups[group_id], GroupState.EMPTY)

    def fetch_offsets(self, group_id: str, partitions=None
                      ) -> dict[TopicPartition, OffsetAndMetadata]:
        committed = self.offsets.get(group_id, {})
        if partitions is None:
            return dict(committed)
        return {tp: committed[tp] for tp in partitions if tp in committed}

    def delete_offsets(self, group_id: str, partitions, why: str) -> None:
        committed = self.offsets.get(group_id, {})
        gone = [tp for tp in partitions if tp in committed]
        if not gone:
            return
        self._write(group_id, [ot.encode_offset_commit(ot.OffsetCommit(
            group_id, tp.topic, tp.partition, None)) for tp in gone])
        for tp in gone:
            del committed[tp]
            self._commit_ms.get(group_id, {}).pop(tp, None)
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
        minutes = self._config("offsets.retention.minutes")
        retention_ms = minutes * 60_000
        now = self.cluster.now_ms()
        for group_id, since in list(self._empty_since.items()):
            group, committed = self.groups.get(group_id), self.offsets.get(group_id, {})
            if group is None:
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

    # --- admin ---------------------------------------------------------------------------------
    def delete_group(self, group_id: str) -> None:
        from ..errors import GroupIdNotFoundError, NonEmptyGroupError

        group = self._group(group_id)
        if group is None and group_id not in self.offsets:
            raise GroupIdNotFoundError(f"group {group_id} does not exist")
        if group is not None and group.members:
            raise NonEmptyGroupError(f"group {group_id} still has {len(group.members)} "
                                     "member(s); stop them first")
        self.delete_offsets(group_id, list(self.offsets.get(group_id, {})), "group deleted")
        self._remove_group(group_id, "an admin client deleted it")

    # --- recovery ------------------------------------------------------------------------------
    def load(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Replay __consumer_offsets into a fresh offsets view (what a new coordinator does)."""
        rebuilt: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        topic = self.cluster.topics.get(ot.TOPIC)
        for partition in (topic.partitions if topic else []):
            for batch in partition.leader_log.batches():
                for record in batch.records:
                    decoded = ot.decode(record.key, record.value)
                    if isinstance(decoded, ot.OffsetCommit):
                        offsets = rebuilt.setdefault(decoded.group, {})
                        tp = TopicPartition(decoded.topic, decoded.partition)
                        if decoded.offset is None:
                            offsets.pop(tp, None)
                        else:
                            offsets[tp] = OffsetAndMetadata(decoded.offset, decoded.metadata,
                                                            decoded.leader_epoch)
        return {g: o for g, o in rebuilt.items() if o}
