"""Real-browser test: lesson 01 in JupyterLab, driven by Debian's headless Chromium.

Opens the notebook, waits for the kernel ("| Idle" in the status bar), runs all cells, then
clicks the "Produce 10 records" button of the learner's widget (``play``, on its own cluster at
localhost:39092) and checks that after Run All it still showed its empty topic at t = 0 (no later
cell moved it), and that after the click the partition-log view of the same widget shows 10 more
records and its plotly bar chart (a FigureWidget) followed.
Fixtures (isolated server, browser) are in ``conftest.py``, shared steps in ``labdriver.py``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from labdriver import STEP_MS, button, open_and_run_all, output_of, run_scenario, settled

NOTEBOOK = "notebooks/01-topics-partitions-offsets.ipynb"
BUTTON = "Produce 10 records"
# The partition-log view is an ipywidgets HTML widget (class widget-html); the static fallback
# (text/html) uses the same markup, so always look inside the widget.
VIEW = ".widget-html .kafkalab-partition-log"
CLOCK = ".widget-html .kafkalab-clock"
RECORD = ".kafkalab-record"
BARS = ".js-plotly-plot .barlayer .point"
# The chart's bar heights, as plotly holds them on its graph div.
BAR_TOTAL_JS = """el => {
  const gd = el.querySelector('.js-plotly-plot');
  if (!gd || !gd.data || !gd.data[0] || !gd.data[0].y) return null;
  return Array.from(gd.data[0].y).reduce((a, b) => a + Number(b), 0);
}"""


def dev_notebook(folder: Path) -> str:
    """A one-cell stand-in for lesson 01 (the widget alone); returns its name."""
    source = (
        "import kafkalab\n"
        "from kafkalab.viz.partition_log import PartitionLogWidget\n"
        'cluster = kafkalab.Cluster(seed=0); cluster.create_topic("orders", partitions=3)\n'
        'w = PartitionLogWidget(cluster, "orders"); w.produce(5); w'
    )
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "widget", "metadata": {},
                   "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    (folder / "_browser_dev.ipynb").write_text(json.dumps(notebook, indent=1))
    return "_browser_dev.ipynb"


def run_all_and_produce(page, server, notebook: str) -> dict:
    """Open ``notebook`` (relative to the server root), Run All, click the first BUTTON.

    Returns what was seen before and after the click; raises on any step that fails.
    """
    open_and_run_all(page, server, notebook)
    produce = button(page, BUTTON).first
    produce.wait_for(timeout=STEP_MS)
    # the nearest output around this button holds its view and chart (lesson 01 shows other
    # views of its own topic further down: snapshots, and a live view without buttons)
    output = output_of(produce)
    view = output.locator(VIEW)
    view.wait_for(timeout=STEP_MS)
    # attached, not visible: the learner's topic starts empty, so its bars have no height yet
    output.locator(BARS).first.wait_for(state="attached", timeout=STEP_MS)
    output.scroll_into_view_if_needed()

    def seen() -> dict:
        shown = view.locator(RECORD).all_text_contents()
        return {"records": int(view.get_attribute("data-records")), "cells": len(shown),
                "last_cells": shown[-3:], "bars_total": output.evaluate(BAR_TOTAL_JS),
                "clock": " ".join(output.locator(CLOCK).first.text_content().split()),
                "_shown": shown}

    before = settled(seen)
    produce.click()
    # query the view afresh on every poll: each update of the HTML widget replaces its content,
    # so a handle taken on the view itself may point at a detached, never-changing copy
    page.wait_for_function(
        "([el, sel, n]) => el.querySelector(sel)?.getAttribute('data-records') !== n",
        arg=[output.element_handle(), VIEW, str(before["records"])], timeout=STEP_MS, polling=100)
    after = settled(seen)  # the chart is a separate widget; its update follows the view's
    output.evaluate("el => el.scrollIntoView({block: 'start'})")  # for the screenshot
    return {"before": before, "after": after, "buttons": button(page, BUTTON).count()}


def check_notebook(page, server, notebook: str, tmp_path: Path) -> dict:
    """Run the scenario; on any failure save a screenshot and name it in the failure."""
    def scenario() -> dict:
        seen = run_all_and_produce(page, server, notebook)
        before, after = seen["before"], seen["after"]
        assert after["records"] == before["records"] + 10, f"data-records not +10: {seen}"
        # the view may cap the cells it draws per partition: then the shown cells shift instead
        assert after.pop("_shown") != before.pop("_shown"), f"record cells unchanged: {seen}"
        assert after["bars_total"] == before["bars_total"] + 10, f"bar chart not +10: {seen}"
        return seen

    return run_scenario(page, server, tmp_path / "jupyterlab.png", notebook, scenario)


@pytest.mark.browser
def test_lesson_01_produce_button_updates_partition_log(jupyter_lab, lab_page, tmp_path):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"
    seen = check_notebook(lab_page, jupyter_lab, NOTEBOOK, tmp_path)  # or dev_notebook(...)
    # the one widget to click is the learner's: after Run All it still shows its start state
    before = seen["before"]
    assert seen["buttons"] == 1, f"one widget with buttons, the learner's: {seen}"
    assert "cluster at localhost:39092" in before["clock"], seen
    assert before["clock"].startswith("clock: t = 0 d 00:00:00 ") and before["records"] == 0, seen


EXERCISE = "01-topics-partitions-offsets.ipynb"


@pytest.mark.browser
def test_a_learner_opens_an_exercise_from_the_file_browser(jupyter_lab, lab_page, tmp_path):
    """`make lab` roots JupyterLab at the project: exercises/ is one double-click away (rooted at
    notebooks/ it was "outside root contents directory")."""
    page = lab_page

    def entry(name: str):
        return page.locator(".jp-DirListing-item", has=page.locator(
            ".jp-DirListing-itemText", has_text=re.compile(f"^{re.escape(name)}$")))

    def scenario() -> dict:
        page.goto(f"{jupyter_lab.url}/lab/workspaces/file-browser-{time.monotonic_ns()}")
        entry("exercises").wait_for(timeout=STEP_MS)
        listed = page.locator(".jp-DirListing-itemText").all_text_contents()
        entry("exercises").dblclick()
        entry(EXERCISE).wait_for(timeout=STEP_MS)
        entry(EXERCISE).dblclick()
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=STEP_MS)
        page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for(timeout=STEP_MS)
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first
        answer = page.locator(".jp-Notebook .jp-CodeCell .cm-content",
                              has_text="write your answer here").first
        answer.wait_for(timeout=STEP_MS)
        return {"root listing": listed, "tab": tab.text_content()}

    seen = run_scenario(page, jupyter_lab, tmp_path / "file-browser.png", "file browser",
                        scenario)
    assert {"notebooks", "exercises"} <= set(seen["root listing"]), seen
    assert seen["tab"] == EXERCISE, seen
