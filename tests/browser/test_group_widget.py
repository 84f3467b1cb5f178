"""Real-browser test: the ConsumerGroupWidget of notebook 03-consumers in JupyterLab.

After Run All, in the first ConsumerGroupWidget output (``lab``, group email-service on the
3-partition topic orders; the notebook has closed its consumers by then) it clicks
*Start consumer* and steps time (*+1 s*) until the new member owns partitions, then clicks
*Start consumer* again and steps until the group has rebalanced: partitions moved from the first
member to the second (members with partitions: 1, then 2; together they own each partition
once). The lag chart must have data and have taken new points.
"""

from __future__ import annotations

import pytest
from labdriver import (PLOT_POINTS_JS, assert_no_tracebacks, button, frame_for_screenshot,
                       open_and_run_all, run_scenario, settled, wait_until, widget_output)

NOTEBOOK = "notebooks/03-consumers.ipynb"
GROUP = ".kafkalab-group"
PARTITIONS = {0, 1, 2}  # topic orders
# The members view as the browser shows it (tr.kafkalab-member rows, data-* hooks).
GROUP_JS = """el => {
  const view = el.querySelector('.widget-html .kafkalab-group');
  if (!view) return null;
  const members = [...view.querySelectorAll('tr.kafkalab-member')].map(tr => ({
    name: tr.dataset.member, status: tr.dataset.status,
    partitions: tr.dataset.partitions ? tr.dataset.partitions.split(',').map(Number) : []}));
  return {seconds: Number(view.dataset.seconds), generation: Number(view.dataset.generation),
          members};
}"""


def running(view: dict) -> dict[str, list[int]]:
    return {m["name"]: m["partitions"] for m in view["members"] if m["status"] == "running"}


def owners(view: dict) -> dict[str, list[int]]:
    """Running members that own partitions."""
    return {name: parts for name, parts in running(view).items() if parts}


def grow_the_group(page, server) -> dict:
    open_and_run_all(page, server, NOTEBOOK)
    output = widget_output(page, GROUP)  # the first one: cell `lab` of email-service
    step = button(output, "+1 s")
    start = button(output, "Start consumer")

    def view() -> dict:
        return output.evaluate(GROUP_JS)

    def lag_points() -> list:
        return output.evaluate(PLOT_POINTS_JS)

    def step_until(ok, what: str, max_steps: int = 30) -> dict:
        """Click +1 s (waiting for each step to show) until ``ok(view)``."""
        current = view()
        for _ in range(max_steps):
            if ok(current):
                return current
            step.click()
            current = wait_until(view, lambda v, t=current["seconds"]: v["seconds"] > t,
                                 "the widget's clock to move after +1 s", page)
        assert ok(current), f"{what}: not after {max_steps} steps of +1 s; seen: {current}"
        return current

    before, lag_before = settled(lambda: (view(), lag_points()))
    assert before is not None and lag_before, f"no members view or lag chart: {before}"
    earlier = {m["name"] for m in before["members"]}  # the notebook's consumers, closed by now

    def new_running(v: dict) -> list[str]:
        return [name for name in running(v) if name not in earlier]

    start.click()
    first = wait_until(view, lambda v: len(new_running(v)) == 1, "a new member after Start", page)
    first_name = new_running(first)[0]
    # (after Run All the view was last drawn before the notebook's lab.close(); now redrawn)
    assert list(running(first)) == [first_name], f"other members still running: {first}"
    alone = step_until(lambda v: set(running(v).get(first_name, [])) == PARTITIONS,
                       f"{first_name} to own every partition")
    assert list(owners(alone)) == [first_name], f"members with partitions: {alone}"

    start.click()
    second = wait_until(view, lambda v: len(new_running(v)) == 2, "a 2nd new member after Start",
                        page)
    second_name = next(n for n in new_running(second) if n != first_name)
    shared = step_until(lambda v: len(owners(v)) == 2, "both members to own partitions")
    shared = settled(view)
    assert_no_tracebacks(page, "after Start consumer and +1 s")
    lag_after = settled(lag_points)
    frame_for_screenshot(page, output)  # the buttons, members, generations, chart, timeline
    return {"first": first_name, "second": second_name, "before": before, "alone": alone,
            "shared": shared, "lag_before": lag_before, "lag_after": lag_after}


@pytest.mark.browser
def test_lesson_03_second_consumer_takes_over_partitions(jupyter_lab, lab_page, tmp_path):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"

    def scenario() -> dict:
        seen = grow_the_group(lab_page, jupyter_lab)
        first, second = seen["first"], seen["second"]
        shared = owners(seen["shared"])
        assert set(shared) == {first, second}, f"members with partitions: {seen['shared']}"
        moved = set(shared[second])
        assert moved and moved < PARTITIONS, f"{second} got {shared[second]}: {seen}"
        assert set(shared[first]) == PARTITIONS - moved, (
            f"{first} should keep exactly what {second} did not take: {shared}")
        lag_before, lag_after = seen["lag_before"], seen["lag_after"]
        total_before, total_after = lag_before[-1], lag_after[-1]
        assert total_after["name"] == "total" and total_after["y"] > 0, f"no lag data: {lag_after}"
        assert total_after["x"] > total_before["x"], (
            f"the lag chart took no new points: {total_before} -> {total_after}")
        assert all(t["y"] == total_after["y"] for t in lag_after), f"ragged traces: {lag_after}"
        return seen

    run_scenario(lab_page, jupyter_lab, tmp_path / "group-widget.png", NOTEBOOK, scenario)
