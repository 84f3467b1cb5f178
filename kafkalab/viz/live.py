"""Helpers shared by live views: a widget box that also renders as static HTML, and a
bounded live loop that never writes to an Output from a thread (DESIGN §4)."""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from ..timefmt import duration_text


class StaticFallback:
    """Mixin: display ``self.box`` as a widget, with ``self.static_html()`` beside it so
    papermill output and GitHub show the same picture without a frontend."""

    box = None

    def static_html(self) -> str:
        raise NotImplementedError

    def snapshot(self):
        """The view as it is now, frozen: a static picture for a cell that describes this moment
        (a live widget displayed twice shows its latest state in both places, DESIGN §4)."""
        from IPython.display import HTML

        return HTML(self.static_html())

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.box._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/html"] = self.static_html()
        return bundle


def joined_stretches(stretches: list[list[tuple[float, float]]]) -> tuple[list, list]:
    """x and y of one plotly trace drawn as separate stretches of (x, y) points: a ``None``
    point between two stretches breaks the line (plotly does not connect gaps), so a chart
    never draws a line across time the view did not watch."""
    xs: list = []
    ys: list = []
    for stretch in stretches:
        if xs:
            xs.append(None)
            ys.append(None)
        xs.extend(x for x, _ in stretch)
        ys.extend(y for _, y in stretch)
    return xs, ys


def start_loop(step: Callable[[], bool], interval_s: float) -> asyncio.Task | None:
    """Run ``step()`` every ``interval_s`` on the kernel's event loop until it returns False.

    Returns the task, or None when no loop is running (plain Python, papermill without a
    frontend): callers then step synchronously.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return None
        if not loop.is_running():
            return None

    async def run():
        while step():
            await asyncio.sleep(interval_s)

    return loop.create_task(run())


class SteppedView(StaticFallback):
    """Mixin for views that drive simulated time in steps: ``run()`` advances it with the
    view's ``_advance(ms)`` and redraws, optionally animating in real time (``animate``).

    Needs ``cluster``, ``step_ms``, ``sample_ms``, ``speed``, ``interval_s``, ``animate``,
    ``_advance``, ``refresh``, ``history``, ``_on_event`` and ``_sample``. ``breaks`` (indexes of
    ``history`` where a chart's line starts a new stretch) and ``_stepped_ms`` (where the view's
    own steps left the clock) are its own, set up with the recent events by
    :meth:`_watch_events` (or by a view that keeps its events elsewhere and overrides ``_note``).
    """

    def _watch_events(self, start_ms: int) -> None:
        """Start the view's bookkeeping at ``start_ms``: no chart breaks, the clock where the
        view's steps left it, an empty list of recent events, the first sample due, and the
        cluster's events delivered to ``_on_event``."""
        self.breaks: set[int] = set()
        self._stepped_ms = start_ms
        self._next_sample_ms = start_ms
        self.events: list[list] = []  # [time_ms, kind, text, count]
        self._unsubscribe = self.cluster.events.subscribe(self._on_event)
        self._task = None

    def _note(self, kind: str, text: str, time_ms: int | None = None) -> None:
        """Add an event to the recent events; one repeating the last only counts up."""
        if self.events and self.events[-1][1] == kind and self.events[-1][2] == text:
            self.events[-1][3] += 1
            return
        self.events.append([self.cluster.now_ms() if time_ms is None else time_ms, kind, text,
                            1])

    def _stretches(self, point: Callable[[tuple], tuple[float, float]]
                   ) -> list[list[tuple[float, float]]]:
        """The chart points ``point(row)`` of ``history``, as stretches: a new one starts at
        every index in ``breaks``, where the view did not watch the time in between."""
        out: list[list[tuple[float, float]]] = []
        for i, row in enumerate(self.history):
            if not out or i in self.breaks:
                out.append([])
            out[-1].append(point(row))
        return out

    def _catch_up(self) -> None:
        """If simulated time moved on without the view by more than one sample interval (another
        cell advanced the cluster), say so and start a new stretch of the chart's lines: nothing
        is drawn across time the view did not watch. A shorter move (the view's own action, such
        as a consumer committing as it closes) is simply taken in."""
        now = self.cluster.now_ms()
        moved_ms = now - self._stepped_ms
        self._stepped_ms = now
        if moved_ms <= self.sample_ms:
            return
        self._note("widget.gap", f"simulated time moved on by {duration_text(moved_ms)} outside "
                   "this view (other cells advanced the cluster): the chart has a gap there")
        self.breaks.add(len(self.history))
        self._sample()

    def run(self, ms: int = 0, *, seconds: float = 0, animate: bool | None = None) -> None:
        """Advance simulated time by ``ms`` + ``seconds`` in steps of ``step_ms``; then redraw.
        With ``animate`` it also redraws and pauses along the way."""
        total = int(ms + 1000 * seconds)
        animate = self.animate if animate is None else animate
        if not animate:
            self._advance(total)
        else:
            chunk = max(self.step_ms, int(self.speed * self.interval_s * 1000))
            end = self.cluster.now_ms() + total
            while self.cluster.now_ms() < end:
                self._advance(min(chunk, end - self.cluster.now_ms()))
                self.refresh()
                time.sleep(self.interval_s)
        self.refresh()
