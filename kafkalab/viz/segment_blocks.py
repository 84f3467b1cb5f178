"""Static pictures of one partition's log as segments (the segment widget draws with these).

Pure functions over plain values, no widgets: :func:`blocks_html` draws the segments as blocks
in offset order, one colour per section as the log cleaner sees it (:data:`SECTIONS`), with the
log start offset, high watermark and log end offset; :func:`history_svg` draws the log's size
and its start and end offsets over simulated time as inline SVG.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from .cluster_widget import whole_number_ticks

#: section -> (fill colour, label, what it means); the order of the legend
SECTIONS = {
    "closed": ("#9ecae1", "closed",
               "closed: no more writes; retention deletes it whole once its newest record is "
               "older than retention.ms"),
    "clean": ("#74c476", "clean",
              "clean: already compacted, the last record per key (gaps where older ones went)"),
    "dirty": ("#fdae6b", "dirty", "dirty: written since the last clean; the cleaner compacts it "
                                  "when the dirty share passes min.cleanable.dirty.ratio"),
    "uncleanable": ("#d9d9d9", "uncleanable",
                    "uncleanable: too new to clean yet (min.compaction.lag.ms, or past the last "
                    "stable offset)"),
    "active": ("#ffffff", "active",
               "active: takes the writes; never deleted or cleaned until it rolls"),
}
#: the picture's widest width and a block's least width, in pixels (a tiny segment stays
#: readable); blocks share a row's width in proportion to their size (CSS flex-grow, in
#: thousandths of the whole) and wrap onto a new row when they do not fit
MAX_WIDTH_PX = 960
MIN_BLOCK_PX = 104
_TEXT = "font:11px sans-serif;line-height:1.35"


@dataclass(frozen=True)
class SegmentBlock:
    """One segment as a block: its offsets ``base_offset`` .. ``next_offset - 1`` hold
    ``records`` records (fewer than the offsets after compaction: the rest are gaps) in
    ``size_bytes``; ``section`` is a key of :data:`SECTIONS`; ``age`` and ``note`` are text
    (``"3 days old"``, ``"retention deletes it in about 2 days"``)."""

    base_offset: int
    next_offset: int
    records: int
    size_bytes: int
    section: str
    age: str
    note: str = ""

    @property
    def active(self) -> bool:
        return self.section == "active"

    @property
    def gaps(self) -> int:
        """Offsets of this segment with no record (compaction removed them)."""
        return self.next_offset - self.base_offset - self.records


def bytes_text(size: int) -> str:
    """A size as people read it, in binary units: ``512 B``, ``3.9 KiB``, ``10 GiB``.

    >>> bytes_text(10_737_418_240)
    '10 GiB'
    """
    value, unit = float(size), "B"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            break
        value, unit = value / 1024, next_unit
    number = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else f"{int(value)}"
    return f"{number} {unit}"


def legend_html(sections: Sequence[str]) -> str:
    """Swatches for ``sections`` (in :data:`SECTIONS` order), each with what it means."""
    return " ".join(
        f"<span title='{html.escape(meaning)}' style='display:inline-block;margin:0 6px 2px 0'>"
        f"<span style='display:inline-block;width:12px;height:12px;vertical-align:middle;"
        f"background:{fill};border:1px solid #777;margin-right:3px'></span>{label}</span>"
        for name, (fill, label, meaning) in SECTIONS.items() if name in sections)


def _shares(blocks: Sequence[SegmentBlock], size_by: str) -> list[int]:
    """Each block's share of the whole in thousandths (at least 1), by bytes or records."""
    measure = [b.size_bytes if size_by == "bytes" else b.records for b in blocks]
    total = sum(measure) or 1
    return [max(1, round(1000 * m / total)) for m in measure]


