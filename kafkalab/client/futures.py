"""Futures whose ``get()`` makes simulated time move (DESIGN §2.4).

:class:`FutureRecordMetadata` is kafka-python's ``Future`` (``add_callback``, ``add_errback``,
``is_done``, ``succeeded``, ``failed``) with a ``get(timeout)`` that, in simulated time, runs
the cluster until the record is acknowledged or the timeout (seconds, as in kafka-python)
elapses — then raises ``KafkaTimeoutError`` like kafka-python does.
"""
from __future__ import annotations

from kafka.future import Future

from ..errors import KafkaTimeoutError


class FutureRecordMetadata(Future):
    __slots__ = ("_transport",)

    def __init__(self, transport):
        super().__init__()
        self._transport = transport

    def get(self, timeout: float | None = None):
        if not self.is_done:
            timeout_ms = float("inf") if timeout is None else timeout * 1000
            self._transport.wait_for(lambda: self.is_done, timeout_ms)
        if not self.is_done:
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")
        if self.failed():
            raise self.exception
        return self.value
