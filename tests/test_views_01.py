"""Notebook 01 read the way a learner reads it after Run All: every view agrees with the prose
beside it (DESIGN §4).

These tests read the outputs of one papermill run (``executed_notebook``): the numbers come from
what the cells showed, never from recomputing them, so a view that shows another moment than
its prose describes (a live widget displayed twice), or prose that quotes the wrong number,
fails here.
"""
from __future__ import annotations

import html
import re

import pytest

from notebook_text import (code_cell, flat, live_widget_cells, outputs_text, prose_after,
                           prose_before, shown_html, shown_text)

NOTEBOOK = "01-topics-partitions-offsets.ipynb"
MARK = re.compile(r"▲([^<]+)</div>")


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def partition_log(cell) -> dict[str, dict]:
    """The partition-log snapshot the cell shows, per partition (``orders-0``...): the keys drawn
    per offset, the log end offset and each reader's position (▲)."""
    shown = shown_html(cell)
    assert "kafkalab-partition-log" in shown, "the cell shows no partition-log view"
    rows = {}
    for name, row in re.findall(r"<tr><td[^>]*><b>([^<]+)</b>(.*?)</tr>", shown):
        keys, positions = {}, {}
        for offset, key, marks in re.findall(
                r"<span class='kafkalab-record' data-offset='(\d+)'[^>]*><b>\d+</b><br>"
                r"([^<]*)((?:<div[^>]*>▲[^<]*</div>)*)</span>", row):
            keys[int(offset)] = html.unescape(key)
            positions.update({html.unescape(n): int(offset) for n in MARK.findall(marks)})
        hidden = re.search(r"kafkalab-hidden[^>]*>… \d+ earlier((?:<div[^>]*>▲[^<]*</div>)*)",
                           row)
        for mark in MARK.findall(hidden.group(1) if hidden else ""):
            reader, at = re.fullmatch(r"(.+) at (\d+)", html.unescape(mark)).groups()
            positions[reader] = int(at)
        leo = re.search(r"LEO (\d+)((?:<div[^>]*>▲[^<]*</div>)*)</span>", row)
        positions.update({html.unescape(n): int(leo.group(1)) for n in MARK.findall(leo.group(2))})
        rows[html.unescape(name)] = {"keys": keys, "leo": int(leo.group(1)),
                                     "positions": positions}
    return rows


def frame(cell) -> list[dict]:
    """The rows of the (simple) DataFrame the cell shows, as dicts of strings."""
    table = shown_html(cell)
    header = re.search(r"<thead>(.*?)</thead>", table, re.S).group(1)
    columns = [html.unescape(c) for c in re.findall(r"<th>([^<]*)</th>", header)]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [html.unescape(v) for v in re.findall(r"<t[hd]>([^<]*)</t[hd]>", row)]
        rows.append(dict(zip(columns[-len(cells) + 1:], cells[1:])))
    return rows


# --- views: snapshots, one live widget ----------------------------------------------------------
def test_the_live_widget_is_displayed_once_and_later_cells_show_snapshots(nb):
    live = live_widget_cells(nb)
    assert live == [code_cell(nb, "log_view = PartitionLogWidget(")], (
        "a live widget shown in more than one cell shows its final state everywhere after Run "
        "All; the cells after the first show log_view.snapshot()")
    for fragment in ("sent = log_view.produce(12)", "workers = {}",
                     'log_view.readers["auditor"] = auditor', "murmur2(key) =",
                     'log_view.readers["consumer"] = consumer'):
        assert "kafkalab-partition-log" in shown_html(code_cell(nb, fragment)), fragment


def test_each_user_lands_in_the_partition_the_prose_names(nb):
    log = partition_log(code_cell(nb, "sent = log_view.produce(12)"))
    prose = flat(prose_after(nb, "sent = log_view.produce(12)"))
    said = re.findall(r"(\w+) and (\w+) in (\d)", prose)
    assert len(said) == 3
    for first, second, partition in said:
        assert set(log[f"orders-{partition}"]["keys"].values()) == {first, second}
    assert all(min(row["keys"]) == 0 for row in log.values()), "offsets start at 0 everywhere"
    table = frame(code_cell(nb, "sent = log_view.produce(12)"))
    assert {(r["partition"], r["key"]) for r in table} == {
        (p.split("-")[1], k) for p, row in log.items() for k in row["keys"].values()}


