"""The segment widget: one partition's log as segments while time runs, retention deletes and the
log cleaner compacts.

What it shows, for one partition of a topic (its leader's log):

* **segment blocks** in offset order, one per segment, width in proportion to its size (or
  records), each with its base offset, records, size, offsets (and the gaps compaction left),
  age and what happens to it next; the **active** segment (thick blue border) takes the writes.
  The colour is the segment's section as the engine reports it (``cluster.describe_segments``):
  *closed* (a delete-only topic), or for a compacted topic *clean* (compacted already),
  *dirty* (written since the last clean) and *uncleanable* (too new: ``min.compaction.lag.ms``
  or past the last stable offset). A dashed block counts the segments retention deleted since
  the widget started; the log start offset, high watermark and log end offset sit above.
* **the log over time**: a live plotly chart of the log's size (bytes, or records) and of its log
  start and end offsets over simulated days: retention's saw-tooth and compaction's drops.
* **recent events** of the partition: ``segment.rolled``, ``retention.deleted``,
  ``log.cleaned``, config changes (a repeated event is shown once, with a count).

Controls: a built-in keyed producer (keys ``user1`` .. ``userN`` in turn, values ``v1``,
``v2`` ...; a share of tombstones, null values, that delete a key on a compacted topic),
*Produce 10*, its rate in records per simulated hour, *Run*/*Pause* (simulated time moves in
steps on the kernel's event loop, the producer writing), *+1 h*, *+1 day*, *+7 days* (animated
on the kernel's loop when there is one), and fields for ``retention.ms``, ``retention.bytes``,
``segment.ms``, ``cleanup.policy``, ``min.cleanable.dirty.ratio`` and ``delete.retention.ms``,
applied through the admin client (``KafkaAdminClient.alter_configs``, which sends Kafka's
IncrementalAlterConfigs, as ``kafka-configs --alter --add-config`` does). A refused value shows
the broker's reason in the widget and changes nothing.

Public API (stable; notebooks use it)::

    w = SegmentWidget(cluster, topic, partition=0, *, rate=20, key_count=8,
                      tombstone_share=0.0, size_by="bytes", animate=True)
    w.produce(10)                       # 10 keyed records now; their metadata
    w.advance(hours=1) / w.advance(days=7) / w.advance(ms=...)   # time on, producer writing
    w.run(ms=...)                       # the same in ms (animated when ``animate``)
    w.set_config("retention.ms", 86_400_000)   # True, or False with the reason shown
    w.set_rate(60); w.set_tombstone_share(0.2)
    w.blocks()                          # the segments as drawn: [SegmentBlock, ...]
    w.history_frame()                   # the chart's points as a DataFrame
    w.snapshot()                        # a static picture of now (HTML)
    w.close()                           # stop the loop and the event subscription

Without a frontend (papermill, ``FAST``, GitHub) it renders as static HTML: the blocks, an SVG
chart and the events. Use ``animate=False`` for headless runs.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from ..admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from ..config import TOPIC_CONFIGS
from ..errors import KafkaError
from ..storage.cleaner_manager import ratio_text
from ..timefmt import duration_text
from .html import CELL_STYLE, TABLE_STYLE, recent_events_html
from .live import SteppedView, joined_stretches, start_loop
from .segment_blocks import SegmentBlock, blocks_html, bytes_text, history_svg

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: the topic configs the widget's fields change (Kafka's names), and the choices of the policy
CONFIGS = ("retention.ms", "retention.bytes", "segment.ms", "cleanup.policy",
           "min.cleanable.dirty.ratio", "delete.retention.ms")
POLICIES = ("delete", "compact", "compact,delete")
EVENT_KINDS = ("segment.", "retention.", "log.", "topic.config", "produce.rejected", "widget.")
#: the chart's series: name -> colour
COLORS = {"log start offset": "#2e9e4f", "log end offset": "#888888"}
SIZE_COLOR = "#4c78a8"
#: time buttons: label -> simulated ms
STEPS = {"+1 h": HOUR_MS, "+1 day": DAY_MS, "+7 days": 7 * DAY_MS}
RUN_TIP = "run simulated time on, the producer writing, until pressed again"
PAUSE_TIP = "pause simulated time"
PRODUCER_CONFIG = {"linger_ms": 0, "client_id": "segment-widget"}


class SegmentWidget(SteppedView):
    """One partition's segments, a keyed producer, time controls and topic config fields.

    ``rate`` is records per simulated hour, sent spread over each step; keys are ``user1`` ..
    ``user{key_count}`` in turn; ``tombstone_share`` (0..1) of the records are tombstones (null
    value), evenly spread. ``size_by`` ("bytes" or "records") sets the blocks' widths and the
    chart's size line. ``step_ms`` is one step of simulated time, ``sample_ms`` how often the
    chart takes a point, ``speed`` how many simulated seconds *Run* plays per real second
    (default 12 hours a second), ``interval_s`` the real time between two redraws.

    Invariants: the widget reads the engine only through public calls
    (``cluster.describe_segments``, the partition's log ``segments()``, the cleaner's
    ``describe``) and changes configs only through the admin client; ``history`` holds one point
    per sample, in time order; a refused config change leaves the topic and the fields as they
    were.
    """

    def __init__(self, cluster: Cluster, topic: str, partition: int = 0, *, rate: int = 20,
                 key_count: int = 8, tombstone_share: float = 0.0, size_by: str = "bytes",
                 step_ms: int = HOUR_MS, sample_ms: int = HOUR_MS, speed: float = 43_200,
                 interval_s: float = 0.1, animate: bool = True, title: str | None = None):
        if size_by not in ("bytes", "records"):
            raise ValueError(f"size_by must be 'bytes' or 'records', not {size_by!r}")
        if not isinstance(key_count, int) or key_count < 1:
            raise ValueError(f"key_count must be a whole number >= 1, not {key_count!r}")
        self.cluster = cluster
        self.topic = topic
        self.partition = partition
        cluster.partition(topic, partition)  # UnknownTopicOrPartitionError, with what exists
        self.keys = tuple(f"user{i}" for i in range(1, key_count + 1))
        self.size_by = size_by
        self.step_ms, self.sample_ms = int(step_ms), int(sample_ms)
        self.speed, self.interval_s, self.animate = speed, interval_s, animate
        self.title = title or f"{topic}-{partition}: its segments"
        self.rate = 0
        self.tombstone_share = 0.0
        self.set_rate(rate, redraw=False)
        self.set_tombstone_share(tombstone_share, redraw=False)
        self._producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                                       **PRODUCER_CONFIG)
        self._admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
        self.sent = 0
        self.failed = 0
        self.tombstones = 0
        self._budget = 0.0
        self._tombstone_budget = 0.0
        self.deleted_segments = 0
        self.deleted_records = 0
        self.message = ""  # the last config change's outcome, or the last send error
        self.history: list[tuple[int, int, int, int, int]] = []  # (ms, records, bytes, LSO, LEO)
        self._watch_events(cluster.now_ms())
        self._target_ms: int | None = None  # where a time button's animated play stops
        self._syncing = False  # fields being set from the topic's configs, not by a person
        self._build_controls()
        self._sample()
        self.refresh()

    # --- controls ------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.out = widgets.Output()
        capture = self.out.capture(clear_output=True)
        auto = widgets.Layout(width="auto")
        self.produce_button = widgets.Button(description="Produce 10", icon="plus",
                                             button_style="primary", layout=auto,
                                             tooltip="send 10 keyed records now")
        self.produce_button.on_click(capture(lambda _: self.produce(10)))
        self.rate_slider = widgets.IntSlider(value=self.rate, min=0, max=max(200, self.rate),
                                             step=5,
                                             description="records / h",
                                             style={"description_width": "initial"})
        self.rate_slider.observe(lambda change: self.set_rate(change["new"]), names="value")
        self.tombstone_slider = widgets.FloatSlider(
            value=self.tombstone_share, min=0, max=1, step=0.05, readout_format=".0%",
            description="tombstones", style={"description_width": "initial"})
        self.tombstone_slider.observe(lambda change: self.set_tombstone_share(change["new"]),
                                      names="value")
        self.run_toggle = widgets.ToggleButton(value=False, description="Run", icon="play",
                                               tooltip=RUN_TIP)
        self.run_toggle.observe(self._on_toggle, names="value")
        self.step_buttons = []
        for label, ms in STEPS.items():
            button = widgets.Button(description=label, icon="forward", layout=auto,
                                    tooltip=f"move simulated time {duration_text(ms)} on, the "
                                            "producer writing")
            button.on_click(capture(lambda _, ms=ms: self._play(ms)))
            self.step_buttons.append(button)
        self.fields: dict[str, widgets.ValueWidget] = {}
        for name in CONFIGS:
            look = dict(description=name, tooltip=TOPIC_CONFIGS[name].doc,
                        layout=widgets.Layout(width="300px"),
                        style={"description_width": "170px"})
            if name == "cleanup.policy":
                field = widgets.Dropdown(options=POLICIES, **look)
            else:  # applied on Enter (or when the field loses focus)
                field = widgets.Text(continuous_update=False, **look)
            apply = capture(lambda value, name=name: self._on_field(name, value))
            # only a person's edit applies (and clears the output area), not a redraw's sync
            field.observe(lambda change, apply=apply: self._syncing or apply(change["new"]),
                          names="value")
            self.fields[name] = field
        self.config_hints = widgets.HTML()
        self.message_view = widgets.HTML()
        self.blocks_view = widgets.HTML()
        self.events_view = widgets.HTML()
        from plotly.subplots import make_subplots

        self.chart = go.FigureWidget(make_subplots(rows=2, cols=1, shared_xaxes=True,
                                                   vertical_spacing=0.1))
        # the legend goes under the x axis title: the bottom margin leaves it room
        self.chart.update_layout(height=380, width=640, margin=dict(l=70, r=10, t=40, b=100),
                                 title=dict(text="the log over simulated time", y=0.98,
                                            yanchor="top"),
                                 legend=dict(orientation="h", y=-0.22, yanchor="top"))
        self.chart.update_xaxes(title_text="simulated days", row=2, col=1)
        self.chart.update_yaxes(title_text=self._size_label(), rangemode="tozero", row=1, col=1)
        self.chart.update_yaxes(title_text="offset", rangemode="tozero", row=2, col=1)
        self.chart.add_scatter(name=self._size_label(), mode="lines",
                               line=dict(color=SIZE_COLOR, width=2), row=1, col=1)
        for name, color in COLORS.items():
            self.chart.add_scatter(name=name, mode="lines", line=dict(color=color, width=2),
                                   row=2, col=1)
        names = list(self.fields)
        self.box = widgets.VBox([
            widgets.HTML(f"<b>{html.escape(self.title)}</b>"),
            widgets.HBox([self.produce_button, self.rate_slider, self.tombstone_slider]),
            widgets.HBox([self.run_toggle, *self.step_buttons]),
            widgets.HBox([widgets.VBox([self.fields[n] for n in names[:3]]),
                          widgets.VBox([self.fields[n] for n in names[3:]]),
                          self.config_hints]),
            self.message_view, self.out, self.blocks_view, self.chart, self.events_view])

    def _on_field(self, name: str, value: str) -> None:
        if not self.set_config(name, value):
            self._sync_fields()  # a refused value goes back to what the topic has

    def _on_toggle(self, change) -> None:
        if change["new"]:
            self.run_toggle.description, self.run_toggle.icon = "Pause", "pause"
            self.run_toggle.tooltip = PAUSE_TIP
            if not self._start_loop():
                self.run_toggle.value = False  # no event loop (plain Python): nothing runs live
        else:
            self.run_toggle.description, self.run_toggle.icon = "Run", "play"
            self.run_toggle.tooltip = RUN_TIP
            self._target_ms = None

    def _start_loop(self) -> bool:
        """Start the live loop on the kernel's event loop unless it runs; False if no loop."""
        if self._task is not None and not self._task.done():
            return True
        # an error in a step shows in the widget's output area and stops the loop
        self._task = start_loop(self.out.capture()(self._live_step), self.interval_s)
        return self._task is not None

    def _play(self, ms: int) -> None:
        """A time button: animate ``ms`` more of simulated time on the kernel's loop (added to a
        play under way), or run it at once when there is no loop."""
        start = self._target_ms if self._target_ms is not None else self.cluster.now_ms()
        self._target_ms = start + ms
        if not self._start_loop():
            self._target_ms = None
            self.run(ms=ms, animate=False)

    def _live_step(self) -> bool:
        chunk = max(self.step_ms, int(self.speed * self.interval_s * 1000))
        now = self.cluster.now_ms()
        if self._target_ms is not None and now < self._target_ms:
            self._advance(min(chunk, self._target_ms - now))
        elif self.run_toggle.value:
            self._target_ms = None
            self._advance(chunk)
        else:
            self._target_ms = None
            return False
        self.refresh()
        return True

    # --- actions -------------------------------------------------------------------------------
    def produce(self, n: int = 10) -> list:
        """Send ``n`` keyed records now (with the tombstone share) and wait for the broker's
        answers; returns the metadata of those written (failures are counted and shown)."""
        futures = [self._send() for _ in range(n)]
        self._producer.flush()
        self._catch_up()
        self.refresh()
        return [f.value for f in futures if f.is_done and f.exception is None]

    def advance(self, ms: int = 0, *, hours: float = 0, days: float = 0,
                animate: bool | None = None) -> None:
        """Move simulated time ``ms`` + ``hours`` + ``days`` on in steps, the producer writing
        at its rate (what *+1 h*, *+1 day* and *+7 days* do); see :meth:`run`."""
        self.run(ms=int(ms + HOUR_MS * hours + DAY_MS * days), animate=animate)

    def set_rate(self, rate: int, redraw: bool = True) -> None:
        """Records per simulated hour the producer sends while time runs."""
        if not isinstance(rate, int) or rate < 0:
            raise ValueError(f"rate is records per simulated hour, a whole number >= 0, "
                             f"not {rate!r}")
        self.rate = rate
        if redraw:
            self.rate_slider.max = max(self.rate_slider.max, rate)
            if self.rate_slider.value != rate:
                self.rate_slider.value = rate
            self.refresh()

    def set_tombstone_share(self, share: float, redraw: bool = True) -> None:
        """The share (0..1) of the producer's records that are tombstones (null values)."""
        if not 0 <= share <= 1:
            raise ValueError(f"the tombstone share is between 0 and 1, not {share!r}")
        self.tombstone_share = float(share)
        if redraw:
            if self.tombstone_slider.value != share:
                self.tombstone_slider.value = share
            self.refresh()

    def set_config(self, name: str, value: Any) -> bool:
        """Set the topic config ``name`` to ``value`` through the admin client (as
        ``kafka-configs --alter --add-config name=value``). True if the broker took it; if it
        refused, False, and the widget shows why; the topic is unchanged."""
        if name not in CONFIGS:
            self._say(f"✖ this widget changes {', '.join(CONFIGS)}; not {name!r}", ok=False)
            return False
        text = "" if value is None else str(value).strip()
        try:
            self._admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, self.topic,
                                                      configs={name: text})])
        except KafkaError as error:
            reason = error.args[0] if error.args else str(error)
            self._say(f"✖ {name}={text!r} refused ({type(error).__name__}), nothing changed: "
                      f"{reason}", ok=False)
            return False
        self._say(f"✔ {name}={text}{self._hint(name)}", ok=True)
        return True

    def close(self) -> None:
        """Stop the live loop, the event subscription, the producer and the admin client."""
        self.run_toggle.value = False
        self._target_ms = None
        self._unsubscribe()
        self._producer.close()
        self._admin.close()

    # --- the step loop -------------------------------------------------------------------------
    def _advance(self, total_ms: int) -> None:
        end = self.cluster.now_ms() + total_ms
        while self.cluster.now_ms() < end:
            self.step(min(self.step_ms, end - self.cluster.now_ms()))

    def step(self, ms: int | None = None) -> None:
        """One step of ``ms``: this step's share of records, sent spread over it (one record a
        slice, slices of at least a minute), while simulated time advances."""
        ms = self.step_ms if ms is None else ms
        self._catch_up()
        self._budget += self.rate * ms / HOUR_MS
        count = int(self._budget)
        self._budget -= count
        slices = max(1, min(count, ms // 60_000))
        for i in range(slices):
            for _ in range(count * (i + 1) // slices - count * i // slices):
                self._send()
            self.cluster.advance(ms=ms * (i + 1) // slices - ms * i // slices)
        self._stepped_ms = self.cluster.now_ms()
        if self.cluster.now_ms() >= self._next_sample_ms:
            self._sample()

    def _send(self):
        key = self.keys[self.sent % len(self.keys)]
        self.sent += 1
        self._tombstone_budget += self.tombstone_share
        value = f"v{self.sent}".encode()
        if self._tombstone_budget >= 1:
            self._tombstone_budget -= 1
            value = None
            self.tombstones += 1
        future = self._producer.send(self.topic, key=key.encode(), value=value,
                                     partition=self.partition)
        future.add_errback(self._on_send_error)
        return future

    def _on_send_error(self, error: Exception) -> None:
        self.failed += 1
        self.message = (f"<div class='kafkalab-segment-message' style='font-size:12px;"
                        f"color:#c33'>✖ a send failed: {html.escape(type(error).__name__)}: "
                        f"{html.escape(str(error))}</div>")

    def _sample(self) -> None:
        with self.cluster.lock:
            log = self._log()
            segments = log.segments()
            self.history.append((self.cluster.now_ms(), sum(s.record_count for s in segments),
                                 sum(s.size_bytes for s in segments), log.log_start_offset,
                                 log.log_end_offset))
        self._next_sample_ms = self.cluster.now_ms() + self.sample_ms

    # --- reading the engine --------------------------------------------------------------------
    def _log(self):
        """The log the widget draws: the leader's (the preferred replica's while offline), as
        ``describe_segments`` shows it."""
        return self.cluster.partition(self.topic, self.partition).view_log

    def _config(self, name: str) -> Any:
        return self.cluster.topic(self.topic).config[name]

    def blocks(self) -> list[SegmentBlock]:
        """The partition's segments as the widget draws them, oldest first: the rows of
        ``cluster.describe_segments`` (the leader's log), with what happens to each next."""
        with self.cluster.lock:
            now = self.cluster.now_ms()
            frame = self.cluster.describe_segments(self.topic, self.partition)
            active_created_ms = self._log().segments()[-1].created_ms
            return [SegmentBlock(int(r.base_offset), int(r.next_offset), int(r.records),
                                 int(r.size_bytes), r.section,
                                 r.age if r.records or not r.active else "empty",
                                 self._fate(r, active_created_ms, now))
                    for r in frame.itertuples()]

    def _fate(self, row, active_created_ms: int, now: int) -> str:
        """What happens next to the segment of ``row`` (a ``describe_segments`` row)."""
        if row.active:
            if not row.records:
                return "takes the next write"
            left = active_created_ms + self._config("segment.ms") - now
            if left <= 0:
                return "past segment.ms: rolls at the next write"
            return f"rolls at the first write after {duration_text(left)} (segment.ms)"
        if "delete" not in self._config("cleanup.policy") or not row.records:
            return ""
        retention_ms = self._config("retention.ms")
        if retention_ms < 0:
            return "kept forever (retention.ms=-1)"
        left = int(row.largest_timestamp) + retention_ms - now
        if left < 0:
            return "past retention.ms: goes at the next retention check"
        return f"retention.ms: goes in about {duration_text(left)}"

    def summary(self) -> dict:
        """The partition and the producer now: log start offset, high watermark, log end offset,
        segments, records and bytes kept; records sent, tombstones among them, failed sends."""
        with self.cluster.lock:
            log = self._log()
            segments = log.segments()
            return {"log_start_offset": log.log_start_offset,
                    "high_watermark": log.high_watermark,
                    "log_end_offset": log.log_end_offset, "segments": len(segments),
                    "records": sum(s.record_count for s in segments),
                    "size_bytes": sum(s.size_bytes for s in segments), "sent": self.sent,
                    "tombstones": self.tombstones, "failed": self.failed,
                    "deleted_segments": self.deleted_segments}

    def history_frame(self):
        """The chart's points: simulated day, records, bytes, log start and end offsets."""
        import pandas as pd

        origin = self.cluster.start_ms
        return pd.DataFrame([{"day": (t - origin) / DAY_MS, "records": r, "size_bytes": b,
                              "log_start_offset": lso, "log_end_offset": leo}
                             for t, r, b, lso, leo in self.history],
                            columns=["day", "records", "size_bytes", "log_start_offset",
                                     "log_end_offset"])

    # --- events --------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        if not event.kind.startswith(EVENT_KINDS):
            return
        data = event.data
        if data.get("topic", self.topic) != self.topic:
            return
        if data.get("partition", self.partition) != self.partition:
            return
        if event.kind == "retention.deleted":
            self.deleted_segments += data.get("segments", 0)
            self.deleted_records += data.get("records", 0)
        self._note(event.kind, event.text, event.time_ms)

    def _say(self, text: str, ok: bool) -> None:
        color = "#2e7d32" if ok else "#c33"
        self.message = (f"<div class='kafkalab-segment-message' style='font-size:12px;"
                        f"color:{color}'>{html.escape(text)}</div>")
        self.refresh()

    # --- drawing -------------------------------------------------------------------------------
    def _size_label(self) -> str:
        return "log size (bytes)" if self.size_by == "bytes" else "records kept"

    def _hint(self, name: str) -> str:
        """A config's value as people read it: `` (7 days)`` for a time in ms, and so on."""
        value = self._config(name)
        if name.endswith(".ms"):
            return " (forever)" if value < 0 else f" ({duration_text(value)})"
        if name.endswith(".bytes"):
            return " (no limit)" if value < 0 else f" ({bytes_text(value)})"
        return ""

    def _sync_fields(self) -> None:
        """Show the topic's current configs in the fields (without applying them again)."""
        self._syncing = True
        try:
            for name, field in self.fields.items():
                value = self._config(name)
                text = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
                if name == "cleanup.policy":
                    parts = set(text.split(","))
                    text = next((p for p in POLICIES if set(p.split(",")) == parts), text)
                if field.value != text:
                    field.value = text
        finally:
            self._syncing = False
        self.config_hints.value = "<br>".join(
            f"<small>{n}{html.escape(self._hint(n)) or ''}</small>" for n in CONFIGS
            if self._hint(n))

    def _header_html(self) -> str:
        s = self.summary()
        elapsed = self.cluster.now_ms() - self.cluster.start_ms
        tombstones = (f", {round(100 * self.tombstone_share)}% tombstones"
                      if self.tombstone_share else "")
        failed = f" · <span style='color:#c33'>failed {s['failed']}</span>" if s["failed"] else ""
        cleaner = self.cleaner_text()
        if cleaner:
            cleaner = f"<br><span class='kafkalab-cleaner'>{html.escape(cleaner)}</span>"
        return (f"<div class='kafkalab-segment-header' data-elapsed-ms='{elapsed}' "
                f"style='font-size:12px'><code>{self.cluster.clock_text()}</code> simulated · "
                f"<b>{html.escape(self.topic)}-{self.partition}</b> · cleanup.policy="
                f"<b>{html.escape(','.join(self._config('cleanup.policy')))}</b> · producer "
                f"{self.rate} records/h over {len(self.keys)} keys{tombstones} · sent "
                f"{s['sent']}{failed}{cleaner}</div>")

    def cleaner_text(self) -> str:
        """How the leader's log cleaner sees the log now ("" for a delete-only topic): its
        dirty ratio against ``min.cleanable.dirty.ratio`` and where the dirty section ends."""
        if "compact" not in self._config("cleanup.policy"):
            return ""
        p = self.cluster.partition(self.topic, self.partition)
        if p.leader is None:
            return "no leader: no cleaner looks at this partition now"
        cleaner = self.cluster.brokers[p.leader].log_manager.cleaner
        if cleaner is None:
            return "log.cleaner.enable=false: no cleaner runs on the leader's broker"
        state = cleaner.describe(p.leader_log)
        least = self._config("min.cleanable.dirty.ratio")
        if state.must_clean:
            verdict = "a dirty record is older than max.compaction.lag.ms: cleaned next"
        elif state.cleanable_ratio > least:
            verdict = f"> min.cleanable.dirty.ratio {least:g}: cleaned at the cleaner's next run"
        else:
            verdict = f"≤ min.cleanable.dirty.ratio {least:g}: the cleaner waits"
        total = bytes_text(state.clean_bytes + state.dirty_bytes)
        return (f"log cleaner: dirty ratio {ratio_text(state.cleanable_ratio, least)} (dirty "
                f"{bytes_text(state.dirty_bytes)} of {total}) {verdict}; dirty from offset "
                f"{state.first_dirty_offset} to "
                f"{state.first_uncleanable_offset} ({state.uncleanable_reason})")

    def _blocks_html(self) -> str:
        s = self.summary()
        return blocks_html(self.blocks(), log_start_offset=s["log_start_offset"],
                           high_watermark=s["high_watermark"],
                           log_end_offset=s["log_end_offset"], size_by=self.size_by,
                           deleted_segments=self.deleted_segments,
                           deleted_records=self.deleted_records)

    def _events_html(self, last: int = 10) -> str:
        return (f"<div class='kafkalab-segment-events'>"
                f"{recent_events_html(self.events, 'time', self.cluster.clock_text, last)}</div>")

    def _configs_html(self) -> str:
        cells = "".join(
            f"<td style='{CELL_STYLE}'><code>{n}</code><br><b>"
            f"{html.escape(str(self.fields[n].value))}</b>{html.escape(self._hint(n))}</td>"
            for n in CONFIGS)
        return f"<table style='{TABLE_STYLE}'><tr>{cells}</tr></table>"

    def stretches(self, column: int) -> list[list[tuple[float, int]]]:
        """One chart line (1 records, 2 bytes, 3 log start offset, 4 log end offset, the
        columns of :attr:`history`) as stretches of (simulated day, value) points; a new stretch
        starts where the widget did not watch the time in between (:attr:`breaks`)."""
        origin = self.cluster.start_ms
        return self._stretches(lambda row: ((row[0] - origin) / DAY_MS, row[column]))

    def _size_column(self) -> int:
        return 2 if self.size_by == "bytes" else 1

    def refresh(self) -> None:
        """Redraw every view from a fresh engine snapshot."""
        with self.cluster.lock:
            self._catch_up()
            self._sync_fields()
            self.message_view.value = self.message
            self.blocks_view.value = self._header_html() + self._blocks_html()
            self.events_view.value = self._events_html()
            with self.chart.batch_update():
                for trace, column in zip(self.chart.data, (self._size_column(), 3, 4)):
                    trace.x, trace.y = joined_stretches(self.stretches(column))

    def static_html(self) -> str:
        with self.cluster.lock:
            self._catch_up()
            self._sync_fields()
            chart = history_svg(self.stretches(self._size_column()),
                                {"log start offset": self.stretches(3),
                                 "log end offset": self.stretches(4)},
                                self._size_label(), {self._size_label(): SIZE_COLOR, **COLORS})
            return (f"<div class='kafkalab-segment-widget'><b>{html.escape(self.title)}</b>"
                    f"{self._header_html()}{self._configs_html()}{self.message}"
                    f"{self._blocks_html()}{chart}{self._events_html()}</div>")
