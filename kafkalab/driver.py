"""Drivers: how a waiting client call makes the world move (DESIGN §2.4).

* :class:`SimDriver` — simulated time. A wait runs scheduled work in order until its condition
  holds or its timeout elapses *in simulated time*; when nothing but housekeeping is left and the
  wait could last forever (or the caller asks to stop when idle) it returns at once instead of
  hanging. Callbacks and event listeners run at once, inside the step that resolved them, so a
  run is deterministic.
* :class:`WallDriver` — real time. One daemon thread runs due work; waits block as in
  kafka-python. This module and ``clock.py`` are the only places that read the real clock.

Both hold the cluster's one lock while running engine code (DESIGN §2.5).

The wall-clock driver, for threads (and later the wire server):

* **It survives failing work.** A scheduled entry that raises is logged and explained by a
  ``driver.work_failed`` event; if the entry has an owner (the client transport whose request
  it serves), the owner is told, and the client's next wait raises the error.
* **User code runs outside the lock**, on a callback thread of its own (as kafka-python runs
  callbacks on its own thread, with no internal lock held): future callbacks and errbacks,
  ``commit_async`` callbacks and ``cluster.events`` listeners, one at a time, in the order they
  were resolved. One that raises is logged and explained by a ``driver.callback_failed`` event.
  ``future.get()`` and ``producer.flush()`` return once the callbacks queued before their
  records resolved have run, as kafka-python's return after the record's callbacks.
* **No polling.** Scheduling an entry that is due before the driver's planned wake-up wakes it
  at once; waiters sleep on a condition the driver notifies whenever work ran or an event was
  emitted (and re-check at least every ``_RECHECK_S``, for a change made outside both).
* **close()** wakes every waiter at once with ``KafkaConnectionError``; later waits raise it too.

Invariants: a waiter never holds the lock while it sleeps; the driver thread runs no future
callback, commit callback or event listener (still, as engine steps: a group leader's assignor);
callbacks run one at a time, in the order they were queued.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from contextlib import contextmanager, nullcontext
from typing import Callable

from .errors import KafkaConnectionError
from .scheduler import Scheduler

log = logging.getLogger(__name__)

#: per thread: where user callbacks go instead of running at once (a wall-clock driver's
#: thread, or a caller inside ``WallDriver.deferring()``); unset: they run at once
_thread_state = threading.local()


#: callbacks handed to a callback thread and not run yet, over every wall-clock driver (a
#: future's get() skips waiting when its batch is done and this is 0: always in simulated time)
_unrun = 0
_counts = threading.Lock()  # guards _unrun and every driver's _queued/_ran


def callbacks_pending() -> bool:
    return _unrun > 0


def callback_sink() -> Callable | None:
    """``sink(f, argument)`` when user callbacks must not run on this thread now (it holds a
    wall-clock cluster's lock on the driver's behalf), else None."""
    return getattr(_thread_state, "sink", None)


def _closed_error() -> KafkaConnectionError:
    return KafkaConnectionError(
        "the cluster was closed (cluster.close()): its brokers are gone, so no request can be "
        "answered any more; make a new kafkalab.Cluster and clients for it")


class SimDriver:
    simulated = True

    def __init__(self, scheduler: Scheduler, lock: threading.RLock, events=None):
        self._scheduler = scheduler
        self._lock = lock
        self._closed = False
        scheduler.attach(lock)

    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False, callbacks: bool = False) -> bool:
        """Run the world until ``predicate()`` or ``timeout_ms`` of simulated time passes.
        (Callbacks have run by then: they run inside the steps; ``callbacks`` is for the
        wall-clock driver.)"""
        scheduler = self._scheduler
        with self._lock:
            if self._closed and not predicate():
                raise _closed_error()
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

    def run_until_idle(self) -> None:
        """Run every pending request, replication and timer (not periodic housekeeping)."""
        self.wait_for(lambda: False, float("inf"), stop_when_idle=True)

    def wake(self) -> None:
        """Nobody sleeps in simulated time."""

    def deferring(self):
        """Callbacks run at once in simulated time (see :meth:`WallDriver.deferring`)."""
        return nullcontext()

    def close(self) -> None:
        """Nothing runs in the background in simulated time; later waits raise."""
        self._closed = True


class WallDriver:
    simulated = False
    #: a sleeping waiter re-checks its condition at least this often (seconds), for a change
    #: made outside scheduled work that emitted no event
    _RECHECK_S = 0.25
    #: entries run in one go before the driver lets waiting threads have the lock
    _BATCH = 200

    def __init__(self, scheduler: Scheduler, lock: threading.RLock, events=None):
        self._scheduler = scheduler
        self._clock = scheduler.clock
        self._lock = lock
        self._events = events
        self._work = threading.Condition(lock)      # the driver sleeps here
        self._progress = threading.Condition(lock)  # waiters sleep here
        self._stopped = False
        self._callbacks: queue.SimpleQueue = queue.SimpleQueue()
        self._queued = 0  # callbacks handed to the callback thread so far (under _counts)
        self._callbacks_closed = False  # (under _counts) no more go to the callback thread
        self._ran = 0     # ... and run by it
        self._callback_waiters = 0  # waiters waiting for the callback thread (under the lock)
        scheduler.attach(lock, self._work.notify)
        if events is not None:
            events.dispatch = self._dispatch_event
        self._thread = threading.Thread(target=self._run, name="kafkalab-wall-driver",
                                        daemon=True)
        self._callback_thread = threading.Thread(target=self._run_callbacks,
                                                 name="kafkalab-callbacks", daemon=True)
        self._thread.start()
        self._callback_thread.start()

    # --- the driver thread ---------------------------------------------------------------------
    def _run(self) -> None:
        _thread_state.sink = self._call_soon
        scheduler, clock = self._scheduler, self._clock
        with self._work:
            while not self._stopped:
                ran = 0
                while not self._stopped and ran < self._BATCH:
                    next_ms = scheduler.next_time_ms()
                    if next_ms is None or next_ms > clock.now_ms():
                        break
                    try:
                        scheduler.step(on_error=self._work_failed)
                    except BaseException as error:  # (SystemExit...): the driver goes on
                        self._work_failed(None, error, None)
                    ran += 1
                if ran:
                    self._progress.notify_all()
                if self._stopped:
                    break
                if ran == self._BATCH:
                    self._work.wait(0)  # more is due: let waiting threads in first
                    continue
                next_ms = scheduler.next_time_ms()
                self._work.wait(None if next_ms is None
                                else max(clock.seconds_until(next_ms), 0.0))

    def _work_failed(self, callback: Callable, error: Exception, owner) -> None:
        """A scheduled entry raised: log it, explain it, and hand it to its owner's waiter."""
        name = _name(callback)
        log.error("kafkalab: scheduled work %s failed", name, exc_info=error)
        if owner is not None:
            try:
                owner.engine_failed(error)
            except Exception:
                log.exception("kafkalab: could not hand the error to %r", owner)
        self._explain("driver.work_failed", (
            f"scheduled work {name} failed with {type(error).__name__}: {error}; the wall-clock "
            "driver goes on" + (" and the client waiting on it gets the error"
                                if owner is not None else "")),
            work=name, error=type(error).__name__)

    def _explain(self, kind: str, text: str, **data) -> None:
        if self._events is None:
            return
        try:
            with self._lock:
                self._events.emit(kind, text, **data)
        except Exception:
            log.exception("kafkalab: could not record a %s event", kind)

    # --- user callbacks, on their own thread ---------------------------------------------------
    def _call_soon(self, f: Callable, argument, what: str = "callback") -> None:
        global _unrun
        with _counts:
            if not self._callbacks_closed:
                self._queued += 1
                _unrun += 1
                self._callbacks.put((f, argument, what))
                return
        try:  # closed: its callback thread is gone, the caller runs it
            f(argument)
        except Exception as error:
            self._failed(f, argument, what, error)

    def _dispatch_event(self, listeners, event) -> None:
        """``cluster.events`` emitted ``event``: waiters may have something to look at, and
        the listeners hear it on the callback thread, in emit order."""
        if self._lock._is_owned():  # (an event emitted without the lock wakes nobody)
            self._progress.notify_all()
        for listener in listeners:
            self._call_soon(listener, event, "event listener")

    def _run_callbacks(self) -> None:
        global _unrun
        callbacks = self._callbacks
        while True:
            item = callbacks.get()
            if item is None:
                return
            f, argument, what = item
            try:
                f(argument)
            except BaseException as error:  # the thread must survive any callback
                self._failed(f, argument, what, error)
            with _counts:
                self._ran += 1
                _unrun -= 1
            if self._callback_waiters:
                with self._progress:
                    self._progress.notify_all()

    def _failed(self, f: Callable, argument, what: str, error: BaseException) -> None:
        log.error("Error processing callback", exc_info=error)
        if what == "event listener" and getattr(argument, "kind", "") == \
                "driver.callback_failed":
            return  # a listener failing on this very news: no event loop
        self._explain("driver.callback_failed", (
            f"{what} {_name(f)} raised {type(error).__name__}: {error}; it was logged and the "
            "driver goes on"), callback=_name(f), error=type(error).__name__)

    @contextmanager
    def deferring(self):
        """Inside, callbacks resolved on this thread go to the callback thread (for a client
        call that resolves futures itself, such as a forced ``producer.close``)."""
        previous = getattr(_thread_state, "sink", None)
        _thread_state.sink = self._call_soon
        try:
            yield
        finally:
            _thread_state.sink = previous

    # --- waiting ---------------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False, callbacks: bool = False) -> bool:
        """Block until ``predicate()`` (checked under the lock) or ``timeout_ms`` of real time;
        ``KafkaConnectionError`` once the cluster is closed (unless it holds already).

        With ``callbacks``, once ``predicate()`` holds, also wait (within the timeout) until
        the callback thread has run every callback queued so far — as kafka-python's
        ``future.get()`` and ``flush()`` return only after the record's callbacks ran."""
        current = threading.current_thread()
        if current is self._thread:
            raise RuntimeError("kafkalab: scheduled work cannot wait for the world to move: "
                               "it runs on the wall-clock driver's own thread")
        deadline = time.monotonic() + timeout_ms / 1000
        with self._progress:
            while not predicate():
                if self._stopped:
                    raise _closed_error()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(min(remaining, self._RECHECK_S))
            if not callbacks or current is self._callback_thread:
                return True  # (a callback waiting for the callbacks would wait for itself)
            with _counts:
                ticket = self._queued
            self._callback_waiters += 1
            try:
                while self._ran < ticket and not self._stopped:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._progress.wait(min(remaining, self._RECHECK_S))
            finally:
                self._callback_waiters -= 1
            return True

    def wake(self) -> None:
        """Wake every waiter to look at its condition again (e.g. a consumer was closed)."""
        with self._progress:
            self._progress.notify_all()

    def advance(self, ms: int) -> None:
        raise RuntimeError("cluster.advance() moves simulated time; this cluster runs on real "
                           "time (clock='wall'). Use clock='sim' to fast-forward.")

    def run_until_idle(self) -> None:
        raise RuntimeError(
            "cluster.run_until_idle() runs simulated time until nothing is pending; this "
            "cluster runs on real time (clock='wall'), where work runs on its own as time "
            "passes. Wait for what you need instead (future.get(timeout=...), "
            "producer.flush(), consumer.poll(timeout_ms=...)), or use clock='sim'.")

    def close(self) -> None:
        """Stop the driver; every waiter wakes at once with ``KafkaConnectionError``. Callbacks
        already queued still run."""
        with self._work:
            if self._stopped:
                return
            self._stopped = True
            self._work.notify_all()
            self._progress.notify_all()
        with _counts:
            self._callbacks_closed = True
            self._callbacks.put(None)  # after the callbacks already queued, which still run
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=1)


def _name(f: Callable | None) -> str:
    if f is None:
        return "(a scheduled entry)"
    f = getattr(f, "func", f)  # functools.partial
    return getattr(f, "__qualname__", None) or repr(f)
