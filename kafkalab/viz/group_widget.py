"""The consumer-group widget: start, stop and crash consumers of one group and watch it rebalance.

What it shows, for one topic and one ``group_id``:

* **members**: every consumer the widget started (running, closed or crashed), its partitions
  and how many records it has read;
* **generations**: which member owned which partitions in each generation of the group, as the
  coordinator handed them out when the generation became stable; partitions that changed owner
  are highlighted. With the cooperative protocol you see the two steps of a rebalance;
* **lag over time**: a live plotly chart of each partition's lag (and the total), taken from the
  group's lag table (``cluster.describe_consumer_group``: LOG-END-OFFSET - CURRENT-OFFSET, where
  CURRENT-OFFSET is the *committed* offset; a partition with no committed offset counts every
  record still stored, since the widget's consumers start at the earliest offset);
* **rebalance timeline**: the group's ``group.*`` events from ``cluster.events``, plus what each
  member's rebalance listener was told (partitions revoked and assigned), crashes and closes.

Controls: *Start consumer*, *Stop* (``close()``: commit and leave at once) and *Crash*
(``cluster.faults.crash_consumer``: no commit, no goodbye; the group notices after
``session_timeout_ms``) for the member picked in the list, a producer rate (records per second of
simulated time, written to the partitions in turn), and *Run*, which advances simulated time in
small steps on the kernel's event loop.

Each step polls every running consumer: as in Kafka, a consumer rejoins the group, runs its
rebalance listener and commits (auto-commit) only inside its own ``poll()``, so a group in one
kernel makes progress only when all its members are polled. ``consumer_rate`` caps how many
records each consumer processes per simulated second (None: as many as it is given), which is
what makes lag grow when consumers are too few.

Every button has a method (``start_consumer``, ``stop_consumer``, ``crash_consumer``,
``set_producer_rate``, ``run``), so code and headless runs (papermill, ``FAST``) drive the same
widget with a bounded synchronous ``run(seconds=...)``. Without a frontend it renders as static
HTML (tables and an SVG lag chart).
"""
from __future__ import annotations

import html
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import ipywidgets as widgets
import plotly.graph_objects as go
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from ..admin import KafkaAdminClient
from ..client.consumer import KafkaConsumer
from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from ..coordinator import assignors as _assignors
from ..timefmt import clock_text, duration_text
from .cluster_widget import whole_number_ticks
from .live import SteppedView, joined_stretches, start_loop

ASSIGNORS = {
    "range": _assignors.RangePartitionAssignor,
    "roundrobin": _assignors.RoundRobinPartitionAssignor,
    "sticky": _assignors.StickyPartitionAssignor,
    "cooperative-sticky": _assignors.CooperativeStickyAssignor,
}
RUN_TIP = "run simulated time on (the producer writes, the members poll) until pressed again"
PAUSE_TIP = "pause simulated time"
_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#eeca3b",
           "#9d755d", "#ff9da6", "#bab0ac"]
#: each partition's line has its own dash and the earlier ones are drawn wider, so lines that
#: coincide (partitions with equal lag) still show each colour instead of the last one drawn
_DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
_SVG_DASHES = {"solid": "", "dash": "6,4", "dot": "2,3", "dashdot": "6,3,2,3",
               "longdash": "12,4", "longdashdot": "12,3,2,3"}
_TABLE = "border-collapse:collapse;margin:4px 0 10px 0;font-size:12px"
_TD = "border:1px solid #ddd;padding:2px 6px;text-align:left"


@dataclass
class Member:
    """One consumer the widget started."""

    name: str
    consumer: KafkaConsumer
    status: str = "running"  # running | closed | crashed
    read: int = 0
    budget: float = 0.0  # records it may still process (consumer_rate)
    #: has its listener been handed an assignment since it (re)joined? False until the first
    #: one, and again while a rebalance has taken its partitions away
    assigned: bool = False
    joins: int = 0  # assignments handed to it so far


@dataclass(frozen=True)
class Generation:
    """A stable generation: who owned what (partition numbers of the widget's topic)."""

    generation: int
    time_ms: int
    protocol: str
    owners: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


