"""Producer views for notebook 02-producers: what a producer does with time, batches and bytes.

A real producer hides its batches: you see ``send()`` return and, later, a callback. In
simulated time every batch boundary and every millisecond of waiting can be measured exactly,
and the same settings always give the same numbers. This module measures and draws them.

* :func:`sample_orders` — the lesson's JSON orders, deterministic for a seed.
* :class:`Workload` / :func:`run_workload` — a producer sending records at a steady rate in
  simulated time, on a private cluster (or a topic of yours). The result has one row per record
  (send and acknowledgement time, latency) and one per stored batch (records, bytes, codec,
  producer id and sequence numbers).
* :func:`linger_sweep` and :class:`LingerSweepChart` — records per batch and latency as
  ``linger_ms`` grows.
* :func:`batches_frame` — a topic's stored batches with the producer id and sequence numbers an
  idempotent broker deduplicates by.
* :class:`KeySpreadChart` — a live histogram of records per partition by key (a hot key
  stands out); :func:`batch_timeline_figure` — which partition each batch went to, over time.
* :class:`RandomPartitioner` — the pre-KIP-480 choice for records without a key (a random
  partition per record), seeded so runs repeat.
* :class:`ProducerLabWidget` — sliders for ``linger_ms``, ``batch_size``, ``acks``,
  ``compression_type`` and the send rate, and a live chart of batches and latencies.

Widgets render as static HTML without a frontend (papermill, GitHub).
"""
from __future__ import annotations

import html
import json
import numbers
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from ..client.producer import KafkaProducer
from ..cluster.cluster import Cluster
from .cluster_widget import whole_number_ticks
from .live import StaticFallback, start_loop
from .tables import decoded_text

#: Brokers of the private clusters that workloads run on listen here (localhost:29092..), so a
#: workload never takes over the lesson's ``localhost:9092``.
PRIVATE_PORT = 29092
CODEC_NAMES = ("none", "gzip", "snappy", "lz4", "zstd")
_PARTITION_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"]


# --- data ------------------------------------------------------------------------------------
def sample_orders(n: int, seed: int = 0, users: int = 50) -> list[dict]:
    """``n`` orders shaped like the lesson's (order_id, user_id, total, items), same for a seed."""
    rng = random.Random(seed)
    return [{"order_id": str(10000 + i),
             "user_id": str(700 + rng.randrange(users)),
             "total": round(rng.uniform(5, 500), 2),
             "items": [f"item{rng.randrange(1, 40)}" for _ in range(rng.randrange(1, 4))]}
            for i in range(n)]


def codec_of(name: str | None) -> str | None:
    """'none' -> None (what ``compression_type`` takes); other names unchanged."""
    return None if name in (None, "none") else name


def batches_frame(cluster: Cluster, topic: str) -> pd.DataFrame:
    """Every stored batch of ``topic`` (leader logs), in offset order per partition.

    ``producer_id`` is -1 for a producer without idempotence: the broker then has no way to
    recognise a batch it already stored."""
    rows = []
    with cluster.lock:
        for p in cluster.topic(topic).partitions:
            for batch in p.leader_log.batches():
                values = [decoded_text(r.value) for r in batch.records]
                rows.append({"partition": p.index, "base_offset": batch.base_offset,
                             "last_offset": batch.last_offset, "records": batch.record_count,
                             "bytes": batch.size_in_bytes, "codec": batch.compression_type,
                             "producer_id": batch.producer_id,
                             "producer_epoch": batch.producer_epoch,
                             "base_sequence": batch.base_sequence,
                             "values": values if len(values) <= 3 else values[:3] + ["…"]})
    return pd.DataFrame(rows, columns=["partition", "base_offset", "last_offset", "records",
                                       "bytes", "codec", "producer_id", "producer_epoch",
                                       "base_sequence", "values"])


def stored_bytes(cluster: Cluster, topic: str) -> list[int]:
    """Bytes each partition of ``topic`` takes on the leader (batches as stored)."""
    with cluster.lock:
        return [p.leader_log.size_bytes for p in cluster.topic(topic).partitions]


