"""Notebook 06 read the way a learner reads it after Run All: every view agrees with the prose
beside it (DESIGN §4), and the ClusterWidget's chart reads right.

The notebook tests read the outputs of one papermill run (``executed_notebook``): the numbers
come from what the cells showed, never from recomputing them. The widget tests drive
``ClusterWidget`` directly (``animate=False``) on clusters of their own.
"""
from __future__ import annotations

import ast
import itertools
import re

import pytest

from kafkalab import Cluster
from kafkalab.viz.cluster_widget import (CHAR_PX, CHART_MARGIN, CHART_WIDTH, LABEL_CHARS,
                                         SVG_CHAR_PX, ClusterWidget, whole_number_ticks)
from notebook_text import clock_seconds, code_cell, flat, prose_after, shown_text

NOTEBOOK = "06-replication.ipynb"
_ports = itertools.count(59092, 10)  # private clusters: never localhost:9092


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def header_counts(text: str) -> dict[str, int]:
    """sent, acknowledged, lost and failed from a widget view's header line."""
    return {name: int(re.search(rf"\b{name} (\d+)", text).group(1))
            for name in ("sent", "acknowledged", "lost", "failed")}


def printed_summary(text: str) -> dict:
    return ast.literal_eval(re.search(r"\{'sent'.*?\}", text).group(0))


def widget(acks=1, rate=200, follower_delay_ms=300) -> ClusterWidget:
    cluster = Cluster(brokers=3, seed=0, port=next(_ports))
    cluster.create_topic("events", partitions=6, replication_factor=3)
    for broker in cluster.brokers:
        cluster.slow_follower(broker, follower_delay_ms)
    return ClusterWidget(cluster, "events", acks=acks, rate=rate, animate=False)


def svg_ticks(svg: str) -> list[list[int]]:
    """The tick labels of each panel of the static chart, in drawing order."""
    panels: list[list[int]] = []
    for label in re.findall(r"class='kafkalab-tick'[^>]*>([\d,]+)<", svg):
        value = int(label.replace(",", ""))
        if value == 0:
            panels.append([])
        panels[-1].append(value)
    return panels


def series_points(svg: str, name: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for points in re.findall(
        rf"data-series='{name}'[^>]*points='([^']*)'", svg) for p in points.split()]


# --- the widget ----------------------------------------------------------------------------
@pytest.mark.parametrize("top", [0, 1, 2, 3, 7, 10, 37, 999, 3460, 12_345])
def test_whole_number_ticks_are_distinct_whole_numbers(top):
    ticks = whole_number_ticks(top)
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 7, ticks
    assert all(isinstance(t, int) for t in ticks) and ticks == sorted(set(ticks)), ticks


def test_chart_of_a_few_lost_records_reads_right():
    lab = widget()
    lab.run(seconds=5)
    leader = lab.cluster.partition("events", 0).leader
    lab.kill(leader)
    lab.run(seconds=12)
    lab.restart(leader)
    lab.run(seconds=5)
    summary = lab.summary()
    assert 0 < summary["lost"] < summary["acknowledged"] / 50, summary
    # plotly: each count axis has distinct whole-number ticks covering its line
    for axis, top in ((lab.chart.layout.yaxis, summary["acknowledged"]),
                      (lab.chart.layout.yaxis2, summary["lost"])):
        ticks = list(axis.tickvals)
        assert ticks == sorted(set(ticks)) and all(t == int(t) for t in ticks), ticks
        assert ticks[-1] >= top and axis.range[1] >= top, (ticks, axis.range)
    # lost and failed in a panel of their own, below the acknowledged one, never on its scale
    assert {trace.yaxis for trace in lab.chart.data} == {"y", "y2"}
    assert [t.yaxis for t in lab.chart.data] == ["y", "y2", "y2"]
    svg = lab._chart_svg()
    panels = svg_ticks(svg)
    assert len(panels) == 2, panels
    for ticks in panels:
        assert ticks == sorted(set(ticks)), panels
    assert panels[1][-1] >= summary["lost"], panels
    acknowledged, lost = series_points(svg, "acknowledged"), series_points(svg, "lost")
    assert max(y for _, y in acknowledged) < min(y for _, y in lost), \
        "the lost line is drawn in the acknowledged panel"


def test_fault_labels_do_not_overlap():
    lab = widget(acks="all", rate=50, follower_delay_ms=0)
    lab.run(seconds=2)
    for broker in (1, 2, 3):  # three faults 0.2 s apart, then two at the same moment
        lab.kill(broker)
        lab.run(ms=200)
    lab.run(seconds=3)
    lab.restart(1)
    lab.restart(2)
    lab.run(seconds=20)
    svg = lab._chart_svg()
    labels = [(float(x), float(y), text) for x, y, text in re.findall(
        r"class='kafkalab-fault-label' x='([\d.]+)' y='([\d.-]+)'[^>]*>([^<]+)<", svg)]
    assert "restart 1, 2" in [text for *_, text in labels], labels  # one moment, one label
    assert len(labels) >= 3 and len({y for _, y, _ in labels}) >= 3, labels  # staggered
    for (x1, y1, a), (x2, y2, b) in itertools.combinations(labels, 2):
        room = SVG_CHAR_PX * (len(a) + len(b)) / 2
        assert y1 != y2 or abs(x1 - x2) >= room, f"{a!r} and {b!r} overlap: {labels}"
    assert_live_labels_apart(lab)


def label_extent(note, per_px: float) -> tuple[float, float]:
    """Where a live chart's annotation sits on the x axis (seconds), from its anchor and the
    width its text takes."""
    width = CHAR_PX * len(note.text) * per_px
    start = {"left": note.x, "right": note.x - width}.get(note.xanchor, note.x - width / 2)
    return start, start + width


