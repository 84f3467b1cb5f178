"""Static pictures of transactional partitions (the transaction widget draws with these).

Pure functions over plain values, no widgets: :func:`partition_rows_html` draws each partition
as a row of record cells coloured by what the record is to a transaction (:data:`STATUSES`, the
``transaction`` column of ``cluster.records``), with the last stable offset, the high watermark
and the log end offset marked; :func:`visible` says which offsets a ``read_committed`` and a
``read_uncommitted`` consumer get; :func:`coordinator_html` draws the transaction coordinator's
entry for a transactional id.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

#: status (the ``transaction`` column of ``cluster.records``) -> (fill, text colour, label,
#: what it means); the order of the legend
STATUSES = {
    "": ("#c6dbef", "#000", "non-transactional",
         "written without a transaction: every consumer reads it once it is below the high "
         "watermark"),
    "committed": ("#74c476", "#000", "committed",
                  "part of a committed transaction: read_committed consumers read it"),
    "open": ("#fdae6b", "#000", "open",
             "part of a transaction not decided yet: read_uncommitted consumers read it, "
             "read_committed ones wait at the last stable offset"),
    "aborted": ("#fbb4ae", "#555", "aborted",
                "part of an aborted transaction: stays in the log; read_committed consumers "
                "skip it, read_uncommitted ones read it"),
    "COMMIT marker": ("#238b45", "#fff", "COMMIT marker",
                      "control record written by the coordinator: the transaction committed. "
                      "It takes an offset; no consumer ever gets it"),
    "ABORT marker": ("#cb181d", "#fff", "ABORT marker",
                     "control record written by the coordinator: the transaction aborted. It "
                     "takes an offset; no consumer ever gets it"),
}
MARKERS = ("COMMIT marker", "ABORT marker")
_CELL = ("display:inline-block;min-width:38px;margin:1px;padding:2px 3px;border-radius:3px;"
         "font:11px monospace;text-align:center;vertical-align:top;box-sizing:border-box;")


@dataclass(frozen=True)
class PartitionRow:
    """One partition as drawn: its name, ``records`` as (offset, status, short text), and its
    last stable offset, high watermark and log end offset."""

    name: str
    records: tuple[tuple[int, str, str], ...]
    last_stable_offset: int
    high_watermark: int
    log_end_offset: int


def visible(row: PartitionRow, isolation_level: str) -> list[int]:
    """The offsets a consumer reading ``row`` from its start gets: ``read_uncommitted`` every
    data record below the high watermark; ``read_committed`` those below the last stable offset
    that no abort covers. Neither ever gets a marker."""
    if isolation_level == "read_uncommitted":
        return [o for o, s, _ in row.records if s not in MARKERS and o < row.high_watermark]
    if isolation_level == "read_committed":
        return [o for o, s, _ in row.records if s in ("", "committed")
                and o < row.last_stable_offset]
    raise ValueError(f"isolation_level is 'read_committed' or 'read_uncommitted', not "
                     f"{isolation_level!r}")


def legend_html(statuses: Sequence[str] = tuple(STATUSES)) -> str:
    return " ".join(
        f"<span title='{html.escape(meaning)}' style='display:inline-block;margin:0 8px 2px 0'>"
        f"<span style='display:inline-block;width:12px;height:12px;vertical-align:middle;"
        f"background:{fill};border:1px solid #777;margin-right:3px'></span>{label}</span>"
        for status, (fill, _, label, meaning) in STATUSES.items() if status in statuses)


def _cell(offset: int, status: str, text: str, row: PartitionRow) -> str:
    fill, color, label, meaning = STATUSES.get(status, STATUSES[""])
    faded = "" if offset < row.high_watermark else "opacity:.5;"
    struck = "text-decoration:line-through;" if status == "aborted" else ""
    marks = []
    if offset == row.last_stable_offset:
        marks.append("<div class='kafkalab-lso-mark' style='color:#6a3d9a'>▲LSO</div>")
    if offset == row.high_watermark:
        marks.append("<div style='color:#c00'>▲HW</div>")
    return (f"<span class='kafkalab-txn-record' data-offset='{offset}' data-status='{status}' "
            f"title='offset {offset}: {html.escape(label)} — {html.escape(meaning)}' "
            f"style='{_CELL}background:{fill};color:{color};{faded}'><b>{offset}</b><br>"
            f"<span style='{struck}'>{html.escape(text)}</span>{''.join(marks)}</span>")


def partition_rows_html(rows: Sequence[PartitionRow], max_cells: int = 24) -> str:
    """Each partition as a row of record cells (the last ``max_cells``), its LSO, HW and LEO,
    and what a read_committed and a read_uncommitted consumer get from it."""
    body = []
    for row in rows:
        shown = row.records[-max_cells:]
        cells = []
        if len(row.records) > len(shown):
            cells.append(f"<span style='{_CELL}color:#888'>… {len(row.records) - len(shown)} "
                         f"earlier</span>")
        cells.extend(_cell(o, s, t, row) for o, s, t in shown)
        end = []
        if row.last_stable_offset >= row.log_end_offset:
            end.append("<div class='kafkalab-lso-mark' style='color:#6a3d9a'>▲LSO</div>")
        if row.high_watermark >= row.log_end_offset:
            end.append("<div style='color:#c00'>▲HW</div>")
        cells.append(f"<span style='{_CELL}border:1px dashed #999'>LEO {row.log_end_offset}"
                     f"{''.join(end)}</span>")
        committed = visible(row, "read_committed")
        uncommitted = visible(row, "read_uncommitted")
        body.append(
            f"<tr class='kafkalab-txn-partition' data-partition='{html.escape(row.name)}' "
            f"data-lso='{row.last_stable_offset}' data-hw='{row.high_watermark}' "
            f"data-leo='{row.log_end_offset}' data-read-committed='{len(committed)}' "
            f"data-read-uncommitted='{len(uncommitted)}'>"
            f"<td style='white-space:nowrap;text-align:left;padding-right:8px;font-size:12px'>"
            f"<b>{html.escape(row.name)}</b><br><small>LSO <b>{row.last_stable_offset}</b> · HW "
            f"{row.high_watermark} · LEO {row.log_end_offset}</small></td>"
            f"<td style='text-align:left'>{''.join(cells)}</td>"
            f"<td style='font-size:12px;text-align:left;padding-left:8px;white-space:nowrap'>"
            f"read_committed <b>{len(committed)}</b><br>read_uncommitted "
            f"<b>{len(uncommitted)}</b></td></tr>")
    statuses = {s for row in rows for _, s, _ in row.records}
    return (f"<div class='kafkalab-txn-partitions' style='font-size:12px'>"
            f"<div>{legend_html(statuses or ('',))}</div>"
            f"<small style='color:#555'>▲LSO: the last stable offset — a read_committed consumer "
            f"reads up to it; ▲HW: the high watermark — a read_uncommitted one reads up to it; "
            f"faded cells are not replicated yet; struck-through records were aborted</small>"
            f"<table style='border-collapse:collapse;margin:4px 0'>"
            f"<tr><th></th><th></th><th style='font-size:11px;text-align:left;"
            f"padding-left:8px'>records a consumer gets</th></tr>{''.join(body)}</table></div>")


def coordinator_html(entry: dict | None, transactional_id: str) -> str:
    """The coordinator's entry for ``transactional_id`` (a ``describe_transactions`` row as a
    dict, or None before the first init_transactions())."""
    if entry is None:
        return (f"<div class='kafkalab-txn-coordinator' data-state='' data-epoch=''>"
                f"transaction coordinator: no entry for <code>{html.escape(transactional_id)}"
                f"</code> yet (init_transactions() creates it)</div>")
    state = str(entry["state"])
    color = {"Ongoing": "#e6550d", "PrepareCommit": "#31a354", "CompleteCommit": "#238b45",
             "PrepareAbort": "#cb181d", "CompleteAbort": "#cb181d"}.get(state, "#333")
    cells = [("coordinator", f"broker {entry['coordinator']}"),
             ("producer id", entry["producer_id"]), ("epoch", entry["producer_epoch"]),
             ("state", f"<b style='color:{color}'>{html.escape(state)}</b>"),
             ("partitions", html.escape(str(entry["partitions"]) or "—")),
             ("open for", html.escape(str(entry["open_for"]) or "—")),
             ("transaction.timeout.ms", entry["timeout_ms"])]
    head = "".join(f"<th style='border:1px solid #ddd;padding:2px 6px'>{n}</th>" for n, _ in cells)
    row = "".join(f"<td style='border:1px solid #ddd;padding:2px 6px'>{v}</td>" for _, v in cells)
    return (f"<div class='kafkalab-txn-coordinator' data-state='{html.escape(state)}' "
            f"data-epoch='{entry['producer_epoch']}' style='font-size:12px'>transaction "
            f"coordinator's entry for <code>{html.escape(transactional_id)}</code> (in "
            f"<code>__transaction_state</code>)<table style='border-collapse:collapse;"
            f"margin:2px 0 6px 0'><tr>{head}</tr><tr>{row}</tr></table></div>")
