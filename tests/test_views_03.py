"""Notebook 03 read the way a learner reads it after Run All: every view agrees with the prose
beside it (DESIGN §4), and the ConsumerGroupWidget's fixes hold.

The notebook tests read the outputs of one papermill run (``executed_notebook``): the numbers
come from what the cells showed, never from recomputing them. The widget tests drive
``ConsumerGroupWidget`` directly (``animate=False``) on clusters of their own.
"""
from __future__ import annotations

import itertools
import re

import pytest

from kafkalab import Cluster
from kafkalab.viz.group_widget import ConsumerGroupWidget
from notebook_text import clock_seconds, code_cell, flat, prose_after, shown_html, shown_text

NOTEBOOK = "03-consumers.ipynb"
_ports = itertools.count(49092, 10)  # private clusters: never localhost:9092


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def members(cell) -> dict[str, tuple[str, str]]:
    """member -> (status, partitions) of the members table a cell's snapshot shows."""
    return {m: (status, parts) for m, status, parts in re.findall(
        r"data-member='([^']+)' data-status='(\w+)' data-partitions='([\d,]*)'",
        shown_html(cell))}


def lag_total(text: str) -> int:
    return int(re.search(r"total: (\d+)", text).group(1))


def widget(partitions: int = 3, **options) -> ConsumerGroupWidget:
    cluster = Cluster(seed=0, port=next(_ports))
    cluster.create_topic("orders", partitions=partitions)
    return ConsumerGroupWidget(cluster, "orders", "g", animate=False, **options)


# --- the widget ----------------------------------------------------------------------------
def test_generations_go_on_after_close_and_new_consumers():
    lab = widget(producer_rate=30)
    for _ in range(4):  # grow the group one by one: a generation each
        lab.start_consumer()
        lab.run(seconds=8)
    lab.stop_consumer()
    lab.run(seconds=3)
    lab.close()
    before = [g.generation for g in lab.generations]
    assert before, "no generation before close()"
    for _ in range(7):  # after close(): start consumers again, more than 8 generations in all
        lab.start_consumer()
        lab.run(seconds=8)
    after = [g.generation for g in lab.generations]
    assert len(after) > max(8, len(before)), f"generations stopped: {before} -> {after}"
    assert after[-1] > before[-1] and after == sorted(after), after
    frame = lab.generations_frame()
    assert frame["generation"].tolist() == after
    assert frame.iloc[-1][f"consumer-{len(lab.members)}"] is not None  # the newest member owns
    shown = lab.static_html()
    assert re.search(rf"<td[^>]*>{after[-1]}</td>", shown), "the table stops before the last"
    assert "earlier not shown" in shown  # more than 8: the table says it shows the last ones


def _polyline_points(svg: str) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, p.split(","))) for p in points.split()]
            for points in re.findall(r"class='kafkalab-lag-line'[^>]*points='([^']*)'", svg)]


def test_no_lag_line_across_time_the_widget_did_not_watch():
    lab = widget(producer_rate=40, consumer_rate=10)
    lab.start_consumer()
    lab.run(seconds=10)
    lab.cluster.advance(seconds=120)  # another cell moves the shared clock on
    lab.run(seconds=10)
    xs, ys = map(list, (lab.chart.data[-1].x, lab.chart.data[-1].y))  # the plotly total
    gap = [i for i, x in enumerate(xs) if x is None]
    assert len(gap) == 1 and ys[gap[0]] is None, f"no break in the plotly line: {xs}"
    before, after = xs[gap[0] - 1], xs[gap[0] + 1]
    assert after - before >= 120, (before, after)
    steps = [b - a for a, b in zip(xs, xs[1:]) if a is not None and b is not None]
    assert max(steps) <= (lab.sample_ms + lab.step_ms) / 1000, steps
    # the static picture: each line in two stretches, none joining the two sides of the gap
    svg = lab._lag_svg()
    lines = _polyline_points(svg)
    assert len(lines) == 2 * (lab._partitions + 1), len(lines)
    width = max(x for line in lines for x, _ in line) - min(x for line in lines for x, _ in line)
    longest_step = max(b[0] - a[0] for line in lines for a, b in zip(line, line[1:]))
    assert longest_step < 0.1 * width, f"a line crosses the gap: {longest_step} of {width}"
    assert any("outside this view" in text for _, _, text in lab.timeline)


