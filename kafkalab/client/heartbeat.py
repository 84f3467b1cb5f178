"""A group member's heartbeats (kafka-python's Heartbeat and HeartbeatThread, in sim time).

While the member is Stable, a Heartbeat goes to the coordinator every ``heartbeat_interval_ms``
on the scheduler. An answer "rebalance in progress" makes the member rejoin at its next
``poll()`` — it keeps heartbeating until then, so the group waits for it up to the rebalance
timeout. No successful heartbeat for ``session_timeout_ms`` marks the coordinator dead; it is
looked up again and heartbeats go on. Any other error means the member is no longer one:
heartbeats stop until it rejoins.
"""
from __future__ import annotations

from ..api.messages.groups import HeartbeatRequest
from ..errors import RebalanceInProgressError, RequestTimedOutError
from ..structs import MemberState
from .coordinator_link import (
    CoordinatorLink,
    MemberPart,
    ServedMember,
    is_coordinator_error,
    response_error,
)


class Heartbeat(MemberPart):
    """One member's heartbeat loop.

    Invariants: at most one heartbeat timer is pending and at most one HeartbeatRequest is
    unanswered; a heartbeat is sent only while the member is active and Stable, and only to
    ``link.coordinator_id``; ``last_ok_ms`` is when the member last had news that its session
    lives (a successful heartbeat, a found coordinator, a completed SyncGroup)."""

    def __init__(self, member: ServedMember, link: CoordinatorLink):
        super().__init__(member, link)
        self._timer = None
        self._in_flight = False
        self.last_ok_ms = 0

    def reset_timeouts(self) -> None:
        """kafka-python's heartbeat.reset_timeouts(): the session counts from now."""
        self.last_ok_ms = self._transport.now_ms()

    def schedule(self, delay_ms: int | None = None) -> None:
        """The next heartbeat in ``delay_ms`` (default heartbeat_interval_ms)."""
        self.stop()
        self._timer = self._transport.call_later(
            self._config["heartbeat_interval_ms"] if delay_ms is None else delay_ms,
            self._send, background=True)

    def stop(self) -> None:
        """No more heartbeats until :meth:`schedule`."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send(self) -> None:
        """kafka-python's heartbeat thread: a heartbeat every heartbeat_interval_ms while
        Stable; no successful one for session_timeout_ms marks the coordinator dead."""
        self._timer = None
        member, link = self._member, self._link
        if not member.active or member.state != MemberState.STABLE:
            return
        now = self._transport.now_ms()
        if now - self.last_ok_ms >= self._config["session_timeout_ms"]:
            link.coordinator_dead(RequestTimedOutError(
                f"no successful heartbeat for session_timeout_ms="
                f"{self._config['session_timeout_ms']} ms"))
            self.last_ok_ms = now
        if link.coordinator_id is None:
            link.maybe_lookup()
            self.schedule(self._config["retry_backoff_ms"])
            return
        if not self._in_flight:
            self._in_flight = True
            link.send(HeartbeatRequest(member.group_id, member.generation, member.member_id,
                                       member.instance_id),
                      self._on_response, link.coordinator_id)
        self.schedule()

    def _on_response(self, answer) -> None:
        self._in_flight = False
        member = self._member
        if not member.active or member.state != MemberState.STABLE:
            return
        error = response_error(answer)
        if error is None or isinstance(error, RebalanceInProgressError):
            self.reset_timeouts()
            if error is not None:
                # rejoin at the next poll(); until then keep heartbeating, as Kafka's heartbeat
                # thread does, so the group waits for this member (up to the rebalance timeout)
                member.need_rejoin = True
        elif is_coordinator_error(error):
            self._link.coordinator_dead(error)
        else:
            self.stop()  # no longer a member: heartbeats stop until it rejoins
            member.on_group_error(error)
