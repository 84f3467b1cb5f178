"""Kafka's metrics, measured in the cluster's (simulated) time: one registry for the engine (the
brokers' ``kafka.server`` meters) and the clients (``producer-metrics``,
``consumer-fetch-manager-metrics``), so both count the same way and use Kafka's names.

A :class:`Sensor` keeps a sliding window of ``(time_ms, value)`` samples — Kafka's default is 2
samples of 30 s, so rates are over the last 30-60 s — and reports ``rate`` (per second),
``avg``, ``max`` and ``total``. Invariant: samples older than the window are never counted.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

WINDOW_MS = 60_000


class Sensor:
    def __init__(self, now_ms: Callable[[], int], window_ms: int = WINDOW_MS):
        self._now_ms = now_ms
        self._window_ms = window_ms
        self._samples: deque[tuple[int, float]] = deque()
        self._start_ms = now_ms()
        self.total = 0.0
        self.count = 0

    def record(self, value: float = 1.0) -> None:
        now = self._now_ms()
        self._samples.append((now, value))
        self.total += value
        self.count += 1
        self._expire(now)

    def _expire(self, now: int) -> None:
        samples = self._samples
        while samples and samples[0][0] <= now - self._window_ms:
            samples.popleft()

    def rate(self) -> float:
        """Sum of values per second over the window (or since creation, if younger)."""
        now = self._now_ms()
        self._expire(now)
        elapsed_ms = max(min(now - self._start_ms, self._window_ms), 1000)
        return sum(v for _, v in self._samples) * 1000 / elapsed_ms

    def avg(self) -> float:
        self._expire(self._now_ms())
        return sum(v for _, v in self._samples) / len(self._samples) if self._samples else 0.0

    def max(self) -> float:
        self._expire(self._now_ms())
        return max((v for _, v in self._samples), default=0.0)