def test_clock_reads_as_days_and_time():
    lab = widget()
    lab.run(seconds=75)
    assert "t = 0 d 00:01:15" in lab.static_html()
    lab.refresh()
    assert "t = 0 d 00:01:15" in lab.clock.value


def test_stop_and_crash_with_nothing_running_say_so_without_a_traceback():
    lab = widget()
    assert lab.stop_button.disabled and lab.crash_button.disabled  # nothing runs yet
    lab.crash_button.click()  # a click that gets through anyway: a short line, no exception
    lab.stop_button.click()
    assert "no consumer is running" in lab.status.value and not lab.out.outputs
    lab.start_button.click()
    assert not lab.crash_button.disabled and "consumer-1 started" in lab.status.value
    lab.crash_button.click()
    assert lab.members["consumer-1"].status == "crashed" and "crashes" in lab.status.value
    assert lab.stop_button.disabled and lab.crash_button.disabled
    assert not lab.out.outputs


def test_a_new_member_is_joining_until_its_first_assignment():
    lab = widget(partitions=2)
    lab.start_consumer()
    lab.run(seconds=5)
    lab.start_consumer()
    lab.start_consumer()  # three members for two partitions
    notes = dict(re.findall(r"data-member='([^']+)'.*?<td[^>]*>([^<]*)</td></tr>",
                            lab.static_html()))
    assert notes["consumer-2"] == notes["consumer-3"] == "joining: waits for its first " \
        "assignment", notes
    lab.run(seconds=5)
    idle = [m for m in lab.members.values() if not m.consumer.assignment()]
    assert len(idle) == 1
    shown = lab.static_html()
    assert "idle: no partition left for it" in shown and "joining" not in shown


def test_the_static_lag_chart_has_titled_axes_with_whole_number_ticks():
    lab = widget(producer_rate=40, consumer_rate=5)
    lab.start_consumer()
    lab.run(seconds=74)
    shown = lab.static_html()
    assert "<th style='border:1px solid #ddd;padding:2px 6px;text-align:left'></th>" \
        not in shown, "a members column without a header"
    svg = lab._lag_svg()
    assert ">simulated seconds</text>" in svg and ">lag (records)</text>" in svg
    y_ticks = [int(t) for t in re.findall(r"class='kafkalab-y-tick'[^>]*>(\d+)<", svg)]
    x_ticks = [int(t) for t in re.findall(r"class='kafkalab-x-tick'[^>]*>(\d+)<", svg)]
    assert 3 <= len(y_ticks) <= 5 and y_ticks[0] == 0 and y_ticks == sorted(set(y_ticks))
    assert 3 <= len(x_ticks) <= 7 and x_ticks == sorted(set(x_ticks)), x_ticks
    highest = max(sum(lags) for _, lags in lab.history)
    assert y_ticks[-1] >= highest > y_ticks[-2], (y_ticks, highest)


def test_partitions_with_equal_lag_stay_distinguishable():
    """Lines that coincide: each partition has its own dash and the earlier ones are wider, so
    the one drawn last never hides the others completely."""
    lab = widget(producer_rate=30)
    lab.run(seconds=5)  # no consumer: every partition's lag grows alike
    lines = [t.line for t in lab.chart.data[:-1]]
    assert len({line.dash for line in lines}) == len(lines)
    assert [line.width for line in lines] == sorted((line.width for line in lines),
                                                    reverse=True)
    assert len({line.width for line in lines}) > 1
    svg = lab._lag_svg()
    dashes = re.findall(r"stroke-width='[\d.]+'(?: stroke-dasharray='([\d,]+)')? points", svg)
    assert len(set(dashes[:-1])) == lab._partitions, dashes


