"""Real-browser test: the ClusterWidget of notebook 06-replication in JupyterLab.

After Run All, in the live ClusterWidget of section 8 (``play``: "critical-events" on a 3-broker
playground cluster of its own; the widgets earlier in the notebook are shown as static snapshots)
it clicks *+1 s*, reads the replica grid, clicks *Kill* of the broker that leads the most
partitions, checks that the grid greys that broker out at once, then clicks *+10 s* (the
controller fences a broker it has not heard from for 9 s) and checks that every partition it led
has a new leader among the other brokers, that its column says "down", and that the chart marks
the kill.
"""

from __future__ import annotations

import re

import pytest
from labdriver import (assert_no_tracebacks, button, frame_for_screenshot, open_and_run_all,
                       run_scenario, settled, wait_until, widget_output)

NOTEBOOK = "notebooks/06-replication.ipynb"
GRID = ".kafkalab-cluster-grid"
# The grid as the browser shows it: simulated time, one entry per replica cell, broker headers,
# and the fault labels on the plotly chart.
GRID_JS = """el => {
  const grid = el.querySelector('.widget-html .kafkalab-cluster-grid');
  if (!grid) return null;
  const view = grid.closest('.widget-html');
  const header = view.querySelector('.kafkalab-cluster-header');  // data-seconds: its clock
  const cells = [...grid.querySelectorAll('td.kafkalab-replica')].map(td => ({
    broker: Number(td.dataset.broker), partition: Number(td.dataset.partition),
    role: td.dataset.role}));
  const states = [...grid.querySelectorAll('tr:first-of-type th small')]  // "up", "down · fenced"
    .map(small => small.textContent.replace(/\\s+/g, ' ').trim());
  const gd = el.querySelector('.js-plotly-plot');
  const notes = ((gd && gd.layout && gd.layout.annotations) || []).map(a => a.text);
  return {seconds: header ? Number(header.dataset.seconds) : null, cells, states, notes};
}"""


def leaders(grid: dict) -> dict[int, int]:
    """partition -> broker of its leader cell (partitions without one are left out)."""
    return {c["partition"]: c["broker"] for c in grid["cells"] if c["role"] == "leader"}


def roles_of(grid: dict, broker: int) -> list[str]:
    return [c["role"] for c in grid["cells"] if c["broker"] == broker]


def step(page, output, grid, label: str, seconds: float) -> dict:
    """Click the time button ``label`` and wait until the grid shows ``seconds`` more."""
    start = grid()["seconds"]
    button(output, label).click()
    return wait_until(grid, lambda g: g and g["seconds"] is not None
                      and g["seconds"] >= start + seconds - 0.05,
                      f"the grid's clock to move {seconds:g} s after {label}", page)


def kill_a_leader_and_step(page, server) -> dict:
    open_and_run_all(page, server, NOTEBOOK)
    output = widget_output(page, GRID)  # the live one: cell `play` of section 8

    def grid() -> dict:
        return output.evaluate(GRID_JS)

    assert settled(grid)["cells"], f"no replica grid: {grid()}"
    # One step redraws the view from the present.
    step(page, output, grid, "+1 s", 1)
    before = settled(grid)
    led_by: dict[int, list[int]] = {}
    for partition, broker in sorted(leaders(before).items()):
        led_by.setdefault(broker, []).append(partition)
    assert led_by, f"no partition has a leader in the grid: {before}"
    # the broker that leads the most partitions (the lowest id on a tie)
    victim = min(led_by, key=lambda b: (-len(led_by[b]), b))
    led = led_by[victim]

    # the Kill buttons differ only by their tooltip (the broker's name is above them)
    kill = output.locator(f"button.jupyter-button[title='crash broker {victim}']")
    assert kill.text_content().strip() == "Kill", f"not a Kill button: {kill.text_content()!r}"
    kill.click()
    killed = wait_until(grid, lambda g: g and set(roles_of(g, victim)) == {"offline"},
                        f"broker {victim}'s cells to turn offline after Kill", page)

    step(page, output, grid, "+10 s", 10)
    # the controller fences a broker it has not heard from for 9 s, then elects new leaders
    wait_until(grid, lambda g: all(leaders(g).get(p) not in (None, victim) for p in led),
               f"a new leader for partitions {led} after +10 s", page)
    after = settled(grid)
    assert_no_tracebacks(page, "after Kill and +10 s")
    frame_for_screenshot(page, output)  # the buttons, the grid, the chart and the events
    return {"victim": victim, "led": led, "before": before, "killed": killed, "after": after}


@pytest.mark.browser
def test_lesson_06_kill_a_leader_moves_leadership(jupyter_lab, lab_page, tmp_path):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"

    def scenario() -> dict:
        seen = kill_a_leader_and_step(lab_page, jupyter_lab)
        victim, led, before, after = seen["victim"], seen["led"], seen["before"], seen["after"]
        assert set(roles_of(before, victim)) - {"offline"}, f"victim was not up: {before}"
        assert set(roles_of(after, victim)) == {"offline"}, f"broker {victim} not offline: {seen}"
        moved = {p: leaders(after).get(p) for p in led}
        assert all(b not in (None, victim) for b in moved.values()), (
            f"leaders of {led} did not move off broker {victim}: {moved}")
        assert leaders(after) != leaders(before), f"leader markers unchanged: {seen}"
        assert victim not in leaders(after).values(), f"broker {victim} still leads: {seen}"
        brokers = sorted({c["broker"] for c in after["cells"]})
        state = after["states"][brokers.index(victim)]
        assert re.match(r"down\b", state), f"broker {victim}'s column says {state!r}, not down"
        assert f"kill {victim}" in after["notes"], f"chart does not mark the kill: {after['notes']}"
        return seen

    run_scenario(lab_page, jupyter_lab, tmp_path / "cluster-widget.png", NOTEBOOK, scenario)
