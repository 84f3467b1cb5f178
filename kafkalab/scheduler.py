"""The event heap that runs all background work of a cluster (DESIGN §2.2, SimPy style).

Entries are ``(time_ms, priority, seq, callback)``; ``seq`` grows by one per scheduled entry, so
entries due at the same time and priority run in the order they were scheduled: a run is fully
deterministic. Work is either *foreground* (it can still change what a client sees: a produce
response in flight, a linger timer) or *background* (periodic housekeeping such as retention
checks). The world is *idle* when no foreground work is pending: that is when an iterating
consumer stops in simulated time.

Threads (DESIGN §2.5): every entry is added and cancelled under the scheduler's lock — the
cluster's one lock, which the driver hands it (:meth:`Scheduler.attach`) — so a client thread may
schedule or cancel a timer without holding it already; ``step``/``run``/``run_due`` are called
by a driver, which holds it. A wall-clock driver also asks to be
woken (``wake``) when a new entry becomes the earliest, so new work runs at once instead of at
the driver's next planned wake-up.

Invariants: time never goes back; a cancelled entry never runs; ``step()`` runs exactly one entry.
"""
from __future__ import annotations

import heapq
import itertools
import threading
from typing import Callable

from .clock import Clock


class Timer:
    """Handle of a scheduled entry; ``cancel()`` makes it a no-op.

    ``cancelled`` is also set once the entry has run, so a timer runs at most once. ``owner``
    (optional) is told when the entry fails under a driver that survives failures (see
    :meth:`Scheduler.step`): ``owner.engine_failed(error)``.
    """

    __slots__ = ("time_ms", "callback", "background", "cancelled", "owner", "_scheduler")

    def __init__(self, time_ms: int, callback: Callable[[], None], background: bool,
                 scheduler: "Scheduler | None" = None, owner=None):
        self.time_ms = time_ms
        self.callback = callback
        self.background = background
        self.cancelled = False
        self.owner = owner
        self._scheduler = scheduler

    def cancel(self) -> None:
        if self.cancelled:
            return
        scheduler = self._scheduler
        if scheduler is None:
            self.cancelled = True
            self.callback = None
            return
        lock = scheduler._lock
        lock.acquire()  # (not `with`: half the cost on CPython 3.11; a timer per request)
        try:
            if self.cancelled:
                return
            self.cancelled = True
            self.callback = None  # a cancelled entry may wait in the heap: keep nothing alive
            if not self.background:
                scheduler._foreground -= 1  # pending foreground work is counted exactly
        finally:
            lock.release()


class Scheduler:
    """A heap of timers over one clock."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._heap: list[tuple[int, int, int, Timer]] = []
        self._seq = itertools.count()
        self._foreground = 0  # foreground timers neither run nor cancelled
        self._lock = threading.RLock()  # the cluster's lock, once a driver attaches
        self._wake: Callable[[], None] | None = None

    def attach(self, lock, wake: Callable[[], None] | None = None) -> None:
        """Use ``lock`` (the cluster's) for every change, and call ``wake()`` (under it) when a
        new entry becomes the earliest."""
        self._lock = lock
        self._wake = wake

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def call_at(self, time_ms: int, callback: Callable[[], None], *, priority: int = 0,
                background: bool = False, owner=None) -> Timer:
        """Run ``callback()`` at ``time_ms``; ``owner``: see :class:`Timer`."""
        lock = self._lock
        lock.acquire()  # (not `with`: half the cost on CPython 3.11)
        try:
            timer = Timer(max(int(time_ms), self.clock.now_ms()), callback, background, self,
                          owner)
            heap = self._heap
            heapq.heappush(heap, (timer.time_ms, priority, next(self._seq), timer))
            if not background:
                self._foreground += 1
            if self._wake is not None and heap[0][3] is timer:
                self._wake()  # the driver planned to sleep past this entry: it must re-plan
            return timer
        finally:
            lock.release()

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

    def step(self, on_error: Callable | None = None) -> bool:
        """Advance the clock to the next entry and run it; False if nothing is scheduled.

        An exception raised by the entry propagates (simulated time: to whoever drives the
        world) — unless ``on_error`` is given: then ``on_error(callback, error, owner)`` hears
        of it and the step counts as run (the wall-clock driver survives failing work)."""
        self._drop_cancelled()
        if not self._heap:
            return False
        time_ms, _, _, timer = heapq.heappop(self._heap)
        callback, owner = timer.callback, timer.owner
        # it runs now, and never again (Timer.cancel, inline: the caller holds the lock)
        timer.cancelled = True
        timer.callback = None
        if not timer.background:
            self._foreground -= 1
        if time_ms > self.clock.now_ms():
            self.clock.advance_to(time_ms)
        if on_error is None:
            callback()
            return True
        try:
            callback()
        except Exception as error:
            on_error(callback, error, owner)
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