# --- partitioner -----------------------------------------------------------------------------
class RandomPartitioner:
    """A random partition for every record without a key, as kafka-python's
    ``DefaultPartitioner`` and the Java client before 2.4 do (round robin there); keyed records
    still go by murmur2. Seeded, so a run repeats. Pass it as ``partitioner=``."""

    def __init__(self, seed: int = 0):
        self._rng = random.Random(seed)

    def __call__(self, key_bytes, all_partitions, available):
        if key_bytes is not None:
            from ..client.partitioner import partition_for_key

            return all_partitions[partition_for_key(key_bytes, len(all_partitions))]
        return self._rng.choice(list(available or all_partitions))


# --- workloads -------------------------------------------------------------------------------
@dataclass
class WorkloadRun:
    """What a workload measured. Times are simulated ms since the workload started."""

    settings: dict
    records: pd.DataFrame
    batches: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        return summary_html(self)

    def __repr__(self) -> str:
        s = self.summary
        return (f"WorkloadRun({s['records']} records in {s['batches']} batches, "
                f"{s['records_per_batch']} per batch, latency avg {s['latency_avg_ms']} ms, "
                f"max {s['latency_max_ms']} ms, {s['stored_bytes']} bytes stored)")


class Workload:
    """A producer sending ``records`` records at ``rate_per_ms`` records per simulated ms.

    ``run()`` does it all and returns a :class:`WorkloadRun`; ``steps()`` does it one
    simulated ms at a time (a live chart redraws between steps) and ``result()`` reads what
    has been acknowledged so far. Without ``cluster`` it runs on a private cluster of
    ``brokers`` brokers (on localhost:29092..) with one topic ``topic`` of ``partitions``
    partitions, replication factor ``min(3, brokers)``.

    Records are the lesson's JSON orders (``values`` overrides them), keyed by ``user_id``
    when ``keyed``. Other keyword arguments go to the :class:`KafkaProducer`.
    """

    def __init__(self, *, records: int = 500, rate_per_ms: float = 1.0, keyed: bool = False,
                 values: Sequence[bytes] | None = None, partitions: int = 1,
                 cluster: Cluster | None = None, topic: str = "workload", brokers: int = 3,
                 seed: int = 0, **producer_config: Any):
        if rate_per_ms <= 0:
            raise ValueError(f"rate_per_ms must be > 0, not {rate_per_ms!r}")
        if cluster is None:
            cluster = Cluster(brokers=brokers, seed=seed, port=PRIVATE_PORT)
        if topic not in cluster.topics:
            cluster.create_topic(topic, partitions, min(3, len(cluster.brokers)))
        self.cluster = cluster
        self.topic = topic
        self.rate_per_ms = rate_per_ms
        orders = sample_orders(records if values is None else 0, seed)
        if values is None:
            self._keys = [o["user_id"].encode() if keyed else None for o in orders]
            self._values = [json.dumps(o).encode("utf-8") for o in orders]
        else:
            self._values = [bytes(v) for v in values][:records]
            self._keys = [None] * len(self._values)
        self.settings = {"records": len(self._values), "rate_per_ms": rate_per_ms,
                         "partitions": len(cluster.topic(topic).partitions), "keyed": keyed,
                         **{k: producer_config.get(k, KafkaProducer.DEFAULT_CONFIG[k])
                            for k in ("linger_ms", "batch_size", "acks", "compression_type")},
                         **{k: v for k, v in producer_config.items()
                            if k not in ("linger_ms", "batch_size", "acks", "compression_type")}}
        self.producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                                      **producer_config)
        self._start_ms = cluster.now_ms()
        self._send_ms: list[int] = []
        self._acked: dict[int, tuple[int, int, int]] = {}  # seq -> (partition, offset, ack ms)
        self._failed: dict[int, str] = {}
        self._offsets_before = {p.index: p.log_end_offset
                                for p in cluster.topic(topic).partitions}
        self.done = False

    # --- running ---------------------------------------------------------------------------
    def _send(self, seq: int) -> None:
        now = self.cluster.now_ms() - self._start_ms
        self._send_ms.append(now)

        def acked(meta, seq=seq):
            self._acked[seq] = (meta.partition, meta.offset,
                                self.cluster.now_ms() - self._start_ms)

        def failed(error, seq=seq):
            self._failed[seq] = type(error).__name__

        self.producer.send(self.topic, key=self._keys[seq], value=self._values[seq]) \
            .add_callback(acked).add_errback(failed)

    def steps(self) -> Iterator[int]:
        """Send on schedule, one simulated ms per step; yields the elapsed ms. Then waits
        (without forcing a flush, so the last batch lingers as usual) until all is answered."""
        n = len(self._values)
        seq = 0
        tick = 0
        while seq < n:
            while seq < n and seq < (tick + 1) * self.rate_per_ms:
                self._send(seq)
                seq += 1
            self.cluster.advance(ms=1)
            tick += 1
            yield tick
        limit = self.cluster.now_ms() + self.producer.config["delivery_timeout_ms"] + 1000
        while len(self._acked) + len(self._failed) < n and self.cluster.now_ms() < limit:
            self.cluster.advance(ms=1)
            tick += 1
            yield tick
        # acks=0 "acknowledges" when a request leaves: let the last ones reach the log
        limit = self.cluster.now_ms() + 100
        while self._stored() < len(self._acked) and self.cluster.now_ms() < limit:
            self.cluster.advance(ms=1)
            tick += 1
            yield tick
        self.done = True

    def _stored(self) -> int:
        with self.cluster.lock:
            return sum(p.log_end_offset - self._offsets_before[p.index]
                       for p in self.cluster.topic(self.topic).partitions)

    def run(self) -> WorkloadRun:
        for _ in self.steps():
            pass
        return self.result()

    # --- results ---------------------------------------------------------------------------
    def result(self) -> WorkloadRun:
        """Records acknowledged so far and the batches that hold them."""
        records = pd.DataFrame(
            [{"seq": seq, "partition": p, "offset": o, "send_ms": self._send_ms[seq],
              "ack_ms": ack, "latency_ms": ack - self._send_ms[seq]}
             for seq, (p, o, ack) in sorted(self._acked.items())],
            columns=["seq", "partition", "offset", "send_ms", "ack_ms", "latency_ms"])
        batches = self._batches(records)
        return WorkloadRun(dict(self.settings), records, batches,
                           self._summary(records, batches))

    def _batches(self, records: pd.DataFrame) -> pd.DataFrame:
        # acks=0 metadata has offset -1: the i-th record sent to a partition is then taken to
        # be the i-th stored there (true unless one was lost on the way, which acks=0 hides)
        by_offset, sent_to = {}, {p: start for p, start in self._offsets_before.items()}
        for r in records.itertuples():
            offset = int(r.offset)
            if offset < 0:
                offset, sent_to[r.partition] = sent_to[r.partition], sent_to[r.partition] + 1
            by_offset[(int(r.partition), offset)] = r
        rows = []
        with self.cluster.lock:
            for p in self.cluster.topic(self.topic).partitions:
                for batch in p.leader_log.batches():
                    if batch.base_offset < self._offsets_before[p.index]:
                        continue
                    mine = [by_offset[(p.index, o)]
                            for o in range(batch.base_offset, batch.last_offset + 1)
                            if (p.index, o) in by_offset]
                    if not mine:
                        continue
                    rows.append({"partition": p.index, "base_offset": batch.base_offset,
                                 "records": batch.record_count, "bytes": batch.size_in_bytes,
                                 "codec": batch.compression_type,
                                 "opened_ms": min(r.send_ms for r in mine),
                                 "acked_ms": max(r.ack_ms for r in mine)})
        frame = pd.DataFrame(rows, columns=["partition", "base_offset", "records", "bytes",
                                            "codec", "opened_ms", "acked_ms"])
        return frame.sort_values(["acked_ms", "partition", "base_offset"],
                                 ignore_index=True)

    def _summary(self, records: pd.DataFrame, batches: pd.DataFrame) -> dict:
        latency = records["latency_ms"]
        payload = sum(len(v) + (len(k) if k else 0)
                      for k, v in zip(self._keys, self._values))
        return {"records": len(records), "failed": len(self._failed),
                "batches": len(batches),
                "records_per_batch": round(len(records) / len(batches), 2) if len(batches) else 0,
                "latency_avg_ms": round(float(latency.mean()), 2) if len(latency) else None,
                "latency_p99_ms": round(float(latency.quantile(0.99)), 1) if len(latency) else None,
                "latency_max_ms": int(latency.max()) if len(latency) else None,
                "stored_bytes": int(batches["bytes"].sum()) if len(batches) else 0,
                "payload_bytes": payload}


