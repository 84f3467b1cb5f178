"""A consumer's membership in its group (kafka-python's BaseCoordinator join/sync, in sim time).

The member joins (JoinGroup), and if elected leader runs the assignor over every member's
subscription; everyone then receives its partitions (SyncGroup). Its
:class:`~.heartbeat.Heartbeat` then keeps it in the group while it is Stable; a heartbeat
answered "rebalance in progress" makes the member rejoin at its next ``poll()`` — and a member
that does not poll within ``max_poll_interval_ms`` leaves the group, as in Kafka. Time spent
waiting inside ``poll()`` does not count as "between polls".

A member that was kicked out (session or poll interval expired, or an old generation) no longer
owns its partitions: it cannot commit (``CommitFailedError``, see
:class:`~.offset_committer.OffsetCommitter`), and at its next ``poll()`` the listener hears
``on_partitions_lost`` (by default ``on_partitions_revoked``). The old instance of a replaced
static member is fenced (``FencedInstanceIdError``, raised by its ``poll()``).

As in Kafka, rebalance listener callbacks and assignment changes happen inside the consumer's
own ``poll()``, never inside another client's call. A subscribed topic that appears, goes or
gains partitions in the consumer's metadata (its :class:`~.metadata.ClusterMetadata`, refreshed
every ``metadata_max_age_ms``, and every ``retry_backoff_ms`` while a subscribed topic is
missing) makes the member rejoin (a topic subscribed before it exists is assigned once it
does). Eager protocol: every partition is revoked before rejoining — and, as in kafka-python 3,
the listener hears ``on_partitions_revoked`` even when there is nothing to revoke (an empty set
at the first join; Java's client skips that call). Cooperative protocol
(``CooperativeStickyAssignor``): only partitions that move (or whose topic is no longer
subscribed) are revoked, and the member rejoins once more to receive them on the other side.

Every group request goes through the member's :class:`~.coordinator_link.CoordinatorLink` to
the coordinator it found; a coordinator that moved, went down or did not answer during a join
is looked up again after ``retry_backoff_ms`` and the join retried — the member keeps its
partitions and generation meanwhile.
"""
from __future__ import annotations

from typing import Any, Protocol

from ..api.messages.groups import (
    CONSUMER_PROTOCOL_TYPE,
    JoinGroupRequest,
    LeaveGroupRequest,
    MemberIdentity,
    SyncGroupRequest,
    SyncGroupRequestAssignment,
)
from ..errors import IllegalGenerationError, NotCoordinatorError, UnknownMemberIdError
from ..structs import MemberState, TopicPartition
from .coordinator_link import (
    GENERATION_ERRORS,
    CoordinatorLink,
    is_coordinator_error,
    response_error,
)
from .group_protocol import ConsumerGroupProtocol
from .heartbeat import Heartbeat
from .metadata import ClusterMetadata
from .offset_committer import OffsetCommitter
from .transport import InProcessTransport


class GroupConsumer(Protocol):
    """What a member uses of the :class:`~.consumer.KafkaConsumer` it serves (declared here, so
    this module need not import the consumer that imports it): its transport and config, and the
    steps that move its assignment and tell its rebalance listener."""

    config: dict[str, Any]
    _poll_depth: int  # > 0 while inside poll(): waiting there is not "between polls"
    _metadata: ClusterMetadata  # the consumer's metadata cache: the assignor reads it too

    @property
    def _transport(self) -> InProcessTransport: ...

    def _explain(self, kind: str, text: str) -> None: ...

    def _maybe_update_metadata(self) -> None: ...

    def assignment_owned(self) -> set[TopicPartition]: ...

    def _before_revoke(self, revoked: set[TopicPartition] | None = None) -> None: ...

    def _lose(self, lost: set[TopicPartition]) -> None: ...

    def _revoke(self, partitions: set[TopicPartition]) -> None: ...

    def _assign_from_group(self, assigned: set[TopicPartition],
                           added: set[TopicPartition]) -> None: ...