# --- the notebook --------------------------------------------------------------------------
def test_live_widget_shows_its_own_empty_cluster(nb):
    live = code_cell(nb, "lab  # the live widget")
    shown = shown_text(live)
    assert clock_seconds(shown) == 0 and "no consumer yet" in shown
    assert "sent 0" in shown and lag_total(shown) == 0  # nothing from the sections above
    intro = [c.source for c in nb.cells if c.cell_type == "markdown"
             and "consumer group widget" in c.source]
    assert "port=19092" in live.source and "localhost:19092" in intro[0]


def test_adding_consumers_snapshot_agrees_with_prose(nb):
    one = code_cell(nb, "lab.run(seconds=30)      # button")
    grown = code_cell(nb, "a 4th consumer for 3 partitions")
    crashed = code_cell(nb, 'lab.crash_consumer("consumer-1")')
    # a picture of each moment, not the live widget's final state
    assert clock_seconds(shown_text(grown)) == 75, shown_text(grown)[:300]
    assert clock_seconds(shown_text(crashed)) == 175
    view = members(grown)
    assert view["consumer-4"] == ("running", ""), view
    assert sorted(p for s, p in view.values() if p) == ["0", "1", "2"], view
    prose = flat(prose_after(nb, "a 4th consumer for 3 partitions"))
    assert "The 4th consumer joined and got nothing" in prose
    assert "the lag goes down" in prose
    lags = [int(x) for x in re.findall(r"\n\s*(\d+)\s*\n\s*consumer-1", shown_text(one))]
    assert len(lags) == 3, shown_text(one)
    assert lag_total(shown_text(grown)) < sum(lags), "the lag did not go down"


def test_crash_snapshot_agrees_with_prose(nb):
    cell = code_cell(nb, 'lab.crash_consumer("consumer-1")')
    shown = shown_text(cell)
    printed = int(re.search(r"records read twice so far: (\d+)", shown).group(1))
    assert printed > 0 and f"read twice {printed}" in shown
    view = members(cell)
    assert view["consumer-1"][0] == "crashed" and view["consumer-4"] == ("running", "2"), view
    crash = float(re.search(r"([\d.]+) widget consumer-1 crashes", shown).group(1))
    removed = float(re.search(r"([\d.]+) group\.member_removed member consumer-1", shown)
                    .group(1))
    prose = flat(prose_after(nb, 'lab.crash_consumer("consumer-1")'))
    assert f"For about {round(removed - crash)} s partition 0's lag grew" in prose, prose
    assert "the spare took partition 2" in prose


def test_each_rebalance_demo_has_a_topic_of_its_own(nb):
    cell = code_cell(nb, "cooperative.snapshot()")
    shown, svg = shown_text(cell), shown_html(cell)
    assert "topic page-views-cooperative" in shown and "views-views" not in shown
    # the total lag starts at 0: no records left over by the eager demo
    total = re.findall(r"<polyline class='kafkalab-lag-line' fill='none' stroke='#222'[^>]*"
                       r"points='([^']*)'", svg)
    first_y = float(total[0].split()[0].split(",")[1])
    bottom = float(re.search(r"<line x1='\d+' y1='([\d.]+)'", svg).group(1))
    assert first_y == bottom, f"the cooperative demo starts with lag: {first_y} vs {bottom}"
    gens = {}
    for line in shown.split("cooperative:")[1].splitlines():
        parts = line.split(maxsplit=3)
        if parts and parts[0].isdigit():
            gens[int(parts[0])] = line
    prose = flat(prose_after(nb, "revocations(cooperative)"))
    assert "In generation 2, the moving partitions belong to nobody" in prose
    assert gens[2].rstrip().endswith("[]") and not gens[3].rstrip().endswith("[]"), gens


def test_the_widgets_own_actions_leave_no_gap_in_the_chart():
    """Closing a member commits and leaves the group, which moves the clock a few ms: that is
    the widget's own doing, not time it did not watch, so the line goes on unbroken."""
    lab = widget(producer_rate=40, consumer_rate=10)
    lab.start_consumer()
    lab.run(seconds=5)
    lab.stop_consumer()
    lab.run(seconds=5)
    assert not lab.breaks
    assert not any("outside this view" in text for _, _, text in lab.timeline)
