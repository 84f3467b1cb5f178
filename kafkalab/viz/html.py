"""Static HTML views (``_repr_html_``): readable in papermill output and on GitHub, no widgets.

Each view draws an engine snapshot (:mod:`kafkalab.cluster.snapshots`); :func:`register` tells
the engine to show its clusters, topics, partitions and event logs with these views (called by
``kafkalab/__init__``, so the engine never imports a view). Given a live engine object instead
of a snapshot, a view takes the object's snapshot first.

``partition_log_html`` draws one row per partition and one cell per record (offset and key),
marking the log start offset, the high watermark, the log end offset and consumer positions —
the same picture the live widget redraws.
"""
from __future__ import annotations

import html
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..cluster.snapshots import (
    ClusterSnapshot,
    EventsSnapshot,
    PartitionSnapshot,
    TopicSnapshot,
    register_html,
)

_CELL = ("display:inline-block;min-width:34px;margin:1px;padding:2px 3px;border-radius:3px;"
         "font:11px monospace;text-align:center;")
#: key colours, most distinct first (ColorBrewer Set3 without its grey, plus a tan): a view
#: gives its keys these colours in the order it first shows them, so keys of one view never share
#: a colour until there are more keys than colours
KEY_COLORS = ("#80b1d3", "#fdb462", "#b3de69", "#fb8072", "#bebada", "#ffed6f", "#8dd3c7",
              "#fccde5", "#bc80bd", "#ccebc5", "#e5c494", "#ffffb3")
NO_KEY_COLOR = "#eeeeee"
_HATCH = ("background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.18) 0 2px,"
          "transparent 2px 6px);")


def key_colors(keys: Iterable[bytes | None]) -> dict[bytes, str]:
    """Each distinct key (first-seen order) with its colour; records without a key are grey.
    Keys past the palette reuse its colours, hatched (``key_style`` draws the hatch)."""
    colors: dict[bytes, str] = {}
    for key in keys:
        if key is not None and key not in colors:
            colors[key] = KEY_COLORS[len(colors) % len(KEY_COLORS)]
    return colors


def key_style(key: bytes | None, colors: Mapping[bytes, str]) -> str:
    """The CSS background of a record cell: its key's colour, hatched for a key past the
    palette's first round."""
    if key is None:
        return f"background:{NO_KEY_COLOR};"
    index = list(colors).index(key) if key in colors else 0
    return f"background:{colors.get(key, NO_KEY_COLOR)};" + (
        _HATCH if index >= len(KEY_COLORS) else "")


def _key_text(key: bytes | None) -> str:
    if key is None:
        return "∅"
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = key.hex()
    return text if len(text) <= 8 else text[:7] + "…"


def _snapshot(x: Any):
    """A snapshot as is; a live engine object (Partition, Topic, Cluster ...) as its snapshot."""
    return x.snapshot() if hasattr(x, "snapshot") else x


def _shown(p: PartitionSnapshot, max_cells: int):
    return p.records[-max_cells:]


def partition_row_html(p: PartitionSnapshot, positions: Mapping[str, int],
                       max_cells: int = 40, colors: Mapping[bytes, str] | None = None) -> str:
    """One partition's row; ``colors`` maps keys to colours (default: this row's own)."""
    p = _snapshot(p)
    cells = []
    records = p.records
    shown = _shown(p, max_cells)
    colors = colors if colors is not None else key_colors(key for _, key in shown)
    if len(records) > len(shown):
        # the readers whose position is among the records not drawn keep their ▲ here
        hidden = "".join(f"<div style='color:#c00'>▲{html.escape(name)} at {pos}</div>"
                         for name, pos in positions.items() if pos < shown[0][0])
        cells.append(f"<span class='kafkalab-hidden' style='{_CELL}color:#888'>… "
                     f"{len(records) - len(shown)} earlier{hidden}</span>")
    for offset, key in shown:
        committed = offset < p.high_watermark
        style = _CELL + key_style(key, colors) + ("" if committed else "opacity:.45;")
        marks = "".join(f"<div style='color:#c00'>▲{html.escape(name)}</div>"
                        for name, pos in positions.items() if pos == offset)
        cells.append(f"<span class='kafkalab-record' data-offset='{offset}' style='{style}'>"
                     f"<b>{offset}</b><br>{html.escape(_key_text(key))}{marks}</span>")
    end_marks = "".join(f"<div style='color:#c00'>▲{html.escape(name)}</div>"
                        for name, pos in positions.items() if pos >= p.log_end_offset)
    cells.append(f"<span style='{_CELL}border:1px dashed #999'>LEO {p.log_end_offset}"
                 f"{end_marks}</span>")
    return (f"<tr><td style='white-space:nowrap;text-align:left'><b>{html.escape(p.name)}</b>"
            f"<br><small>start {p.log_start_offset} · HW {p.high_watermark} · "
            f"LEO {p.log_end_offset}</small></td><td style='text-align:left'>"
            f"{''.join(cells)}</td></tr>")


