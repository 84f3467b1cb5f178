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

from notebook_text import (clock_seconds, code_cell, flat, live_widget_cells, outputs_text,
                           prose_after, prose_before, shown_html, shown_text)

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


# --- views: snapshots, the learner's live widget, one live animation ---------------------------
PLAY = "play = PartitionLogWidget("
BUSY = "for second in range(30):"
SNAPSHOTS = ("sent = log_view.produce(12)", "workers = {}", 'log_view.readers["auditor"] = auditor',
             "%%needs_engine readers\nlog_view.snapshot()",
             'log_view.readers["consumer"] = consumer')


def test_live_views_are_the_learners_widget_and_the_animation_the_rest_are_snapshots(nb):
    live = live_widget_cells(nb)
    assert live == [code_cell(nb, PLAY), code_cell(nb, BUSY)], (
        "a live widget shown in more than one cell shows its final state everywhere after Run "
        "All; the lesson's cells show log_view.snapshot()")
    assert "log_view" not in code_cell(nb, PLAY).source
    for fragment in SNAPSHOTS:
        assert "kafkalab-partition-log" in shown_html(code_cell(nb, fragment)), fragment
        assert "log_view.snapshot()" in code_cell(nb, fragment).source, fragment
    # the lesson's widget itself is never displayed live: it is driven in code
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^(log_view|display\(log_view\))\s*(#.*)?$", cell.source,
                                 re.M), cell.source


def test_the_learners_widget_is_on_its_own_cluster_that_no_later_cell_moves(nb):
    """DESIGN §4: the widget to click sits on a cluster of its own (its own port, so it never
    takes over localhost:9092) with a topic of its own, and only the learner moves it: after
    Run All it still shows the empty topic at t = 0, so the first click does not land in a topic
    that later cells filled."""
    play = code_cell(nb, PLAY)
    assert re.search(r"playground = Cluster\([^)]*port=39092", play.source)
    assert 'playground.create_topic("orders"' in play.source
    assert 'PartitionLogWidget(playground, "orders")' in play.source
    later = nb.cells[nb.cells.index(play) + 1:]
    for cell in later:
        if cell.cell_type == "code":
            assert not re.search(r"\b(play|playground)\b", cell.source), cell.source
    shown = shown_html(play)
    assert "data-records='0'" in shown, "the learner's topic starts empty"
    text = shown_text(play)
    assert "clock: t = 0 d 00:00:00 " in text and "cluster at localhost:39092" in text
    prose = flat(prose_before(nb, PLAY))
    for said in ("runs on a cluster of its own", "`localhost:39092`", "its own `orders` topic",
                 "no other cell moves it"):
        assert said in prose, said


def test_the_animation_shows_its_own_live_view_and_keeps_the_end_of_the_traffic(nb):
    """§5 animates a view of the lesson's topic: a fresh live view shown by that cell (no buttons,
    redrawn by no later cell), whose saved picture is the end of the busy half-minute."""
    cell = code_cell(nb, BUSY)
    assert "controls=False" in cell.source and "display(busy_view" in cell.source
    later = nb.cells[nb.cells.index(cell) + 1:]
    assert not any("busy_view" in c.source for c in later if c.cell_type == "code")
    table = {r["partition"]: r for r in frame(cell)}
    log = partition_log(cell)
    assert {p: row["leo"] for p, row in log.items()} == {
        f"orders-{p}": int(r["log_end_offset"]) for p, r in table.items()}
    assert f"data-records='{sum(int(r['records']) for r in table.values())}'" in shown_html(cell)
    assert clock_seconds(shown_text(cell)) == 30, "the picture is the end of the half-minute"
    prose = flat(prose_before(nb, BUSY))
    assert "no later cell redraws it" in prose and "no buttons" in prose


def test_each_snapshot_shows_the_clock_of_its_moment(nb):
    clocks = [clock_seconds(shown_text(code_cell(nb, f))) for f in SNAPSHOTS]
    assert clocks == sorted(clocks) and clocks[0] < 1 and clocks[-1] >= 30, clocks
    assert all("cluster at localhost:9092" in shown_text(code_cell(nb, f)) for f in SNAPSHOTS)


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
    text = shown_text(code_cell(nb, 'config["retention.ms"]'))
    assert "clicks retention.ms = 86400000 (1 day)" in text


# --- the lesson's kafka-topics commands (Создание топика) ----------------------------------------
def printed(cell) -> str:
    """What the cell printed to stdout, tabs kept (Kafka's tools separate fields with tabs)."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def test_the_lessons_create_is_refused_as_the_prose_says(nb):
    cell = code_cell(nb, "%kafka-topics --create \\\n  --bootstrap-server localhost:9092")
    assert printed(cell) == ("Error while executing topic command : Topic 'orders' already "
                             "exists.\n")
    prose = flat(prose_after(nb, "%kafka-topics --create \\\n  --bootstrap-server"))
    assert "Kafka refused it" in prose and "exists since section 1" in prose


def test_list_and_describe_show_what_the_prose_explains(nb):
    listed = printed(code_cell(nb, "%kafka-topics --list --bootstrap-server localhost:9092"))
    assert listed == "orders\n"
    described = printed(code_cell(nb, "%kafka-topics --describe --topic orders")).splitlines()
    assert described[0] == "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "
    assert described[1:] == [f"\tTopic: orders\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1"
                             for p in range(3)]
    prose = flat(prose_after(nb, "%kafka-topics --describe --topic orders"))
    assert "all three are broker 1" in prose and "It is empty here" in prose


def test_the_config_given_at_creation_shows_in_describe(nb):
    text = printed(code_cell(nb, "--config retention.ms=86400000")).splitlines()
    assert text[:2] == ["Created topic clicks.",
                        "Topic: clicks\tPartitionCount: 6\tReplicationFactor: 1\t"
                        "Configs: retention.ms=86400000"]


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
    prose = flat(prose_before(nb, PLAY))
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
