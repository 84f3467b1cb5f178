"""The segment widget, driven headless (``animate=False``) on private clusters: what it draws
follows the engine (``cluster.describe_segments``, the log start offset, the events), and its
controls go through the real client paths (a producer, the admin client)."""
from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
import re

import pytest

from kafkalab import Cluster
from kafkalab.viz.segment_blocks import MIN_BLOCK_PX, SegmentBlock, blocks_html, bytes_text
from kafkalab.viz.segment_widget import CONFIGS, DAY_MS, HOUR_MS, SegmentWidget

_ports = itertools.count(58092, 10)  # private clusters: never localhost:9092
BLOCK = re.compile(r"<div class='kafkalab-segment' data-base-offset='(\d+)' "
                   r"data-next-offset='(\d+)' data-records='(\d+)' data-size='(\d+)' "
                   r"data-section='(\w+)' data-active='(true|false)'")


def widget(config=None, **options) -> SegmentWidget:
    cluster = Cluster(seed=0, port=next(_ports))
    cluster.create_topic("orders", partitions=1, replication_factor=1,
                         config={"segment.ms": DAY_MS, **(config or {})})
    return SegmentWidget(cluster, "orders", animate=False, **options)


def drawn(w: SegmentWidget) -> list[tuple]:
    """(base, next, records, bytes, section, active) of every block the static picture shows."""
    return [(int(b), int(n), int(r), int(s), section, active == "true")
            for b, n, r, s, section, active in BLOCK.findall(w.static_html())]


def engine_rows(w: SegmentWidget) -> list[tuple]:
    frame = w.cluster.describe_segments("orders", 0)
    return [(int(r.base_offset), int(r.next_offset), int(r.records), int(r.size_bytes),
             r.section, bool(r.active)) for r in frame.itertuples()]


def lso_drawn(w: SegmentWidget) -> int:
    return int(re.search(r"data-log-start-offset='(\d+)'", w.static_html()).group(1))


def test_producing_rolls_segments_and_the_blocks_follow_describe_segments():
    w = widget({"segment.bytes": 2000}, rate=30)
    assert drawn(w) == engine_rows(w) == [(0, 0, 0, 0, "active", True)]
    w.produce(10)
    w.advance(hours=4)
    rows = engine_rows(w)
    assert len(rows) >= 3, f"segment.bytes=2000 rolls segments: {rows}"
    assert drawn(w) == rows
    assert [r[5] for r in rows] == [False] * (len(rows) - 1) + [True]
    assert {r[4] for r in rows[:-1]} == {"closed"}, "a delete-only topic's closed segments"
    assert w.summary()["sent"] == 10 + 4 * 30
    assert sum(r[2] for r in rows) == 130
    rolled = [e for e in w.events if e[1] == "segment.rolled"]
    assert len(rolled) == len(rows) - 1, "each roll is listed among the recent events"


def test_advancing_past_retention_removes_old_blocks_and_moves_the_log_start_offset():
    w = widget(rate=10)
    assert w.set_config("retention.ms", 2 * DAY_MS), w.message
    w.advance(days=2)
    before = drawn(w)
    assert before[0][0] == 0 and lso_drawn(w) == 0, "nothing is 2 days old yet"
    w.advance(days=3)
    after = drawn(w)
    start = w.cluster.partition("orders", 0).log_start_offset
    assert start > 0 and lso_drawn(w) == start == after[0][0]
    assert not {b[0] for b in before[:2]} & {b[0] for b in after}, "the oldest blocks went"
    assert w.deleted_segments >= 2
    assert f"data-segments='{w.deleted_segments}'" in w.static_html(), "the deleted block"
    history = w.history_frame()
    assert history["log_start_offset"].is_monotonic_increasing
    assert history["log_start_offset"].iloc[-1] == start
    drops = (history["size_bytes"].diff() < 0).sum()
    assert drops >= 2, "retention's saw-tooth: the log's size drops at each deletion"


