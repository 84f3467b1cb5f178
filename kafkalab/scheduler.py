"""The event heap that runs all background work of a cluster (DESIGN §2.2, SimPy style).

Entries are ``(time_ms, priority, seq, callback)``; ``seq`` grows by one per scheduled entry, so
entries due at the same time and priority run in the order they were scheduled: a run is fully
deterministic. Work is either *foreground* (it can still change what a client sees: a produce
response in flight, a linger timer) or *background* (periodic housekeeping such as retention
checks). The world is *idle* when no foreground work is pending: that is when an iterating
consumer stops in simulated time.

Invariants: time never goes back; a cancelled entry never runs; ``step()`` runs exactly one entry.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Callable

from .clock import Clock


class Timer:
    """Handle of a scheduled entry; ``cancel()`` makes it a no-op.

    ``cancelled`` is also set once the entry has run, so a timer runs at most once.
    """

    __slots__ = ("time_ms", "callback", "background", "cancelled", "_scheduler")

    def __init__(self, time_ms: int, callback: Callable[[], None], background: bool,
                 scheduler: "Scheduler | None" = None):
        self.time_ms = time_ms
        self.callback = callback
        self.background = background
        self.cancelled = False
        self._scheduler = scheduler

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        self.callback = None  # a cancelled entry may wait in the heap: keep nothing alive
        if not self.background and self._scheduler is not None:
            self._scheduler._foreground -= 1  # pending foreground work is counted exactly


class Scheduler:
    """A heap of timers over one clock."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._heap: list[tuple[int, int, int, Timer]] = []
        self._seq = itertools.count()
        self._foreground = 0  # foreground timers neither run nor cancelled

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def call_at(self, time_ms: int, callback: Callable[[], None], *, priority: int = 0,
                background: bool = False) -> Timer:
        timer = Timer(max(int(time_ms), self.clock.now_ms()), callback, background, self)
        heapq.heappush(self._heap, (timer.time_ms, priority, next(self._seq), timer))
        if not background:
            self._foreground += 1
        return timer

    def call_later(self, delay_ms: float, callback: Callable[[], None], **kwargs) -> Timer:
        return self.call_at(self.clock.now_ms() + int(delay_ms), callback, **kwargs)

    def _drop_cancelled(self) -> None:
        heap = self._heap
        while heap and heap[0][3].cancelled:
            heapq.heappop(heap)

    def next_time_ms(self) -> int | None:
        """When the next live entry is due, or None if nothing is scheduled."""
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def is_idle(self) -> bool:
        """True when no foreground work is pending (only housekeeping remains)."""
        return self._foreground == 0

    def step(self) -> bool:
        """Advance the clock to the next entry and run it; False if nothing is scheduled."""
        self._drop_cancelled()
        if not self._heap:
            return False
        time_ms, _, _, timer = heapq.heappop(self._heap)
        callback = timer.callback
        timer.cancel()  # it runs now, and never again
        if time_ms > self.clock.now_ms():
            self.clock.advance_to(time_ms)
        callback()
        return True

    def run_due(self) -> int:
        """Run every entry due at or before now, without moving the clock; returns how many."""
        ran = 0
        now = self.clock.now_ms()
        while True:
            next_ms = self.next_time_ms()
            if next_ms is None or next_ms > now:
                return ran
            self.step()
            ran += 1

    def run(self, until_ms: int | None = None) -> None:
        """Run entries in order up to ``until_ms`` (inclusive), then set the clock there.

        With ``until_ms=None`` run until only background work is left.
        """
        if until_ms is None:
            while not self.is_idle():
                self.step()
            return
        while True:
            next_ms = self.next_time_ms()
            if next_ms is None or next_ms > until_ms:
                break
            self.step()
        if until_ms > self.clock.now_ms():
            self.clock.advance_to(until_ms)
