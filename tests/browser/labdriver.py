"""Steps shared by the real-browser tests: open a notebook in JupyterLab, Run All, find a widget's
output, click and wait, and fail with a screenshot.

Every wait is bounded by ``STEP_MS`` (60 s), one step at a time.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest

STEP_MS = 60_000

PROMPTS_JS = "[...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
# Run All's progress: how many code cells show an execution count, and whether every code cell
# is done (none queued or running, "[*]", and at least one has run).
RUN_PROGRESS_JS = f"""() => {{
  const prompts = {PROMPTS_JS}.map(p => p.textContent.trim());
  const ran = prompts.filter(p => /\\d/.test(p)).length;
  return {{ran, finished: ran > 0 && !prompts.some(p => p.includes('*'))}};
}}"""
# No code cell shows an execution count and no output is left.
NOTHING_RUN_JS = f"""() => !{PROMPTS_JS}.some(p => /\\d/.test(p.textContent))
  && !document.querySelector('.jp-Notebook .jp-OutputArea-output')"""
# Code cells with source that did not run (Run All stops at the first error).
NOT_RUN_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
  .filter(c => !/\\d/.test(c.querySelector('.jp-InputPrompt')?.textContent || '')
            && (c.querySelector('.cm-content')?.textContent || '').trim() !== '')
  .map(c => (c.querySelector('.cm-content')?.textContent || '').slice(0, 80))"""
# Error outputs (JupyterLab renders tracebacks, like stderr, as application/vnd.jupyter.stderr;
# so does a widget's Output when a button's callback raises).
TRACEBACKS_JS = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map(o => o.textContent)
  .filter(t => /Traceback \\(most recent call last\\)|^\\w+(Error|Exception)\\b/m.test(t))
  .map(t => t.slice(0, 1500))"""
# The x/y lengths of every trace of the first plotly graph in an element (a FigureWidget).
PLOT_POINTS_JS = """el => {
  const gd = el.querySelector('.js-plotly-plot');
  if (!gd || !gd.data) return null;
  return gd.data.map(t => ({name: t.name, x: t.x ? t.x.length : 0, y: t.y ? t.y.length : 0,
                            last: t.y && t.y.length ? Number(t.y[t.y.length - 1]) : null}));
}"""


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


def wait_until(read, ok, what: str, page=None, timeout_s: float = STEP_MS / 1000,
               poll_s: float = 0.2):
    """Poll ``read()`` until ``ok(value)``; returns the value or fails naming ``what``. With
    ``page``, fails at once when an error output shows (a button's callback raised)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if ok(value):
            return value
        if page is not None:
            assert_no_tracebacks(page, f"while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; "
                                 f"last seen: {value}")
        time.sleep(poll_s)


def assert_no_tracebacks(page, when: str) -> None:
    tracebacks = page.evaluate(TRACEBACKS_JS)
    assert not tracebacks, f"error output {when}: {tracebacks}"


def open_and_run_all(page, server, notebook: str) -> None:
    """Open ``notebook`` (relative to the server root), clear its outputs, Run All, wait until
    every cell ran and the kernel is idle; fail on any traceback or cell left unrun."""
    idle = page.locator(".jp-StatusBar-TextItem", has_text="| Idle")
    # a workspace of its own: the server is shared, and its default workspace would reopen the
    # notebooks of earlier tests beside this one
    workspace = f"test-{re.sub(r'[^A-Za-z0-9]+', '-', notebook)}-{time.monotonic_ns()}"
    page.goto(f"{server.url}/lab/workspaces/{workspace}/tree/{urllib.parse.quote(notebook)}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=STEP_MS)
    # the status bar, not the toolbar indicator: the toolbar reads idle before the kernel is up
    idle.wait_for(timeout=STEP_MS)
    # stored outputs and execution counts (a notebook saved executed) must not pass for this run
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(NOTHING_RUN_JS, timeout=STEP_MS, polling=100)
    menu(page, "Run", "Run All Cells")
    # a step is one cell: fail when no further cell has finished for STEP_MS (a whole lesson
    # may take longer than that on a slow machine)
    progress, last_ran, since = page.evaluate(RUN_PROGRESS_JS), -1, time.monotonic()
    while not progress["finished"]:
        if progress["ran"] != last_ran:
            last_ran, since = progress["ran"], time.monotonic()
        elif time.monotonic() - since > STEP_MS / 1000:
            raise AssertionError(f"Run All stalled: no cell finished for {STEP_MS // 1000} s "
                                 f"after {last_ran} had run")
        time.sleep(0.25)
        progress = page.evaluate(RUN_PROGRESS_JS)
    idle.wait_for(timeout=STEP_MS)

    tracebacks = page.evaluate(TRACEBACKS_JS)
    not_run = page.evaluate(NOT_RUN_JS)
    assert not tracebacks and not not_run, (
        f"Run All did not complete cleanly.\nerrors: {tracebacks}\ncells not run: {not_run}")


def output_of(locator):
    """The nearest notebook output area around ``locator`` (one displayed widget)."""
    return locator.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), "
                           "' '), ' jp-OutputArea-output ')][1]")


def widget_output(page, view_selector: str):
    """The output area of the first widget whose view matches ``view_selector`` (the view of an
    ipywidgets HTML widget, class widget-html; the static text/html fallback uses the same
    markup, so look inside the widget)."""
    view = page.locator(f".widget-html {view_selector}").first
    view.wait_for(timeout=STEP_MS)
    return output_of(view)


def button(scope, text: str):
    """A jupyter button by its exact text (not by role: its icon glyph is part of its name)."""
    return scope.locator("button.jupyter-button", has_text=re.compile(f"^{re.escape(text)}$"))


def frame_for_screenshot(page, top, height: int = 1900) -> None:
    """Make the window tall enough for a whole widget and scroll ``top`` (a locator) to the top
    of the notebook, for the screenshot ``run_scenario`` takes."""
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    top.evaluate("el => el.scrollIntoView({block: 'start'})")
    time.sleep(0.3)  # the notebook lays out again


def run_scenario(page, server, shot: Path, what: str, scenario):
    """Run ``scenario()`` (steps and checks) and return what it returns, with a screenshot in
    ``shot`` either way (kept for a look after a passing run too). On any failure the message
    names the screenshot, the browser's console errors and the server log's tail."""
    failure = None
    try:
        result = scenario()
    except Exception as error:  # reported below, outside this handler (no chained traceback)
        failure = f"{what}: {type(error).__name__}: {error}"
    try:
        page.screenshot(path=str(shot))
        where = f"screenshot: {shot}"
    except Exception as shot_error:  # the page itself may be gone
        where = f"(no screenshot: {shot_error})"
    if failure is None:
        return result
    console = "\n".join(page.errors[-10:]) or "(none)"
    pytest.fail(f"{failure}\n{where}\nbrowser console errors:\n{console}\n"
                f"server log tail:\n{server.log_tail(20)}", pytrace=False)