def test_compaction_shows_clean_and_dirty_sections_after_the_cleaner_runs():
    w = widget({"segment.ms": HOUR_MS}, rate=24, key_count=4)
    assert w.set_config("cleanup.policy", "compact"), w.message
    w.advance(hours=1)
    assert {r[4] for r in engine_rows(w)} <= {"dirty", "uncleanable", "active"}
    w.advance(hours=2)
    rows = engine_rows(w)
    assert drawn(w) == rows
    assert [r[4] for r in rows] == ["clean", "active"], "the cleaner ran on what rolled"
    assert any(e[1] == "log.cleaned" for e in w.events), "the cleaner's run is listed"
    [clean] = [b for b in w.blocks() if b.section == "clean"]
    assert clean.records == 4 and clean.gaps > 0, "the last record per key, gaps between"
    assert "kafkalab-gaps" in w.static_html()
    # a higher ratio makes the cleaner wait: the newly rolled segments stay dirty
    assert w.set_config("min.cleanable.dirty.ratio", "0.95"), w.message
    w.advance(hours=2)
    rows = engine_rows(w)
    assert drawn(w) == rows
    assert [r[4] for r in rows] == ["clean", "dirty", "dirty", "active"]
    ratio = re.search(r"dirty ratio (0\.\d+)", w.cleaner_text())
    assert ratio and float(ratio.group(1)) <= 0.95 and "the cleaner waits" in w.cleaner_text()
    assert f"dirty from offset {rows[1][0]} to {rows[3][0]}" in w.static_html()


def test_a_bad_config_value_shows_an_error_and_changes_nothing():
    w = widget()
    topic = w.cluster.topic("orders")
    before = dict(topic.config.overrides)
    assert w.set_config("retention.ms", "abc") is False
    assert "retention.ms" in w.message and "whole number" in w.message
    assert "refused" in w.static_html()
    assert w.set_config("cleanup.policy", "archive") is False and "one of" in w.message
    assert w.set_config("min.cleanable.dirty.ratio", 2) is False and "no more than 1" in w.message
    assert w.set_config("segment.bytes", 1000) is False, "the widget's fields only"
    assert dict(topic.config.overrides) == before
    # typed into the field: refused, and the field shows the topic's value again
    w.fields["retention.ms"].value = "-7"
    assert "at least -1" in w.message
    assert w.fields["retention.ms"].value == str(topic.config["retention.ms"])
    assert dict(topic.config.overrides) == before
    w.fields["retention.ms"].value = "3600000"
    assert topic.config["retention.ms"] == HOUR_MS and "✔" in w.message


def test_the_static_picture_has_the_blocks_the_chart_and_the_events():
    w = widget({"segment.bytes": 1500}, rate=40)
    w.advance(hours=3)
    html = w.static_html()
    blocks = drawn(w)
    assert len(blocks) == html.count("class='kafkalab-segment'") >= 3
    assert html.count("ACTIVE") == 1 and blocks[-1][5]
    for base, *_ in blocks:
        assert f"<b>base {base}</b>" in html
    assert "<svg" in html and "data-series='log start offset'" in html
    assert "segment.rolled" in html and "kafkalab-segment-events" in html
    assert w.cluster.clock_text() in html
    for name in CONFIGS:
        assert f"<code>{name}</code>" in html


