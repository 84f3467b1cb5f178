"""Replication: followers copy the leader's batches; the high watermark follows the ISR.

After a leader append, each live follower fetches what it lacks one network round trip later
(scheduled work in simulated time, DESIGN §2.2) and appends the very same batch objects, so
replicas are identical by construction. When the ISR's smallest log end offset rises, the
leader's high watermark rises and ``acks='all'`` produces waiting on it complete (Kafka's
"produce purgatory").

Invariants: a follower appends only batches that start at its own log end offset; a waiting
produce completes exactly once — on commit or on its timeout.
"""
from __future__ import annotations

from typing import Callable

from ..errors import RequestTimedOutError
from ..scheduler import Scheduler
from .partition import Partition

Respond = Callable[[Exception | None], None]


class ReplicaManager:
    def __init__(self, scheduler: Scheduler, latency_ms: Callable[[], int],
                 is_alive: Callable[[int], bool]):
        self._scheduler = scheduler
        self._latency_ms = latency_ms
        self._is_alive = is_alive
        self._pending_fetch: set[tuple[str, int, int]] = set()
        self._waiting: dict[tuple[str, int], list[list]] = {}

    def on_leader_append(self, partition: Partition) -> None:
        """Schedule a fetch for each live follower that is not already fetching."""
        for follower in partition.replicas:
            key = (partition.topic, partition.index, follower)
            if follower == partition.leader or key in self._pending_fetch:
                continue
            if not self._is_alive(follower):
                continue
            self._pending_fetch.add(key)
            self._scheduler.call_later(2 * self._latency_ms(),
                                       lambda p=partition, f=follower: self._fetch(p, f))
        self.maybe_complete(partition)

    def _fetch(self, partition: Partition, follower: int) -> None:
        self._pending_fetch.discard((partition.topic, partition.index, follower))
        if partition.leader is None or not self._is_alive(follower):
            return
        leader_log, log = partition.leader_log, partition.logs[follower]
        if log.log_end_offset < leader_log.log_end_offset:
            for batch in leader_log.read(log.log_end_offset, 2**31 - 1,
                                         upper_offset=leader_log.log_end_offset):
                log.append_as_follower(batch)
        self.maybe_complete(partition)
        log.high_watermark = min(partition.high_watermark, log.log_end_offset)

    def wait_for_commit(self, partition: Partition, offset: int, timeout_ms: int,
                        respond: Respond) -> None:
        """Call ``respond(None)`` once the high watermark passes ``offset``, or
        ``respond(RequestTimedOutError)`` after ``timeout_ms``."""
        if partition.high_watermark > offset:
            respond(None)
            return
        entry = [offset, respond, None]
        # Foreground work: a produce waiting here is a response in flight, so the world is not
        # idle until it is answered (by the commit or by this timeout).
        entry[2] = self._scheduler.call_later(timeout_ms, lambda: self._expire(partition, entry))
        self._waiting.setdefault((partition.topic, partition.index), []).append(entry)

    def maybe_complete(self, partition: Partition) -> None:
        if not partition.maybe_advance_high_watermark():
            return
        key = (partition.topic, partition.index)
        waiting = self._waiting.get(key)
        if not waiting:
            return
        hw = partition.high_watermark
        done = [e for e in waiting if e[0] < hw]
        self._waiting[key] = [e for e in waiting if e[0] >= hw]
        for offset, respond, timer in done:
            timer.cancel()
            respond(None)

    def _expire(self, partition: Partition, entry: list) -> None:
        waiting = self._waiting.get((partition.topic, partition.index), [])
        if entry in waiting:
            waiting.remove(entry)
            entry[1](RequestTimedOutError(
                f"acks=all: offset {entry[0]} of {partition.name} was not replicated to the ISR "
                f"{partition.isr} in time (high watermark {partition.high_watermark})"))
