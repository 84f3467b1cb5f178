"""Notebook 07 read the way a learner reads it after Run All: every number the prose quotes is the
one its cells showed (DESIGN §4), and the lesson's stories came out as the lesson tells them.

The tests read the outputs of one papermill run (``executed_notebook``): retention, compaction
and the consumers' resets are checked in what the cells printed and displayed, never recomputed.
"""
from __future__ import annotations

import re

import pytest

from notebook_text import (clock_seconds, code_cell, flat, live_widget_cells, prose_after,
                           shown_html, shown_text, table)

NOTEBOOK = "07-retention-compaction.ipynb"


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def printed(cell) -> str:
    """What the cell printed (its stream outputs), glued."""
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def lesson_picture(text: str) -> list[tuple[str, str, str]]:
    """(offset, key, value) columns of the last lesson-style picture in ``text``."""
    offsets, keys, values = (re.findall(rf"^{label}\s+(.*)$", text, re.M)[-1].split()
                             for label in ("Offset:", "Key:", "Value:"))
    return list(zip(offsets, keys, values))


def event_lines(text: str, kind: str) -> list[str]:
    return [line for line in text.splitlines() if f"  {kind}: " in line]


def log_start_moves(text: str) -> list[tuple[int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"log start offset (\d+) -> (\d+)", text)]


# --- 1-3: segments and retention -----------------------------------------------------------
def test_the_shops_log_is_segments_and_only_the_last_is_active(nb):
    cell = code_cell(nb, "run_shop(10 * 24)")
    assert "t = 10 d 00:00:00 - 240 orders" in printed(cell)
    segments = table(cell)
    prose = flat(prose_after(nb, "run_shop(10 * 24)"))
    assert len(segments) == 10 and "ten segments" in prose
    assert [s["active"] for s in segments] == ["False"] * 9 + ["True"]
    assert {s["records"] for s in segments[:-1]} == {"25"} and "holds 25 orders" in prose
    assert "kafkalab-segment-widget" in shown_html(code_cell(nb, "orders_view.snapshot()  # the"
                                                             " orders log now"))


def test_the_lessons_retention_ms_deletes_old_segments_at_the_next_check(nb):
    cell = code_cell(nb, "t_change = cluster.now_ms()")
    text = printed(cell)
    assert log_start_moves(text) == [(0, 50)] and "t = 10 d 00:05:00" in text
    assert table(cell)[0]["base_offset"] == "50"
    prose = flat(prose_after(nb, "t_change = cluster.now_ms()"))
    assert "offsets 0 to 49" in prose and "moved from 0 to 50" in prose


def test_a_week_later_retention_has_kept_pace_with_the_shop(nb):
    text = printed(code_cell(nb, "run_shop(7 * 24)"))
    deleted = event_lines(text, "retention.deleted")
    rolled = event_lines(text, "segment.rolled")
    times = [clock_seconds(line) for line in deleted[1:]]  # the first is the check before
    assert len(times) >= 5 and {b - a for a, b in zip(times, times[1:])} == {25 * 3600}
    assert {clock_seconds(b) - clock_seconds(a) for a, b in zip(rolled, rolled[1:])} == {
        25 * 3600}
    moves = log_start_moves("\n".join(deleted[1:]))
    assert {new - old for old, new in moves} == {25}
    prose = flat(prose_after(nb, "run_shop(7 * 24)"))
    assert "every 25 hours" in prose and "walks up 25 offsets" in prose


def test_records_live_longer_than_retention_ms_as_the_prose_says(nb):
    text = printed(code_cell(nb, "deleted = cluster.events.of_kind('retention.deleted')[1]"))
    lived = re.findall(r"it lived (\d+) d (\d+) h (\d+) min", text)
    assert lived == [("8", "0", "5"), ("7", "0", "5")], text
    prose = flat(prose_after(nb, "deleted = cluster.events.of_kind('retention.deleted')[1]"))
    assert "newest order lived 7 days and 5 minutes" in prose
    assert "oldest order lived 8 days and 5 minutes" in prose


