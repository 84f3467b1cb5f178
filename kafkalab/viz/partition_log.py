"""The partition-log widget: watch records land in partitions while a producer runs.

One row per partition and one cell per record (offset and key); the log start offset, high
watermark, log end offset and each reader's position are marked, under the topic's cluster clock
(``t = 0 d 00:00:30``: simulated time since that cluster started). Buttons produce records
(keyed by user id, or without a key) and start/stop a producer that keeps sending in the
background; a bar chart shows records per partition. Every redraw reads a fresh engine snapshot.
``controls=False`` leaves the buttons out: a view to watch while code drives the topic.

Without a frontend (papermill, GitHub) the same picture is rendered as static HTML.
"""
from __future__ import annotations

import html
import itertools
import json
from typing import Mapping

import ipywidgets as widgets
import plotly.graph_objects as go

from ..client.consumer import KafkaConsumer
from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from .html import partition_log_html
from .live import StaticFallback, start_loop

USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
RUN_TIP = "keep sending one order every 100 simulated ms until pressed again"
STOP_TIP = "stop the producer"


class PartitionLogWidget(StaticFallback):
    """Live view of one topic's partitions with producer controls.

    ``readers`` maps a name to a consumer whose positions are drawn. ``produce(n)`` can be
    called from code too (that is what FAST/headless runs do). With ``controls=False`` the view
    has no buttons: it only watches (``refresh()`` redraws it).
    """

    def __init__(self, cluster: Cluster, topic: str,
                 readers: Mapping[str, KafkaConsumer] | None = None,
                 users: tuple[str, ...] = USERS, interval_s: float = 0.3,
                 controls: bool = True):
        self.cluster = cluster
        self.topic = topic
        self.readers = dict(readers or {})
        self.users = users
        self.interval_s = interval_s
        self._counter = itertools.count()
        self._producer = KafkaProducer(
            bootstrap_servers=cluster.bootstrap_servers,
            key_serializer=lambda k: k.encode("utf-8"),
            value_serializer=lambda v: json.dumps(v).encode("utf-8"))
        self.key_mode = widgets.ToggleButtons(options=["keyed by user", "no key"],
                                              value="keyed by user",
                                              tooltips=["same user -> same partition",
                                                        "sticky partitioner spreads batches"])
        self.produce_button = widgets.Button(description="Produce 10 records",
                                             button_style="primary", icon="plus",
                                             layout=widgets.Layout(width="auto"),
                                             tooltip="send 10 orders and wait for the broker's "
                                                     "acknowledgements")
        self.run_toggle = widgets.ToggleButton(description="Run producer", icon="play",
                                               value=False, tooltip=RUN_TIP)
        self.view = widgets.HTML()
        self.chart = go.FigureWidget(
            data=[go.Bar(name="records", marker_color="#4c78a8")],
            layout=go.Layout(height=220, margin=dict(l=40, r=10, t=30, b=30),
                             title="records per partition", xaxis_title="partition",
                             yaxis_title="records", bargap=0.3))
        self.produce_button.on_click(lambda _: self.produce(10))
        self.run_toggle.observe(self._on_toggle, names="value")
        buttons = widgets.HBox([self.produce_button, self.run_toggle, self.key_mode])
        self.box = widgets.VBox([buttons, self.chart, self.view] if controls
                                else [self.chart, self.view])
        self.refresh()

    # --- actions -------------------------------------------------------------------------------
    def produce(self, n: int = 10) -> list:
        """Send ``n`` orders, wait for their acknowledgements, redraw; returns the metadata."""
        futures = []
        for _ in range(n):
            i = next(self._counter)
            user = self.users[i % len(self.users)]
            key = user if self.key_mode.value == "keyed by user" else None
            futures.append(self._producer.send(self.topic, key=key,
                                               value={"order_id": i, "user": user}))
        self._producer.flush()
        self.refresh()
        return [f.get() for f in futures]

    def _on_toggle(self, change) -> None:
        if change["new"]:
            self.run_toggle.description, self.run_toggle.icon = "Stop producer", "stop"
            self.run_toggle.tooltip = STOP_TIP
            start_loop(self._live_step, self.interval_s)
        else:
            self.run_toggle.description, self.run_toggle.icon = "Run producer", "play"
            self.run_toggle.tooltip = RUN_TIP

    def _live_step(self) -> bool:
        if not self.run_toggle.value:
            return False
        self.produce(1)
        self.cluster.advance(ms=100)
        return True

    # --- drawing -------------------------------------------------------------------------------
    def _positions(self) -> dict:
        return {name: consumer.known_positions() for name, consumer in self.readers.items()}

    def static_html(self) -> str:
        with self.cluster.lock:
            topic = self.cluster.topic(self.topic)
            log = partition_log_html(topic.partitions, self._positions(),
                                     title=f"topic {self.topic}")
            clock = self.cluster.clock_text()
        first, *more = self.cluster.bootstrap_servers.split(",")
        where = f"{first}{'…' if more else ''}"
        return (f"<div class='kafkalab-clock' style='font:12px monospace;color:#333'>clock: {clock}"
                f" <small style='font-family:sans-serif;color:#777'>(simulated time since the "
                f"cluster at {html.escape(where)} started)</small></div>{log}")

    def refresh(self) -> None:
        with self.cluster.lock:
            topic = self.cluster.topic(self.topic)
            counts = [p.log_end_offset - p.log_start_offset for p in topic.partitions]
            self.view.value = self.static_html()
        with self.chart.batch_update():
            self.chart.data[0].x = [str(i) for i in range(len(counts))]
            self.chart.data[0].y = counts
