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
gains partitions in the consumer's metadata (its :class:`~.metadata.ClusterMetadata`, refreshed
every ``metadata_max_age_ms``, and every ``retry_backoff_ms`` while a subscribed topic is
missing) makes the member rejoin (a topic subscribed before it exists is assigned once it
does). Eager protocol: every partition is revoked before rejoining — and, as in kafka-python 3,
the listener hears ``on_partitions_revoked`` even when there is nothing to revoke (an empty set
at the first join; Java's client skips that call). Cooperative protocol
(``CooperativeStickyAssignor``): only partitions that move (or whose topic is no longer
subscribed) are revoked, and the member rejoins once more to receive them on the other side.

The coordinator is found as kafka-python finds it: FindCoordinator to any broker, then every
group request (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) goes to
that broker through the consumer's transport. ``NotCoordinatorError``,
``CoordinatorNotAvailableError``, a connection error or no answer within
``request_timeout_ms`` (or no successful heartbeat for ``session_timeout_ms``) mark it dead
(``coordinator_dead``); it is looked up again after ``retry_backoff_ms``, and the join,
heartbeat or commit is retried — the member keeps its partitions and generation meanwhile.
``commit()`` follows kafka-python 3's ``commit_offsets_sync``: retried through rediscovery until
its timeout (default ``request_timeout_ms``, then ``KafkaTimeoutError``), acknowledged once the
offsets partition stored the commit.

Invariants: the consumer's assignment changes only in :meth:`ensure_active`; ``generation`` is
that of the last completed SyncGroup (-1 when not a member); group requests go only to
``coordinator_id`` (FindCoordinator to any broker).
"""
from __future__ import annotations

from typing import Any, Protocol

from kafka.coordinator.assignors.abstract import RebalanceProtocol
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from ..api.base import error_from
from ..api.messages.groups import (
    CONSUMER_PROTOCOL_TYPE,
    FindCoordinatorRequest,
    HeartbeatRequest,
    JoinGroupRequest,
    JoinGroupRequestProtocol,
    LeaveGroupRequest,
    MemberIdentity,
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
    SyncGroupRequest,
    SyncGroupRequestAssignment,
)
from ..coordinator.assignors import fixed
from ..errors import (
    CommitFailedError,
    CoordinatorNotAvailableError,
    IllegalGenerationError,
    KafkaConfigurationError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    NotCoordinatorError,
    RebalanceInProgressError,
    RequestTimedOutError,
    UnknownMemberIdError,
)
from ..structs import MemberState, OffsetAndMetadata, TopicPartition
from .metadata import ClusterMetadata
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


class _JoinedMember:
    """What an assignor needs of each member (kafka-python's JoinGroupResponseMember)."""

    __slots__ = ("member_id", "group_instance_id", "metadata")

    def __init__(self, member_id, group_instance_id, metadata):
        self.member_id = member_id
        self.group_instance_id = group_instance_id
        self.metadata = metadata


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
    def __init__(self, consumer: GroupConsumer):
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
        self._seen_metadata_version = -1  # the metadata's version metadata_changed last saw
        # as kafka-python's ``rejoining``: the join was prepared (listener told, partitions
        # revoked) and is being retried; cleared when a SyncGroup completes
        self._prepared = False
        self._heartbeat = None
        self._heartbeat_in_flight = False
        self._last_heartbeat_ok_ms = 0
        self._poll_timer = None
        self.active = True
        #: the broker coordinating the group, as FindCoordinator last said (None: unknown)
        self.coordinator_id: int | None = None
        self._lookup_in_flight = False
        self._backing_off = False  # retry_backoff_ms after a failed lookup or join
        self._pending_fetch = None  # (partitions, [answer], node) of an OffsetFetch in flight

    # --- requests to the coordinator ----------------------------------------------------------
    def _send(self, request, on_response, node: int | None,
              timeout_ms: int | None = None) -> None:
        """One request to broker ``node`` (None: any, for FindCoordinator); ``on_response``
        gets the response, a ``KafkaConnectionError`` (the broker is down), or a
        ``RequestTimedOutError`` once ``request_timeout_ms`` passed without an answer."""
        transport = self._transport
        timeout_ms = timeout_ms or self._config["request_timeout_ms"]
        done = []

        def finish(answer) -> None:
            if done:
                return  # answered already, or timed out
            done.append(answer)
            timer.cancel()
            on_response(answer)

        timer = transport.call_later(
            timeout_ms, lambda: finish(RequestTimedOutError(
                f"{request.API_NAME} to broker {node} got no answer within {timeout_ms} ms")),
            background=True)
        transport.send(node, request, finish)

    def coordinator_dead(self, error: Exception) -> None:
        """As kafka-python: forget the coordinator; the next request finds it again."""
        if self.coordinator_id is not None:
            self._consumer._explain(
                "consumer.coordinator_lost", f"consumer {self.member_id or '(joining)'} of "
                f"group {self.group_id} marks coordinator {self.coordinator_id} dead: {error}; "
                "it will look the coordinator up again (FindCoordinator)")
            self.coordinator_id = None

    def _maybe_lookup(self) -> None:
        """Send FindCoordinator unless the coordinator is known or a lookup is under way."""
        if self.coordinator_id is not None or self._lookup_in_flight or self._backing_off:
            return
        self._lookup_in_flight = True
        self._send(FindCoordinatorRequest(self.group_id), self._on_find, None)

    def _on_find(self, answer) -> None:
        self._lookup_in_flight = False
        if not self.active:
            return
        if _error_of(answer) is not None:
            self._back_off()
            return
        self.coordinator_id = answer.node_id
        self._last_heartbeat_ok_ms = self._transport.now_ms()  # heartbeat.reset_timeouts()

    def _back_off(self) -> None:
        """Wait retry_backoff_ms before the next lookup or join (kafka-python's sleep)."""
        if self._backing_off:
            return
        self._backing_off = True

        def over() -> None:
            self._backing_off = False
        self._transport.call_later(self._config["retry_backoff_ms"], over)

    def _ensure_coordinator(self, deadline_ms: float) -> bool:
        """kafka-python's ensure_coordinator_ready: look the coordinator up (retrying after
        retry_backoff_ms) until it is known or the deadline passes."""
        transport = self._transport
        while self.coordinator_id is None and self.active:
            self._maybe_lookup()
            remaining = deadline_ms - transport.now_ms()
            if remaining <= 0:
                return False
            transport.wait_for(lambda: self.coordinator_id is not None or not (
                self._lookup_in_flight or self._backing_off), remaining)
        return self.coordinator_id is not None

    # --- called from poll() --------------------------------------------------------------------
    def ensure_active(self, topics: set[str], timeout_ms: float) -> None:
        """Join or rejoin if needed and apply a new assignment, for at most ``timeout_ms``
        (a join that takes longer goes on; the next poll picks it up). Raises fatal errors."""
        self._arm_poll_timer()
        self._consumer._maybe_update_metadata()
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
            if self.need_rejoin and not self._joining and not self._backing_off:
                if self.coordinator_id is None:
                    self._maybe_lookup()
                else:
                    self._start_join(topics)
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                return
            transport.wait_for(lambda: self._pending_assignment is not None
                               or self._error is not None
                               or (self.need_rejoin and not self._joining
                                   and not self._backing_off
                                   and (self.coordinator_id is not None
                                        or not self._lookup_in_flight)), remaining)

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
        owned = consumer.assignment_owned()
        protocols = []
        for assignor in self.assignors:
            if self.cooperative:
                assignor.member_assignment = sorted(owned)
            metadata = assignor.metadata(sorted(topics))  # sorted: the same bytes every run
            protocols.append(JoinGroupRequestProtocol(
                assignor.name, ConsumerProtocolSubscription.encode(metadata)))
        rebalance_timeout = self._config["max_poll_interval_ms"]
        # as kafka-python: a JoinGroup may wait a whole rebalance timeout for the others
        self._send(JoinGroupRequest(
            self.group_id, self._config["session_timeout_ms"], rebalance_timeout,
            self.member_id, CONSUMER_PROTOCOL_TYPE, tuple(protocols), self.instance_id,
            client_id=self._config["client_id"]), self._on_join, self.coordinator_id,
            timeout_ms=max(self._config["request_timeout_ms"], rebalance_timeout + 5000))

    # --- responses (run on the scheduler) -----------------------------------------------------
    def _on_join(self, answer) -> None:
        if not self.active:
            return
        error = _error_of(answer)
        if error is not None:
            self._on_group_error(error)
            return
        self.member_id, self.generation = answer.member_id, answer.generation_id
        self.protocol, self.leader_id = answer.protocol_name, answer.leader
        assignments = {}
        if answer.members:
            try:
                assignments = self._assign(answer.protocol_name, answer.members)
            except Exception as error:  # a failing (custom) assignor: raised by the leader's
                self._joining = False   # own poll(), not by whichever client runs the world
                self.need_rejoin = True
                self._error = error
                return
        if self.coordinator_id is None:
            self._on_group_error(NotCoordinatorError("the coordinator was lost meanwhile"))
            return
        self._send(SyncGroupRequest(
            self.group_id, self.generation, self.member_id, tuple(
                SyncGroupRequestAssignment(m, a) for m, a in assignments.items()),
            self.instance_id, CONSUMER_PROTOCOL_TYPE, self.protocol), self._on_sync,
            self.coordinator_id)

    def _assign(self, protocol: str, members) -> dict[str, bytes]:
        """The leader's assignment (kafka-python's _perform_assignment): every member's topics
        are looked up in the metadata first, then the assignor runs over it."""
        assignor = next(a for a in self.assignors if a.name == protocol)
        joined = [_JoinedMember(m.member_id, m.group_instance_id,
                                ConsumerProtocolSubscription.decode(m.metadata))
                  for m in members]
        metadata = self._consumer._metadata
        unknown = {t for m in joined for t in m.metadata.topics
                   if metadata.partitions_for_topic(t) is None}
        if unknown:
            for topic in sorted(unknown):
                metadata.add_topic(topic)
            metadata.update()
        result = assignor.assign(metadata, joined)
        return {mid: ConsumerProtocolAssignment.encode(a) for mid, a in result.items()}

    def _on_sync(self, answer) -> None:
        if not self.active:
            return
        error = _error_of(answer)
        if error is not None:
            self._on_group_error(error)
            return
        assignment = ConsumerProtocolAssignment.decode(answer.assignment) if answer.assignment \
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
        self._last_heartbeat_ok_ms = self._transport.now_ms()
        self._schedule_heartbeat()

    def _on_group_error(self, error: Exception) -> None:
        self._joining = False
        if _coordinator_error(error):
            # as kafka-python: the coordinator moved or is down — find it again, retry after
            # retry_backoff_ms; the rebalance is retried, nothing is revoked twice
            self.coordinator_dead(error)
            self.need_rejoin = True
            if self.state == MemberState.REBALANCING:
                self.state = MemberState.UNJOINED
            self._back_off()
        elif isinstance(error, (UnknownMemberIdError, IllegalGenerationError,
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
    def _schedule_heartbeat(self, delay_ms: int | None = None) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        self._heartbeat = self._transport.call_later(
            self._config["heartbeat_interval_ms"] if delay_ms is None else delay_ms,
            self._send_heartbeat, background=True)

    def _send_heartbeat(self) -> None:
        """kafka-python's heartbeat thread: a heartbeat every heartbeat_interval_ms while
        Stable; no successful one for session_timeout_ms marks the coordinator dead."""
        self._heartbeat = None
        if not self.active or self.state != MemberState.STABLE:
            return
        now = self._transport.now_ms()
        if now - self._last_heartbeat_ok_ms >= self._config["session_timeout_ms"]:
            self.coordinator_dead(RequestTimedOutError(
                f"no successful heartbeat for session_timeout_ms="
                f"{self._config['session_timeout_ms']} ms"))
            self._last_heartbeat_ok_ms = now
        if self.coordinator_id is None:
            self._maybe_lookup()
            self._schedule_heartbeat(self._config["retry_backoff_ms"])
            return
        if not self._heartbeat_in_flight:
            self._heartbeat_in_flight = True
            self._send(HeartbeatRequest(self.group_id, self.generation, self.member_id,
                                        self.instance_id),
                       self._on_heartbeat, self.coordinator_id)
        self._schedule_heartbeat()

    def _on_heartbeat(self, answer) -> None:
        self._heartbeat_in_flight = False
        if not self.active or self.state != MemberState.STABLE:
            return
        error = _error_of(answer)
        if error is None or isinstance(error, RebalanceInProgressError):
            self._last_heartbeat_ok_ms = self._transport.now_ms()
            if error is not None:
                # rejoin at the next poll(); until then keep heartbeating, as Kafka's heartbeat
                # thread does, so the group waits for this member (up to the rebalance timeout)
                self.need_rejoin = True
        elif _coordinator_error(error):
            self.coordinator_dead(error)
        else:
            if self._heartbeat is not None:  # no longer a member: heartbeats stop until it
                self._heartbeat.cancel()     # rejoins
                self._heartbeat = None
            self._on_group_error(error)

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

    # --- commits and committed offsets ---------------------------------------------------------
    def commit(self, offsets, timeout_ms: int | None = None, as_member: bool = True) -> None:
        """kafka-python 3's commit_offsets_sync: send OffsetCommit to the coordinator, and on a
        retriable error (coordinator moved or unavailable, no answer) find it again and retry
        after retry_backoff_ms, until ``timeout_ms`` (default request_timeout_ms) has passed
        (then ``KafkaTimeoutError``). A commit refused because of a rebalance ->
        ``CommitFailedError``. Returns once the offsets partition accepted the commit."""
        transport = self._transport
        if timeout_ms is None:
            timeout_ms = self._config["request_timeout_ms"]
        deadline = transport.now_ms() + timeout_ms
        while True:
            if as_member:
                self._check_can_commit()
            if self._ensure_coordinator(deadline):
                answer: list = []
                self._send(self._commit_request(offsets, as_member), answer.append,
                           self.coordinator_id)
                transport.wait_for(lambda: bool(answer),
                                   max(deadline - transport.now_ms(), 0))
                if answer:
                    refused = _error_of(answer[0])
                    error = self._commit_failure(refused)
                    if error is None and refused is None:
                        return
                    if error is not None:
                        raise error from None
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                raise KafkaTimeoutError(
                    f"commit of group {self.group_id} was not acknowledged within "
                    f"{timeout_ms} ms: its coordinator could not be reached or could not store "
                    "it (the commit may or may not have been stored)")
            transport.wait_for(lambda: False, min(self._config["retry_backoff_ms"], remaining))

    def commit_async(self, offsets, on_done, as_member: bool = True) -> None:
        """kafka-python's commit_offsets_async: one OffsetCommit (after a FindCoordinator if
        the coordinator is unknown), no retry; ``on_done(error_or_None)`` when answered."""
        try:
            if as_member:
                self._check_can_commit()
        except CommitFailedError as error:
            refused = error  # (``error`` is unbound once the except block ends)
            self._transport.call_later(0, lambda: on_done(refused))
            return

        def send() -> None:
            if self.coordinator_id is None:
                on_done(CoordinatorNotAvailableError(
                    f"no coordinator known for group {self.group_id}"))
                return
            self._send(self._commit_request(offsets, as_member), lambda answer: on_done(
                self._commit_failure(_error_of(answer), raise_retriable=True)),
                self.coordinator_id)

        if self.coordinator_id is not None:
            send()
            return
        self._lookup_in_flight = True

        def found(answer) -> None:
            self._on_find(answer)
            error = _error_of(answer)
            send() if error is None else on_done(error)
        self._send(FindCoordinatorRequest(self.group_id), found, None)

    def _commit_request(self, offsets: dict[TopicPartition, OffsetAndMetadata],
                        as_member: bool) -> OffsetCommitRequest:
        """An OffsetCommit of ``offsets``: as this member of its generation, or from outside
        the group (generation -1, no member id: a standalone consumer)."""
        topics: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, om in offsets.items():
            topics.setdefault(tp.topic, []).append(OffsetCommitRequestPartition(
                tp.partition, om.offset, om.leader_epoch, om.metadata))
        return OffsetCommitRequest(
            self.group_id, tuple(OffsetCommitRequestTopic(t, tuple(ps))
                                 for t, ps in topics.items()),
            self.generation if as_member else -1, self.member_id if as_member else "",
            self.instance_id if as_member else None)

    def _check_can_commit(self) -> None:
        if not self.member_id or self.generation < 0:
            # as Kafka's consumer: a subscribed consumer outside an active generation (never
            # joined, or kicked out) cannot commit — its partitions may belong to another member
            raise CommitFailedError(
                "Offset commit cannot be completed since the consumer is not part of an active "
                f"group for auto partition assignment (group {self.group_id}); it is likely "
                "that the consumer was kicked out of the group (session_timeout_ms or "
                "max_poll_interval_ms expired). poll() rejoins the group")

    def _commit_failure(self, error: Exception | None, raise_retriable: bool = False
                        ) -> Exception | None:
        """kafka-python's _handle_offset_commit_response: the error to give the caller, or
        None for success or a retriable error (the coordinator is marked dead if it moved)."""
        if error is None:
            return None
        if _coordinator_error(error):
            self.coordinator_dead(error)
            return error if raise_retriable else None
        if getattr(error, "retriable", False):  # e.g. CoordinatorLoadInProgress
            return error if raise_retriable else None
        if isinstance(error, (IllegalGenerationError, UnknownMemberIdError,
                              RebalanceInProgressError)):
            self.need_rejoin = True
            if isinstance(error, UnknownMemberIdError):  # as kafka-python: reset_generation()
                self.member_id, self.generation = "", -1
            elif isinstance(error, IllegalGenerationError):
                self.generation = -1
            return CommitFailedError(
                "Commit cannot be completed since the group has already rebalanced and "
                f"assigned the partitions to another member ({error}). poll() rejoins the "
                "group; the uncommitted records will be read again by whoever owns them")
        return error

    def fetch_committed(self, partitions, timeout_ms: int | None = None) -> dict:
        """kafka-python's fetch_committed_offsets: OffsetFetch from the coordinator, retried
        through rediscovery until ``timeout_ms`` (default request_timeout_ms), then
        ``KafkaTimeoutError``."""
        transport = self._transport
        if timeout_ms is None:
            timeout_ms = self._config["request_timeout_ms"]
        deadline = transport.now_ms() + timeout_ms
        wanted = frozenset(partitions)
        while True:
            if self._ensure_coordinator(deadline):
                # as kafka-python, a request still in flight from an earlier call (a poll
                # with a short timeout) is waited for again rather than sent anew
                pending = self._pending_fetch
                if pending is None or pending[0] != wanted or pending[2] != self.coordinator_id:
                    pending = self._pending_fetch = (wanted, [], self.coordinator_id)
                    self._send(_fetch_request(self.group_id, wanted), pending[1].append,
                               self.coordinator_id)
                answer = pending[1]
                transport.wait_for(lambda: bool(answer),
                                   max(deadline - transport.now_ms(), 0))
                if answer:
                    self._pending_fetch = None
                    error = _error_of(answer[0])
                    if error is None:
                        return _committed(answer[0])
                    if _coordinator_error(error):
                        self.coordinator_dead(error)
                    elif not getattr(error, "retriable", False):
                        raise error
            remaining = deadline - transport.now_ms()
            if remaining <= 0:
                raise KafkaTimeoutError(
                    f"the committed offsets of group {self.group_id} could not be fetched "
                    f"within {timeout_ms} ms: its coordinator could not be reached")
            transport.wait_for(lambda: False, min(self._config["retry_backoff_ms"], remaining))

    # --- leaving -------------------------------------------------------------------------------
    def leave(self, why: str, wait: bool = True) -> None:
        """Leave the group (kafka-python's maybe_leave_group): a dynamic member sends
        LeaveGroup to the coordinator, if it knows one, and — unless ``wait`` is False (a timer
        of the engine) — waits for the answer up to request_timeout_ms; a static member sends
        nothing (its session decides, KIP-345)."""
        if self.member_id and self.instance_id is None and self.coordinator_id is not None:
            answer: list = []
            self._send(LeaveGroupRequest(self.group_id, (MemberIdentity(
                self.member_id, None, why),)), answer.append, self.coordinator_id)
            if wait:
                self._transport.wait_for(lambda: bool(answer),
                                         self._config["request_timeout_ms"])
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


def _error_of(answer) -> Exception | None:
    """The error a group response carries (None for none): a transport error as it is, the
    response's ``error_code`` (then the first partition's, for OffsetCommit/OffsetFetch) as
    kafka-python's exception."""
    if isinstance(answer, Exception):
        return answer
    code, message = getattr(answer, "error_code", 0), getattr(answer, "error_message", None)
    for topic in (() if code else getattr(answer, "topics", ())):
        failed = next((p for p in topic.partitions if p.error_code), None)
        if failed is not None:
            code, message = failed.error_code, failed.error_message
            break
    return error_from(code, message)


def _fetch_request(group_id: str, partitions) -> OffsetFetchRequest:
    topics: dict[str, list[int]] = {}
    for tp in sorted(partitions):
        topics.setdefault(tp.topic, []).append(tp.partition)
    return OffsetFetchRequest(group_id, tuple(OffsetFetchRequestTopic(t, tuple(ps))
                                              for t, ps in topics.items()))


def _committed(response) -> dict[TopicPartition, OffsetAndMetadata]:
    """The committed offsets of an OffsetFetch response (-1: none for that partition)."""
    return {TopicPartition(t.name, p.partition_index): OffsetAndMetadata(
        p.committed_offset, p.metadata or "", p.committed_leader_epoch)
        for t in response.topics for p in t.partitions if p.committed_offset >= 0}


def _coordinator_error(error: Exception) -> bool:
    """Errors that mean "the coordinator moved, is loading or cannot be reached": retriable,
    after finding the coordinator again (kafka-python's coordinator_dead)."""
    return isinstance(error, (NotCoordinatorError, CoordinatorNotAvailableError,
                              RequestTimedOutError, KafkaConnectionError,
                              NodeNotReadyError))