def test_the_workers_positions_are_the_ones_the_prose_quotes(nb):
    cell = code_cell(nb, "workers = {}")
    log, prose = partition_log(cell), flat(prose_after(nb, "workers = {}"))
    quoted = {"worker-0": int(re.search(r"worker-0's position is now (\d+)", prose).group(1)),
              "worker-1": int(re.search(r"worker-1's is (\d+)", prose).group(1)),
              "worker-2": int(re.search(r"worker-2 is at the end \((\d+)\)", prose).group(1))}
    for p in range(3):
        assert log[f"orders-{p}"]["positions"][f"worker-{p}"] == quoted[f"worker-{p}"]
    assert quoted["worker-2"] == log["orders-2"]["leo"]
    for name, offsets in re.findall(r"(worker-\d) reads partition \[\d\]: offsets \[([^\]]*)\]",
                                    shown_text(cell)):
        assert int(offsets.split(",")[-1]) + 1 == quoted[name]
    assert "worker-3" not in str(log)


def test_the_auditors_position_and_lag_match_the_snapshot_and_prose(nb):
    cell = code_cell(nb, 'log_view.readers["auditor"] = auditor')
    text, p0 = shown_text(cell), partition_log(cell)["orders-0"]
    position, end, lag = map(int, re.search(r"position: (\d+) \| end offset: (\d+) \| records "
                                            r"left to read \(lag\): (\d+)", text).groups())
    assert p0["positions"]["auditor"] == position and p0["leo"] == end == position + lag
    prose = flat(prose_after(nb, 'log_view.readers["auditor"] = auditor'))
    assert f"`auditor`'s ▲ is at offset {position}" in prose


def test_the_keyed_orders_sit_where_the_prose_says(nb):
    rows = frame(code_cell(nb, 'records[records["key"] == "user_789"]'))
    prose = flat(prose_after(nb, 'records[records["key"] == "user_789"]'))
    count, partition = re.search(r"All (\w+) orders are in partition (\d)", prose).groups()
    assert len(rows) == {"ten": 10}.get(count, count)
    assert {r["partition"] for r in rows} == {partition}
    offsets = [int(r["offset"]) for r in rows]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), "consecutive"
    printed = shown_text(code_cell(nb, "murmur2(key) ="))
    assert f"partition_for_key: {partition}" in printed


def test_the_keys_that_move_are_the_ones_the_prose_names(nb):
    rows = frame(code_cell(nb, "clicker = KafkaProducer("))
    moved = {r["key"] for r in rows if r["orders (3 partitions)"] != r["clicks (6 partitions)"]}
    prose = flat(prose_after(nb, "clicker = KafkaProducer("))
    named = set(re.search(r"^(\w+) and (\w+) are in different partitions", prose).groups())
    assert moved == named
    for r in rows:
        assert int(r["clicks (6 partitions)"]) in (int(r["orders (3 partitions)"]),
                                                   int(r["orders (3 partitions)"]) + 3)


def test_the_partition_assignment_output_matches_its_explanation(nb):
    ends = {r["partition"]: int(r["log_end_offset"])
            for r in frame(code_cell(nb, "for second in range(30):"))}
    printed = shown_text(code_cell(nb, "consumer.seek(partition_0, 100)"))
    assert printed.count("Partition 0:") == ends["0"] - 100
    assert "Partition 1:" not in printed  # "Nothing came from partition 1"
    text = shown_text(code_cell(nb, 'print("positions:"'))
    assert f"positions: {{0: {ends['0']}, 1: {ends['1']}}}" in text
    assert f"reset orders-1 to offset {ends['1']} (latest): no position yet" in text


