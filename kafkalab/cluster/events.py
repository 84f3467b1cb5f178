"""The explained event log (DESIGN §2.7): every state change and refusal, in plain words.

Each :class:`Event` has the simulated time, a machine-readable ``kind`` (``"topic.created"``,
``"segment.rolled"``, ``"produce.rejected"`` ...), a sentence for people and a dict of the facts
behind it. Widgets subscribe to it; notebooks show it as a table.

Invariant: events are appended in time order and never changed.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..timefmt import clock_text


@dataclass(frozen=True)
class Event:
    time_ms: int
    kind: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    #: the cluster's start, so the event reads as ``t = ...`` since then
    origin_ms: int = field(default=0, repr=False, compare=False)

    @property
    def clock(self) -> str:
        """When it happened, as the learner reads it (``t = 2 d 00:00:08``)."""
        return clock_text(self.time_ms - self.origin_ms)

    def __str__(self) -> str:
        return f"[{self.clock}] {self.kind}: {self.text}"


class EventLog:
    """An append-only list of events with filtering and a DataFrame/HTML view."""

    def __init__(self, now_ms: Callable[[], int], origin_ms: int = 0):
        self._now_ms = now_ms
        self.origin_ms = origin_ms
        self._events: list[Event] = []
        self._listeners: list[Callable[[Event], None]] = []

    def emit(self, kind: str, text: str, **data: Any) -> Event:
        event = Event(self._now_ms(), kind, text, data, self.origin_ms)
        self._events.append(event)
        for listener in list(self._listeners):
            listener(event)
        return event

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener(event)`` for each new event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index):
        return self._events[index]

    def of_kind(self, prefix: str) -> list[Event]:
        """Events whose kind is ``prefix`` or starts with ``prefix + '.'``."""
        return [e for e in self._events if e.kind == prefix or e.kind.startswith(prefix + ".")]

    def since(self, time_ms: int) -> list[Event]:
        return [e for e in self._events if e.time_ms >= time_ms]

    def to_frame(self, last: int | None = None):
        import pandas as pd

        events = self._events if last is None else self._events[-last:]
        return pd.DataFrame([{"time": e.clock, "time_ms": e.time_ms, "kind": e.kind,
                              "text": e.text} for e in events],
                            columns=["time", "time_ms", "kind", "text"])

    def _repr_html_(self, last: int = 20) -> str:
        rows = "".join(
            f"<tr><td>{e.clock}</td><td><code>{html.escape(e.kind)}</code></td>"
            f"<td style='text-align:left'>{html.escape(e.text)}</td></tr>"
            for e in self._events[-last:])
        more = len(self._events) - min(last, len(self._events))
        note = f"<p>… and {more} earlier events</p>" if more else ""
        return (f"<b>cluster events</b> ({len(self._events)}){note}<table><tr><th>time</th>"
                f"<th>kind</th><th>what happened</th></tr>{rows}</table>")

    def __repr__(self) -> str:
        return "\n".join(str(e) for e in self._events[-20:]) or "(no events)"
