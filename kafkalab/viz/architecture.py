"""The lesson's architecture picture, drawn from a live cluster's metadata (inline SVG).

``Producers -> Topics (Partitions) -> Consumer Groups``, the brokers under them and the KRaft
controller quorum under the brokers. Partitions, leaders and replicas are read from the
:class:`~kafkalab.cluster.cluster.Cluster`, so the picture changes when the cluster does. Consumer
groups are drawn from a plan given by the caller (``{group: {consumer: [partition, ...]}}``):
the coordinator that makes such assignments arrives with ``03-consumers``. The controller box
names the *active* controller as the engine knows it: ``controller 1000`` for a dedicated KRaft
quorum, a broker id only in combined mode (``Controller.active_text``).

Plain SVG in HTML: it renders the same in JupyterLab, in papermill output and on GitHub.
"""
from __future__ import annotations

import html
from typing import Mapping, Sequence

from ..cluster.cluster import Cluster

LESSON_GROUPS = {
    "email-service": {"consumer 1": [0], "consumer 2": [1], "consumer 3": [2]},
    "analytics-service": {"consumer 1": [0, 1], "consumer 2": [2]},
}
_PARTITION_COLORS = ["#cfe8ff", "#ffe2c6", "#d7f5d0", "#f3d3f5", "#fff4b3", "#d4f1f4"]
_PARTITION_STROKES = ["#4c8fd6", "#e08a3c", "#4caf50", "#b05cc0", "#c9a800", "#3aa8b8"]


def _text(x: float, y: float, s: str, size: int = 12, weight: str = "normal",
          anchor: str = "start", color: str = "#222") -> str:
    return (f"<text x='{x:.0f}' y='{y:.0f}' font-size='{size}' font-weight='{weight}' "
            f"text-anchor='{anchor}' fill='{color}' font-family='sans-serif'>"
            f"{html.escape(s)}</text>")


def _rect(x, y, w, h, fill, stroke="#555", rx=6, dash="") -> str:
    dash = f" stroke-dasharray='{dash}'" if dash else ""
    return (f"<rect x='{x:.0f}' y='{y:.0f}' width='{w:.0f}' height='{h:.0f}' rx='{rx}' "
            f"fill='{fill}' stroke='{stroke}'{dash}/>")


def _arrow(x1, y1, x2, y2, color="#555", dash="", width=1.4) -> str:
    dash = f" stroke-dasharray='{dash}'" if dash else ""
    return (f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' stroke='{color}' "
            f"stroke-width='{width}'{dash} marker-end='url(#kafkalab-arrow)'/>")


