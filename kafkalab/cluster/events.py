"""The explained event log (DESIGN §2.7): every state change and refusal, in plain words.

Each :class:`Event` has the simulated time, a machine-readable ``kind`` (``"topic.created"``,
``"segment.rolled"``, ``"produce.rejected"`` ...), a sentence for people and a dict of the facts
behind it. Widgets subscribe to it; notebooks show it as a table.

Invariant: events are appended in time order and never changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..timefmt import clock_text
from .snapshots import EventsSnapshot, render_html


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
    """An append-only list of events with filtering, a DataFrame and a snapshot for views."""

    def __init__(self, now_ms: Callable[[], int], origin_ms: int = 0):
        self._now_ms = now_ms
        self.origin_ms = origin_ms
        self._events: list[Event] = []
        self._listeners: list[Callable[[Event], None]] = []
        #: how listeners hear of an event: None calls them at once, in order (simulated time);
        #: a wall-clock driver sets ``dispatch(listeners, event)`` to run them on its callback
        #: thread, outside the cluster's lock
        self.dispatch: Callable[[list, Event], None] | None = None

    def emit(self, kind: str, text: str, **data: Any) -> Event:
        event = Event(self._now_ms(), kind, text, data, self.origin_ms)
        self._events.append(event)
        if self.dispatch is not None:
            self.dispatch(list(self._listeners), event)
            return event
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

    def snapshot(self, last: int = 20) -> EventsSnapshot:
        """The last ``last`` events as ``(clock, kind, text)``, for views."""
        return EventsSnapshot(len(self._events), tuple((e.clock, e.kind, e.text)
                                                       for e in self._events[-last:]))

    def _repr_html_(self, last: int = 20) -> str:
        return render_html(self.snapshot(last))

    def __repr__(self) -> str:
        return "\n".join(str(e) for e in self._events[-20:]) or "(no events)"