def _block_html(block: SegmentBlock, share: int) -> str:
    fill, label, meaning = SECTIONS[block.section]
    border = "3px solid #4c78a8" if block.active else "1px solid #777"
    last = block.next_offset - 1
    span = (f"offset {block.base_offset}" if last <= block.base_offset
            else f"offsets {block.base_offset}–{last}")
    if block.next_offset == block.base_offset:
        span = "empty"
    badge = " <b style='color:#4c78a8'>ACTIVE</b>" if block.active else ""
    lines = [f"<b>base {block.base_offset}</b>{badge}",
             f"{block.records} record{'s' if block.records != 1 else ''} · "
             f"{bytes_text(block.size_bytes)}",
             f"<span style='color:#555'>{span}</span>"]
    if block.gaps > 0:
        kept = round(100 * block.records / (block.next_offset - block.base_offset))
        lines.append(f"<span class='kafkalab-gaps' style='color:#555'>{block.gaps} gaps · "
                     f"{kept}% of offsets kept</span>")
    lines.append(f"<span style='color:#333'>{html.escape(block.age)}</span>")
    if block.note:
        lines.append(f"<span style='color:#666;font-style:italic'>{html.escape(block.note)}"
                     f"</span>")
    return (f"<div class='kafkalab-segment' data-base-offset='{block.base_offset}' "
            f"data-next-offset='{block.next_offset}' data-records='{block.records}' "
            f"data-size='{block.size_bytes}' data-section='{block.section}' "
            f"data-active='{str(block.active).lower()}' title='{html.escape(meaning)}' "
            f"style='box-sizing:border-box;flex:{share} 1 0px;min-width:{MIN_BLOCK_PX}px;"
            f"min-height:86px;background:{fill};"
            f"border:{border};border-radius:4px;padding:3px 5px;overflow:hidden;"
            f"{_TEXT}'>{'<br>'.join(lines)}<br><small style='color:#444'>{label}</small></div>")


def blocks_html(blocks: Sequence[SegmentBlock], *, log_start_offset: int, high_watermark: int,
                log_end_offset: int, size_by: str = "bytes", deleted_segments: int = 0,
                deleted_records: int = 0, max_blocks: int = 24) -> str:
    """The segments in offset order as blocks, width in proportion to ``size_by`` ("bytes" or
    "records"; at least :data:`MIN_BLOCK_PX`), the oldest folded into one block past
    ``max_blocks``; before them a dashed block for the ``deleted_segments`` retention deleted
    (holding ``deleted_records``), and a line with the log start offset, high watermark and log
    end offset."""
    if size_by not in ("bytes", "records"):
        raise ValueError(f"size_by must be 'bytes' or 'records', not {size_by!r}")
    folded = blocks[:-max_blocks] if len(blocks) > max_blocks else []
    shown = list(blocks[len(folded):])
    shares = _shares(shown, size_by)
    cells = []
    if deleted_segments:
        cells.append(
            f"<div class='kafkalab-deleted' data-segments='{deleted_segments}' "
            f"style='box-sizing:border-box;flex:0 0 {MIN_BLOCK_PX}px;min-height:86px;"
            f"border:1px dashed #aaa;border-radius:4px;padding:3px 5px;color:#888;{_TEXT}'>"
            f"<b>deleted</b><br>{deleted_segments} segment{'s' if deleted_segments != 1 else ''}"
            f"<br>{deleted_records} records<br><small>by retention</small></div>")
    if folded:
        records = sum(b.records for b in folded)
        size = sum(b.size_bytes for b in folded)
        cells.append(
            f"<div class='kafkalab-folded' data-segments='{len(folded)}' "
            f"style='box-sizing:border-box;flex:0 0 {MIN_BLOCK_PX}px;min-height:86px;"
            f"background:#f3f3f3;border:1px solid #aaa;border-radius:4px;padding:3px 5px;"
            f"{_TEXT}'><b>… {len(folded)} older</b><br>base {folded[0].base_offset} on<br>"
            f"{records} records<br>{bytes_text(size)}</div>")
    cells.extend(_block_html(b, share) for b, share in zip(shown, shares))
    sections = {b.section for b in blocks}
    records = sum(b.records for b in blocks)
    size = sum(b.size_bytes for b in blocks)
    return (f"<div class='kafkalab-segments' data-log-start-offset='{log_start_offset}' "
            f"data-high-watermark='{high_watermark}' data-log-end-offset='{log_end_offset}' "
            f"data-segments='{len(blocks)}' style='{_TEXT};margin:4px 0;max-width:"
            f"{MAX_WIDTH_PX}px'>"
            f"<div>{legend_html(sections)} <small style='color:#666'>block width ∝ "
            f"{'size in bytes' if size_by == 'bytes' else 'records'}</small></div>"
            f"<div style='display:flex;justify-content:space-between;margin:2px 0'>"
            f"<span>▼ log start offset <b class='kafkalab-lso'>{log_start_offset}</b></span>"
            f"<span>{len(blocks)} segment{'s' if len(blocks) != 1 else ''} · {records} records"
            f" · {bytes_text(size)}</span>"
            f"<span>high watermark <b>{high_watermark}</b> · log end offset "
            f"<b class='kafkalab-leo'>{log_end_offset}</b> ▼</span></div>"
            f"<div style='display:flex;flex-wrap:wrap;gap:4px;align-items:stretch'>"
            f"{''.join(cells)}</div></div>")


