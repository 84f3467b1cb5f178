"""Static HTML views (``_repr_html_``): readable in papermill output and on GitHub, no widgets.

``partition_log_html`` draws one row per partition and one cell per record (offset and key),
marking the log start offset, the high watermark, the log end offset and consumer positions —
the same picture the live widget redraws.
"""
from __future__ import annotations

import html
import zlib
from typing import Mapping

from ..cluster.partition import Partition

_CELL = ("display:inline-block;min-width:34px;margin:1px;padding:2px 3px;border-radius:3px;"
         "font:11px monospace;text-align:center;")
_COLORS = ["#cfe8ff", "#ffe2c6", "#d7f5d0", "#f3d3f5", "#fff4b3", "#d4f1f4", "#f9d0d0",
           "#e0e0ff"]


def _key_text(key: bytes | None) -> str:
    if key is None:
        return "∅"
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = key.hex()
    return text if len(text) <= 8 else text[:7] + "…"


def partition_row_html(p: Partition, positions: Mapping[str, int], max_cells: int = 40) -> str:
    log = p.view_log
    cells = []
    records = [(batch.base_offset + r.offset_delta, r.key) for batch in log.batches()
               for r in batch.records]
    shown = records[-max_cells:]
    if len(records) > len(shown):
        # the readers whose position is among the records not drawn keep their ▲ here
        hidden = "".join(f"<div style='color:#c00'>▲{html.escape(name)} at {pos}</div>"
                         for name, pos in positions.items() if pos < shown[0][0])
        cells.append(f"<span class='kafkalab-hidden' style='{_CELL}color:#888'>… "
                     f"{len(records) - len(shown)} earlier{hidden}</span>")
    for offset, key in shown:
        color = _COLORS[zlib.crc32(key) % len(_COLORS)] if key is not None else "#eeeeee"
        committed = offset < log.high_watermark
        style = _CELL + f"background:{color};" + ("" if committed else "opacity:.45;")
        marks = "".join(f"<div style='color:#c00'>▲{html.escape(name)}</div>"
                        for name, pos in positions.items() if pos == offset)
        cells.append(f"<span class='kafkalab-record' data-offset='{offset}' style='{style}'>"
                     f"<b>{offset}</b><br>{html.escape(_key_text(key))}{marks}</span>")
    end_marks = "".join(f"<div style='color:#c00'>▲{html.escape(name)}</div>"
                        for name, pos in positions.items() if pos >= log.log_end_offset)
    cells.append(f"<span style='{_CELL}border:1px dashed #999'>LEO {log.log_end_offset}"
                 f"{end_marks}</span>")
    return (f"<tr><td style='white-space:nowrap;text-align:left'><b>{html.escape(p.name)}</b>"
            f"<br><small>start {log.log_start_offset} · HW {log.high_watermark} · "
            f"LEO {log.log_end_offset}</small></td><td style='text-align:left'>"
            f"{''.join(cells)}</td></tr>")


def partition_log_html(partitions: list[Partition], positions: Mapping[str, Mapping] = None,
                       title: str = "") -> str:
    """The partition-log picture; ``positions`` maps a reader's name to {TopicPartition: offset}."""
    positions = positions or {}
    total = sum(p.log_end_offset - p.log_start_offset for p in partitions)
    rows = "".join(partition_row_html(p, {name: pos[p.tp] for name, pos in positions.items()
                                          if p.tp in pos}) for p in partitions)
    caption = html.escape(title) if title else "partition log"
    return (f"<div class='kafkalab-partition-log' data-records='{total}'>"
            f"<b>{caption}</b> — {total} record(s); faded cells are above the high watermark, "
            f"▲ marks a reader's position (the next offset it will read)"
            f"<table>{rows}</table></div>")


def cluster_html(cluster) -> str:
    brokers = ", ".join(f"{b.id} ({b.address}{'' if b.alive else ', down'})"
                        for b in cluster.brokers.values())
    rows = "".join(
        f"<tr><td>{html.escape(t.name)}</td><td>{len(t.partitions)}</td>"
        f"<td>{t.replication_factor}</td>"
        f"<td>{sum(p.log_end_offset - p.log_start_offset for p in t.partitions)}</td></tr>"
        for t in sorted(cluster.topics.values(), key=lambda t: t.name))
    quorum = cluster.controller
    voters = ", ".join(str(v) for v in quorum.voters)
    controllers = (f"KRaft controllers {voters}, active: {quorum.active_text()}"
                   if quorum.dedicated else f"KRaft voters {voters} (combined mode), active: "
                   f"{quorum.active_text()}")
    return (f"<b>kafkalab cluster</b> · {len(cluster.brokers)} broker(s): {brokers} · "
            f"{html.escape(controllers)} · {cluster.clock_text()} · seed {cluster.seed}"
            f"<table><tr><th>topic</th><th>partitions</th><th>replication factor</th>"
            f"<th>records</th></tr>{rows}</table>")


def topic_html(topic) -> str:
    return partition_log_html(topic.partitions, title=f"topic {topic.name}")
