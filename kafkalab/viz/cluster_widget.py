"""The cluster widget: break brokers while a producer writes, and see what replication keeps.

What it shows, for one topic of a multi-broker cluster:

* **the replica grid**: one column per broker, one row per partition. Each cell is that broker's
  replica of the partition, drawn by its role: **leader** (green), **in-sync follower** (blue: in
  the ISR), **out-of-sync follower** (orange: alive but not in the ISR), **offline** (grey: its
  broker is down or fenced), or an empty cell where the broker holds no replica. Each cell has
  two bars, scaled to the longest replica of its row: the replica's **log end offset** (LEO, how
  far its log goes) and its **high watermark** (HW, how far it knows records are committed). A
  column header says whether its broker is up, down, fenced (the controller has given up on it)
  or isolated from the other brokers.
* **acknowledged vs lost over time**: a live plotly chart. The widget's producer numbers its
  records (0, 1, 2, ...) and writes them to the partitions in turn with the *acks* you choose.
  *Acknowledged* counts the records the producer was told are written. *Lost* counts the
  acknowledged records that are gone from the current leader's log: neither committed (below its
  HW) nor still waiting to be replicated (between its HW and LEO). While a partition has no
  leader its records count as neither (nobody can tell yet). *Failed* counts the sends the
  producer gave up on with an error: the producer knows about those, unlike lost ones.
* **recent events**: the cluster's explained events about brokers, leaders, ISRs, truncations and
  refused writes (a repeated event is shown once, with a count).

Controls: *Kill* (crash), *Restart* and *Isolate* (cut it off from the other brokers and the
controller; clients can still reach it) for each broker, *Heal network*, the producer's *acks*
(0, 1, all) and rate, *Run* (simulated time moves in small steps on the kernel's event loop) and
*+1 s* / *+10 s*.

Every control has a method (``kill``, ``restart``, ``isolate``, ``heal``, ``set_acks``, ``run``),
so notebooks and headless runs (papermill, ``FAST``) drive the same widget with a bounded
synchronous ``run(ms=...)``. Without a frontend it renders as static HTML: the grid, an SVG chart
and the events.
"""
from __future__ import annotations

import html
from typing import Any, Mapping

import ipywidgets as widgets
import plotly.graph_objects as go

from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from ..timefmt import clock_text
from .html import CELL_STYLE, TABLE_STYLE, recent_events_html
from .live import SteppedView, joined_stretches, start_loop

#: role -> (fill colour, text colour, label)
ROLES = {
    "leader": ("#2e9e4f", "#fff", "leader"),
    "in-sync": ("#4c78a8", "#fff", "in-sync follower"),
    "out-of-sync": ("#f5a623", "#222", "out-of-sync follower"),
    "offline": ("#b8b8b8", "#333", "offline"),
}
SERIES = (("acknowledged", "#2e9e4f"), ("lost", "#d62728"), ("failed", "#888888"))
EVENT_KINDS = ("broker.", "partition.", "isr.", "replica.", "controller.", "network.",
               "produce.rejected", "topic.config_changed", "widget.")
ACKS_OPTIONS = [("0", 0), ("1", 1), ("all", "all")]
RUN_TIP = "run simulated time on, the producer writing, until pressed again"
PAUSE_TIP = "pause simulated time"
PRODUCER_DEFAULTS = {"linger_ms": 0, "request_timeout_ms": 10_000,
                     "delivery_timeout_ms": 30_000}
#: fault labels above the chart: the rows they may take, the longest label (faults at one
#: moment merge into one label, ``kill 1, 2, 3 +2 more`` past this), and the width of a
#: character and the gap between two labels, in pixels (live chart: 10 px font; static
#: picture: 9 px). A label with no room left in any row is left out; its dotted line stays, and
#: the events table lists every fault.
LABEL_ROWS = 3
LABEL_CHARS = 24
CHAR_PX = 6.0
SVG_CHAR_PX = 5.4
LABEL_GAP_PX = 8
#: the live chart's width and side margins (fixed, so label widths can be known in advance)
CHART_WIDTH = 640
CHART_MARGIN = dict(l=60, r=10)


