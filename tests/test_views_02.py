"""Notebook 02 read the way a learner reads it after Run All (DESIGN §4), and the producer views
label what they show: with acks=0 there is no acknowledgement.

The notebook tests read the outputs of one papermill run (``executed_notebook``); the widget
tests drive ``ProducerLabWidget`` and ``batch_timeline_figure`` directly.
"""
from __future__ import annotations

import re

import pytest

from kafkalab.viz.producer_views import ProducerLabWidget, batch_timeline_figure, run_workload
from notebook_text import code_cell, prose_after, shown_text

NOTEBOOK = "02-producers.ipynb"
COURSE_NOTEBOOKS = {
    "00-start-here", "01-topics-partitions-offsets", "02-producers", "02b-transactions",
    "03-consumers", "04-streams", "05-connect", "06-replication", "07-retention-compaction",
    "08-monitoring", "09-patterns", "10-kafka-vs-queues", "11-self-check"}


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", "").replace("`", ""))


# --- the widgets ---------------------------------------------------------------------------
@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_producer_lab_says_what_it_measures(acks):
    lab = ProducerLabWidget(records=60)
    run = lab.set(acks=acks, linger_ms=0).run()
    titles = [a.text for a in lab.figure.layout.annotations]
    latency_axis = lab.figure.layout.yaxis2
    if acks == 0:
        assert all("no acknowledgement" in t for t in titles), titles
        assert not any("acknowledged" in t for t in titles), titles
        assert latency_axis.title.text == "ms until sent"
        assert "no acknowledgement (acks=0)" in lab.static_html()
    else:
        assert "when it was acknowledged" in titles[0] and "until acknowledged" in titles[1]
        assert "no acknowledgement" not in lab.static_html()
    # a sensible range: from 0, never negative, covering the slowest record; whole-number ticks
    slowest = int(run.records["latency_ms"].max())
    low, high = latency_axis.range
    assert low == 0 and high >= max(slowest, 1), (latency_axis.range, slowest)
    for axis in (lab.figure.layout.yaxis, latency_axis):
        ticks = list(axis.tickvals)
        assert ticks == sorted(set(ticks)) and all(t == int(t) for t in ticks), ticks


def test_batch_timeline_axis_names_the_moment_it_draws():
    runs = {"acks=0": run_workload(records=50, acks=0, linger_ms=5),
            "acks=all": run_workload(records=50, acks="all", linger_ms=5)}
    figure = batch_timeline_figure(runs)
    assert "sent at (acks=0: no acknowledgement)" in figure.layout.xaxis.title.text
    assert figure.layout.xaxis2.title.text.startswith("acknowledged at")


# --- the notebook --------------------------------------------------------------------------
def test_acks_table_agrees_with_prose(nb):
    cell = code_cell(nb, "lesson_table = {0:")
    rows = {}
    for acks in ("0", "1", "all"):  # the index, then "waits for", latency, last offset
        match = re.search(rf"\n\s*{acks}\s*\n[^\n]+\n\s*([\d.]+)\s*\n\s*(-?\d+)\s*\n",
                          shown_text(cell))
        assert match, shown_text(cell)
        rows[acks] = (float(match.group(1)), int(match.group(2)))
    prose = flat(prose_after(nb, "lesson_table = {0:"))
    assert f"acks=0: {rows['0'][0]:g} ms" in prose and rows["0"][1] == -1
    assert "RecordMetadata.offset is -1" in prose
    assert f"acks=1: {rows['1'][0]:g} ms" in prose
    assert f"about {round(rows['all'][0])} ms" in prose


def test_cross_references_name_notebooks(nb):
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        assert not re.search(r"\blesson \d|later lesson|lesson \(\d", cell.source, re.I), \
            cell.source
        for name in re.findall(r"`(\d\d[a-z]?-[a-z-]+)`", cell.source):
            assert name in COURSE_NOTEBOOKS, name
    assert any("`02b-transactions`" in c.source for c in nb.cells if c.cell_type == "markdown")