def run_workload(**kwargs: Any) -> WorkloadRun:
    """``Workload(**kwargs).run()``: see :class:`Workload` for the arguments."""
    return Workload(**kwargs).run()


def linger_sweep(lingers: Iterable[int] = (0, 5, 10, 20, 50, 100), **workload: Any
                 ) -> pd.DataFrame:
    """One workload per ``linger_ms`` (same records, same rate, a fresh cluster each);
    returns records per batch and latencies per linger."""
    return pd.DataFrame([_sweep_row(linger, run_workload(linger_ms=linger, **workload))
                         for linger in lingers])


def _sweep_row(linger: int, run: WorkloadRun) -> dict:
    s = run.summary
    return {"linger_ms": linger, "batches": s["batches"],
            "records_per_batch": s["records_per_batch"],
            "latency_avg_ms": s["latency_avg_ms"], "latency_max_ms": s["latency_max_ms"],
            "stored_bytes": s["stored_bytes"]}


# --- charts ----------------------------------------------------------------------------------
def _figure_widget(**subplots):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    return go.FigureWidget(make_subplots(**subplots))


def _html_table(frame: pd.DataFrame, caption: str = "") -> str:
    caption = f"<b>{html.escape(caption)}</b>" if caption else ""
    return caption + frame.to_html(index=False, border=0)


