"""Clocks: the only source of time for the engine (DESIGN §2.2).

Engine code never reads the system time. It asks a :class:`Clock` for ``now_ms()``. A
:class:`SimClock` moves only when the scheduler drives it, so a week of retention takes no real
time and every run is reproducible; a :class:`WallClock` follows real time for live demos and the
wire server.

Invariant: ``now_ms()`` never decreases.
"""
from __future__ import annotations

import time
from typing import Protocol

#: 2026-01-01T00:00:00Z: simulated time starts on a round, readable date.
DEFAULT_EPOCH_MS = 1_767_225_600_000


class Clock(Protocol):
    """What the engine needs from time: milliseconds since the Unix epoch."""

    simulated: bool

    def now_ms(self) -> int: ...


class SimClock:
    """Simulated time in whole milliseconds; moves only through :meth:`advance_to`.

    Invariant: ``now_ms()`` is monotonic; it starts at ``start_ms``.
    """

    simulated = True

    def __init__(self, start_ms: int = DEFAULT_EPOCH_MS):
        self._now_ms = int(start_ms)

    def now_ms(self) -> int:
        return self._now_ms

    def advance_to(self, time_ms: int) -> None:
        if time_ms < self._now_ms:
            raise ValueError(f"simulated time cannot go back: {time_ms} < now {self._now_ms}")
        self._now_ms = int(time_ms)

    def __repr__(self) -> str:
        return f"SimClock(now_ms={self._now_ms})"


class WallClock:
    """Real time. Invariant: monotonic even if the system clock steps back."""

    simulated = False

    def __init__(self):
        self._origin_ms = int(time.time() * 1000)
        self._origin_mono = time.monotonic()

    def now_ms(self) -> int:
        return self._origin_ms + int((time.monotonic() - self._origin_mono) * 1000)

    def advance_to(self, time_ms: int) -> None:
        """Real time cannot be driven; the scheduler only waits for it."""

    def seconds_until(self, time_ms: int) -> float:
        """Real seconds from now until ``time_ms`` (negative once it passed), to the
        sub-millisecond: the wall-clock driver sleeps exactly this long for its next timer."""
        return (time_ms - self._origin_ms) / 1000 - (time.monotonic() - self._origin_mono)

    def __repr__(self) -> str:
        return "WallClock()"


def make_clock(clock: "str | Clock") -> Clock:
    """``"sim"`` -> :class:`SimClock`, ``"wall"`` -> :class:`WallClock`, or a Clock as is."""
    if clock == "sim":
        return SimClock()
    if clock == "wall":
        return WallClock()
    if hasattr(clock, "now_ms"):
        return clock  # type: ignore[return-value]
    raise ValueError(f"clock must be 'sim', 'wall' or a Clock object, not {clock!r}")