def partition_log_html(partitions: Iterable[PartitionSnapshot],
                       positions: Mapping[str, Mapping] = None, title: str = "",
                       max_cells: int = 40) -> str:
    """The partition-log picture; ``positions`` maps a reader's name to {TopicPartition: offset}."""
    positions = positions or {}
    partitions = [_snapshot(p) for p in partitions]
    total = sum(p.log_end_offset - p.log_start_offset for p in partitions)
    colors = key_colors(key for p in partitions for _, key in _shown(p, max_cells))
    rows = "".join(partition_row_html(p, {name: pos[p.tp] for name, pos in positions.items()
                                          if p.tp in pos}, max_cells, colors)
                   for p in partitions)
    caption = html.escape(title) if title else "partition log"
    shared = len(colors) - len(KEY_COLORS)
    reuse = (f"; {len(colors)} keys but {len(KEY_COLORS)} colours: hatched cells reuse a "
             f"colour (read the key)" if shared > 0 else "")
    return (f"<div class='kafkalab-partition-log' data-records='{total}'>"
            f"<b>{caption}</b> — {total} record(s); each key has its own colour (grey: no "
            f"key){reuse}; faded cells are above the high watermark, "
            f"▲ marks a reader's position (the next offset it will read)"
            f"<table>{rows}</table></div>")


def cluster_html(cluster: ClusterSnapshot) -> str:
    cluster = _snapshot(cluster)
    brokers = ", ".join(f"{b.id} ({b.address}{'' if b.alive else ', down'})"
                        for b in cluster.brokers)
    rows = "".join(
        f"<tr><td>{html.escape(t.name)}</td><td>{t.partitions}</td>"
        f"<td>{t.replication_factor}</td><td>{t.records}</td></tr>" for t in cluster.topics)
    voters = ", ".join(str(v) for v in cluster.controller_voters)
    active = cluster.active_controller
    controllers = (f"KRaft controllers {voters}, active: {active}" if cluster.dedicated_controllers
                   else f"KRaft voters {voters} (combined mode), active: {active}")
    return (f"<b>kafkalab cluster</b> · {len(cluster.brokers)} broker(s): {brokers} · "
            f"{html.escape(controllers)} · {cluster.clock} · seed {cluster.seed}"
            f"<table><tr><th>topic</th><th>partitions</th><th>replication factor</th>"
            f"<th>records</th></tr>{rows}</table>")


def topic_html(topic: TopicSnapshot) -> str:
    topic = _snapshot(topic)
    return partition_log_html(topic.partitions, title=f"topic {topic.name}")


def events_html(events: EventsSnapshot) -> str:
    events = _snapshot(events)
    rows = "".join(
        f"<tr><td>{clock}</td><td><code>{html.escape(kind)}</code></td>"
        f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
        for clock, kind, text in events.last)
    more = events.total - len(events.last)
    note = f"<p>… and {more} earlier events</p>" if more else ""
    return (f"<b>cluster events</b> ({events.total}){note}<table><tr><th>time</th>"
            f"<th>kind</th><th>what happened</th></tr>{rows}</table>")


#: the table style of the live widgets' side tables (events, configs)
TABLE_STYLE = "border-collapse:collapse;margin:4px 0 8px 0;font-size:12px"
CELL_STYLE = "border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top"


def recent_events_html(events: Sequence[tuple[int, str, str, int]], time_header: str,
                       time_text: Callable[[int], str], last: int) -> str:
    """The last ``last`` of a widget's ``(time_ms, kind, text, count)`` events as an HTML
    table headed "recent events" (a repeated event once, with its count)."""
    shown = events[-last:]
    rows = "".join(
        f"<tr><td style='{CELL_STYLE};white-space:nowrap'>{time_text(t)}</td>"
        f"<td style='{CELL_STYLE}'><code>{html.escape(kind)}</code></td>"
        f"<td style='{CELL_STYLE}'>{html.escape(text)}"
        f"{f' <b>(×{count})</b>' if count > 1 else ''}</td></tr>"
        for t, kind, text, count in shown)
    more = len(events) - len(shown)
    none = f"<tr><td style='{CELL_STYLE}' colspan=3>none yet</td></tr>"
    return (f"recent events{f' (last {last} of {len(events)})' if more else ''}"
            f"<table style='{TABLE_STYLE}'><tr><th style='{CELL_STYLE}'>{time_header}</th>"
            f"<th style='{CELL_STYLE}'>kind</th><th style='{CELL_STYLE}'>what happened</th></tr>"
            f"{rows or none}</table>")


def register() -> None:
    """Show the engine's objects in notebooks with these views (see the module docstring)."""
    register_html(ClusterSnapshot, cluster_html)
    register_html(TopicSnapshot, topic_html)
    register_html(PartitionSnapshot,
                  lambda p: partition_log_html([p], title=f"partition {p.name}"))
    register_html(EventsSnapshot, events_html)