class LingerSweepChart(StaticFallback):
    """Records per batch (top) and latency (bottom) against ``linger_ms``, drawn point by point
    as :meth:`add` measures each linger."""

    def __init__(self, title: str = "batching vs latency"):
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.rows: list[dict] = []
        self.figure = _figure_widget(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                                     subplot_titles=("records per batch",
                                                     "latency: send() to acknowledgement"))
        self.figure.add_trace(go.Scatter(name="records per batch", mode="lines+markers",
                                         marker_color="#4c78a8"), row=1, col=1)
        self.figure.add_trace(go.Scatter(name="average latency", mode="lines+markers",
                                         marker_color="#f58518"), row=2, col=1)
        self.figure.add_trace(go.Scatter(name="max latency", mode="lines+markers",
                                         line_dash="dot", marker_color="#e45756"),
                              row=2, col=1)
        self.figure.update_layout(height=420, title=title, margin=dict(l=50, r=10, t=60, b=40),
                                  legend=dict(orientation="h", y=-0.15))
        self.figure.update_xaxes(title_text="linger_ms", row=2, col=1)
        self.figure.update_yaxes(title_text="records", row=1, col=1)
        self.figure.update_yaxes(title_text="simulated ms", row=2, col=1)
        self.box = widgets.VBox([self.figure])

    def add(self, linger_ms: int, run: WorkloadRun) -> dict:
        row = _sweep_row(linger_ms, run)
        self.rows.append(row)
        frame = self.frame()
        with self.figure.batch_update():
            self.figure.data[0].x = frame["linger_ms"].tolist()
            self.figure.data[0].y = frame["records_per_batch"].tolist()
            self.figure.data[1].x = frame["linger_ms"].tolist()
            self.figure.data[1].y = frame["latency_avg_ms"].tolist()
            self.figure.data[2].x = frame["linger_ms"].tolist()
            self.figure.data[2].y = frame["latency_max_ms"].tolist()
        return row

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["linger_ms", "batches", "records_per_batch",
                                                "latency_avg_ms", "latency_max_ms",
                                                "stored_bytes"])

    def static_html(self) -> str:
        return _html_table(self.frame(), "batching vs latency (simulated ms)")


