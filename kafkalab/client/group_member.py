"""A consumer's membership in its group (kafka-python's ConsumerCoordinator, in sim time).

The member joins (JoinGroup), and if elected leader runs the assignor over every member's
subscription; everyone then receives its partitions (SyncGroup). Heartbeats run every
``heartbeat_interval_ms`` on the scheduler; a heartbeat answered "rebalance in progress" makes
the member rejoin at its next ``poll()`` (it keeps heartbeating until then, so the group waits
for it up to the rebalance timeout) — and a member that does not poll within
``max_poll_interval_ms`` leaves the group, as in Kafka. Time spent waiting inside ``poll()``
does not count as "between polls".

A member that was kicked out (session or poll interval expired, or an old generation) no longer
owns its partitions: it cannot commit (``CommitFailedError``), and at its next ``poll()`` the
listener hears ``on_partitions_lost`` (by default ``on_partitions_revoked``). The old instance of
a replaced static member is fenced (``FencedInstanceIdError``, raised by its ``poll()``).

As in Kafka, rebalance listener callbacks and assignment changes happen inside the consumer's
own ``poll()``, never inside another client's call. A subscribed topic that appears, goes or
gains partitions in the metadata makes the member rejoin (a topic subscribed before it exists
is assigned once it does). Eager protocol: every partition is revoked before rejoining — and,
as in kafka-python 3, the listener hears ``on_partitions_revoked`` even when there is nothing to
revoke (an empty set at the first join; Java's client skips that call). Cooperative protocol
(``CooperativeStickyAssignor``): only partitions that move (or whose topic is no longer
subscribed) are revoked, and the member rejoins once more to receive them on the other side.

Invariants: the consumer's assignment changes only in :meth:`ensure_active`; ``generation`` is
that of the last completed SyncGroup (-1 when not a member).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kafka.coordinator.assignors.abstract import RebalanceProtocol
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from ..coordinator.assignors import fixed
from ..errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaConfigurationError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from ..structs import MemberState, TopicPartition

if TYPE_CHECKING:
    from .consumer import KafkaConsumer


class _JoinedMember:
    """What an assignor needs of each member (kafka-python's JoinGroupResponseMember)."""

    __slots__ = ("member_id", "group_instance_id", "metadata")

    def __init__(self, member_id, group_instance_id, metadata):
        self.member_id = member_id
        self.group_instance_id = group_instance_id
        self.metadata = metadata


class _ClusterView:
    """The part of kafka-python's ClusterMetadata an assignor reads."""

    def __init__(self, transport):
        self._transport = transport

    def partitions_for_topic(self, topic):
        return self._transport.partitions_of(topic)

    def topics(self, exclude_internal_topics=True):
        return set(self._transport.topic_names(include_internal=not exclude_internal_topics))


def _assignors(strategies) -> list:
    # kafka-python's range/roundrobin classes -> kafkalab's fixed subclasses (see assignors)
    assignors = [fixed(s)() if isinstance(s, type) else s for s in strategies]
    if not assignors:
        raise KafkaConfigurationError("partition_assignment_strategy needs at least one assignor")
    protocols = {RebalanceProtocol.COOPERATIVE in a.supported_protocols() and
                 RebalanceProtocol.EAGER not in a.supported_protocols() for a in assignors}
    if len(protocols) > 1:
        raise KafkaConfigurationError(
            "partition_assignment_strategy mixes eager and cooperative assignors "
            f"({[a.name for a in assignors]}); use all eager or all cooperative")
    return assignors


class GroupMember:
    def __init__(self, consumer: "KafkaConsumer"):
        self._consumer = consumer
        self._transport = consumer._transport
        config = self._config = consumer.config
        self.group_id: str = config["group_id"]
        self.instance_id: str | None = config["group_instance_id"]
        self.assignors = _assignors(config["partition_assignment_strategy"])
        self.cooperative = RebalanceProtocol.EAGER not in self.assignors[0].supported_protocols()
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
        self._seen_metadata_version = -1  # the cluster's metadata_version metadata_changed saw
        # as kafka-python's ``rejoining``: the join was prepared (listener told, partitions
        # revoked) and is being retried; cleared when a SyncGroup completes
        self._prepared = False
        self._heartbeat = None
        self._poll_timer = None
        self.active = True

    # --- called from poll() --------------------------------------------------------------------
    def ensure_active(self, topics: set[str], timeout_ms: float) -> None:
        """Join or rejoin if needed and apply a new assignment, for at most ``timeout_ms``
        (a join that takes longer goes on; the next poll picks it up). Raises fatal errors."""
        self._arm_poll_timer()
        if self._subscription_changed(topics):
            self.need_rejoin = True
        transport = self._transport
        deadline = transport.now_ms() + timeout_ms
        while True:
            if self._pending_assignment is not None:
                self._apply_assignment()
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if not self.need_rejoin and not self._joining:
                return
            if self.need_rejoin and not self._joining:
                self._start_join(topics)
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                return
            transport.wait_for(lambda: self._pending_assignment is not None
                               or self._error is not None
                               or (self.need_rejoin and not self._joining), remaining)

    def metadata_changed(self, subscription) -> bool:
        """While waiting in poll(): did a subscribed topic appear, go or change its partition
        count since the member joined? (``subscription()`` gives the topics; it is only called
        when the cluster's metadata changed since the last look, so this is cheap to ask.)"""
        version = self._transport.cluster.metadata_version
        if version == self._seen_metadata_version:
            return False
        self._seen_metadata_version = version
        if self.state != MemberState.STABLE:
            return False
        current = {t: len(self._transport.partitions_of(t) or ())
                   for t in sorted(subscription() or ())}
        return current != self._joined_topics

    def _subscription_changed(self, topics: set[str]) -> bool:
        current = {t: len(self._transport.partitions_of(t) or ()) for t in sorted(topics)}
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
        self._prepared = True
        self._joining = True
        self.need_rejoin = False
        self.state = MemberState.REBALANCING
        self._joined_topics = {t: len(self._transport.partitions_of(t) or ())
                               for t in sorted(topics)}
        owned = consumer.assignment_owned()
        protocols = []
        for assignor in self.assignors:
            if self.cooperative:
                assignor.member_assignment = sorted(owned)
            metadata = assignor.metadata(sorted(topics))  # sorted: the same bytes every run
            protocols.append((assignor.name, ConsumerProtocolSubscription.encode(metadata)))
        self._transport.join_group(
            self.group_id, self._on_join, member_id=self.member_id,
            group_instance_id=self.instance_id, client_id=self._config["client_id"],
            session_timeout_ms=self._config["session_timeout_ms"],
            rebalance_timeout_ms=self._config["max_poll_interval_ms"], protocols=protocols)

    # --- responses (run on the scheduler) -----------------------------------------------------
    def _on_join(self, result) -> None:
        if not self.active:
            return
        if result.error is not None:
            self._on_group_error(result.error)
            return
        self.member_id, self.generation = result.member_id, result.generation
        self.protocol, self.leader_id = result.protocol, result.leader_id
        assignments = {}
        if result.members:
            try:
                assignments = self._assign(result.protocol, result.members)
            except Exception as error:  # a failing (custom) assignor: raised by the leader's
                self._joining = False   # own poll(), not by whichever client runs the world
                self.need_rejoin = True
                self._error = error
                return
        self._transport.sync_group(self.group_id, self.generation, self.member_id,
                                   assignments, self._on_sync)

    def _assign(self, protocol: str, members) -> dict[str, bytes]:
        assignor = next(a for a in self.assignors if a.name == protocol)
        joined = [_JoinedMember(mid, iid, ConsumerProtocolSubscription.decode(meta))
                  for mid, iid, meta in members]
        result = assignor.assign(_ClusterView(self._transport), joined)
        return {mid: ConsumerProtocolAssignment.encode(a) for mid, a in result.items()}

    def _on_sync(self, result) -> None:
        if not self.active:
            return
        if result.error is not None:
            self._on_group_error(result.error)
            return
        assignment = ConsumerProtocolAssignment.decode(result.assignment) if result.assignment \
            else None
        tps = set()
        for item in (assignment.assigned_partitions if assignment else ()):
            tps.update(TopicPartition(item.topic, p) for p in item.partitions)
        if assignment is not None:
            next(a for a in self.assignors if a.name == self.protocol).on_assignment(
                assignment, self.generation)
        self._pending_assignment = tps
        self._joining = False
        self._prepared = False
        self.state = MemberState.STABLE
        self._schedule_heartbeat()

    def _on_group_error(self, error: Exception) -> None:
        self._joining = False
        if isinstance(error, (UnknownMemberIdError, IllegalGenerationError,
                              RebalanceInProgressError)):
            if isinstance(error, UnknownMemberIdError):
                self.member_id, self.generation = "", -1
            elif isinstance(error, IllegalGenerationError):
                self.generation = -1  # this member's partitions belong to a newer generation
            self.need_rejoin = True
            self.state = MemberState.UNJOINED
        else:
            self._error = error

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

    # --- heartbeats and the poll interval ------------------------------------------------------
    def _schedule_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        self._heartbeat = self._transport.cluster.scheduler.call_later(
            self._config["heartbeat_interval_ms"], self._send_heartbeat, background=True)

    def _send_heartbeat(self) -> None:
        self._heartbeat = None
        if not self.active or self.state != MemberState.STABLE:
            return
        error = self._transport.heartbeat(self.group_id, self.generation, self.member_id)
        if isinstance(error, RebalanceInProgressError):
            # rejoin at the next poll(); until then keep heartbeating, as Kafka's heartbeat
            # thread does, so the group waits for this member (up to the rebalance timeout)
            self.need_rejoin = True
        elif error is not None:
            self._on_group_error(error)  # no longer a member: heartbeats stop until it rejoins
            return
        self._schedule_heartbeat()

    def _arm_poll_timer(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.cancel()
        limit = self._config["max_poll_interval_ms"]
        self._poll_timer = self._transport.cluster.scheduler.call_later(
            limit, self._poll_interval_exceeded, background=True)

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
                   f"{self._config['max_poll_interval_ms']} ms")
        self.need_rejoin = True

    # --- commits and leaving -------------------------------------------------------------------
    def commit(self, offsets) -> None:
        """Commit as this member; a commit refused because of a rebalance -> CommitFailedError."""
        if not self.member_id or self.generation < 0:
            # as Kafka's consumer: a subscribed consumer outside an active generation (never
            # joined, or kicked out) cannot commit — its partitions may belong to another member
            raise CommitFailedError(
                "Offset commit cannot be completed since the consumer is not part of an active "
                f"group for auto partition assignment (group {self.group_id}); it is likely "
                "that the consumer was kicked out of the group (session_timeout_ms or "
                "max_poll_interval_ms expired). poll() rejoins the group")
        try:
            self._transport.commit_offsets(self.group_id, self.generation, self.member_id,
                                           offsets)
        except (IllegalGenerationError, UnknownMemberIdError, RebalanceInProgressError) as error:
            self.need_rejoin = True
            if isinstance(error, UnknownMemberIdError):  # as kafka-python: reset_generation()
                self.member_id, self.generation = "", -1
            elif isinstance(error, IllegalGenerationError):
                self.generation = -1
            raise CommitFailedError(
                "Commit cannot be completed since the group has already rebalanced and "
                f"assigned the partitions to another member ({error}). poll() rejoins the "
                "group; the uncommitted records will be read again by whoever owns them") \
                from None

    def leave(self, why: str) -> None:
        if self.member_id and self.instance_id is None:
            self._transport.leave_group(self.group_id, self.member_id, why)
        self.member_id, self.generation = "", -1
        self.state = MemberState.UNJOINED
        self._prepared = False  # the next join is a new rebalance for this member
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    def stop(self, leave: bool) -> None:
        """Stop taking part: leave (close) or just fall silent (a crash)."""
        if leave:
            self.leave("the consumer closed")
        self.active = False
        for timer in (self._heartbeat, self._poll_timer):
            if timer is not None:
                timer.cancel()