class GroupMember:
    """One consumer's membership in its group: the join/sync/leave state machine, with a
    :class:`~.coordinator_link.CoordinatorLink` for its requests, a
    :class:`~.heartbeat.Heartbeat` and an :class:`~.offset_committer.OffsetCommitter`.

    Invariants: the consumer's assignment changes only in :meth:`ensure_active`; ``generation``
    is that of the last completed SyncGroup (-1 when not a member); group requests go only to
    ``coordinator_id`` (FindCoordinator to any broker); at most one join (JoinGroup then
    SyncGroup) is under way (``_joining``); once ``active`` is False (closed or crashed) no
    answer changes anything."""

    def __init__(self, consumer: GroupConsumer):
        self._consumer = consumer
        self._transport = consumer._transport
        config = self._config = consumer.config
        self.group_id: str = config["group_id"]
        self.instance_id: str | None = config["group_instance_id"]
        self._protocol = ConsumerGroupProtocol(config["partition_assignment_strategy"])
        self.cooperative = self._protocol.cooperative
        self.member_id = ""
        self.generation = -1
        self.protocol: str | None = None
        self.leader_id: str | None = None
        self.state = MemberState.UNJOINED
        self.need_rejoin = True
        self._joining = False
        self._pending_assignment: set[TopicPartition] | None = None
        self._error: Exception | None = None
        self._joined_topics: dict[str, int] = {}
        self._seen_metadata_version = -1  # the metadata's version metadata_changed last saw
        # as kafka-python's ``rejoining``: the join was prepared (listener told, partitions
        # revoked) and is being retried; cleared when a SyncGroup completes
        self._prepared = False
        self._poll_timer = None
        self.active = True
        self._link = CoordinatorLink(self, self._transport, config, consumer._explain)
        self._heartbeat = Heartbeat(self, self._link)
        self._offsets = OffsetCommitter(self, self._link)

    @property
    def coordinator_id(self) -> int | None:
        """The broker coordinating the group, as FindCoordinator last said (None: unknown)."""
        return self._link.coordinator_id

    def coordinator_found(self) -> None:
        """The link found the coordinator: the session counts from now."""
        self._heartbeat.reset_timeouts()

    # --- called from poll() --------------------------------------------------------------------
    def ensure_active(self, topics: set[str], timeout_ms: float) -> None:
        """Join or rejoin if needed and apply a new assignment, for at most ``timeout_ms``
        (a join that takes longer goes on; the next poll picks it up). Raises fatal errors."""
        self._arm_poll_timer()
        self._consumer._maybe_update_metadata()
        if self._subscription_changed(topics):
            self.need_rejoin = True
        transport, link = self._transport, self._link
        deadline = transport.now_ms() + timeout_ms
        while True:
            if self._pending_assignment is not None:
                self._apply_assignment()
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if not self.need_rejoin and not self._joining:
                return
            if self.need_rejoin and not self._joining and not link.backing_off:
                if link.coordinator_id is None:
                    link.maybe_lookup()
                else:
                    self._start_join(topics)
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                return
            transport.wait_for(lambda: self._pending_assignment is not None
                               or self._error is not None
                               or (self.need_rejoin and not self._joining
                                   and not link.backing_off
                                   and (link.coordinator_id is not None
                                        or not link.lookup_in_flight)), remaining)

    def metadata_changed(self, subscription) -> bool:
        """While waiting in poll(): did a subscribed topic appear, go or change its partition
        count in the metadata since the member joined? (``subscription()`` gives the topics;
        it is only called when the metadata changed since the last look, so this is cheap to
        ask.)"""
        if self.state == MemberState.STABLE:
            self._consumer._maybe_update_metadata()
        version = self._consumer._metadata.version
        if version == self._seen_metadata_version:
            return False
        self._seen_metadata_version = version
        if self.state != MemberState.STABLE:
            return False
        return self._partition_counts(subscription() or ()) != self._joined_topics


    def _partition_counts(self, topics) -> dict[str, int]:
        metadata = self._consumer._metadata
        return {t: len(metadata.partitions_for_topic(t) or ()) for t in sorted(topics)}

    def _subscription_changed(self, topics: set[str]) -> bool:
        current = self._partition_counts(topics)
        if self.state == MemberState.STABLE and current != self._joined_topics:
            self._consumer._explain(
                "consumer.rejoin", f"consumer {self.member_id} rejoins group {self.group_id}: "
                f"its topics changed ({self._joined_topics} -> {current})")
            return True
        return False

    def _start_join(self, topics: set[str]) -> None:
        consumer = self._consumer
        owned = consumer.assignment_owned()
        if owned and self.generation < 0:
            # the group already gave these away (session or poll interval expired, fenced):
            # nothing can be committed for them, the listener hears on_partitions_lost
            consumer._lose(owned)
        elif not self.cooperative and (owned or not self._prepared):
            # eager, as kafka-python 3: the listener hears on_partitions_revoked even with
            # nothing to revoke (the first join: an empty set) — once per rebalance, not
            # again when the JoinGroup is retried
            consumer._before_revoke()
            consumer._revoke(set(consumer.assignment_owned()))
        elif owned:  # cooperative: only partitions of topics no longer subscribed go now
            gone = {tp for tp in owned if tp.topic not in topics}
            if gone:
                consumer._before_revoke(gone)
                consumer._revoke(gone)
        if self.coordinator_id is None or not self.active:
            return  # the commit before revocation lost the coordinator: find it first
        self._prepared = True
        self._joining = True
        self.need_rejoin = False
        self.state = MemberState.REBALANCING
        self._joined_topics = self._partition_counts(topics)
        protocols = self._protocol.subscriptions(topics, consumer.assignment_owned())
        rebalance_timeout = self._config["max_poll_interval_ms"]
        # as kafka-python: a JoinGroup may wait a whole rebalance timeout for the others
        self._link.send(JoinGroupRequest(
            self.group_id, self._config["session_timeout_ms"], rebalance_timeout,
            self.member_id, CONSUMER_PROTOCOL_TYPE, protocols, self.instance_id,
            client_id=self._config["client_id"]), self._on_join, self.coordinator_id,
            timeout_ms=max(self._config["request_timeout_ms"], rebalance_timeout + 5000))

    # --- responses (run on the scheduler) -----------------------------------------------------
    def _on_join(self, answer) -> None:
        if not self.active:
            return
        error = response_error(answer)
        if error is not None:
            self.on_group_error(error)
            return
        self.member_id, self.generation = answer.member_id, answer.generation_id
        self.protocol, self.leader_id = answer.protocol_name, answer.leader
        assignments = {}
        if answer.members:
            try:
                assignments = self._protocol.assign(answer.protocol_name, answer.members,
                                                    self._consumer._metadata)
            except Exception as error:  # a failing (custom) assignor: raised by the leader's
                self._joining = False   # own poll(), not by whichever client runs the world
                self.need_rejoin = True
                self._error = error
                return
        if self.coordinator_id is None:
            self.on_group_error(NotCoordinatorError("the coordinator was lost meanwhile"))
            return
        self._link.send(SyncGroupRequest(
            self.group_id, self.generation, self.member_id, tuple(
                SyncGroupRequestAssignment(m, a) for m, a in assignments.items()),
            self.instance_id, CONSUMER_PROTOCOL_TYPE, self.protocol), self._on_sync,
            self.coordinator_id)

    def _on_sync(self, answer) -> None:
        if not self.active:
            return
        error = response_error(answer)
        if error is not None:
            self.on_group_error(error)
            return
        self._pending_assignment = self._protocol.assigned(
            self.protocol, answer.assignment, self.generation)
        self._joining = False
        self._prepared = False
        self.state = MemberState.STABLE
        self._heartbeat.reset_timeouts()
        self._heartbeat.schedule()

    def on_group_error(self, error: Exception) -> None:
        """A join, sync or heartbeat failed with ``error``: retry after rediscovery, rejoin,
        or (any other error) have the next ``poll()`` raise it."""
        self._joining = False
        if is_coordinator_error(error):
            # as kafka-python: the coordinator moved or is down — find it again, retry after
            # retry_backoff_ms; the rebalance is retried, nothing is revoked twice
            self._link.coordinator_dead(error)
            self.need_rejoin = True
            if self.state == MemberState.REBALANCING:
                self.state = MemberState.UNJOINED
            self._link.back_off()
        elif isinstance(error, GENERATION_ERRORS):
            self.reset_generation(error)
            self.state = MemberState.UNJOINED
        else:
            self._error = error

    def reset_generation(self, error: Exception) -> None:
        """As kafka-python's reset_generation, after one of ``GENERATION_ERRORS``: an unknown
        member forgets its id and generation, an illegal generation its generation (this
        member's partitions belong to a newer one); either way it rejoins at its next poll()."""
        if isinstance(error, UnknownMemberIdError):
            self.member_id, self.generation = "", -1
        elif isinstance(error, IllegalGenerationError):
            self.generation = -1
        self.need_rejoin = True

    def _apply_assignment(self) -> None:
        new, self._pending_assignment = self._pending_assignment, None
        consumer = self._consumer
        owned = set(consumer.assignment_owned())
        if self.cooperative:
            revoked = owned - new
            if revoked:
                consumer._before_revoke(revoked)
                consumer._revoke(revoked)
                self.need_rejoin = True  # round two: the revoked partitions find new owners
            consumer._assign_from_group(new, new - owned)
        else:
            consumer._assign_from_group(new, new)

    # --- the poll interval ----------------------------------------------------------------------
    def _arm_poll_timer(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.cancel()
        self._poll_timer = self._transport.call_later(
            self._config["max_poll_interval_ms"], self._poll_interval_exceeded, background=True)

    def poll_returned(self) -> None:
        """The consumer's poll() returned: max_poll_interval_ms counts from now."""
        if self.active:
            self._arm_poll_timer()

    def _poll_interval_exceeded(self) -> None:
        if not self.active or not self.member_id:
            return
        if self._consumer._poll_depth:  # waiting inside poll() is not "between polls"
            self._arm_poll_timer()
            return
        self.leave(f"poll() was not called for max_poll_interval_ms="
                   f"{self._config['max_poll_interval_ms']} ms", wait=False)
        self.need_rejoin = True

    # --- offsets (the committer's) -------------------------------------------------------------
    def commit(self, offsets, timeout_ms: int | None = None, as_member: bool = True) -> None:
        """Commit ``offsets`` and wait for the answer: :meth:`.OffsetCommitter.commit`."""
        self._offsets.commit(offsets, timeout_ms, as_member)

    def commit_async(self, offsets, on_done, as_member: bool = True) -> None:
        """Send one commit of ``offsets``: :meth:`.OffsetCommitter.commit_async`."""
        self._offsets.commit_async(offsets, on_done, as_member)

    def fetch_committed(self, partitions, timeout_ms: int | None = None) -> dict:
        """The group's committed offsets: :meth:`.OffsetCommitter.fetch_committed`."""
        return self._offsets.fetch_committed(partitions, timeout_ms)

    # --- leaving -------------------------------------------------------------------------------
    def leave(self, why: str, wait: bool = True) -> None:
        """Leave the group (kafka-python's maybe_leave_group): a dynamic member sends
        LeaveGroup to the coordinator, if it knows one, and — unless ``wait`` is False (a timer
        of the engine) — waits for the answer up to request_timeout_ms; a static member sends
        nothing (its session decides, KIP-345)."""
        if self.member_id and self.instance_id is None and self.coordinator_id is not None:
            answer: list = []
            self._link.send(LeaveGroupRequest(self.group_id, (MemberIdentity(
                self.member_id, None, why),)), answer.append, self.coordinator_id)
            if wait:
                self._transport.wait_for(lambda: bool(answer),
                                         self._config["request_timeout_ms"])
        self.member_id, self.generation = "", -1
        self.state = MemberState.UNJOINED
        self._prepared = False  # the next join is a new rebalance for this member
        self._heartbeat.stop()

    def stop(self, leave: bool) -> None:
        """Stop taking part: leave (close) or just fall silent (a crash)."""
        if leave:
            self.leave("the consumer closed")
        self.active = False
        self._heartbeat.stop()
        if self._poll_timer is not None:
            self._poll_timer.cancel()