def on_a_thread_without_a_loop(fn):
    """``fn()``'s result, run on a new thread: no asyncio loop runs there, whatever this
    thread has (a session's Playwright keeps one running on the main thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def test_time_buttons_and_the_producer_button_work_without_a_frontend():
    w = widget(rate=6)
    start = w.cluster.now_ms()
    one_day = next(b for b in w.step_buttons if b.description == "+1 day")
    on_a_thread_without_a_loop(one_day.click)  # no event loop: the day runs at once
    assert w.cluster.now_ms() - start == DAY_MS
    assert w.summary()["sent"] == 24 * 6
    w.produce_button.click()
    assert w.summary()["sent"] == 24 * 6 + 10
    # nothing can run live without a loop: Run turns itself off
    on_a_thread_without_a_loop(lambda: setattr(w.run_toggle, "value", True))
    assert w.run_toggle.value is False


def test_tombstones_are_null_values_spread_evenly():
    w = widget(rate=0, key_count=3, tombstone_share=0.25)
    w.produce(8)
    records = w.cluster.records("orders", 0)
    assert list(records["key"]) == ["user1", "user2", "user3"] * 2 + ["user1", "user2"]
    nulls = list(records.index[records["value"].isna()])
    assert nulls == [3, 7] and w.summary()["tombstones"] == 2


def test_same_seed_same_pictures():
    def run() -> tuple:
        w = widget({"segment.bytes": 3000, "retention.ms": DAY_MS}, rate=20)
        w.advance(days=3)
        return drawn(w), w.history_frame().to_dict("list")

    assert run() == run()


def test_block_widths_follow_size_and_tiny_segments_stay_readable():
    blocks = [SegmentBlock(0, 100, 100, 90_000, "closed", "2 days old"),
              SegmentBlock(100, 101, 1, 90, "closed", "1 day old"),
              SegmentBlock(101, 101, 0, 0, "active", "empty")]
    html = blocks_html(blocks, log_start_offset=0, high_watermark=101, log_end_offset=101)
    shares = [int(g) for g in re.findall(r"flex:(\d+) 1 0px;min-width:(?:\d+)px", html)]
    assert shares == [999, 1, 1], "widths share the row by size, in thousandths"
    assert html.count(f"min-width:{MIN_BLOCK_PX}px") == 3, "a tiny segment stays readable"
    by_records = blocks_html(blocks, log_start_offset=0, high_watermark=101,
                             log_end_offset=101, size_by="records")
    assert "block width ∝ records" in by_records
    with pytest.raises(ValueError, match="size_by"):
        blocks_html(blocks, log_start_offset=0, high_watermark=101, log_end_offset=101,
                    size_by="keys")
    assert bytes_text(90_000) == "87.9 KiB" and bytes_text(90) == "90 B"


def test_a_time_button_plays_on_the_event_loop_and_pause_stops_it():
    import asyncio

    w = widget(rate=12, interval_s=0.001)
    start = w.cluster.now_ms()

    async def play() -> tuple[int, int]:
        next(b for b in w.step_buttons if b.description == "+1 day").click()
        assert w.cluster.now_ms() == start, "the button returns at once; the loop plays"
        await w._task
        played = w.cluster.now_ms() - start
        w.run_toggle.value = True  # Run: plays until paused
        await asyncio.sleep(0.05)
        w.run_toggle.value = False
        await w._task
        return played, w.cluster.now_ms() - start

    played, after_run = on_a_thread_without_a_loop(lambda: asyncio.run(play()))
    assert played == DAY_MS and w.summary()["sent"] >= 24 * 12
    assert after_run > DAY_MS and w.run_toggle.description == "Run"
    assert len(w.history) > 24, "the chart took a point every simulated hour"


def test_time_moved_by_other_cells_shows_as_a_gap_and_the_blocks_stay_current():
    w = widget({"retention.ms": DAY_MS}, rate=10)
    w.advance(days=1)
    w.cluster.advance(days=3)  # another cell moves the cluster on
    html = w.static_html()
    assert any(e[1] == "widget.gap" for e in w.events)
    assert len(w.stretches(3)) == 2, "no line across the time the widget did not watch"
    start = w.cluster.partition("orders", 0).log_start_offset
    assert start > 0 and f"data-log-start-offset='{start}'" in html
    assert w.history[-1][0] == w.cluster.now_ms()


def test_a_view_that_only_saw_time_move_in_other_cells_draws_no_empty_chart():
    """A view made for a snapshot (no producer; every cell before and after it moves the
    cluster) has single points only: it shows the blocks, and no chart axes without a line."""
    w = widget({"segment.bytes": 1500}, rate=0)
    w.cluster.advance(days=2)
    html = w.static_html()
    assert all(len(s) < 2 for s in w.stretches(3))
    assert "<svg" not in html and "data-series=" not in html
    assert "class='kafkalab-segment'" in html
    w.advance(hours=2)  # once the view watches time itself, its chart is back
    assert "data-series='log start offset'" in w.static_html()


def test_many_segments_fold_the_oldest_into_one_block():
    blocks = [SegmentBlock(10 * i, 10 * i + 10, 10, 800, "closed", "1 day old")
              for i in range(30)] + [SegmentBlock(300, 300, 0, 0, "active", "empty")]
    html = blocks_html(blocks, log_start_offset=0, high_watermark=300, log_end_offset=300,
                       max_blocks=24, deleted_segments=2, deleted_records=20)
    assert html.count("class='kafkalab-segment'") == 24
    folded = re.search(r"class='kafkalab-folded' data-segments='(\d+)'.*?base (\d+) on<br>"
                       r"(\d+) records<br>([^<]+)<", html)
    assert folded and folded.groups() == ("7", "0", "70", "5.5 KiB")
    assert "data-base-offset='70'" in html and "data-base-offset='60'" not in html
    assert "data-segments='31'" in html and "31 segments · 300 records" in html
    assert re.search(r"class='kafkalab-deleted' data-segments='2'.*?20 records", html)