def assert_live_labels_apart(lab) -> None:
    notes = lab.chart.layout.annotations
    times = [(t - lab.start_ms) / 1000 for t, *_ in lab.history]
    span = max(times[-1], *(n.x for n in notes)) - times[0]
    per_px = span / (CHART_WIDTH - CHART_MARGIN["l"] - CHART_MARGIN["r"])
    for n1, n2 in itertools.combinations(notes, 2):
        (a1, b1), (a2, b2) = label_extent(n1, per_px), label_extent(n2, per_px)
        assert n1.yshift != n2.yshift or b1 <= a2 or b2 <= a1, (n1.text, n2.text)


def test_live_fault_labels_are_staggered_capped_and_keep_every_line():
    """The walk's story: "restart 2" at 17 s and eight faults and a heal at 22 s. The live
    chart's labels sit in rows of their own instead of running into each other; a merged label
    is capped (its full text on hover); every fault keeps its dotted line."""
    lab = widget(acks=1, rate=200)
    lab.run(seconds=5)
    lab.kill(2)
    lab.run(seconds=12)
    lab.restart(2)
    lab.run(seconds=5)
    for broker in (1, 2, 3):
        lab.kill(broker)
        lab.restart(broker)
        lab.isolate(broker)
    lab.heal()
    lab.run(seconds=10)
    notes = {n.text: n for n in lab.chart.layout.annotations}
    assert "kill 1, 2, 3 +3 more" in notes, list(notes)
    assert all(len(text) <= LABEL_CHARS for text in notes)
    assert notes["kill 1, 2, 3 +3 more"].hovertext == \
        "kill 1, 2, 3 · restart 1, 2, 3 · isolate 1, 2, 3 · heal"
    assert notes["restart 2"].yshift != notes["kill 1, 2, 3 +3 more"].yshift
    assert_live_labels_apart(lab)
    assert sorted(shape.x0 for shape in lab.chart.layout.shapes) == [5.0, 17.0, 22.0]
    assert "kill 1, 2, 3 +3 more" in lab._chart_svg()


def test_heal_shows_in_the_events_table():
    lab = widget(acks=1, rate=50, follower_delay_ms=0)
    lab.run(seconds=2)
    lab.isolate(2)
    lab.run(seconds=2)
    lab.heal()
    lab.run(seconds=1)
    healed = [text for _, kind, text, _ in lab.events if kind == "network.healed"]
    assert healed == ["network healed: broker 2 had been cut off from the brokers; every link "
                      "works again"], healed
    assert "network.healed" in lab._events_html() and "heal" in dict(lab._fault_labels()).values()


def test_no_line_across_time_the_widget_did_not_watch():
    lab = widget(acks=1, rate=50, follower_delay_ms=0)
    lab.run(seconds=5)
    lab.cluster.advance(seconds=60)
    lab.run(seconds=5)
    xs, ys = map(list, (lab.chart.data[0].x, lab.chart.data[0].y))  # acknowledged
    assert xs.count(None) == 1 and ys[xs.index(None)] is None, xs
    i = xs.index(None)
    assert xs[i + 1] - xs[i - 1] >= 60
    assert len(re.findall(r"data-series='acknowledged'", lab._chart_svg())) == 2
    assert any(kind == "widget.gap" for _, kind, _, _ in lab.events)


# --- the notebook --------------------------------------------------------------------------
def test_each_snapshot_shows_its_moment(nb):
    first = shown_text(code_cell(nb, "lab.snapshot()  # the widget now: nothing written yet"))
    assert clock_seconds(first) == 0 and header_counts(first)["sent"] == 0
    failover = code_cell(nb, "print(lab.summary())\nlab.snapshot()")
    shown = shown_text(failover)
    summary, counts = printed_summary(shown), header_counts(shown)
    assert {k: summary[k] for k in counts} == counts, (summary, counts)
    assert clock_seconds(shown) == 5 + 12  # lab.run(5 s), then the kill and lab.run(12 s)
    prose = flat(prose_after(nb, "print(lab.summary())\nlab.snapshot()"))
    assert counts["lost"] == 0 and counts["failed"] == 0
    assert "Nothing was lost, and nothing failed" in prose
    assert f"took {round(summary['slowest_ack_ms'] / 1000)} s" in prose, summary


def test_playground_is_live_and_its_snapshot_agrees(nb):
    live = code_cell(nb, "play  # the live widget")
    assert "port=39092" in live.source
    assert clock_seconds(shown_text(live)) == 0  # its state at that cell
    story = code_cell(nb, "play.run(seconds=5)")
    shown = shown_text(story)
    summary = printed_summary(shown)
    led = set(re.findall(r"critical-events-(\d+): leader (\d+) ->", shown))
    lost_partitions = {int(p) for p in re.findall(r"\n\s*\d+\s*\n\s*(\d+)\s*\n\s*\d+\s*\n\s*"
                                                  r"[\d.]+\s*\n\s*1\s*\n", shown)}
    assert summary["lost"] > 0 and lost_partitions, shown[-800:]
    assert lost_partitions <= {int(p) for p, _ in led}, (lost_partitions, led)
    assert "They are all in the partitions it led" in flat(prose_after(nb, "play.run(seconds=5)"))
    picture = shown_text(code_cell(nb, "play.snapshot()"))
    counts = header_counts(picture)
    assert {k: summary[k] for k in counts} == counts, (summary, counts)
    assert clock_seconds(picture) == 5 + 12 + 5
