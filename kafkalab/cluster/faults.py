"""Faults injected at the transport seam: lost acknowledgements, slow networks, broker errors.

Each rule applies to the next ``count`` produce requests (optionally of one topic) sent after it
was added, and is used up as it fires; every firing leaves an explained event, so a learner can
match "the producer retried" with "the acknowledgement was lost". The clients' transport
(``client.fault_transport.FaultInjectingTransport``) applies them to the requests it carries.

* ``drop_produce_responses(count)`` — the broker appends the batch, but its answer never
  arrives: the producer times out and retries (a duplicate, unless idempotent). acks=0 requests
  have no answer to lose and leave the rule for the next request that has one.
* ``fail_produce_requests(count, error)`` — the broker refuses the batch with ``error`` (default
  ``NotLeaderForPartitionError``, retriable) before appending.
* ``delay(ms, count)`` — requests (and their answers) take ``ms`` longer each way.
* ``crash_producer(producer)`` — a producer dies mid-flight (mid-transaction): nothing more
  is sent.
* ``crash_consumer(consumer)`` — a consumer dies without committing or leaving its group (by the
  crash hook it registered with the cluster, see :mod:`.clients`).

Invariant: with no rules left, the transport behaves exactly as without a FaultInjector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NotLeaderForPartitionError

if TYPE_CHECKING:
    from .clients import ClientRegistry
    from .events import EventLog


@dataclass
class _Rule:
    kind: str
    count: float
    topic: str | None
    error: type[Exception] | None = None
    delay_ms: int = 0

    def matches(self, kind: str, topic: str) -> bool:
        return self.kind == kind and self.count > 0 and self.topic in (None, topic)


class FaultInjector:
    def __init__(self, events: "EventLog", clients: "ClientRegistry"):
        self._events = events
        self._clients = clients
        self._rules: list[_Rule] = []

    # --- the lab API ---------------------------------------------------------------------------
    def drop_produce_responses(self, count: int = 1, topic: str | None = None) -> None:
        self._rules.append(_Rule("drop_response", _count(count), topic))

    def fail_produce_requests(self, count: int = 1,
                              error: type[Exception] = NotLeaderForPartitionError,
                              topic: str | None = None) -> None:
        self._rules.append(_Rule("fail_request", _count(count), topic, error=error))

    def delay(self, ms: int, count: float = float("inf"), topic: str | None = None) -> None:
        if ms < 0:
            raise ValueError(f"a delay must be >= 0 ms, not {ms}")
        self._rules.append(_Rule("delay", _count(count), topic, delay_ms=int(ms)))

    def crash_consumer(self, consumer) -> None:
        """Kill a consumer on the spot: no commit, no LeaveGroup. Its group notices only when
        ``session_timeout_ms`` passes without a heartbeat; uncommitted work is read again."""
        group = consumer.config.get("group_id")
        self._clients.crash(consumer)
        timeout = consumer.config["session_timeout_ms"]
        self._events.emit("fault.consumer_crashed", f"injected fault: a consumer of group "
                          f"{group} crashed without committing or leaving; the group will "
                          f"notice after session.timeout.ms={timeout}", group=group)

    def crash_producer(self, producer) -> None:
        """Kill a producer on the spot: its unsent records are lost and nothing more is sent —
        no EndTxn. A transaction it left open stays open (holding the last stable offset of
        its partitions back) until ``transaction.timeout.ms`` passes and the coordinator aborts
        it, or a new producer with the same ``transactional_id`` calls init_transactions()."""
        self._clients.crash(producer)
        tid = producer.config.get("transactional_id")
        self._events.emit("fault.producer_crashed", "injected fault: a producer"
                          + (f" with transactional id {tid}" if tid else "")
                          + " crashed; what it had not sent is lost", transactional_id=tid)

    def clear(self) -> None:
        self._rules.clear()

    @property
    def active(self) -> list[str]:
        return [f"{r.kind} x{r.count} topic={r.topic or '*'}" for r in self._rules if r.count > 0]

    # --- used by the transport -----------------------------------------------------------------
    @property
    def armed(self) -> bool:
        """Is any rule left to fire? (If not, the transport has nothing to check.)"""
        return any(rule.count > 0 for rule in self._rules)

    def _take(self, kind: str, topic: str) -> _Rule | None:
        for rule in self._rules:
            if rule.matches(kind, topic):
                rule.count -= 1
                return rule
        return None

    def extra_delay_ms(self, topic: str) -> int:
        rule = self._take("delay", topic)
        if rule is None:
            return 0
        self._events.emit("fault.delayed", f"injected fault: a produce request for {topic} and "
                          f"its answer each take {rule.delay_ms} ms longer", topic=topic,
                          delay_ms=rule.delay_ms)
        return rule.delay_ms

    def request_error(self, topic: str, partition: int) -> Exception | None:
        rule = self._take("fail_request", topic)
        if rule is None:
            return None
        self._events.emit("fault.request_failed", f"injected fault: the produce request for "
                          f"{topic}-{partition} fails with {rule.error.__name__}",
                          topic=topic, partition=partition, error=rule.error.__name__)
        return rule.error(f"injected fault on {topic}-{partition}")

    def should_drop_response(self, topic: str, partition: int,
                             error: Exception | None = None) -> bool:
        """Lose the broker's answer for ``topic``? ``error`` is what the answer said."""
        if self._take("drop_response", topic) is None:
            return False
        what = ("the broker appended the batch to {tp} but its acknowledgement is lost"
                if error is None else "the broker's answer for {tp} (" + type(error).__name__
                + ") is lost")
        self._events.emit("fault.response_dropped", "injected fault: " + what.format(
                          tp=f"{topic}-{partition}") + "; the producer hears nothing and will "
                          "time out", topic=topic, partition=partition)
        return True


def _count(count: float) -> float:
    if not count >= 1:
        raise ValueError(f"count must be >= 1, not {count!r}")
    return count