def test_the_last_snapshot_shows_the_consumer_at_the_end_of_both_partitions(nb):
    cell = code_cell(nb, 'log_view.readers["consumer"] = consumer')
    log, printed = partition_log(cell), shown_text(cell)
    for p in (0, 1):
        assert log[f"orders-{p}"]["positions"]["consumer"] == log[f"orders-{p}"]["leo"]
    assert "Partition 1:" in printed  # "Now partition 1 has new records"
    # readers whose position is no longer drawn keep their mark on the "… earlier" cell
    assert log["orders-0"]["positions"]["auditor"] == 3


# --- time ---------------------------------------------------------------------------------------
def test_simulated_time_is_shown_as_a_learner_reads_it(nb):
    text = outputs_text(nb)
    raw = re.findall(r"\b\d{4,} ms\b", text)
    assert not raw, f"raw milliseconds shown: {raw[:3]}"
    assert re.search(r"\[t = 0 d 00:00:\d\d\.\d{3}\] consumer\.offset_reset", text)


def test_a_raw_retention_is_printed_with_its_readable_duration(nb):
    text = shown_text(code_cell(nb, 'NewTopic(name="clicks"'))
    assert "clicks retention.ms = 86400000 (1 day)" in text


# --- key colours --------------------------------------------------------------------------------
def key_colours(cell) -> dict[str, set[str]]:
    """Each key the partition-log snapshot shows, with the background colours of its cells."""
    colours: dict[str, set[str]] = {}
    for style, key in re.findall(r"<span class='kafkalab-record' data-offset='\d+' "
                                 r"style='([^']*)'><b>\d+</b><br>([^<]*)", shown_html(cell)):
        colour = re.search(r"background:(#[0-9a-f]{6})", style).group(1)
        hatched = "repeating-linear-gradient" in style
        colours.setdefault(html.unescape(key), set()).add(colour + ("/" if hatched else ""))
    return colours


@pytest.mark.parametrize("fragment", ["sent = log_view.produce(12)",
                                      'log_view.readers["consumer"] = consumer'])
def test_each_key_of_a_view_has_a_colour_of_its_own(nb, fragment):
    """The prose says "each key has its own colour": within one view, one colour per key and no
    two keys alike (bob and dave, alice and user_789 once shared or nearly shared one)."""
    colours = key_colours(code_cell(nb, fragment))
    assert {"alice", "bob", "carol", "dave", "erin", "frank"} <= set(colours)
    assert all(len(c) == 1 for c in colours.values()), colours
    keyed = [c for key, (c,) in ((k, tuple(v)) for k, v in colours.items()) if key != "∅"]
    assert len(set(keyed)) == len(keyed), colours
    prose = flat(prose_before(nb, "log_view = PartitionLogWidget("))
    assert "each key has its own colour" in prose


def test_keys_get_palette_colours_in_first_seen_order_and_hatches_past_the_palette():
    from kafkalab.cluster.snapshots import PartitionSnapshot
    from kafkalab.viz.html import KEY_COLORS, NO_KEY_COLOR, key_colors, partition_log_html

    colors = key_colors([b"bob", None, b"dave", b"bob", b"alice", b"user_789"])
    assert list(colors) == [b"bob", b"dave", b"alice", b"user_789"]
    assert list(colors.values()) == list(KEY_COLORS[:4])
    assert NO_KEY_COLOR not in KEY_COLORS and len(set(KEY_COLORS)) == len(KEY_COLORS) >= 10

    keys = [f"k{i}".encode() for i in range(len(KEY_COLORS) + 3)]
    partition = PartitionSnapshot("t", 0, 1, 0, (1,), (1,), 0, len(keys), len(keys),
                                  tuple(enumerate(keys)))
    shown = partition_log_html([partition])
    assert shown.count("repeating-linear-gradient") == 3  # the keys past the palette
    assert f"{len(keys)} keys but {len(KEY_COLORS)} colours: hatched cells" in shown