def test_consumers_start_at_the_moved_log_start_offset(nb):
    cell = code_cell(nb, "reporting.seek(orders_0, 50)")
    text = printed(cell)
    start = int(re.search(r"a new consumer starts at offset (\d+)", text).group(1))
    assert f"reporting's next record: {start}" in text
    assert f"to offset {start} (earliest): offset 50 is out of range" in text
    last_deleted = log_start_moves(printed(code_cell(nb, "run_shop(7 * 24)")))[-1][1]
    assert start == last_deleted
    assert f"Orders 50 to {start - 1} were never reported" in flat(
        prose_after(nb, "reporting.seek(orders_0, 50)"))


def test_size_retention_does_nothing_at_10_gib_and_deletes_at_a_small_limit(nb):
    big = printed(code_cell(nb, "show_events(t_size, 'retention')"))
    assert "retention.deleted" not in big
    size = int(re.search(r"orders-0 holds ([\d,]+) bytes", big).group(1).replace(",", ""))
    assert f"about {round(size / 1000)} KB" in flat(prose_after(
        nb, "show_events(t_size, 'retention')"))
    cell = code_cell(nb, "show_events(t_small, 'retention')")
    small = printed(cell)
    assert "retention.bytes=6000" in small and log_start_moves(small)
    left = int(re.search(r"orders-0 holds ([\d,]+) bytes", small).group(1).replace(",", ""))
    assert 6000 <= left < size
    assert sum(int(s["size_bytes"]) for s in table(cell)) == left


# --- 4: the lesson's compaction example ------------------------------------------------------
def test_the_lessons_example_before_and_after_compaction(nb):
    before = [("0", "user1", "v1"), ("1", "user2", "v2"), ("2", "user1", "v3"),
              ("3", "user3", "v4"), ("4", "user2", "v5"), ("5", "user1", "v6")]
    pictured = next(c for c in nb.cells if c.get("id") == "c07-s4-lesson-picture")
    assert lesson_picture(printed(pictured)) == before
    waited = code_cell(nb, "t_compact = cluster.now_ms()")
    assert lesson_picture(printed(waited)) == before  # nothing is cleaned in the active segment
    assert "log.cleaned" not in printed(waited)
    assert "the active segment is never cleaned" in shown_text(waited)
    rolled = printed(code_cell(nb, "profiles.send('user-profiles', key='user4', value='v7')"))
    assert "cleaned user-profiles-0: 6 records -> 3" in rolled
    assert lesson_picture(rolled) == [("3", "user3", "v4"), ("4", "user2", "v5"),
                                      ("5", "user1", "v6"), ("6", "user4", "v7")]
    prose = flat(prose_after(nb, "profiles.send('user-profiles', key='user4', value='v7')"))
    assert "offsets 3, 4 and 5 remain" in prose and "Offset 6 is the new record" in prose
    sections = table(code_cell(nb, "cluster.describe_segments('user-profiles')[["))
    assert [s["section"] for s in sections] == ["clean", "active"]


def test_the_cleaner_cleans_when_the_dirty_ratio_passes_min_cleanable_dirty_ratio(nb):
    cell = code_cell(nb, "ratio_table = profile_updates(8)")
    rows = table(cell)
    over = [(r["dirty_ratio"], i + 1) for i, r in enumerate(rows) if float(r["dirty_ratio"]) > 0.5]
    cleans = event_lines(printed(cell), "log.cleaned")
    assert len(cleans) == len(over) == 2, (rows, cleans)
    prose = flat(prose_after(nb, "ratio_table = profile_updates(8)"))
    assert f"After updates {over[0][1]} and {over[1][1]} the ratio was above 0.5 " \
           f"({over[0][0]} and {over[1][0]})" in prose
    under = [(r["dirty_ratio"], i + 1) for i, r in enumerate(rows)
             if 0.49 < float(r["dirty_ratio"]) <= 0.5]  # just under: the cleaner waits
    assert under and f"After update {under[0][1]} the ratio was {under[0][0]}, just under " \
                     f"0.5, so the cleaner waited" in prose
    for (_, update), line in zip(over, cleans):
        assert float(re.search(r"dirty ratio ([\d.]+)", line).group(1)) > 0.5
        assert float(rows[update]["dirty_ratio"]) < float(rows[update - 1]["dirty_ratio"])