def _day(day: float) -> str:
    return f"{day:.2f}".rstrip("0").rstrip(".")


def history_svg(size_stretches: Sequence[Sequence[tuple[float, float]]],
                offset_stretches: dict[str, Sequence[Sequence[tuple[float, float]]]],
                size_label: str, colors: dict[str, str], width: int = 600,
                height: int = 240) -> str:
    """Two panels over simulated days: the log's size (``size_label``) above, the offsets named
    in ``offset_stretches`` (log start, log end) below. Each series is a list of stretches of
    (day, value) points; no line joins two stretches (time the view did not watch). Empty
    when no stretch has two points: there would be no line to draw (a view that only ever saw
    time move in other cells)."""
    stretches = [*size_stretches, *(s for series in offset_stretches.values() for s in series)]
    if all(len(s) < 2 for s in stretches):
        return ""
    points = [p for s in stretches for p in s]
    x0 = min(x for x, _ in points)
    x1 = max(max(x for x, _ in points), x0 + 1 / 24)
    left, right, top, bottom, gap = 64, width - 10, 8, height - 22, 18
    middle = top + (bottom - top - gap) / 2

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (right - left)

    out = []
    panels = [(top, middle, {size_label: size_stretches}),
              (middle + gap, bottom, offset_stretches)]
    for top_px, bottom_px, series in panels:
        values = [y for stretches in series.values() for s in stretches for _, y in s]
        ticks = whole_number_ticks(max(values, default=0), most=4)
        scale = ticks[-1] or 1

        def py(y: float, top_px=top_px, bottom_px=bottom_px, scale=scale) -> float:
            return bottom_px - y / scale * (bottom_px - top_px)

        out.append(f"<line x1='{left}' y1='{bottom_px:.1f}' x2='{right}' y2='{bottom_px:.1f}' "
                   f"stroke='#999'/><line x1='{left}' y1='{top_px:.1f}' x2='{left}' "
                   f"y2='{bottom_px:.1f}' stroke='#999'/>")
        for tick in ticks:
            out.append(f"<text x='{left - 4}' y='{py(tick) + 3:.1f}' font-size='9' "
                       f"text-anchor='end'>{tick:,}</text>")
        out.append(f"<text x='{left + 4}' y='{top_px + 9:.1f}' font-size='9' fill='#666'>"
                   f"{html.escape(' and '.join(series))}</text>")
        for name, stretches in series.items():
            for stretch in stretches:
                line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in stretch)
                out.append(f"<polyline class='kafkalab-series' data-series='{html.escape(name)}'"
                           f" fill='none' stroke='{colors[name]}' stroke-width='2' "
                           f"points='{line}'/>")
    out.append(f"<text x='{left}' y='{height - 4}' font-size='10'>day {_day(x0)}</text>"
               f"<text x='{right}' y='{height - 4}' font-size='10' text-anchor='end'>"
               f"day {_day(x1)}</text>")
    legend = " ".join(f"<span style='color:{color}'>━ {html.escape(name)}</span>"
                      for name, color in colors.items())
    return (f"<div class='kafkalab-segment-history'>the log over simulated time: its size "
            f"(top) and its start and end offsets (bottom)<br><svg width='{width}' "
            f"height='{height}' font-family='sans-serif'>{''.join(out)}</svg><br>"
            f"<small>{legend}</small></div>")
