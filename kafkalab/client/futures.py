"""Futures whose ``get()`` makes simulated time move (DESIGN §2.4).

:class:`FutureRecordMetadata` is what ``send()`` returns: kafka-python's future API
(``get``, ``add_callback``, ``add_errback``, ``add_both``, ``chain``, ``is_done``,
``succeeded``, ``failed``, ``value``, ``exception``; registering returns the future, so calls
chain) and an instance of ``kafka.future.Future``. In simulated time ``get(timeout)`` runs the
cluster until the record is acknowledged or the timeout (seconds, as in kafka-python) elapses —
then raises ``KafkaTimeoutError`` like kafka-python does.

A future is a view of one record of a :class:`~.accumulator.ProducerBatch` — the batch and the
record's index in it — and keeps no state of its own: the batch holds the outcome (for all its
records at once) and the callbacks registered before it. So a ``send()`` costs one small
object, and a future the caller drops is freed at once (kafka-python's ``Future`` carries a lock
and two lists per record, which the cyclic collector then walks until the batch is answered).

Differences from ``kafka.future.Future``: only the batch resolves it — ``success()`` and
``failure()`` raise; ``value`` is built on each read (an equal ``RecordMetadata`` every time).
"""
from __future__ import annotations

import functools
import logging
from typing import Callable, Protocol

from kafka.future import Future

from ..driver import callback_sink, callbacks_pending
from ..errors import IllegalStateError, KafkaTimeoutError
from ..structs import RecordMetadata


class ProducerBatch(Protocol):
    """What a future reads of its :class:`~.accumulator.ProducerBatch` (defined here, so this
    module need not import the accumulator that imports it)."""

    done: bool
    error: Exception | None
    wait_for: Callable[..., bool]

    def metadata(self, index: int) -> RecordMetadata: ...

    def add_waiter(self, index: int, callback: Callable | None,
                   errback: Callable | None) -> None: ...

log = logging.getLogger(__name__)


class FutureRecordMetadata(Future):
    # kafka.future.Future's own slots (is_done, value, _callbacks, _lock ...) stay unused:
    # the properties below read the batch instead
    __slots__ = ("_batch", "_index")

    def __init__(self, batch: "ProducerBatch", index: int):
        self._batch = batch
        self._index = index

    # --- state, read from the batch -------------------------------------------------------------
    @property
    def is_done(self) -> bool:
        return self._batch.done

    @property
    def value(self):
        """The record's ``RecordMetadata`` once it is acknowledged, else None."""
        batch = self._batch
        if not batch.done or batch.error is not None:
            return None
        return batch.metadata(self._index)

    @property
    def exception(self) -> Exception | None:
        return self._batch.error

    # (succeeded, failed, retriable and __await__ are kafka.future.Future's, over these)

    # --- waiting ---------------------------------------------------------------------------------
    def get(self, timeout: float | None = None):
        """The record's metadata once acknowledged, as kafka-python: after its callbacks ran
        (on a wall-clock cluster they run on the driver's callback thread, so this waits for
        them too)."""
        batch = self._batch
        if not batch.done or callbacks_pending():
            timeout_ms = float("inf") if timeout is None else timeout * 1000
            batch.wait_for(lambda: batch.done, timeout_ms, callbacks=True)
        if not batch.done:
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")
        if batch.error is not None:
            raise batch.error
        return batch.metadata(self._index)

    # --- callbacks -------------------------------------------------------------------------------
    def add_callback(self, f: Callable, *args, **kwargs) -> "FutureRecordMetadata":
        """Call ``f(*args, metadata, **kwargs)`` when the record is acknowledged (now, if it is)."""
        if args or kwargs:
            f = functools.partial(f, *args, **kwargs)
        return self._add_cb_eb(f, None)

    def add_errback(self, f: Callable, *args, **kwargs) -> "FutureRecordMetadata":
        """Call ``f(*args, exception, **kwargs)`` when the record fails (now, if it has)."""
        if args or kwargs:
            f = functools.partial(f, *args, **kwargs)
        return self._add_cb_eb(None, f)

    def add_both(self, f: Callable, *args, **kwargs) -> "FutureRecordMetadata":
        self.add_callback(f, *args, **kwargs)
        return self.add_errback(f, *args, **kwargs)

    def chain(self, future: Future) -> "FutureRecordMetadata":
        return self._add_cb_eb(future.success, future.failure)

    def _add_cb_eb(self, callback: Callable | None, errback: Callable | None
                   ) -> "FutureRecordMetadata":
        batch = self._batch
        if not batch.done:
            batch.add_waiter(self._index, callback, errback)
        elif batch.error is None:
            run_callback(callback, batch.metadata(self._index))
        else:
            run_callback(errback, batch.error)
        return self

    def success(self, value):
        raise IllegalStateError("a send() future is resolved by its batch's produce response")

    def failure(self, e):
        raise IllegalStateError("a send() future is resolved by its batch's produce response")

    def __repr__(self) -> str:
        state = ("pending" if not self._batch.done else
                 "failed" if self._batch.error is not None else "succeeded")
        return f"<FutureRecordMetadata {self._batch.tp.topic}-{self._batch.tp.partition} {state}>"


def run_callback(f: Callable | None, argument) -> None:
    """Run a callback as kafka.future.Future does: an exception in it is logged, not raised
    (unless ``Future.error_on_callbacks``).

    On a wall-clock cluster's driver (which holds the cluster's lock) it is handed to the
    driver's callback thread instead, to run there outside the lock — as kafka-python runs
    callbacks on its own thread, with no internal lock held; one that raises is logged there
    and explained by a ``driver.callback_failed`` event. In simulated time it runs at once."""
    if f is None:
        return
    sink = callback_sink()
    if sink is not None:
        sink(f, argument)
        return
    try:
        f(argument)
    except Exception:
        log.exception("Error processing callback")
        if Future.error_on_callbacks:
            raise
