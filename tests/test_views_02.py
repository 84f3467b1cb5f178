"""Notebook 02 read the way a learner reads it after Run All (DESIGN §4), and the producer views
label what they show: with acks=0 there is no acknowledgement.

The notebook tests read the outputs of one papermill run (``executed_notebook``); the widget
tests drive ``ProducerLabWidget`` and ``batch_timeline_figure`` directly.
"""
from __future__ import annotations

import re

import pytest

from kafkalab.viz.producer_views import (ProducerLabWidget, RandomPartitioner, bar_figure,
                                          batch_timeline_figure, run_workload)
from notebook_text import code_cell, flat, prose_after, shown_text

NOTEBOOK = "02-producers.ipynb"


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


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
    prose = flat(prose_after(nb, "lesson_table = {0:")).replace("`", "")  # `acks=0`: 0 ms
    assert f"acks=0: {rows['0'][0]:g} ms" in prose and rows["0"][1] == -1
    assert "RecordMetadata.offset is -1" in prose
    assert f"acks=1: {rows['1'][0]:g} ms" in prose
    assert f"about {round(rows['all'][0])} ms" in prose


def test_the_transactions_notebook_is_named(nb):
    """The prose sends the learner on to `02b-transactions` by its name (the names and
    numbers of every cross-reference are checked in test_cross_references.py)."""
    assert any("`02b-transactions`" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_batch_timeline_draws_the_partitions_that_exist_on_both_panels():
    """0..N-1 with one whole-number tick each and a title on every panel: no partition -1 or N
    from the automatic range around big dots, no panel without labels."""
    common = dict(records=120, rate_per_ms=5, partitions=6, linger_ms=5)
    runs = {"sticky": run_workload(**common),
            "random": run_workload(**common, partitioner=RandomPartitioner(0))}
    layout = batch_timeline_figure(runs).layout
    for axis in (layout.yaxis, layout.yaxis2):
        assert tuple(axis.range) == (-0.5, 5.5)
        assert list(axis.tickvals) == [0, 1, 2, 3, 4, 5]
        assert axis.title.text == "partition" and axis.showticklabels is not False


def test_bar_labels_are_written_alike_and_the_axis_is_titled():
    import pandas as pd

    frame = pd.DataFrame({"codec": ["none", "gzip"], "ratio": [1.0, 5.3123]})
    figure = bar_figure(frame, x="codec", y="ratio", text="ratio", title="t")
    assert list(figure.data[0].text) == ["1.00", "5.31"]
    assert figure.layout.yaxis.title.text == "ratio"


def test_the_compression_ratio_chart_has_a_titled_axis_and_even_labels(nb):
    source = code_cell(nb, 'bar_figure(codecs, x="codec", y="ratio"').source
    assert "yaxis_title=" in source


def test_record_metadata_shows_the_raw_timestamp_and_how_it_reads(nb):
    text = flat(shown_text(code_cell(nb, "record_metadata._asdict()")))
    raw = int(re.search(r"timestamp (1\d{12})", text).group(1))
    from kafkalab.viz.tables import timestamp_text

    assert timestamp_text(raw) in text  # the date beside the raw value Kafka shows
    assert re.search(rf"timestamp {raw} 2026-01-01 00:00:00(\.\d{{3}})? UTC "
                     rf"\(t = 0 d 00:00:00(\.\d{{3}})?\)", text), text
