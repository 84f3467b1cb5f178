"""Real-browser test: the SegmentWidget of notebook 07-retention-compaction in JupyterLab.

After Run All, in the notebook's live SegmentWidget (its "Play with it" widget ``play``, on a
cluster of its own; the notebook's story has made its topic compacted by then) it picks
``cleanup.policy`` = delete and types ``segment.ms`` = 1 day and ``retention.ms`` = 2 days into
the config fields (each applied through the admin client), clicks *+1 day* and *+7 days*
(animated on the kernel's loop) and checks that the oldest blocks are gone, the log start offset
moved to the first block's base offset and the dashed block counts deleted segments; then it
types a bad value (refused, with the broker's reason, the field back to the topic's value),
picks ``cleanup.policy`` = compact, clicks *+1 day* and checks that a clean section appears.
Screenshots go to ``/tmp/shots-07/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from labdriver import (PLOT_POINTS_JS, assert_no_tracebacks, button, frame_for_screenshot,
                       open_and_run_all, output_of, run_scenario, settled, wait_until)

NOTEBOOK = "notebooks/07-retention-compaction.ipynb"
SHOTS = Path("/tmp/shots-07")
DAY_MS = 86_400_000
# The widget as the browser shows it: its clock, positions, blocks, the message line.
SEGMENTS_JS = """el => {
  const view = el.querySelector('.widget-html .kafkalab-segments');
  if (!view) return null;
  const header = el.querySelector('.widget-html .kafkalab-segment-header');
  const deleted = view.querySelector('.kafkalab-deleted');
  const blocks = [...view.querySelectorAll('.kafkalab-segment')].map(b => ({
    base: Number(b.dataset.baseOffset), next: Number(b.dataset.nextOffset),
    records: Number(b.dataset.records), section: b.dataset.section,
    active: b.dataset.active === 'true'}));
  const message = [...el.querySelectorAll('.widget-html')]
    .map(h => h.textContent).find(t => /^[✔✖]/.test(t.trim())) || '';
  return {elapsed: header ? Number(header.dataset.elapsedMs) : null,
          lso: Number(view.dataset.logStartOffset), leo: Number(view.dataset.logEndOffset),
          deleted: deleted ? Number(deleted.dataset.segments) : 0, blocks,
          message: message.trim()};
}"""


def field(output, name: str):
    """The input of the config field labelled ``name`` (a Text or a Dropdown)."""
    label = re.compile(f"^{re.escape(name)}$")
    return output.locator(".widget-text, .widget-dropdown").filter(
        has=output.page.locator("label", has_text=label)).locator("input, select")


def play_with_retention_and_compaction(page, server) -> dict:
    open_and_run_all(page, server, NOTEBOOK)
    # the last live segment view: the notebook's "Play with it" widget
    view = page.locator(".widget-html .kafkalab-segments").last
    view.wait_for()
    output = output_of(view)

    def state() -> dict:
        return output.evaluate(SEGMENTS_JS)

    def set_text(name: str, value: str, ok: str) -> dict:
        box = field(output, name)
        box.fill(value)
        box.press("Enter")
        return wait_until(state, lambda s: s["message"].startswith(ok) and name in s["message"],
                          f"the widget to answer {name}={value} with {ok}", page)

    def advance(label: str, ms: int) -> dict:
        start = state()["elapsed"]
        button(output, label).click()
        wait_until(state, lambda s: s["elapsed"] >= start + ms,
                   f"the widget's clock to move {label}", page)
        return settled(state)

    def set_policy(policy: str) -> dict:
        field(output, "cleanup.policy").select_option(policy)
        return wait_until(state, lambda s: s["message"] == f"✔ cleanup.policy={policy}",
                          f"cleanup.policy={policy} to be applied", page)

    SHOTS.mkdir(parents=True, exist_ok=True)
    first = settled(state)
    assert first and first["blocks"], f"no segment blocks: {first}"
    set_policy("delete")
    set_text("segment.ms", str(DAY_MS), "✔")
    set_text("retention.ms", str(2 * DAY_MS), "✔")
    one_day = advance("+1 day", DAY_MS)
    frame_for_screenshot(page, output)
    page.screenshot(path=str(SHOTS / "segment-widget-1-day.png"))
    week = advance("+7 days", 7 * DAY_MS)
    frame_for_screenshot(page, output)
    page.screenshot(path=str(SHOTS / "segment-widget-retention.png"))

    refused = set_text("retention.ms", "two days", "✖")
    assert "whole number" in refused["message"], refused["message"]
    wait_until(lambda: field(output, "retention.ms").input_value(),
               lambda v: v == str(2 * DAY_MS), "the refused field to show the topic's value",
               page)
    set_policy("compact")
    compacted = advance("+1 day", DAY_MS)
    chart = output.evaluate(PLOT_POINTS_JS)
    assert_no_tracebacks(page, "after playing with the segment widget")
    frame_for_screenshot(page, output)
    return {"first": first, "one_day": one_day, "week": week, "compacted": compacted,
            "chart": chart}


@pytest.mark.browser
def test_lesson_07_retention_deletes_blocks_and_compaction_cleans(jupyter_lab, lab_page):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"

    def scenario() -> dict:
        seen = play_with_retention_and_compaction(lab_page, jupyter_lab)
        before, week, compacted = seen["one_day"], seen["week"], seen["compacted"]
        assert week["lso"] > before["lso"], f"the log start offset did not move: {seen}"
        assert week["blocks"][0]["base"] == week["lso"], f"first block != log start: {week}"
        day_one = {b["base"] for b in before["blocks"]}
        assert not day_one & {b["base"] for b in week["blocks"]}, (
            f"the blocks of day 1 are still there after 7 more days: {seen}")
        assert week["deleted"] >= 5, f"retention deleted too few segments: {week}"
        assert {b["section"] for b in week["blocks"][:-1]} == {"closed"}, week
        sections = [b["section"] for b in compacted["blocks"]]
        assert "clean" in sections and sections[-1] == "active", f"no clean section: {sections}"
        cleaned = [b for b in compacted["blocks"] if b["section"] == "clean"]
        assert sum(b["records"] for b in cleaned) < sum(b["next"] - b["base"] for b in cleaned)
        assert seen["chart"] and all(trace["x"] > 10 for trace in seen["chart"]), seen["chart"]
        return seen

    run_scenario(lab_page, jupyter_lab, SHOTS / "segment-widget.png", NOTEBOOK, scenario)
