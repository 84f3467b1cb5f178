"""Real-browser test: lesson 01 in JupyterLab, driven by Debian's headless Chromium.

Opens the notebook, waits for the kernel ("| Idle" in the status bar), runs all cells, then
clicks the first "Produce 10 records" button and checks that the partition-log view of the same
widget shows 10 more records and that its plotly bar chart (a FigureWidget) followed.
Fixtures (isolated server, browser) are in ``conftest.py``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest

NOTEBOOK = "01-topics-partitions-offsets.ipynb"
BUTTON = "Produce 10 records"
# The partition-log view is an ipywidgets HTML widget (class widget-html); the static fallback
# (text/html) uses the same markup, so always look inside the widget.
VIEW = ".widget-html .kafkalab-partition-log"
RECORD = ".kafkalab-record"
BARS = ".js-plotly-plot .barlayer .point"
STEP_MS = 60_000

PROMPTS_JS = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
# Every code cell is done: none queued or running ("[*]") and at least one has run.
RUN_FINISHED_JS = f"""() => {{
  const prompts = {PROMPTS_JS}.map(p => p.textContent.trim());
  return prompts.length > 0 && !prompts.some(p => p.includes('*'))
    && prompts.some(p => /\\d/.test(p));
}}"""
# No code cell shows an execution count and no output is left.
NOTHING_RUN_JS = f"""() => !{PROMPTS_JS}.some(p => /\\d/.test(p.textContent))
  && !document.querySelector('.jp-Notebook .jp-OutputArea-output')"""
# Code cells with source that did not run (Run All stops at the first error).
NOT_RUN_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
  .filter(c => !/\\d/.test(c.querySelector('.jp-InputPrompt')?.textContent || '')
            && (c.querySelector('.cm-content')?.textContent || '').trim() !== '')
  .map(c => (c.querySelector('.cm-content')?.textContent || '').slice(0, 80))"""
# Error outputs (JupyterLab renders tracebacks, like stderr, as application/vnd.jupyter.stderr).
TRACEBACKS_JS = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map(o => o.textContent)
  .filter(t => /Traceback \\(most recent call last\\)|^\\w+(Error|Exception)\\b/m.test(t))
  .map(t => t.slice(0, 1500))"""
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


def menu(page, top: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{top}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def settled(read, quiet_s: float = 0.75, timeout_s: float = STEP_MS / 1000):
    """``read()`` once it has returned the same value for ``quiet_s`` (widget messages landed)."""
    value, since, deadline = read(), time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.15)
        current = read()
        if current != value:
            value, since = current, time.monotonic()
    return value


def run_all_and_produce(page, server, notebook: str) -> dict:
    """Open ``notebook`` (relative to the server root), Run All, click the first BUTTON.

    Returns what was seen before and after the click; raises on any step that fails.
    """
    idle = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
    page.goto(f"{server.url}/lab/tree/{urllib.parse.quote(notebook)}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=STEP_MS)
    # the status bar, not the toolbar indicator: the toolbar reads idle before the kernel is up
    idle.wait_for(timeout=STEP_MS)
    # stored outputs and execution counts (a notebook saved executed) must not pass for this run
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(NOTHING_RUN_JS, timeout=STEP_MS, polling=100)
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_FINISHED_JS, timeout=STEP_MS, polling=250)
    idle.wait_for(timeout=STEP_MS)

    tracebacks = page.evaluate(TRACEBACKS_JS)
    not_run = page.evaluate(NOT_RUN_JS)
    assert not tracebacks and not not_run, (
        f"Run All did not complete cleanly.\nerrors: {tracebacks}\ncells not run: {not_run}")

    # by text, not by role: the button's font-awesome icon glyph is part of its accessible name
    exact = re.compile(f"^{re.escape(BUTTON)}$")
    button = page.locator("button.jupyter-button", has_text=exact).first
    button.wait_for(timeout=STEP_MS)
    # the nearest output around this button holds its view and chart (lesson 01 displays the same
    # widget again further down; those copies are other outputs)
    output = button.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '),"
                            " ' jp-OutputArea-output ')][1]")
    view = output.locator(VIEW)
    view.wait_for(timeout=STEP_MS)
    output.locator(BARS).first.wait_for(timeout=STEP_MS)
    output.scroll_into_view_if_needed()

    def seen() -> dict:
        shown = view.locator(RECORD).all_text_contents()
        return {"records": int(view.get_attribute("data-records")), "cells": len(shown),
                "last_cells": shown[-3:], "bars_total": output.evaluate(BAR_TOTAL_JS),
                "_shown": shown}

    before = settled(seen)
    button.click()
    # query the view afresh on every poll: each update of the HTML widget replaces its content,
    # so a handle taken on the view itself may point at a detached, never-changing copy
    page.wait_for_function(
        "([el, sel, n]) => el.querySelector(sel)?.getAttribute('data-records') !== n",
        arg=[output.element_handle(), VIEW, str(before["records"])], timeout=STEP_MS, polling=100)
    after = settled(seen)  # the chart is a separate widget; its update follows the view's
    output.evaluate("el => el.scrollIntoView({block: 'start'})")  # for the screenshot
    return {"before": before, "after": after}


def check_notebook(page, server, notebook: str, tmp_path: Path) -> dict:
    """Run the scenario; on any failure save a screenshot and name it in the failure."""
    shot = tmp_path / "jupyterlab.png"
    try:
        seen = run_all_and_produce(page, server, notebook)
        before, after = seen["before"], seen["after"]
        assert after["records"] == before["records"] + 10, f"data-records not +10: {seen}"
        # the view may cap the cells it draws per partition: then the shown cells shift instead
        assert after.pop("_shown") != before.pop("_shown"), f"record cells unchanged: {seen}"
        assert after["bars_total"] == before["bars_total"] + 10, f"bar chart not +10: {seen}"
    except Exception as error:
        try:
            page.screenshot(path=str(shot))
            where = f"screenshot: {shot}"
        except Exception as shot_error:  # the page itself may be gone
            where = f"(no screenshot: {shot_error})"
        console = "\n".join(page.errors[-10:]) or "(none)"
        pytest.fail(f"{notebook}: {type(error).__name__}: {error}\n{where}\n"
                    f"browser console errors:\n{console}\nserver log tail:\n{server.log_tail(20)}",
                    pytrace=False)
    page.screenshot(path=str(shot))  # kept for a look after a passing run too
    return seen


@pytest.mark.browser
def test_lesson_01_produce_button_updates_partition_log(jupyter_lab, lab_page, tmp_path):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"notebooks/{NOTEBOOK} is missing"
    check_notebook(lab_page, jupyter_lab, NOTEBOOK, tmp_path)  # or dev_notebook(jupyter_lab.root)