class KeySpreadChart(StaticFallback):
    """Records per partition of ``topic``, stacked by key: each of ``hot_keys`` on its own,
    all other keys together, and records without a key. Call :meth:`refresh` to redraw."""

    def __init__(self, cluster: Cluster, topic: str, hot_keys: Sequence[str] = (),
                 title: str | None = None):
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.cluster = cluster
        self.topic = topic
        self.hot_keys = list(hot_keys)
        groups = self.hot_keys + ["other keys", "no key"]
        colors = ["#e45756", "#f58518", "#b279a2"][:len(self.hot_keys)] + ["#4c78a8", "#bab0ac"]
        self.figure = go.FigureWidget(
            data=[go.Bar(name=g if g in ("other keys", "no key") else f"key {g!r}",
                         marker_color=c) for g, c in zip(groups, colors)],
            layout=go.Layout(barmode="stack", height=260, bargap=0.3,
                             title=title or f"records per partition of {topic}",
                             xaxis_title="partition", yaxis_title="records",
                             margin=dict(l=50, r=10, t=40, b=40)))
        self.box = widgets.VBox([self.figure])
        self.refresh()

    def counts(self) -> pd.DataFrame:
        """Records per partition (rows) and key group (columns)."""
        groups = self.hot_keys + ["other keys", "no key"]
        with self.cluster.lock:
            partitions = self.cluster.topic(self.topic).partitions
            table = {p.index: dict.fromkeys(groups, 0) for p in partitions}
            for p in partitions:
                for batch in p.leader_log.batches():
                    for r in batch.records:
                        key = None if r.key is None else decoded_text(r.key)
                        group = ("no key" if key is None
                                 else key if key in self.hot_keys else "other keys")
                        table[p.index][group] += 1
        frame = pd.DataFrame.from_dict(table, orient="index", columns=groups)
        frame.index.name = "partition"
        return frame

    def refresh(self) -> None:
        frame = self.counts()
        with self.figure.batch_update():
            for trace, column in zip(self.figure.data, frame.columns):
                trace.x = [str(i) for i in frame.index]
                trace.y = frame[column].tolist()

    def static_html(self) -> str:
        frame = self.counts()
        frame = frame.loc[:, (frame != 0).any(axis=0)]
        frame["total"] = frame.sum(axis=1)
        return (f"<b>records per partition of {html.escape(self.topic)}</b>"
                + frame.reset_index().to_html(index=False, border=0))