class _TimelineListener(ConsumerRebalanceListener):
    """Writes what the member's listener is told into the widget's timeline."""

    def __init__(self, widget: "ConsumerGroupWidget", name: str):
        self.widget, self.name = widget, name

    def on_partitions_revoked(self, revoked):
        if revoked:
            member = self.widget.members.get(self.name)
            if member is not None and not (member.consumer.assignment() - set(revoked)):
                member.assigned = False  # it keeps nothing: it waits for its next assignment
            self.widget._note("listener", f"{self.name}: on_partitions_revoked "
                              f"{_partitions(revoked)}")

    def on_partitions_assigned(self, assigned):
        member = self.widget.members.get(self.name)
        if member is not None:
            member.assigned, member.joins = True, member.joins + 1
        self.widget._note("listener", f"{self.name}: on_partitions_assigned "
                          f"{_partitions(assigned)}{'' if assigned else ' (nothing new)'}")


def _partitions(tps) -> list[int]:
    return sorted(tp.partition for tp in tps)


def _fmt(parts) -> str:
    return ", ".join(map(str, parts)) if parts else "—"


class ConsumerGroupWidget(SteppedView):
    """A consumer group of ``topic`` you can grow, shrink and break, in simulated time.

    ``assignor`` is a name (``"range"``, ``"roundrobin"``, ``"sticky"``,
    ``"cooperative-sticky"``) or an assignor class. ``consumer_config`` adds or overrides
    KafkaConsumer settings of the members (default: ``auto_offset_reset="earliest"``,
    ``auto_commit_interval_ms=1000`` so the lag table follows closely). ``step_ms`` is the
    simulated time between two polls of every member; ``speed`` how many simulated seconds the
    *Run* button plays per real second; ``animate=True`` makes ``run()`` redraw and pause as it
    goes (for a live notebook; ``FAST`` runs leave it False).
    """

    def __init__(self, cluster: Cluster, topic: str, group_id: str, *,
                 assignor: Any = "range", consumer_rate: float | None = None,
                 producer_rate: int = 0, consumer_config: Mapping[str, Any] | None = None,
                 step_ms: int = 100, sample_ms: int = 1000, speed: float = 2.0,
                 interval_s: float = 0.1, animate: bool = False, title: str | None = None):
        self.cluster = cluster
        self.topic = topic
        self.group_id = group_id
        self.assignor = ASSIGNORS[assignor] if isinstance(assignor, str) else assignor
        self.consumer_rate = consumer_rate
        self.producer_rate = producer_rate
        self.consumer_config = {"auto_offset_reset": "earliest", "auto_commit_interval_ms": 1000,
                                **dict(consumer_config or {})}
        self.step_ms, self.sample_ms = int(step_ms), int(sample_ms)
        self.speed, self.interval_s, self.animate = speed, interval_s, animate
        self.title = title or f"consumer group {group_id} on topic {topic}"
        self.members: dict[str, Member] = {}
        self.generations: list[Generation] = []
        self.timeline: list[tuple[int, str, str]] = []  # (time_ms, kind, text)
        self.history: list[tuple[int, list[int]]] = []  # (time_ms, lag per partition)
        # indices of ``history`` that start a new stretch of the lag line: simulated time moved
        # on without the widget (other cells advanced the cluster), so nothing joins across
        self.breaks: set[int] = set()
        self.reads: dict[tuple[int, int], int] = {}  # (partition, offset) -> times read
        self.sent = 0
        self._names = itertools.count(1)
        self._produce_budget = 0.0
        self._next_sample_ms = cluster.now_ms()
        self.start_ms = cluster.now_ms()
        self._stepped_ms = self.start_ms  # where the widget's own steps left the clock
        self._partitions = len(cluster.topic(topic).partitions)
        self._admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
        self._producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                                       value_serializer=lambda v: json.dumps(v).encode("utf-8"))
        self._unsubscribe = None
        self._listen()
        self._task = None
        self._loop_id = 0  # the live loop that may run; an older one stops at its next step
        self._build_controls()
        self._sample()
        self.refresh()

    # --- controls ------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.out = widgets.Output()
        button = dict(layout=widgets.Layout(width="auto"))
        self.start_button = widgets.Button(description="Start consumer", icon="plus",
                                           button_style="success", **button,
                                           tooltip="start one more consumer in the group: it "
                                                   "joins and gets partitions at a rebalance")
        self.pick = widgets.Dropdown(options=[], description="member",
                                     layout=widgets.Layout(width="220px"))
        self.stop_button = widgets.Button(description="Stop (close)", icon="stop", **button,
                                          tooltip="close the chosen member: it leaves the "
                                                  "group at once (LeaveGroup)")
        self.crash_button = widgets.Button(description="Crash", icon="bolt",
                                           button_style="danger", **button,
                                           tooltip="crash the chosen member: the group notices "
                                                   "only when its session times out")
        self.rate = widgets.IntSlider(value=self.producer_rate, min=0, step=5,
                                      max=max(200, 2 * self.producer_rate),
                                      description="producer /s",
                                      style={"description_width": "initial"})
        self.run_toggle = widgets.ToggleButton(value=False, description="Run", icon="play",
                                               tooltip=RUN_TIP)
        self.step_button = widgets.Button(description="+1 s", icon="forward", **button,
                                          tooltip="move simulated time 1 s on: the producer "
                                                  "writes, the members poll")
        self.clock = widgets.HTML()
        self.status = widgets.HTML()  # what the last click did, or why it could not
        self.members_view = widgets.HTML()
        self.timeline_view = widgets.HTML()
        self.chart = go.FigureWidget(layout=go.Layout(
            height=260, margin=dict(l=50, r=10, t=30, b=40), title="lag per partition",
            xaxis_title="simulated seconds", yaxis_title="lag (records)",
            legend=dict(orientation="h", y=-0.25)))
        for p in range(self._partitions):
            self.chart.add_scatter(name=f"partition {p}", mode="lines",
                                   line=dict(color=_COLORS[p % len(_COLORS)],
                                             dash=_DASHES[p % len(_DASHES)],
                                             width=self._line_width(p)))
        self.chart.add_scatter(name="total", mode="lines", line=dict(color="#222", width=3))

        capture = self.out.capture(clear_output=True)
        self.start_button.on_click(capture(lambda _: self._click(self.start_consumer)))
        self.stop_button.on_click(capture(lambda _: self._click(self.stop_consumer,
                                                                self.pick.value)))
        self.crash_button.on_click(capture(lambda _: self._click(self.crash_consumer,
                                                                 self.pick.value)))
        self.step_button.on_click(capture(lambda _: self.run(ms=1000, animate=False)))
        self.rate.observe(lambda change: self.set_producer_rate(change["new"]), names="value")
        self.run_toggle.observe(self._on_toggle, names="value")
        self.box = widgets.VBox([
            widgets.HTML(f"<b>{html.escape(self.title)}</b>"),
            widgets.HBox([self.start_button, self.pick, self.stop_button, self.crash_button]),
            widgets.HBox([self.rate, self.run_toggle, self.step_button, self.clock]),
            self.status, self.out, self.members_view, self.chart, self.timeline_view])
        self._update_pick()  # Stop and Crash stay disabled until a consumer runs

    def _click(self, action, *args) -> None:
        """What a button does, with a short line in the status line instead of a traceback
        when it cannot (e.g. *Crash* with no consumer running)."""
        try:
            action(*args)
        except ValueError as error:
            self.status.value = f"<span style='color:#c33'>⚠ {html.escape(str(error))}</span>"
        else:  # the sentence the action wrote into the timeline
            said = next((text for _, kind, text in reversed(self.timeline) if kind == "widget"),
                        "")
            self.status.value = f"<span style='color:#555'>{html.escape(said)}</span>"
        self.refresh()

    @staticmethod
    def _line_width(p: int) -> float:
        """Earlier partitions are drawn wider: a line on top of another leaves its edges."""
        return 2 + 1.5 * max(0, 2 - p)

    def _on_toggle(self, change) -> None:
        if change["new"]:
            self.run_toggle.description, self.run_toggle.icon = "Pause", "pause"
            self.run_toggle.tooltip = PAUSE_TIP
            self._loop_id += 1
            loop_id = self._loop_id
            self._task = start_loop(lambda: self._live_step(loop_id), self.interval_s)
            if self._task is None:  # no event loop (plain Python): nothing can run live
                self.run_toggle.value = False
        else:
            self.run_toggle.description, self.run_toggle.icon = "Run", "play"
            self.run_toggle.tooltip = RUN_TIP

    def _live_step(self, loop_id: int) -> bool:
        if not self.run_toggle.value or loop_id != self._loop_id:
            return False
        try:
            self._advance(int(self.speed * self.interval_s * 1000))
            self.refresh()
        except Exception as error:  # show it (no `with out:` in a task) and stop the loop
            self.out.append_stderr(f"{type(error).__name__}: {error}\n")
            self.run_toggle.value = False
            return False
        return True

    # --- actions (what the buttons do) ---------------------------------------------------------
    def start_consumer(self, name: str | None = None, **config: Any) -> str:
        """Start a consumer in the group (it joins at its first poll); returns its name."""
        name = name or f"consumer-{next(self._names)}"
        if name in self.members:
            raise ValueError(f"there is already a member called {name!r}")
        self._listen()  # after close(): the group's events count again
        settings = {**self.consumer_config, **config}
        consumer = KafkaConsumer(bootstrap_servers=self.cluster.bootstrap_servers,
                                 group_id=self.group_id, client_id=name,
                                 partition_assignment_strategy=[self.assignor], **settings)
        consumer.subscribe([self.topic], listener=_TimelineListener(self, name))
        self.members[name] = Member(name, consumer)
        self._note("widget", f"{name} started; it joins the group at its first poll()")
        self._update_pick()
        return name

    def _running(self, name: str | None) -> Member:
        running = [m for m in self.members.values() if m.status == "running"]
        if not running:
            raise ValueError("no consumer is running: start one first")
        if name is None:
            return running[-1]
        member = self.members.get(name)
        if member is None or member.status != "running":
            raise ValueError(f"{name!r} is not a running consumer; running: "
                             f"{[m.name for m in running]}")
        return member

    def stop_consumer(self, name: str | None = None) -> str:
        """``close()`` a consumer (default: the newest running one): it commits and leaves."""
        member = self._running(name)
        self._note("widget", f"{member.name} closes: it commits its positions and leaves the "
                   "group, which rebalances at once")
        member.consumer.close()
        member.status = "closed"
        self._update_pick()
        return member.name

    def crash_consumer(self, name: str | None = None) -> str:
        """Crash a consumer (default: the newest running one): no commit, no LeaveGroup."""
        member = self._running(name)
        timeout = member.consumer.config["session_timeout_ms"]
        self._note("widget", f"{member.name} crashes: its partitions wait until the group "
                   f"misses its heartbeats for session_timeout_ms={timeout} "
                   f"({duration_text(timeout)})")
        self.cluster.faults.crash_consumer(member.consumer)
        member.status = "crashed"
        self._update_pick()
        return member.name

    def set_producer_rate(self, records_per_s: int) -> None:
        """Produce this many records per simulated second (0 stops the producer)."""
        self.producer_rate = int(records_per_s)
        if self.rate.value != self.producer_rate:
            self.rate.value = self.producer_rate


    # --- the step loop -------------------------------------------------------------------------
    def _advance(self, total_ms: int) -> None:
        end = self.cluster.now_ms() + total_ms
        while self.cluster.now_ms() < end:
            self.step(min(self.step_ms, end - self.cluster.now_ms()))

    def step(self, ms: int | None = None) -> None:
        """One step: produce, poll every running consumer once, advance time by ``ms``."""
        ms = self.step_ms if ms is None else ms
        self._catch_up()
        self._produce(ms)
        for member in list(self.members.values()):
            if member.status == "running":
                self._poll(member, ms)
        self.cluster.advance(ms=ms)
        self._stepped_ms = self.cluster.now_ms()
        if self.cluster.now_ms() >= self._next_sample_ms:
            self._sample()

    def _produce(self, ms: int) -> None:
        self._produce_budget += self.producer_rate * ms / 1000
        while self._produce_budget >= 1:
            self._produce_budget -= 1
            self._producer.send(self.topic, value={"n": self.sent},
                                partition=self.sent % self._partitions)
            self.sent += 1

    def _poll(self, member: Member, ms: int) -> None:
        if self.consumer_rate is None:
            batch = member.consumer.poll(timeout_ms=0)
        else:
            member.budget = min(member.budget + self.consumer_rate * ms / 1000,
                                max(self.consumer_rate, 1))
            if member.budget >= 1:
                batch = member.consumer.poll(timeout_ms=0, max_records=int(member.budget))
            else:  # no capacity this step: keep the membership alive without reading
                paused = member.consumer.assignment()
                member.consumer.pause(*paused)
                batch = member.consumer.poll(timeout_ms=0)
                member.consumer.resume(*(paused & member.consumer.assignment()))
        for tp, records in batch.items():
            if tp.topic != self.topic:
                continue
            for record in records:
                key = (record.partition, record.offset)
                self.reads[key] = self.reads.get(key, 0) + 1
            member.read += len(records)
            member.budget -= len(records)

    def _sample(self) -> None:
        self.history.append((self.cluster.now_ms(), self.lag_by_partition()))
        self._next_sample_ms = self.cluster.now_ms() + self.sample_ms

    # --- reading the engine --------------------------------------------------------------------
    def lag_table(self):
        """The group's ``kafka-consumer-groups --describe`` table for the widget's topic."""
        table = self.cluster.describe_consumer_group(self.group_id)
        return table[table["TOPIC"] == self.topic].reset_index(drop=True)

    def lag_by_partition(self) -> list[int]:
        """Lag of each partition from the lag table; with no committed offset, every record
        still stored (the members start at the earliest offset)."""
        table = self.lag_table()
        lags = dict(zip(table["PARTITION"], table["LAG"]))
        out = []
        for p in range(self._partitions):
            lag = lags.get(p, "-")
            if lag == "-":
                log = self.cluster.partition(self.topic, p)
                lag = log.high_watermark - log.log_start_offset
            out.append(int(lag))
        return out

    def assignment(self) -> dict[str, list[int]]:
        """Each running member's partitions, as the consumer itself sees them right now."""
        return {m.name: _partitions(m.consumer.assignment())
                for m in self.members.values() if m.status == "running"}

    @property
    def read_twice(self) -> int:
        """How many records were read more than once (after a crash or a lost commit)."""
        return sum(1 for n in self.reads.values() if n > 1)

    def generations_frame(self):
        """One row per stable generation, one column per member: its partitions."""
        import pandas as pd

        names = list(dict.fromkeys(n for g in self.generations for n in g.owners))
        rows = [{"generation": g.generation, "time_s": (g.time_ms - self.start_ms) / 1000,
                 "assignor": g.protocol, **{n: list(g.owners[n]) if n in g.owners else None
                                            for n in names}}
                for g in self.generations]
        return pd.DataFrame(rows, columns=["generation", "time_s", "assignor", *names])

    def timeline_frame(self):
        import pandas as pd

        return pd.DataFrame([{"time_s": (t - self.start_ms) / 1000, "kind": kind, "what": text}
                             for t, kind, text in self.timeline],
                            columns=["time_s", "kind", "what"])

    def _on_event(self, event) -> None:
        if event.data.get("group") != self.group_id:
            return
        if event.kind.startswith(("group.", "fault.", "consumer.")):
            self._note(event.kind, event.text, event.time_ms)
        if event.kind == "group.stable":
            self._snapshot_generation(event)

    def _snapshot_generation(self, event) -> None:
        described = self._admin.describe_groups([self.group_id])[self.group_id]
        owners = {}
        for m in described["members"]:
            parts = []
            assignment = m["member_assignment"]
            for item in (assignment.assigned_partitions if assignment else ()):
                if item.topic == self.topic:
                    parts.extend(item.partitions)
            owners[m["client_id"]] = tuple(sorted(parts))
        self.generations.append(Generation(event.data.get("generation", -1), event.time_ms,
                                           described["protocol_data"], owners))

    def _note(self, kind: str, text: str, time_ms: int | None = None) -> None:
        self.timeline.append((self.cluster.now_ms() if time_ms is None else time_ms, kind, text))

    def close(self) -> None:
        """Stop the live loop, close every running consumer and stop listening to events
        (until a consumer is started again)."""
        self.run_toggle.value = False
        for member in self.members.values():
            if member.status == "running":
                member.consumer.close()
                member.status = "closed"
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._update_pick()
        self.refresh()  # show the members as closed at once

    def _listen(self) -> None:
        """Follow the cluster's events (again, after :meth:`close`), so the generations and the
        timeline go on when new consumers start."""
        if self._unsubscribe is None:
            self._unsubscribe = self.cluster.events.subscribe(self._on_event)

    # --- drawing -------------------------------------------------------------------------------
    def _update_pick(self) -> None:
        running = [m.name for m in self.members.values() if m.status == "running"]
        self.pick.options = running
        self.pick.value = running[-1] if running else None
        for button in (self.stop_button, self.crash_button):
            button.disabled = not running
        self.pick.disabled = not running

    def refresh(self) -> None:
        """Redraw every view from a fresh engine snapshot."""
        with self.cluster.lock:
            self.clock.value = f"&nbsp; {self._clock_text()} simulated"
            self.members_view.value = (self._members_html(title=False)
                                       + self._generations_html())
            self.timeline_view.value = self._timeline_html()
            with self.chart.batch_update():
                for p in range(self._partitions):
                    self.chart.data[p].x, self.chart.data[p].y = joined_stretches(self.segments(
                        lambda lags, p=p: lags[p]))
                self.chart.data[-1].x, self.chart.data[-1].y = joined_stretches(self.segments(sum))
                self.chart.layout.shapes = [
                    dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                         line=dict(color="#999", dash="dot", width=1))
                    for x in ((g.time_ms - self.start_ms) / 1000 for g in self.generations)]

    def _clock_text(self) -> str:
        """The widget's clock as a learner reads it: ``t = 0 d 00:02:55`` since it started."""
        return clock_text(self.cluster.now_ms() - self.start_ms)

    def segments(self, value=sum) -> list[list[tuple[float, int]]]:
        """The lag line as stretches of (simulated seconds, ``value(lags)``) points; a new
        stretch starts where the widget did not watch the time in between (:attr:`breaks`)."""
        return self._stretches(lambda row: ((row[0] - self.start_ms) / 1000, value(row[1])))

    def _members_html(self, title: bool = True) -> str:
        lags = self.history[-1][1] if self.history else [0] * self._partitions
        rows = []
        for m in self.members.values():
            parts = _partitions(m.consumer.assignment()) if m.status == "running" else []
            color = {"running": "#2a7", "closed": "#888", "crashed": "#c33"}[m.status]
            note = ""
            if m.status == "running" and not parts:
                note = ("idle: no partition left for it" if m.assigned
                        else "joining: waits for its first assignment" if not m.joins
                        else "rebalancing: waits for its new assignment")
            rows.append(f"<tr class='kafkalab-member' data-member='{html.escape(m.name)}' "
                        f"data-status='{m.status}' data-partitions='{','.join(map(str, parts))}'>"
                        f"<td style='{_TD}'><b>{html.escape(m.name)}</b></td>"
                        f"<td style='{_TD};color:{color}'>{m.status}</td>"
                        f"<td style='{_TD}'>{_fmt(parts)}</td><td style='{_TD}'>{m.read}</td>"
                        f"<td style='{_TD};color:#888'>{note}</td></tr>")
        if not rows:
            rows.append(f"<tr><td style='{_TD}' colspan=5>no consumer yet: start one</td></tr>")
        lag_cells = "".join(f"<td style='{_TD}'>p{p}: <b>{lag}</b></td>"
                            for p, lag in enumerate(lags))
        seconds = (self.cluster.now_ms() - self.start_ms) / 1000
        heading = (f"<b>{html.escape(self.title)}</b> · {self._clock_text()} simulated · "
                   if title else "")
        rate = "∞" if self.consumer_rate is None else self.consumer_rate
        generation = self.generations[-1].generation if self.generations else 0
        return (f"<div class='kafkalab-group' data-generation='{generation}' "
                f"data-seconds='{seconds:.1f}'>{heading}"
                f"assignor {html.escape(self.assignor.name)} · "
                f"producer {self.producer_rate}/s · each consumer {rate}/s · sent {self.sent} · "
                f"read twice {self.read_twice}"
                f"<table style='{_TABLE}'><tr><th style='{_TD}'>member</th>"
                f"<th style='{_TD}'>status</th><th style='{_TD}'>partitions</th>"
                f"<th style='{_TD}'>records read</th><th style='{_TD}'>note</th></tr>"
                f"{''.join(rows)}"
                f"</table>lag now (LOG-END-OFFSET − committed offset): <table style='{_TABLE}'>"
                f"<tr>{lag_cells}<td style='{_TD}'>total: <b>{sum(lags)}</b></td></tr></table>"
                f"</div>")

    def _generations_html(self, last: int = 8) -> str:
        if not self.generations:
            return "<p>generations: none yet (the first rebalance waits " \
                   "group.initial.rebalance.delay.ms = 3 s)</p>"
        shown = self.generations[-last:]
        names = list(dict.fromkeys(n for g in shown for n in g.owners))
        head = "".join(f"<th style='{_TD}'>{html.escape(n)}</th>" for n in names)
        rows = []
        for g in shown:
            before = next((p for p in reversed(self.generations)
                           if p.generation < g.generation), None)
            old_owner = {part: n for n, parts in (before.owners if before else {}).items()
                         for part in parts}
            cells = []
            for n in names:
                if n not in g.owners:
                    cells.append(f"<td style='{_TD};color:#bbb'>not a member</td>")
                    continue
                parts = [f"<b style='color:#c60'>{p}</b>" if before and old_owner.get(p) != n
                         else str(p) for p in g.owners[n]]
                cells.append(f"<td style='{_TD}'>{', '.join(parts) or '— (none)'}</td>")
            rows.append(f"<tr><td style='{_TD}'>{g.generation}</td>"
                        f"<td style='{_TD}'>{(g.time_ms - self.start_ms) / 1000:.1f}</td>"
                        f"{''.join(cells)}</tr>")
        more = len(self.generations) - len(shown)
        return (f"generations (member → partitions; <b style='color:#c60'>orange</b>: new owner "
                f"since the previous generation){f' · {more} earlier not shown' if more else ''}"
                f"<table style='{_TABLE}'><tr><th style='{_TD}'>generation</th>"
                f"<th style='{_TD}'>t (s)</th>{head}</tr>{''.join(rows)}</table>")

    def _timeline_html(self, last: int = 14) -> str:
        shown = self.timeline[-last:]
        rows = "".join(
            f"<tr><td style='{_TD}'>{(t - self.start_ms) / 1000:.1f}</td>"
            f"<td style='{_TD}'><code>{html.escape(kind)}</code></td>"
            f"<td style='{_TD}'>{html.escape(text)}</td></tr>" for t, kind, text in shown)
        more = len(self.timeline) - len(shown)
        return (f"rebalance timeline{f' (last {last} of {len(self.timeline)})' if more else ''}"
                f"<table style='{_TABLE}'><tr><th style='{_TD}'>t (s)</th>"
                f"<th style='{_TD}'>kind</th><th style='{_TD}'>what happened</th></tr>{rows}"
                f"</table>")

    def _lag_svg(self, width: int = 560, height: int = 200) -> str:
        """The lag chart as inline SVG, for the static picture: lag in records against
        simulated seconds, titled axes with a few whole-number ticks."""
        if len(self.history) < 2:
            return ""
        xs = [(t - self.start_ms) / 1000 for t, _ in self.history]
        series = [self.segments(lambda lags, p=p: lags[p]) for p in range(self._partitions)]
        series.append(self.segments(sum))
        highest = max(y for stretches in series for stretch in stretches for _, y in stretch)
        y_ticks = whole_number_ticks(highest, most=4)
        top = y_ticks[-1]
        left, bottom, right, upper = 62, height - 36, width - 8, 10
        x0, x1 = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1
        x_ticks = [t for t in whole_number_ticks(x1, most=6) if x0 <= t <= x1] or [round(x0)]

        def px(x):
            return left + (x - x0) / (x1 - x0) * (right - left)

        def py(y):
            return bottom - y / top * (bottom - upper)

        def point(x, y):
            return f"{px(x):.1f},{py(y):.1f}"

        out = [f"<line x1='{left}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='#999'/>",
               f"<line x1='{left}' y1='{upper}' x2='{left}' y2='{bottom}' stroke='#999'/>"]
        for y in y_ticks:
            out.append(f"<line x1='{left - 3}' y1='{py(y):.1f}' x2='{right}' y2='{py(y):.1f}' "
                       f"stroke='#eee'/><text class='kafkalab-y-tick' x='{left - 5}' "
                       f"y='{py(y) + 3:.1f}' font-size='10' text-anchor='end'>{y}</text>")
        for x in x_ticks:
            out.append(f"<line x1='{px(x):.1f}' y1='{bottom}' x2='{px(x):.1f}' "
                       f"y2='{bottom + 3}' stroke='#999'/><text class='kafkalab-x-tick' "
                       f"x='{px(x):.1f}' y='{bottom + 14}' font-size='10' "
                       f"text-anchor='middle'>{x}</text>")
        out.append(f"<text class='kafkalab-x-title' x='{(left + right) / 2:.0f}' "
                   f"y='{height - 4}' font-size='11' text-anchor='middle'>simulated seconds"
                   f"</text><text class='kafkalab-y-title' x='12' y='{(upper + bottom) / 2:.0f}' "
                   f"font-size='11' text-anchor='middle' transform='rotate(-90 12 "
                   f"{(upper + bottom) / 2:.0f})'>lag (records)</text>")
        for g in self.generations:
            x = (g.time_ms - self.start_ms) / 1000
            if x0 <= x <= x1:
                out.append(f"<line x1='{px(x):.1f}' y1='{upper}' x2='{px(x):.1f}' "
                           f"y2='{bottom}' stroke='#bbb' stroke-dasharray='3,3'/>")
        for i, stretches in enumerate(series):
            total = i == len(series) - 1
            color = "#222" if total else _COLORS[i % len(_COLORS)]
            dash = "" if total else _SVG_DASHES[_DASHES[i % len(_DASHES)]]
            dash = f" stroke-dasharray='{dash}'" if dash else ""
            stroke = 2.5 if total else self._line_width(i)
            for stretch in stretches:  # no line across a gap the widget did not watch
                points = " ".join(point(x, y) for x, y in stretch)
                out.append(f"<polyline class='kafkalab-lag-line' fill='none' stroke='{color}' "
                           f"stroke-width='{stroke}'{dash} points='{points}'/>")
        legend = " ".join(
            f"<svg width='26' height='8'><line x1='0' y1='4' x2='26' y2='4' "
            f"stroke='{_COLORS[p % len(_COLORS)]}' stroke-width='{self._line_width(p)}'"
            + (f" stroke-dasharray='{_SVG_DASHES[_DASHES[p % len(_DASHES)]]}'"
               if _SVG_DASHES[_DASHES[p % len(_DASHES)]] else "")
            + f"/></svg> partition {p}" for p in range(self._partitions))
        return (f"<div>lag per partition over simulated time (dotted grey: a new generation; "
                f"lines of equal lag overlap, each partition with its own dash and width)<br>"
                f"<svg class='kafkalab-lag-chart' width='{width}' height='{height}' "
                f"font-family='sans-serif'>{''.join(out)}</svg><br><small>{legend} "
                f"<b>━ total</b></small></div>")

    def static_html(self) -> str:
        with self.cluster.lock:
            return (self._members_html() + self._generations_html() + self._lag_svg()
                    + self._timeline_html())