def whole_number_ticks(top: float, most: int = 6) -> list[int]:
    """Distinct whole-number ticks from 0 covering ``top`` (a count), at most ``most`` + 1 of
    them, spaced 1, 2 or 5 times a power of ten.

    >>> whole_number_ticks(1)
    [0, 1]
    >>> whole_number_ticks(7)
    [0, 2, 4, 6, 8]
    >>> whole_number_ticks(3460)
    [0, 1000, 2000, 3000, 4000]
    """
    top = max(1, int(-(-top // 1)))
    power = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * power
            if -(-top // step) <= most:
                return list(range(0, step * -(-top // step) + 1, step))
        power *= 10


def label_layout(xs: list[float], widths: list[float], lo: float, hi: float, gap: float = 0,
                 rows: int = LABEL_ROWS) -> list[tuple[int | None, str]]:
    """Place labels centred at ``xs`` (in order) with ``widths`` (same units), kept within
    ``[lo, hi]``: for each a row (0 = nearest the chart; None where no row has room, so the
    label is left out) and its anchor (``center``, or ``left``/``right`` at the chart's edges).
    Labels in one row are at least ``gap`` apart: they never overlap."""
    ends: list[float | None] = [None] * rows
    out: list[tuple[int | None, str]] = []
    for x, width in zip(xs, widths):
        start, anchor = x - width / 2, "center"
        if start < lo:
            start, anchor = x, "left"
        elif x + width / 2 > hi:
            start, anchor = x - width, "right"
        row = next((r for r in range(rows) if ends[r] is None or start - ends[r] >= gap), None)
        if row is not None:
            ends[row] = start + width
        out.append((row, anchor))
    return out


class ClusterWidget(SteppedView):
    """Brokers, replicas and a running producer of one topic, with fault buttons.

    ``acks`` is the producer's starting acks (0, 1 or ``"all"``); ``rate`` records per simulated
    second, written to the partitions in turn; ``step_ms`` the simulated time of one step (its
    records go out spread over it); ``sample_ms`` how often the chart takes a point;
    ``producer_config`` adds KafkaProducer settings (default: ``linger_ms=0``,
    ``request_timeout_ms=10000``, ``delivery_timeout_ms=30000``, so a send that cannot succeed
    fails within 30 s). ``speed`` is how many simulated seconds *Run* plays per real second;
    ``animate=True`` makes ``run()`` redraw and pause as it goes (live notebooks; ``FAST`` runs
    leave it False).
    """

    def __init__(self, cluster: Cluster, topic: str, *, acks: Any = "all", rate: int = 50,
                 step_ms: int = 100, sample_ms: int = 500,
                 producer_config: Mapping[str, Any] | None = None, speed: float = 5.0,
                 interval_s: float = 0.1, animate: bool = False, title: str | None = None):
        self.cluster = cluster
        self.topic = topic
        self.rate = int(rate)
        self.step_ms, self.sample_ms = int(step_ms), int(sample_ms)
        self.speed, self.interval_s, self.animate = speed, interval_s, animate
        self.title = title or f"topic {topic} on a {len(cluster.brokers)}-broker cluster"
        self.producer_config = {**PRODUCER_DEFAULTS, **dict(producer_config or {})}
        self._partitions = len(cluster.topic(topic).partitions)
        self.start_ms = cluster.now_ms()
        self.acks = _acks_value(acks)
        self._producers: dict[Any, KafkaProducer] = {}
        self.sent = 0
        self.acked: list[dict[int, int]] = [{} for _ in range(self._partitions)]  # value -> ms
        self.acked_with: dict[int, Any] = {}  # value -> the acks it was sent with
        self.sent_ms: dict[int, int] = {}  # value -> when it was sent
        self.max_wait_ms = 0  # the slowest acknowledgement so far
        self.failed: list[tuple[int, int, str]] = []  # (time_ms, value, error)
        self._lost: list[set[int]] = [set() for _ in range(self._partitions)]
        self._at_risk = [0] * self._partitions
        # partition -> ((leader, epoch, log start), offset scanned up to, {value: offset})
        self._scan: dict[int, tuple] = {}
        self._budget = 0.0
        self.history: list[tuple[int, int, int, int]] = []  # (time_ms, acked, lost, failed)
        self.faults: list[tuple[int, str]] = []  # (time_ms, label) for the chart
        self._watch_events(self.start_ms)
        self._build_controls()
        self._sample()
        self.refresh()

    # --- controls ------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.out = widgets.Output()
        capture = self.out.capture(clear_output=True)
        small = widgets.Layout(width="auto")
        columns = []
        for b in sorted(self.cluster.brokers):
            kill = widgets.Button(description="Kill", icon="bolt", button_style="danger",
                                  layout=small, tooltip=f"crash broker {b}")
            restart = widgets.Button(description="Restart", icon="redo", layout=small,
                                     tooltip=f"start broker {b} again")
            isolate = widgets.Button(description="Isolate", icon="unlink", layout=small,
                                     tooltip=f"cut broker {b} off from the other brokers and "
                                             "the controller")
            kill.on_click(capture(lambda _, b=b: self.kill(b)))
            restart.on_click(capture(lambda _, b=b: self.restart(b)))
            isolate.on_click(capture(lambda _, b=b: self.isolate(b)))
            columns.append(widgets.VBox([widgets.HTML(f"<b>broker {b}</b>"), kill, restart,
                                         isolate],
                                        layout=widgets.Layout(margin="0 12px 0 0")))
        self.heal_button = widgets.Button(description="Heal network", icon="link", layout=small,
                                          tooltip="reconnect every isolated broker")
        self.heal_button.on_click(capture(lambda _: self.heal()))
        self.acks_pick = widgets.Dropdown(options=ACKS_OPTIONS, value=self.acks,
                                          description="acks",
                                          layout=widgets.Layout(width="140px"))
        self.acks_pick.observe(lambda change: self.set_acks(change["new"]), names="value")
        self.rate_slider = widgets.IntSlider(value=self.rate, min=0, max=500, step=10,
                                             description="records /s",
                                             style={"description_width": "initial"})
        self.rate_slider.observe(lambda change: setattr(self, "rate", change["new"]),
                                 names="value")
        self.run_toggle = widgets.ToggleButton(value=False, description="Run", icon="play",
                                               tooltip=RUN_TIP)
        self.run_toggle.observe(self._on_toggle, names="value")
        self.step1 = widgets.Button(description="+1 s", icon="forward", layout=small,
                                    tooltip="move simulated time 1 s on, the producer writing")
        self.step10 = widgets.Button(description="+10 s", icon="fast-forward", layout=small,
                                     tooltip="move simulated time 10 s on, the producer "
                                             "writing")
        self.step1.on_click(capture(lambda _: self.run(ms=1000, animate=False)))
        self.step10.on_click(capture(lambda _: self.run(ms=10_000, animate=False)))
        self.grid_view = widgets.HTML()
        self.events_view = widgets.HTML()
        from plotly.subplots import make_subplots

        # two panels over one time axis, each with its own count axis: acknowledged above;
        # lost and failed below, on a scale of their own so a few lost records still show,
        # and never drawn against the acknowledged scale
        self.chart = go.FigureWidget(make_subplots(
            rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45]))
        self.chart.update_layout(
            height=340, width=CHART_WIDTH, margin=dict(**CHART_MARGIN, t=40, b=40),
            title=dict(text="acknowledged, lost and failed records", y=0.98, yanchor="top"),
            legend=dict(orientation="h", y=-0.2))
        self.chart.update_xaxes(title_text="simulated seconds", row=2, col=1)
        self.chart.update_yaxes(title_text="acknowledged", row=1, col=1)
        self.chart.update_yaxes(title_text="lost, failed", row=2, col=1)
        for i, (name, color) in enumerate(SERIES):
            self.chart.add_scatter(name=name, mode="lines", line=dict(color=color, width=2),
                                   row=1 if i == 0 else 2, col=1)
        self.box = widgets.VBox([
            widgets.HTML(f"<b>{html.escape(self.title)}</b>"),
            widgets.HBox([*columns, widgets.VBox([self.heal_button, self.acks_pick])]),
            widgets.HBox([self.rate_slider, self.run_toggle, self.step1, self.step10]),
            self.out, self.grid_view, self.chart, self.events_view])

    def _on_toggle(self, change) -> None:
        if change["new"]:
            self.run_toggle.description, self.run_toggle.icon = "Pause", "pause"
            self.run_toggle.tooltip = PAUSE_TIP
            # an error in a step shows in the widget's output area and stops the loop
            self._task = start_loop(self.out.capture()(self._live_step), self.interval_s)
            if self._task is None:  # no event loop (plain Python): nothing can run live
                self.run_toggle.value = False
        else:
            self.run_toggle.description, self.run_toggle.icon = "Run", "play"
            self.run_toggle.tooltip = RUN_TIP

    def _live_step(self) -> bool:
        if not self.run_toggle.value:
            return False
        self._advance(int(self.speed * self.interval_s * 1000))
        self.refresh()
        return True

    # --- actions (what the buttons do) ---------------------------------------------------------
    def kill(self, broker: int) -> None:
        """Crash ``broker`` (``cluster.kill_broker``)."""
        self.cluster.kill_broker(broker)
        self._fault(f"kill {broker}")

    def restart(self, broker: int) -> None:
        """Start a crashed or shut-down ``broker`` again (``cluster.restart_broker``)."""
        self.cluster.restart_broker(broker)
        self._fault(f"restart {broker}")

    def isolate(self, broker: int) -> None:
        """Cut ``broker`` off from the other brokers and the controller
        (``cluster.isolate_broker(broker, from_brokers=True, from_clients=False)``): clients
        still reach it, so a leader keeps taking writes it cannot replicate."""
        self.cluster.isolate_broker(broker, from_brokers=True, from_clients=False)
        self._fault(f"isolate {broker}")

    def heal(self) -> None:
        """Reconnect every isolated broker (``cluster.heal``)."""
        self.cluster.heal()
        self._fault("heal")

    def set_acks(self, acks: Any) -> None:
        """Send the next records with ``acks`` (0, 1 or 'all')."""
        acks = _acks_value(acks)
        if acks == self.acks:
            return
        self.acks = acks
        if self.acks_pick.value != acks:
            self.acks_pick.value = acks
        self._note("widget.acks", f"the producer now sends with acks={acks}")
        self.refresh()


    def close(self) -> None:
        """Stop the live loop and stop listening to the cluster's events."""
        self.run_toggle.value = False
        self._unsubscribe()

    # --- the step loop -------------------------------------------------------------------------
    def _advance(self, total_ms: int) -> None:
        end = self.cluster.now_ms() + total_ms
        while self.cluster.now_ms() < end:
            self.step(min(self.step_ms, end - self.cluster.now_ms()))

    def step(self, ms: int | None = None) -> None:
        """One step of ``ms``: this step's share of records, sent spread over the step (in
        slices of at least 5 ms), while simulated time advances."""
        ms = self.step_ms if ms is None else ms
        self._catch_up()
        self._budget += self.rate * ms / 1000
        count = int(self._budget)
        self._budget -= count
        producer = self._producer()
        slices = max(1, min(count, ms // 5))
        for i in range(slices):
            for _ in range(count * (i + 1) // slices - count * i // slices):
                self._send(producer)
            self.cluster.advance(ms=ms * (i + 1) // slices - ms * i // slices)
        self._stepped_ms = self.cluster.now_ms()
        if self.cluster.now_ms() >= self._next_sample_ms:
            self._sample()

    def _producer(self) -> KafkaProducer:
        if self.acks not in self._producers:
            self._producers[self.acks] = KafkaProducer(
                bootstrap_servers=self.cluster.bootstrap_servers, acks=self.acks,
                client_id=f"cluster-widget-acks-{self.acks}", **self.producer_config)
        return self._producers[self.acks]

    def _send(self, producer: KafkaProducer) -> None:
        value, partition, acks = self.sent, self.sent % self._partitions, self.acks
        self.sent += 1
        self.sent_ms[value] = self.cluster.now_ms()
        future = producer.send(self.topic, value=str(value).encode(), partition=partition)
        future.add_callback(lambda _, v=value, p=partition, a=acks: self._on_ack(p, v, a))
        future.add_errback(lambda error, v=value: self.failed.append(
            (self.cluster.now_ms(), v, f"{type(error).__name__}: {error}")))

    def _on_ack(self, partition: int, value: int, acks: Any) -> None:
        now = self.cluster.now_ms()
        self.acked[partition][value] = now
        self.acked_with[value] = acks
        self.max_wait_ms = max(self.max_wait_ms, now - self.sent_ms[value])

    # --- reading the engine --------------------------------------------------------------------
    def _stored(self, index: int) -> dict[int, int] | None:
        """value -> offset of every record in the current leader's log (None: no leader).
        Scans only what was appended since the last call while leader and epoch stay."""
        p = self.cluster.partition(self.topic, index)
        if p.leader is None:
            return None
        log = p.leader_log
        key = (p.leader, p.leader_epoch, log.log_start_offset)
        cached = self._scan.get(index)
        if cached is None or cached[0] != key or cached[1] > log.log_end_offset:
            cached = (key, log.log_start_offset, {})
        _, upto, offsets = cached
        for batch in log.batches():
            if batch.last_offset < upto:
                continue
            for r in batch.records:
                offset = batch.base_offset + r.offset_delta
                if offset >= upto:
                    try:
                        offsets[int(r.value)] = offset
                    except (TypeError, ValueError):
                        continue  # not one of the widget's numbered records (another writer's)
        self._scan[index] = (key, log.log_end_offset, offsets)
        return offsets

    def _account(self) -> None:
        """Update the lost and at-risk records of every partition that has a leader."""
        for index in range(self._partitions):
            stored = self._stored(index)
            if stored is None:
                continue  # offline: keep what we knew
            hw = self.cluster.partition(self.topic, index).high_watermark
            acked = self.acked[index]
            self._lost[index] = {v for v in acked if v not in stored}
            self._at_risk[index] = sum(1 for v in acked if v in stored and stored[v] >= hw)

    @property
    def acknowledged(self) -> int:
        return sum(len(a) for a in self.acked)

    @property
    def lost(self) -> int:
        return sum(len(s) for s in self._lost)

    def _sample(self) -> None:
        with self.cluster.lock:
            self._account()
            self.history.append((self.cluster.now_ms(), self.acknowledged, self.lost,
                                 len(self.failed)))
        self._next_sample_ms = self.cluster.now_ms() + self.sample_ms

    def summary(self) -> dict:
        """Counts so far: records sent, acknowledged, lost, at risk (acknowledged but not yet
        committed), failed; and the slowest acknowledgement (ms from send to acknowledgement)."""
        with self.cluster.lock:
            self._account()
            return {"sent": self.sent, "acknowledged": self.acknowledged, "lost": self.lost,
                    "at_risk": sum(self._at_risk), "failed": len(self.failed),
                    "slowest_ack_ms": self.max_wait_ms}

    def lost_frame(self):
        """One row per lost record: its partition, value (the record's number), when it was
        acknowledged and with which acks."""
        import pandas as pd

        with self.cluster.lock:
            self._account()
            rows = [{"partition": p, "value": v, "acked_at_s": (self.acked[p][v] -
                                                                 self.start_ms) / 1000,
                     "acks": self.acked_with.get(v)}
                    for p in range(self._partitions) for v in sorted(self._lost[p])]
        return pd.DataFrame(rows, columns=["partition", "value", "acked_at_s", "acks"])

    def history_frame(self):
        import pandas as pd

        return pd.DataFrame([{"time_s": (t - self.start_ms) / 1000, "acknowledged": a,
                              "lost": lo, "failed": f} for t, a, lo, f in self.history],
                            columns=["time_s", "acknowledged", "lost", "failed"])

    def role(self, partition: int, broker: int) -> str | None:
        """The role the grid draws for ``broker``'s replica of ``partition`` (None: it has no
        replica): 'leader', 'in-sync', 'out-of-sync' or 'offline'."""
        p = self.cluster.partition(self.topic, partition)
        if broker not in p.replicas:
            return None
        if not self.cluster.brokers[broker].alive or broker in self.cluster.controller.fenced:
            return "offline"
        if p.leader == broker:
            return "leader"
        return "in-sync" if broker in p.isr else "out-of-sync"

    # --- events --------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        if not event.kind.startswith(EVENT_KINDS):
            return
        if event.data.get("topic", self.topic) != self.topic:
            return
        self._note(event.kind, event.text, event.time_ms)

    def _fault(self, label: str) -> None:
        self.faults.append((self.cluster.now_ms(), label))
        self.refresh()

    # --- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw every view from a fresh engine snapshot."""
        with self.cluster.lock:
            self._account()
            self.grid_view.value = self._header_html(title=False) + self._grid_html()
            self.events_view.value = self._events_html()
            with self.chart.batch_update():
                for i in range(len(SERIES)):
                    self.chart.data[i].x, self.chart.data[i].y = joined_stretches(self.segments(i))
                for axis, ticks in ((self.chart.layout.yaxis, self._ticks(acknowledged=True)),
                                    (self.chart.layout.yaxis2, self._ticks(acknowledged=False))):
                    axis.update(tickmode="array", tickvals=ticks, tickformat=",d",
                                range=[0, ticks[-1] * 1.04])
                faults = self._fault_labels()
                full = dict(self._fault_labels(cap=None))
                layout = self._chart_label_layout()
                self.chart.layout.shapes = [
                    dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                         line=dict(color="#999", dash="dot", width=1)) for x, _ in faults]
                self.chart.layout.annotations = [
                    dict(x=x, y=1, xref="x", yref="paper", text=label, showarrow=False,
                         yanchor="bottom", xanchor=anchor, yshift=2 + 13 * row,
                         font=dict(size=10), hovertext=full[x] if full[x] != label else None)
                    for (x, label), (row, anchor) in zip(faults, layout) if row is not None]
                used = max((r for r, _ in layout if r is not None), default=0)
                self.chart.layout.margin.t = 40 + 13 * used

    def segments(self, series: int) -> list[list[tuple[float, int]]]:
        """One line of the chart (0 acknowledged, 1 lost, 2 failed) as stretches of
        (simulated seconds, count) points; a new stretch starts where the widget did not watch
        the time in between (:attr:`breaks`)."""
        return self._stretches(lambda row: ((row[0] - self.start_ms) / 1000, row[series + 1]))

    def _fault_labels(self, cap: int | None = LABEL_CHARS) -> list[tuple[float, str]]:
        """(simulated seconds, label) of the faults, those at the same moment in one label:
        ``kill 1, 2, 3 · heal``; one longer than ``cap`` characters keeps its first parts and
        says how many it leaves out: ``kill 1, 2, 3 +3 more``."""
        merged: dict[int, dict[str, list[str]]] = {}
        for t, label in self.faults:
            verb, _, what = label.partition(" ")
            merged.setdefault(t, {}).setdefault(verb, []).append(what)
        out = []
        for t, verbs in merged.items():
            parts = [f"{verb} {', '.join(w for w in whats if w)}".strip()
                     for verb, whats in verbs.items()]
            label = " · ".join(parts)
            if cap is not None and len(label) > cap:
                kept = 1
                while kept < len(parts) - 1 and len(" · ".join(parts[:kept + 1])
                                                    + f" +{len(parts) - kept - 1} more") <= cap:
                    kept += 1
                label = " · ".join(parts[:kept]) + f" +{len(parts) - kept} more"
            out.append(((t - self.start_ms) / 1000, label))
        return out

    def _chart_label_layout(self) -> list[tuple[int | None, str]]:
        """Rows and anchors of the live chart's fault labels (:func:`label_layout`), with the
        widths the labels take at the chart's fixed width."""
        faults = self._fault_labels()
        times = [(t - self.start_ms) / 1000 for t, *_ in self.history]
        lo = min([*times[:1], *(x for x, _ in faults)], default=0.0)
        hi = max([lo + 1.0, *times[-1:], *(x for x, _ in faults)])
        per_px = (hi - lo) / (CHART_WIDTH - CHART_MARGIN["l"] - CHART_MARGIN["r"])
        return label_layout([x for x, _ in faults],
                            [CHAR_PX * len(label) * per_px for _, label in faults],
                            lo, hi, gap=LABEL_GAP_PX * per_px)

    def _ticks(self, acknowledged: bool) -> list[int]:
        """Whole-number ticks of the acknowledged panel, or of the lost-and-failed one."""
        rows = [row[1:2] if acknowledged else row[2:] for row in self.history]
        return whole_number_ticks(max((max(r) for r in rows), default=0))

    def _clock_text(self) -> str:
        """The widget's clock as a learner reads it: ``t = 0 d 00:00:17`` since it started."""
        return clock_text(self.cluster.now_ms() - self.start_ms)

    def _header_html(self, title: bool = True) -> str:
        s = self.summary()
        seconds = (self.cluster.now_ms() - self.start_ms) / 1000
        name = f"<b>{html.escape(self.title)}</b> · " if title else ""
        return (f"<div class='kafkalab-cluster-header' data-seconds='{seconds:.3f}'>{name}"
                f"{self._clock_text()} simulated · "
                f"producer acks=<b>{self.acks}</b>, {self.rate} records/s · sent {s['sent']} · "
                f"acknowledged <b>{s['acknowledged']}</b> · <span style='color:#d62728'>lost "
                f"<b>{s['lost']}</b></span> · acknowledged but not yet committed "
                f"{s['at_risk']} · failed {s['failed']}</div>")

    def _broker_state(self, b: int) -> str:
        cluster = self.cluster
        if not cluster.brokers[b].alive:
            state = "<span style='color:#c33'>down</span>"
        elif b in cluster.network.isolated():
            state = "<span style='color:#c60'>isolated</span>"
        else:
            state = "<span style='color:#2e9e4f'>up</span>"
        if b in cluster.controller.fenced:
            state += " · fenced"
        slow = cluster.replicas.slow_followers.get(b)
        if slow:
            state += f" · fetches {slow} ms late"
        return state

    def _cell(self, p, b: int, top: int) -> str:
        role = self.role(p.index, b)
        if role is None:
            return f"<td style='{CELL_STYLE};color:#bbb'>—</td>"
        fill, ink, label = ROLES[role]
        log = p.logs[b]
        note = ""
        if role == "offline" and p.leader == b:
            note = " (still listed as leader)"
        elif b in self.cluster.network.isolated():
            note = " (isolated)"

        def bar(value: int, color: str, name: str) -> str:
            width = 0 if top == 0 else round(100 * value / top)
            return (f"<div style='display:flex;align-items:center;gap:4px;font-size:10px'>"
                    f"<span style='width:22px'>{name}</span><span style='display:inline-block;"
                    f"width:90px;height:8px;background:#eee;border-radius:2px'><span "
                    f"style='display:block;width:{width}%;height:8px;background:{color};"
                    f"border-radius:2px'></span></span><span>{value}</span></div>")

        return (f"<td class='kafkalab-replica' data-role='{role}' data-broker='{b}' "
                f"data-partition='{p.index}' data-leo='{log.log_end_offset}' "
                f"data-hw='{log.high_watermark}' style='{CELL_STYLE};min-width:150px'>"
                f"<div style='background:{fill};color:{ink};border-radius:3px;padding:1px 5px;"
                f"margin-bottom:3px;font-weight:bold'>{label}{note}</div>"
                f"{bar(log.log_end_offset, '#555', 'LEO')}"
                f"{bar(log.high_watermark, fill, 'HW')}</td>")

    def _grid_html(self) -> str:
        brokers = sorted(self.cluster.brokers)
        head = "".join(f"<th style='{CELL_STYLE}'>broker {b}<br><small>{self._broker_state(b)}"
                       f"</small></th>" for b in brokers)
        rows = []
        for p in self.cluster.topic(self.topic).partitions:
            top = max(log.log_end_offset for log in p.logs.values())
            state = ("<b style='color:#c33'>OFFLINE: no leader</b>" if p.leader is None
                     else f"leader {p.leader} · epoch {p.leader_epoch}")
            rows.append(f"<tr><td style='{CELL_STYLE};white-space:nowrap'><b>{html.escape(p.name)}</b>"
                        f"<br><small>{state}<br>ISR {p.isr}<br>HW {p.view_log.high_watermark}"
                        f"</small></td>{''.join(self._cell(p, b, top) for b in brokers)}</tr>")
        legend = " ".join(
            f"<span style='display:inline-block;background:{fill};color:{ink};padding:0 6px;"
            f"border-radius:3px;margin-right:4px'>{label}</span>"
            for fill, ink, label in ROLES.values())
        return (f"<div class='kafkalab-cluster-grid'>{legend} <small>bars: log end offset "
                f"(LEO) and high watermark (HW) of each replica, scaled to the longest replica "
                f"of the row</small><table style='{TABLE_STYLE}'><tr><th style='{CELL_STYLE}'>partition"
                f"</th>{head}</tr>{''.join(rows)}</table></div>")

    def _events_html(self, last: int = 12) -> str:
        return recent_events_html(self.events, "t (s)",
                                  lambda t: f"{(t - self.start_ms) / 1000:.1f}", last)

    def _chart_svg(self, width: int = 560, height: int = 250) -> str:
        """The chart as inline SVG, for the static picture: two panels over one time axis,
        acknowledged above, lost and failed below, each with its own whole-number count axis."""
        if len(self.history) < 2:
            return ""
        xs = [(t - self.start_ms) / 1000 for t, *_ in self.history]
        x0, x1 = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1
        left, right = 56, width - 10
        faults = [(x, label) for x, label in self._fault_labels() if x0 <= x <= x1]

        def px(x: float) -> float:
            return left + (x - x0) / (x1 - x0) * (right - left)

        layout = label_layout([px(x) for x, _ in faults],
                              [SVG_CHAR_PX * len(label) for _, label in faults], left, right,
                              gap=LABEL_GAP_PX)
        rows = [row for row, _ in layout]
        used = 1 + max((r for r in rows if r is not None), default=-1)
        upper = 6 + 11 * used
        bottom = height - 22
        gap = 16
        middle = upper + (bottom - upper - gap) * 0.55
        # (panel top, panel bottom, ticks, series drawn in it)
        panels = [(upper, middle, self._ticks(acknowledged=True), (0,)),
                  (middle + gap, bottom, self._ticks(acknowledged=False), (1, 2))]
        out = []
        for top_px, bottom_px, ticks, series in panels:
            scale = ticks[-1] or 1

            def py(y: float, top_px=top_px, bottom_px=bottom_px, scale=scale) -> float:
                return bottom_px - y / scale * (bottom_px - top_px)

            out.append(f"<line x1='{left}' y1='{bottom_px:.1f}' x2='{right}' "
                       f"y2='{bottom_px:.1f}' stroke='#999'/><line x1='{left}' "
                       f"y1='{top_px:.1f}' x2='{left}' y2='{bottom_px:.1f}' stroke='#999'/>")
            for tick in ticks:
                out.append(f"<text class='kafkalab-tick' x='{left - 4}' y='{py(tick) + 3:.1f}' "
                           f"font-size='9' text-anchor='end'>{tick:,}</text><line "
                           f"x1='{left - 2}' y1='{py(tick):.1f}' x2='{left}' y2='{py(tick):.1f}' "
                           f"stroke='#999'/>")
            names = " and ".join(SERIES[i][0] for i in series)
            out.append(f"<text x='{left + 4}' y='{top_px + 9:.1f}' font-size='9' "
                       f"fill='#666'>{names}</text>")
            for i in series:
                color = SERIES[i][1]
                for stretch in self.segments(i):  # no line across time the widget did not watch
                    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in stretch)
                    out.append(f"<polyline class='kafkalab-series' data-series='{SERIES[i][0]}' "
                               f"fill='none' stroke='{color}' stroke-width='2' "
                               f"points='{points}'/>")
        out.append(f"<text x='{right}' y='{height - 4}' font-size='10' text-anchor='end'>"
                   f"{x1:.0f} s</text><text x='{left}' y='{height - 4}' font-size='10'>"
                   f"{x0:.0f} s</text>")
        anchors = {"center": "middle", "left": "start", "right": "end"}
        for (x, label), (row, anchor) in zip(faults, layout):
            out.append(f"<line x1='{px(x):.1f}' y1='{upper}' x2='{px(x):.1f}' y2='{bottom}' "
                       f"stroke='#bbb' stroke-dasharray='3,3'/>")
            if row is not None:
                out.append(f"<text class='kafkalab-fault-label' x='{px(x):.1f}' "
                           f"y='{upper - 3 - 11 * row}' font-size='9' "
                           f"text-anchor='{anchors[anchor]}'>{html.escape(label)}</text>")
        legend = " ".join(f"<span style='color:{color}'>━ {name}</span>"
                          for name, color in SERIES)
        return (f"<div>acknowledged (top) and lost or failed records (bottom, on a scale of "
                f"their own) over simulated time; dotted: a fault or repair<br><svg "
                f"width='{width}' height='{height}' font-family='sans-serif'>"
                f"{''.join(out)}</svg><br><small>{legend}</small></div>")

    def static_html(self) -> str:
        with self.cluster.lock:
            self._account()
            return (self._header_html() + self._grid_html() + self._chart_svg()
                    + self._events_html())


def _acks_value(acks: Any) -> Any:
    """0, 1 or 'all' (kafka-python also accepts -1 and '1' and the like for these)."""
    if acks in ("all", -1, "-1"):
        return "all"
    if acks in (0, 1, "0", "1"):
        return int(acks)
    raise ValueError(f"acks must be 0, 1 or 'all', not {acks!r}")