class ArchitectureDiagram:
    """An SVG picture of producers, one topic's partitions, consumer groups, brokers, KRaft."""

    def __init__(self, cluster: Cluster, topic: str,
                 producers: Sequence[str] = ("checkout-service", "mobile-app"),
                 groups: Mapping[str, Mapping[str, list[int]]] | None = None):
        self.cluster = cluster
        self.topic = topic
        self.producers = list(producers)
        self.groups = LESSON_GROUPS if groups is None else groups

    def svg(self) -> str:
        with self.cluster.lock:
            return self._svg()

    def _svg(self) -> str:
        topic = self.cluster.topic(self.topic)
        parts = topic.partitions
        brokers = list(self.cluster.brokers.values())
        out: list[str] = []
        row_h = 34
        top = 40
        # --- topic with partitions (middle) ---
        tx, tw = 290, 270
        th = 34 + row_h * len(parts)
        out.append(_rect(tx, top, tw, th, "#fafafa"))
        out.append(_text(tx + 10, top + 20, f"topic {topic.name}", 13, "bold"))
        p_y = {}
        for p in parts:
            y = top + 30 + row_h * p.index
            p_y[p.index] = y + 13
            color = _PARTITION_COLORS[p.index % len(_PARTITION_COLORS)]
            out.append(_rect(tx + 10, y, tw - 20, row_h - 6, color, rx=4))
            records = p.log_end_offset - p.log_start_offset
            out.append(_text(tx + 18, y + 17, f"partition {p.index}", 12, "bold"))
            out.append(_text(tx + tw - 16, y + 17, f"leader: broker {p.leader} · "
                             f"{records} rec", 11, anchor="end", color="#444"))
        # --- producers (left) ---
        px, pw = 20, 190
        out.append(_text(px, top - 12, "Producers", 13, "bold"))
        for i, name in enumerate(self.producers):
            y = top + 10 + i * 46
            out.append(_rect(px, y, pw, 32, "#eef6ee"))
            out.append(_text(px + pw / 2, y + 20, name, 12, anchor="middle"))
            out.append(_arrow(px + pw, y + 16, tx - 4, top + th / 2))
        # --- consumer groups (right) ---
        gx, gw = 640, 230
        out.append(_text(gx, top - 12, "Consumer Groups (03-consumers)", 13, "bold"))
        gy = top
        for group, members in self.groups.items():
            gh = 28 + 24 * len(members)
            out.append(_rect(gx, gy, gw, gh, "#fff", dash="4 3"))
            out.append(_text(gx + 10, gy + 18, f"group {group}", 12, "bold"))
            for j, (consumer, assigned) in enumerate(members.items()):
                cy = gy + 36 + 24 * j
                label = ", ".join(f"P{i}" for i in assigned)
                out.append(_text(gx + 24, cy, f"{consumer} ← {label}", 11))
                for i in assigned:
                    if i in p_y:
                        out.append(_arrow(tx + tw, p_y[i], gx + 20, cy - 4, "#8aa",
                                          width=0.9))
            gy += gh + 10
        # --- brokers (below) ---
        by = max(top + th, gy) + 40
        bw = min(200, (860 - 20 * (len(brokers) - 1)) / max(len(brokers), 1))
        total_w = len(brokers) * bw + 20 * (len(brokers) - 1)
        bx0 = (900 - total_w) / 2
        out.append(_text(20, by - 26, "Kafka Cluster (Brokers)", 13, "bold"))
        for k, b in enumerate(brokers):
            x = bx0 + k * (bw + 20)
            leads = [p.index for p in parts if p.leader == b.id]
            follows = [p.index for p in parts if b.id in p.replicas and p.leader != b.id]
            out.append(_rect(x, by, bw, 58, "#f0f0ff" if b.alive else "#eee"))
            out.append(_text(x + bw / 2, by + 18, f"broker {b.id}" + ("" if b.alive else
                                                                      " (down)"), 12, "bold",
                             "middle"))
            out.append(_text(x + bw / 2, by + 34, f"leads: {_plist(leads)}", 11,
                             anchor="middle"))
            out.append(_text(x + bw / 2, by + 49, f"follower of: {_plist(follows)}", 11,
                             anchor="middle", color="#555"))
            for i in leads:
                start_x = tx + 20 + (tw - 40) * (i + 0.5) / len(parts)
                out.append(_arrow(start_x, top + th, x + bw / 2, by - 2,
                                  _PARTITION_STROKES[i % len(_PARTITION_STROKES)], "4 3", 1.2))
        # --- KRaft controller (bottom) ---
        ky = by + 90
        quorum = self.cluster.controller
        voters = ", ".join(str(v) for v in quorum.voters)
        kind = "dedicated controllers" if quorum.dedicated else "voters"
        out.append(_rect(120, ky, 660, 46, "#fff8e6"))
        out.append(_text(450, ky + 19, f"KRaft controller quorum (replaces ZooKeeper): {kind} "
                                       f"{voters}", 12, "bold", "middle"))
        out.append(_text(450, ky + 36, f"owns the metadata: topics, partitions, leaders, ISR "
                                       f"· active controller: {quorum.active_text()}", 11,
                         anchor="middle", color="#444"))
        out.append(_arrow(450, ky, 450, by + 60, "#b90", "", 1.2))
        out.append(_text(458, ky - 10, "metadata", 10, color="#b90"))
        out.append(_text(20, by - 9, "dashed: partition → its leader broker", 10,
                         color="#777"))
        height = ky + 60
        defs = ("<defs><marker id='kafkalab-arrow' viewBox='0 0 10 10' refX='9' refY='5' "
                "markerWidth='6' markerHeight='6' orient='auto-start-reverse'>"
                "<path d='M 0 0 L 10 5 L 0 10 z' fill='#666'/></marker></defs>")
        return (f"<svg class='kafkalab-architecture' xmlns='http://www.w3.org/2000/svg' "
                f"width='900' height='{height}' viewBox='0 0 900 {height}'>{defs}"
                f"{''.join(out)}</svg>")

    def _repr_html_(self) -> str:
        return f"<div>{self.svg()}</div>"


def _plist(indexes: list[int]) -> str:
    return ", ".join(f"P{i}" for i in indexes) or "—"
