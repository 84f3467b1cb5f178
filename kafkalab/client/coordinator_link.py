"""A group member's link to its group coordinator (kafka-python BaseCoordinator's lookup).

The coordinator is found as kafka-python finds it: FindCoordinator to any broker, then every
group request (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch) goes to
that broker through the consumer's transport. ``NotCoordinatorError``,
``CoordinatorNotAvailableError``, a connection error or no answer within
``request_timeout_ms`` mark it dead (:meth:`CoordinatorLink.coordinator_dead`); it is looked up
again, after ``retry_backoff_ms`` when a lookup failed. What a group response's error means for
the member (:func:`response_error`, :func:`is_coordinator_error`, :data:`GENERATION_ERRORS`)
is read here too, for the member, its heartbeat and its offset committer alike.

Invariants: ``coordinator_id`` is the broker the last FindCoordinator named, None once marked
dead; at most one lookup sent by :meth:`~CoordinatorLink.maybe_lookup` is in flight, and none
is sent while backing off; every request sent is answered exactly once (its response, a
``KafkaConnectionError`` or a ``RequestTimedOutError``).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from ..api.base import error_from
from ..api.messages.groups import FindCoordinatorRequest
from ..errors import (
    CoordinatorNotAvailableError,
    IllegalGenerationError,
    KafkaConnectionError,
    NodeNotReadyError,
    NotCoordinatorError,
    RebalanceInProgressError,
    RequestTimedOutError,
    UnknownMemberIdError,
)
from ..structs import MemberState
from .transport import InProcessTransport

#: errors that mean "this member's generation is over": rejoin (kafka-python's reset_generation)
GENERATION_ERRORS = (UnknownMemberIdError, IllegalGenerationError, RebalanceInProgressError)


class ServedMember(Protocol):
    """What the link, the heartbeat and the offset committer use of the
    :class:`~.group_member.GroupMember` they serve (declared here, below them all, so that none
    of them imports the member that imports them)."""

    group_id: str
    instance_id: str | None
    member_id: str  # "" while not a member
    generation: int  # that of the last completed SyncGroup, -1 while not a member
    state: MemberState
    need_rejoin: bool
    active: bool  # False once the consumer closed or crashed: late answers change nothing

    def coordinator_found(self) -> None: ...

    def on_group_error(self, error: Exception) -> None: ...

    def reset_generation(self, error: Exception) -> None: ...


class CoordinatorLink:
    """Requests to the group coordinator: FindCoordinator, a request timeout on every request,
    forgetting a dead coordinator, and ``retry_backoff_ms`` after a failed lookup or join.

    Invariants: ``coordinator_id`` is None or the broker FindCoordinator last named;
    ``lookup_in_flight`` while a FindCoordinator is unanswered; ``backing_off`` for
    ``retry_backoff_ms`` after :meth:`back_off`, and :meth:`maybe_lookup` sends nothing then;
    each request's ``on_response`` runs exactly once."""

    def __init__(self, member: ServedMember, transport: InProcessTransport,
                 config: dict[str, Any], explain: Callable[[str, str], None]):
        self._member = member
        self.transport, self.config = transport, config  # the member's, for its parts too
        self._explain = explain
        #: the broker coordinating the group, as FindCoordinator last said (None: unknown)
        self.coordinator_id: int | None = None
        self.lookup_in_flight = False
        self.backing_off = False  # retry_backoff_ms after a failed lookup or join

    def send(self, request, on_response, node: int | None,
             timeout_ms: int | None = None) -> None:
        """One request to broker ``node`` (None: any, for FindCoordinator); ``on_response``
        gets the response, a ``KafkaConnectionError`` (the broker is down), or a
        ``RequestTimedOutError`` once ``request_timeout_ms`` passed without an answer."""
        transport = self.transport
        timeout_ms = timeout_ms or self.config["request_timeout_ms"]
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
            member = self._member
            self._explain(
                "consumer.coordinator_lost", f"consumer {member.member_id or '(joining)'} of "
                f"group {member.group_id} marks coordinator {self.coordinator_id} dead: {error}; "
                "it will look the coordinator up again (FindCoordinator)")
            self.coordinator_id = None

    def maybe_lookup(self) -> None:
        """Send FindCoordinator unless the coordinator is known or a lookup is under way."""
        if self.coordinator_id is not None or self.lookup_in_flight or self.backing_off:
            return
        self.lookup()

    def lookup(self, then: Callable[[Any], None] | None = None) -> None:
        """Send FindCoordinator now; ``then(answer)``, if given, once the answer was taken in
        (the coordinator known, or backing off after an error)."""
        self.lookup_in_flight = True

        def found(answer) -> None:
            self._on_find(answer)
            if then is not None:
                then(answer)
        self.send(FindCoordinatorRequest(self._member.group_id), found, None)

    def _on_find(self, answer) -> None:
        self.lookup_in_flight = False
        if not self._member.active:
            return
        if response_error(answer) is not None:
            self.back_off()
            return
        self.coordinator_id = answer.node_id
        self._member.coordinator_found()

    def back_off(self) -> None:
        """Wait retry_backoff_ms before the next lookup or join (kafka-python's sleep)."""
        if self.backing_off:
            return
        self.backing_off = True

        def over() -> None:
            self.backing_off = False
        self.transport.call_later(self.config["retry_backoff_ms"], over)

    def ensure_coordinator(self, deadline_ms: float) -> bool:
        """kafka-python's ensure_coordinator_ready: look the coordinator up (retrying after
        retry_backoff_ms) until it is known or the deadline passes."""
        transport = self.transport
        while self.coordinator_id is None and self._member.active:
            self.maybe_lookup()
            remaining = deadline_ms - transport.now_ms()
            if remaining <= 0:
                return False
            transport.wait_for(lambda: self.coordinator_id is not None or not (
                self.lookup_in_flight or self.backing_off), remaining)
        return self.coordinator_id is not None


def response_error(answer) -> Exception | None:
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


def is_coordinator_error(error: Exception) -> bool:
    """Errors that mean "the coordinator moved, is loading or cannot be reached": retriable,
    after finding the coordinator again (kafka-python's coordinator_dead)."""
    return isinstance(error, (NotCoordinatorError, CoordinatorNotAvailableError,
                              RequestTimedOutError, KafkaConnectionError,
                              NodeNotReadyError))


class MemberPart:
    """A part of a group member that reaches the coordinator through the member's link (its
    :class:`~.heartbeat.Heartbeat`, its :class:`~.offset_committer.OffsetCommitter`).

    Invariant: it serves one member, through that member's one link, for the member's life."""

    def __init__(self, member: ServedMember, link: CoordinatorLink):
        self._member = member
        self._link = link
        self._transport = link.transport
        self._config = link.config
