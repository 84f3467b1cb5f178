"""Drivers: how a waiting client call makes the world move (DESIGN §2.4).

* :class:`SimDriver` — simulated time. A wait runs scheduled work in order until its condition
  holds or its timeout elapses *in simulated time*; when nothing but housekeeping is left and the
  wait could last forever (or the caller asks to stop when idle) it returns at once instead of
  hanging.
* :class:`WallDriver` — real time. One daemon thread runs due work; waits block as in
  kafka-python. This module and ``clock.py`` are the only places that read the real clock.

Both hold the cluster's one lock while running engine code (DESIGN §2.5).
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

from .scheduler import Scheduler


class SimDriver:
    simulated = True

    def __init__(self, scheduler: Scheduler, lock: threading.RLock):
        self._scheduler = scheduler
        self._lock = lock

    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False) -> bool:
        """Run the world until ``predicate()`` or ``timeout_ms`` of simulated time passes."""
        scheduler = self._scheduler
        with self._lock:
            deadline = scheduler.now_ms() + timeout_ms
            while not predicate():
                if scheduler.is_idle() and (stop_when_idle or math.isinf(deadline)):
                    return False
                next_ms = scheduler.next_time_ms()
                if next_ms is None or next_ms > deadline:
                    if not math.isinf(deadline):
                        scheduler.run(until_ms=int(deadline))
                    return predicate()
                scheduler.step()
            return True

    def advance(self, ms: int) -> None:
        with self._lock:
            self._scheduler.run(until_ms=self._scheduler.now_ms() + int(ms))

    def close(self) -> None:
        """Nothing runs in the background in simulated time."""


class WallDriver:
    simulated = False
    _TICK_S = 0.02

    def __init__(self, scheduler: Scheduler, lock: threading.RLock):
        self._scheduler = scheduler
        self._cond = threading.Condition(lock)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="kafkalab-wall-driver",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._scheduler.run_due():
                    self._cond.notify_all()
                next_ms = self._scheduler.next_time_ms()
                delay_s = self._TICK_S if next_ms is None else \
                    (next_ms - self._scheduler.now_ms()) / 1000
                self._cond.wait(min(max(delay_s, 0.0), self._TICK_S))

    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, self._TICK_S))
            return True

    def advance(self, ms: int) -> None:
        raise RuntimeError("cluster.advance() moves simulated time; this cluster runs on real "
                           "time (clock='wall'). Use clock='sim' to fast-forward.")

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
