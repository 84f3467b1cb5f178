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
from kafkalab.viz.cluster_widget import LABEL_PX, ClusterWidget, whole_number_ticks
from notebook_text import code_cell, prose_after, shown_html, shown_text

NOTEBOOK = "06-replication.ipynb"
COURSE_NOTEBOOKS = {
    "00-start-here", "01-topics-partitions-offsets", "02-producers", "02b-transactions",
    "03-consumers", "04-streams", "05-connect", "06-replication", "07-retention-compaction",
    "08-monitoring", "09-patterns", "10-kafka-vs-queues", "11-self-check"}
_ports = itertools.count(59092, 10)  # private clusters: never localhost:9092


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", ""))


def clock_seconds(text: str) -> int:
    days, h, m, s = map(int, re.search(r"t = (\d+) d (\d\d):(\d\d):(\d\d)", text).groups())
    return ((days * 24 + h) * 60 + m) * 60 + s


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
        assert y1 != y2 or abs(x1 - x2) >= LABEL_PX, f"{a!r} and {b!r} overlap: {labels}"
    notes = lab.chart.layout.annotations
    span = lab.history[-1][0] / 1000 - lab.start_ms / 1000
    for n1, n2 in itertools.combinations(notes, 2):
        assert n1.yshift != n2.yshift or abs(n1.x - n2.x) >= 0.1 * span, (n1.text, n2.text)


def test_no_line_across_time_the_widget_did_not_watch():
    lab = widget(acks=1, rate=50, follower_delay_ms=0)
    lab.run(seconds=5)
    lab.cluster.advance(seconds=60)
    lab.run(seconds=5)
    xs, ys = lab._line(0)
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


def test_cross_references_name_notebooks(nb):
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        assert not re.search(r"\blesson \d|later lesson", cell.source, re.I), cell.source
        for name in re.findall(r"`(\d\d[a-z]?-[a-z-]+)`", cell.source):
            assert name in COURSE_NOTEBOOKS, name