# --- 5: tombstones ---------------------------------------------------------------------------
def test_a_late_reader_misses_the_delete(nb):
    first = printed(code_cell(nb, "mobile, web = reader(), reader()"))
    assert "both see user2:" in first and "mobile, 5 hours later, has user2: False" in first
    kept = lesson_picture(first)
    assert [key for _, key, value in kept if value == "null"] == ["user2"]
    assert [key for _, key, _ in kept].count("user2") == 1  # its older values are gone
    late = printed(code_cell(nb, "profile_updates(48, keys="))
    assert "web, back after 2 days, has user2: True" in late
    assert "a new reader has user2: False" in late
    assert "user2" not in [key for _, key, _ in lesson_picture(late)]
    prose = flat(prose_after(nb, "profile_updates(48, keys="))
    assert "its table still holds `user2`'s old profile" in prose


# --- 6-8: use cases, __consumer_offsets, metrics -------------------------------------------------
def test_use_cases_rebuild_their_tables(nb):
    config = shown_text(code_cell(nb, "changes = [('checkout.enabled', 'true')"))
    assert "6 changes written; 4 records kept" in config
    assert "'checkout.enabled': 'true', 'cart.max_items': '100', 'theme': 'dark'" in config
    customers = table(code_cell(nb, "customers = catch_up(replica, {})"))
    assert [c["name"] for c in customers] == ["Alice", "Carol"]
    assert "Bob" not in shown_text(code_cell(nb, "customers = catch_up(replica, {})"))
    keyless = printed(code_cell(nb, "keyless.send('user-profiles', value=b'no key')"))
    assert keyless.startswith("InvalidRecordError - [Error 87]")
    assert "without key" in keyless
    vans = lesson_picture(printed(code_cell(nb, "'cleanup.policy': 'compact,delete'")))
    assert {key for _, key, _ in vans} == {"van-3"}
    assert "`van-7` is gone" in prose_after(nb, "'cleanup.policy': 'compact,delete'")


def test_consumer_offsets_is_compacted_and_keeps_the_committed_offset(nb):
    text = printed(code_cell(nb, "read_one_and_commit()  # the first commit"))
    committed = re.search(r"committed offset: (\d+)", text).group(1)
    assert committed == "1000"
    cleans = event_lines(text, "log.cleaned")
    assert cleans and all("__consumer_offsets" in line for line in cleans)
    count = re.search(r": (\d+) records -> 1,", cleans[0]).group(1)
    assert f"the hour's {count} commits" in flat(prose_after(
        nb, "read_one_and_commit()  # the first commit"))
    restarted = printed(code_cell(nb, "cluster.restart_broker(1)"))
    assert restarted.strip() == f"committed offset after the restart: {committed}"
    assert f"it read {count} commits and wrote back one" in flat(
        prose_after(nb, "cluster.log_cleaner_metrics()"))
    metrics = shown_text(code_cell(nb, "cluster.log_cleaner_metrics()"))
    recopy = float(re.search(r"cleaner-recopy-percent\s+([\d.]+)", metrics).group(1))
    assert 0 < recopy < 100 / int(count) * 2  # about one record written per `count` read
    assert re.search(r"DeadThreadCount\s+0\b", metrics)


def test_the_playground_is_live_on_its_own_cluster_and_its_story_reads_true(nb):
    live = code_cell(nb, "play  # the live widget")
    assert "port=39192" in live.source and live_widget_cells(nb) == [live]
    assert clock_seconds(shown_text(live)) == 0  # its state at that cell
    story = printed(code_cell(nb, "play.set_config('cleanup.policy', 'compact')"))
    first = event_lines(story, "log.cleaned")[0]
    kept = re.search(r"records -> (\d+),", first).group(1)
    assert kept == "8" and "shrank the two days of records to 8" in flat(
        prose_after(nb, "play.set_config('cleanup.policy', 'compact')"))
    picture = shown_text(code_cell(nb, "play.snapshot()"))
    assert clock_seconds(picture) == 3 * 86_400
