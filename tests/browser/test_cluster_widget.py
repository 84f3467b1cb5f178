"""Real-browser test: lesson 06's ClusterWidget (replication) in JupyterLab.

After Run All, in the first ClusterWidget output (the ``lab`` of "critical-events" on a 3-broker
cluster) it reads the replica grid, clicks *Kill* of a broker that leads partitions, checks that
the grid greys that broker out at once, then clicks *+10 s* (the controller fences a broker it
has not heard from for 9 s) and checks that every partition it led has a new leader among the
other brokers, and that the chart marks the kill.
"""

from __future__ import annotations

import re

import pytest
from labdriver import (STEP_MS, assert_no_tracebacks, button, failing_with_screenshot,
                       open_and_run_all, settled, wait_until, widget_output)

NOTEBOOK = "06-replication.ipynb"
GRID = ".kafkalab-cluster-grid"
# The grid as the browser shows it: simulated time, one entry per replica cell, broker headers,
# and the fault labels on the plotly chart.
GRID_JS = """el => {
  const grid = el.querySelector('.widget-html .kafkalab-cluster-grid');
  if (!grid) return null;
  const view = grid.closest('.widget-html');
  const time = /t = ([\\d.]+) s simulated/.exec(view.textContent);
  const cells = [...grid.querySelectorAll('td.kafkalab-replica')].map(td => ({
    broker: Number(td.dataset.broker), partition: Number(td.dataset.partition),
    role: td.dataset.role}));
  const heads = [...grid.querySelectorAll('tr:first-of-type th')].slice(1)
    .map(th => th.textContent.replace(/\\s+/g, ' ').trim());
  const gd = el.querySelector('.js-plotly-plot');
  const notes = ((gd && gd.layout && gd.layout.annotations) || []).map(a => a.text);
  return {seconds: time ? Number(time[1]) : null, cells, heads, notes};
}"""


def leaders(grid: dict) -> dict[int, int]:
    """partition -> broker of its leader cell (partitions without one are left out)."""
    return {c["partition"]: c["broker"] for c in grid["cells"] if c["role"] == "leader"}


def roles_of(grid: dict, broker: int) -> list[str]:
    return [c["role"] for c in grid["cells"] if c["broker"] == broker]


def kill_a_leader_and_step(page, server) -> dict:
    open_and_run_all(page, server, NOTEBOOK)
    output = widget_output(page, GRID)  # the first one: cell `lab` of critical-events

    def grid() -> dict:
        return output.evaluate(GRID_JS)

    before = settled(grid)
    assert before and before["cells"], f"no replica grid: {before}"
    led_by: dict[int, list[int]] = {}
    for partition, broker in sorted(leaders(before).items()):
        led_by.setdefault(broker, []).append(partition)
    assert led_by, f"no partition has a leader in the grid: {before}"
    # the broker that leads the most partitions (the lowest id on a tie)
    victim = min(led_by, key=lambda b: (-len(led_by[b]), b))
    led = led_by[victim]

    # the Kill buttons differ only by their tooltip (the broker's name is above them)
    kill = output.locator(f"button.jupyter-button[title='crash broker {victim}']")
    assert kill.inner_text().strip() == "Kill", f"not a Kill button: {kill.inner_text()!r}"
    kill.click()
    killed = wait_until(grid, lambda g: g and set(roles_of(g, victim)) == {"offline"},
                        f"broker {victim}'s cells to turn offline after Kill")
    assert_no_tracebacks(page, "after Kill")

    button(output, "+10 s").click()
    after = wait_until(
        grid, lambda g: g and g["seconds"] is not None
        and g["seconds"] >= killed["seconds"] + 10
        and all(leaders(g).get(p) not in (None, victim) for p in led),
        f"a new leader for partitions {led} after +10 s")
    after = settled(grid)
    assert_no_tracebacks(page, "after +10 s")
    # for the screenshot: the buttons' row at the top, the grid and the chart below it
    button(output, "+10 s").evaluate("el => el.scrollIntoView({block: 'start'})")
    return {"victim": victim, "led": led, "before": before, "killed": killed, "after": after}


@pytest.mark.browser
def test_lesson_06_kill_a_leader_moves_leadership(jupyter_lab, lab_page, tmp_path):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"notebooks/{NOTEBOOK} is missing"
    shot = tmp_path / "cluster-widget.png"
    with failing_with_screenshot(lab_page, jupyter_lab, shot, NOTEBOOK):
        seen = kill_a_leader_and_step(lab_page, jupyter_lab)
        victim, led, before, after = seen["victim"], seen["led"], seen["before"], seen["after"]
        assert set(roles_of(before, victim)) - {"offline"}, f"victim was not up: {before}"
        assert set(roles_of(after, victim)) == {"offline"}, f"broker {victim} not offline: {seen}"
        moved = {p: leaders(after).get(p) for p in led}
        assert all(b not in (None, victim) for b in moved.values()), (
            f"leaders of {led} did not move off broker {victim}: {moved}")
        assert leaders(after) != leaders(before), f"leader markers unchanged: {seen}"
        assert victim not in leaders(after).values(), f"broker {victim} still leads: {seen}"
        head = after["heads"][sorted({c['broker'] for c in after["cells"]}).index(victim)]
        assert re.search(r"\bdown\b", head), f"broker {victim}'s header does not say down: {head}"
        assert f"kill {victim}" in after["notes"], f"chart does not mark the kill: {after['notes']}"
    lab_page.screenshot(path=str(shot))  # kept for a look after a passing run too