def batch_timeline_figure(runs: Mapping[str, WorkloadRun], height: int = 300):
    """One panel per run: each stored batch as a dot at (acknowledged at, partition), its size
    the number of records in it. With acks=0 there is no acknowledgement: the dot is drawn
    when the batch was sent, and the axis says so."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(runs), shared_yaxes=True,
                        subplot_titles=[f"{name}: {run.summary['batches']} batches, "
                                        f"{run.summary['records_per_batch']} records per batch"
                                        for name, run in runs.items()])
    biggest = max((int(run.batches["records"].max()) for run in runs.values()
                   if len(run.batches)), default=1)
    for col, run in enumerate(runs.values(), start=1):
        b = run.batches
        when = ("sent at (acks=0: no acknowledgement)"
                if _acks_name(run.settings.get("acks")) == "0" else "acknowledged at")
        fig.add_trace(go.Scatter(
            x=b["acked_ms"], y=b["partition"], mode="markers", showlegend=False,
            marker=dict(size=(6 + 30 * b["records"] / biggest).tolist(),
                        color=[_PARTITION_COLORS[p % 6] for p in b["partition"]],
                        line=dict(width=1, color="#333")),
            text=[f"{n} records" for n in b["records"]],
            hovertemplate=f"partition %{{y}}, {when} %{{x}} ms: %{{text}}<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text=f"{when} (simulated ms)", row=1, col=col)
    # the partitions that exist, 0..N-1, one whole-number tick each, named on every panel
    # (a big dot would otherwise pad the automatic range out to partitions -1 and N)
    partitions = max(int(run.settings.get("partitions") or 0) for run in runs.values())
    partitions = max(partitions, *(int(run.batches["partition"].max()) + 1
                                   for run in runs.values() if len(run.batches)), 1)
    fig.update_yaxes(title_text="partition", range=[-0.5, partitions - 0.5],
                     tickvals=list(range(partitions)), showticklabels=True, zeroline=False)
    fig.update_layout(height=height, margin=dict(l=50, r=10, t=50, b=40))
    return fig


def bar_figure(frame: pd.DataFrame, x: str, y: str | Sequence[str], title: str,
               yaxis_title: str = "", height: int = 280, text: str | None = None,
               text_format: str = ".2f"):
    """A plain (grouped) bar chart of ``frame``; the y axis is titled ``yaxis_title`` (default:
    the one column drawn). ``text`` labels each bar with that column, numbers written alike
    (``text_format``: ``1`` and ``5.3`` both as ``1.00``, ``5.30``)."""
    import plotly.graph_objects as go

    ys = [y] if isinstance(y, str) else list(y)
    yaxis_title = yaxis_title or (ys[0] if len(ys) == 1 else "")
    labels = None
    if text is not None:
        labels = [format(v, text_format) if isinstance(v, numbers.Real) else str(v)
                  for v in frame[text]]
    fig = go.Figure([go.Bar(name=column, x=frame[x].astype(str), y=frame[column],
                            marker_color=_PARTITION_COLORS[i % 6], text=labels,
                            textposition="outside" if text else None, cliponaxis=False)
                     for i, column in enumerate(ys)])
    fig.update_layout(title=title, barmode="group", height=height, xaxis_title=x,
                      yaxis_title=yaxis_title, margin=dict(l=50, r=10, t=60, b=40),
                      showlegend=len(ys) > 1)
    return fig


def _acks_name(acks) -> str:
    """'0', '1' or 'all' for any way of writing acks."""
    return {0: "0", "0": "0", 1: "1", "1": "1", -1: "all", "-1": "all", "all": "all"}.get(
        acks, str(acks))


def lab_chart_titles(acks) -> tuple[str, str]:
    """The producer lab's two chart titles. With acks=0 the broker never answers: there is
    no acknowledgement, only the moment a request is sent."""
    if _acks_name(acks) == "0":
        return ("each bar is a batch, when it was sent (acks=0: no acknowledgement): "
                "records in it", "each dot is a record: ms until it was sent, no "
                "acknowledgement (acks=0)")
    return ("each bar is a batch, when it was acknowledged: records in it",
            "each dot is a record: ms until acknowledged")


def summary_html(run: WorkloadRun) -> str:
    s, c = run.summary, run.settings
    acks = _acks_name(c.get("acks"))
    waited = ("sent, no acknowledgement (acks=0): ms until sent" if acks == "0"
              else "latency")
    return (f"<div class='kafkalab-workload'><b>{s['records']} records</b> "
            f"({c['rate_per_ms']} per ms, linger_ms={c['linger_ms']}, "
            f"batch_size={c['batch_size']}, acks={acks}, "
            f"compression_type={c['compression_type']}) → <b>{s['batches']} batches</b>, "
            f"{s['records_per_batch']} records per batch · {waited} avg "
            f"{s['latency_avg_ms']} ms, p99 {s['latency_p99_ms']} ms, max "
            f"{s['latency_max_ms']} ms · stored {s['stored_bytes']:,} bytes for "
            f"{s['payload_bytes']:,} bytes of keys and values"
            + (f" · <b style='color:#c00'>{s['failed']} failed</b>" if s["failed"] else "")
            + "</div>")


# --- the producer lab widget -----------------------------------------------------------------
class ProducerLabWidget(StaticFallback):
    """Tune a producer and watch its batches form, in simulated time.

    Each run sends ``records`` lesson orders at the chosen rate to a fresh private cluster
    (3 brokers, topic of ``partitions`` partitions, replication factor 3). The top chart has one
    bar per batch (when it was acknowledged, how many records it held); the bottom chart one
    dot per record (when it was sent, how long until its acknowledgement). Each run adds a row
    to the table of runs, so settings can be compared. :meth:`run` does what the button does.
    """

    BATCH_SIZES = [("512 B", 512), ("1 KiB", 1024), ("2 KiB", 2048), ("4 KiB", 4096),
                   ("8 KiB", 8192), ("16 KiB (default)", 16384), ("32 KiB", 32768),
                   ("64 KiB", 65536)]
    RATES = [("1 per 4 ms", 0.25), ("1 per 2 ms", 0.5), ("1 per ms", 1.0), ("2 per ms", 2.0),
             ("5 per ms", 5.0), ("10 per ms", 10.0)]

    def __init__(self, records: int = 400, partitions: int = 1, seed: int = 0,
                 ms_per_frame: int = 20, interval_s: float = 0.05):
        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.records = records
        self.partitions = partitions
        self.seed = seed
        self.ms_per_frame = ms_per_frame
        self.interval_s = interval_s
        self.history: list[dict] = []
        self.last: WorkloadRun | None = None
        self._workload: Workload | None = None
        self._steps: Iterator[int] | None = None
        style = {"description_width": "110px"}
        self.linger = widgets.IntSlider(value=10, min=0, max=100, step=5,
                                        description="linger_ms", style=style,
                                        continuous_update=False)
        self.batch_size = widgets.SelectionSlider(options=self.BATCH_SIZES, value=16384,
                                                  description="batch_size", style=style,
                                                  continuous_update=False)
        self.rate = widgets.SelectionSlider(options=self.RATES, value=1.0,
                                            description="send rate", style=style,
                                            continuous_update=False)
        self.acks = widgets.Dropdown(options=[("0", 0), ("1", 1), ("all", "all")],
                                     value="all", description="acks", style=style)
        self.compression = widgets.Dropdown(options=list(CODEC_NAMES), value="none",
                                            description="compression", style=style)
        self.run_button = widgets.Button(description="Run", icon="play",
                                         button_style="primary",
                                         tooltip="send the records with these settings and "
                                                 "draw their batches and latencies")
        self.run_button.on_click(lambda _: self.run(animate=True))
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.figure = _figure_widget(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                                     subplot_titles=lab_chart_titles("all"))
        self.figure.add_trace(go.Bar(name="batch", marker_color="#4c78a8"), row=1, col=1)
        self.figure.add_trace(go.Scatter(name="record", mode="markers",
                                         marker=dict(size=4, color="#f58518")), row=2, col=1)
        self.figure.update_layout(height=430, showlegend=False, bargap=0.1,
                                  margin=dict(l=50, r=10, t=40, b=40))
        self.figure.update_xaxes(title_text="simulated ms since the first send", row=2, col=1)
        self.figure.update_yaxes(title_text="records", row=1, col=1)
        self.figure.update_yaxes(title_text="latency ms", rangemode="tozero", row=2, col=1)
        controls = widgets.VBox([self.linger, self.batch_size, self.rate, self.acks,
                                 self.compression,
                                 widgets.HBox([self.run_button, self.status])])
        self.box = widgets.VBox([controls, self.figure, self.table])

    def set(self, linger_ms: int | None = None, batch_size: int | None = None,
            rate_per_ms: float | None = None, acks=None, compression_type: str | None = None
            ) -> "ProducerLabWidget":
        """Move the controls from code (None leaves a control as it is)."""
        if linger_ms is not None:
            self.linger.value = linger_ms
        if batch_size is not None:
            self.batch_size.value = batch_size
        if rate_per_ms is not None:
            self.rate.value = rate_per_ms
        if acks is not None:
            self.acks.value = acks
        if compression_type is not None:
            self.compression.value = compression_type
        return self

    def _new_workload(self) -> Workload:
        return Workload(records=self.records, rate_per_ms=self.rate.value,
                        partitions=self.partitions, seed=self.seed,
                        linger_ms=self.linger.value, batch_size=self.batch_size.value,
                        acks=self.acks.value, compression_type=codec_of(self.compression.value))

    def run(self, animate: bool = False) -> WorkloadRun | None:
        """Run the workload with the current settings. With ``animate`` and a live frontend,
        draw it as it happens (returns None; the result lands in ``self.last``)."""
        self._workload = workload = self._new_workload()
        self._steps = workload.steps()
        self.run_button.disabled = True
        if animate and start_loop(self._frame, self.interval_s) is not None:
            return None
        while self._frame():
            pass
        return self.last

    def _frame(self) -> bool:
        """Advance the running workload by ``ms_per_frame`` simulated ms and redraw."""
        workload, steps = self._workload, self._steps
        if workload is None or steps is None:
            return False
        try:
            for _ in range(self.ms_per_frame):
                if next(steps, None) is None:
                    break
            run = workload.result()
        except Exception as error:  # a live loop must not die silently with the button disabled
            self._steps = None
            self.run_button.disabled = False
            self.status.value = (f"<b style='color:#c00'>run failed: "
                                 f"{html.escape(type(error).__name__)}: "
                                 f"{html.escape(str(error))}</b>")
            raise
        self._draw(run)
        if workload.done:
            self._finish(run)
            return False
        self.status.value = f"running… {workload.cluster.now_ms() - workload._start_ms} ms"
        return True

    def _draw(self, run: WorkloadRun) -> None:
        b, r = run.batches, run.records
        acks = _acks_name(run.settings.get("acks"))
        with self.figure.batch_update():
            # acks=0: the broker never answers, so there is no acknowledgement to time
            for annotation, text in zip(self.figure.layout.annotations, lab_chart_titles(acks)):
                annotation.text = text
            self.figure.layout.yaxis2.title.text = ("ms until sent" if acks == "0"
                                                    else "latency ms")
            # whole records and whole simulated ms: distinct whole-number ticks from 0
            for axis, values, least in ((self.figure.layout.yaxis, b["records"], 1),
                                        (self.figure.layout.yaxis2, r["latency_ms"], 5)):
                ticks = whole_number_ticks(max([least, *values.tolist()]))
                axis.update(tickmode="array", tickvals=ticks, range=[0, ticks[-1] * 1.05])
            self.figure.data[0].x = b["acked_ms"].tolist()
            self.figure.data[0].y = b["records"].tolist()
            self.figure.data[0].marker.color = [_PARTITION_COLORS[p % 6] for p in b["partition"]]
            self.figure.data[1].x = r["send_ms"].tolist()
            self.figure.data[1].y = r["latency_ms"].tolist()
            end = max([0, *b["acked_ms"].tolist(), *r["send_ms"].tolist()])
            self.figure.update_xaxes(range=[-10, end + 20])

    def _finish(self, run: WorkloadRun) -> None:
        self.last = run
        self._steps = None
        self.run_button.disabled = False
        s, c = run.summary, run.settings
        self.history.append({"linger_ms": c["linger_ms"], "batch_size": c["batch_size"],
                             "rate_per_ms": c["rate_per_ms"], "acks": self.acks.label,
                             "compression": self.compression.value, "batches": s["batches"],
                             "records_per_batch": s["records_per_batch"],
                             "latency_avg_ms": s["latency_avg_ms"],
                             "latency_max_ms": s["latency_max_ms"],
                             "stored_bytes": s["stored_bytes"]})
        self.status.value = summary_html(run)
        self.table.value = _html_table(self.runs(), "runs so far")

    def runs(self) -> pd.DataFrame:
        """One row per finished run: settings and what they gave."""
        return pd.DataFrame(self.history)

    def static_html(self) -> str:
        if self.last is None:
            return "<i>producer lab: no run yet</i>"
        return summary_html(self.last) + _html_table(self.runs(), "runs so far")
