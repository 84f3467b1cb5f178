"""Real-browser test: the TransactionWidget of notebook 02b-transactions in JupyterLab.

After Run All, in the notebook's live TransactionWidget (its "Play with it" widget ``play``, on a
cluster of its own; the notebook's story has left one committed and one aborted transaction and
a fenced zombie), it clicks *begin*, *send* and *commit* and checks the COMMIT markers and the
read_committed counts; then *begin*, *send*, *crash producer*: the LSO stays behind the high
watermark and the coordinator says Ongoing; *+ transaction.timeout.ms*: the coordinator aborts
(CompleteAbort, ABORT markers, the LSO catches up); *new instance*, *begin*, *send*, *new
instance* again and *zombie commit*: the epoch went up and the zombie's error shows in the
message line. Screenshots go to ``/tmp/shots-02b/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from labdriver import (assert_no_tracebacks, button, frame_for_screenshot, open_and_run_all,
                       output_of, run_scenario, settled, wait_until)

NOTEBOOK = "notebooks/02b-transactions.ipynb"
SHOTS = Path("/tmp/shots-02b")
# The widget as the browser shows it: clock, coordinator, partitions, message, events.
TXN_JS = """el => {
  const header = el.querySelector('.widget-html .kafkalab-txn-header');
  const coordinator = el.querySelector('.widget-html .kafkalab-txn-coordinator');
  const rows = [...el.querySelectorAll('.widget-html .kafkalab-txn-partition')].map(r => ({
    name: r.dataset.partition, lso: Number(r.dataset.lso), hw: Number(r.dataset.hw),
    leo: Number(r.dataset.leo), committed: Number(r.dataset.readCommitted),
    uncommitted: Number(r.dataset.readUncommitted),
    statuses: [...r.querySelectorAll('.kafkalab-txn-record')].map(c => c.dataset.status)}));
  const message = el.querySelector('.widget-html .kafkalab-txn-message');
  const events = el.querySelector('.widget-html .kafkalab-txn-events');
  return {elapsed: header ? Number(header.dataset.elapsedMs) : null,
          client: header ? header.dataset.clientState : null,
          state: coordinator ? coordinator.dataset.state : null,
          epoch: coordinator ? Number(coordinator.dataset.epoch) : null,
          rows, message: message ? message.textContent.trim() : '',
          events: events ? events.textContent : ''};
}"""


def play_with_transactions(page, server) -> dict:
    open_and_run_all(page, server, NOTEBOOK)
    # the live widget is the first transaction widget (the story's snapshot comes after it)
    view = page.locator(".widget-html .kafkalab-txn-partitions").first
    view.wait_for()
    output = output_of(view)

    def state() -> dict:
        return output.evaluate(TXN_JS)

    def press(label: str, said: str) -> dict:
        """Click ``label`` and wait for the message line to answer with ``said``."""
        before = state()["message"]
        button(output, label).click()
        wait_until(state, lambda s: s["message"] != before and said in s["message"],
                   f"the widget to answer {label!r} with {said!r}", page)
        return settled(state)

    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {"start": settled(state)}
    press("begin", "✔ begin_transaction()")
    press("send", "✔ send()")
    seen["committed"] = press("commit", "✔ commit_transaction()")
    frame_for_screenshot(page, output)
    page.screenshot(path=str(SHOTS / "txn-widget-commit.png"))
    press("begin", "✔ begin_transaction()")
    press("send", "✔ send()")
    seen["crashed"] = press("crash producer", "✔ crash producer")
    frame_for_screenshot(page, output)
    page.screenshot(path=str(SHOTS / "txn-widget-crashed.png"))
    seen["timed_out"] = press("+ transaction.timeout.ms", "✔ +70 s")
    seen["new"] = press("new instance", "✔ new instance")
    press("begin", "✔ begin_transaction()")
    press("send", "✔ send()")
    press("new instance", "✔ new instance")
    seen["zombie"] = press("zombie commit", "✖ zombie commit_transaction()")
    assert_no_tracebacks(page, "after playing with the transaction widget")
    frame_for_screenshot(page, output)
    return seen


@pytest.mark.browser
def test_lesson_02b_buttons_drive_a_transactional_producer(jupyter_lab, lab_page):
    assert (jupyter_lab.root / NOTEBOOK).exists(), f"{NOTEBOOK} is missing"

    def scenario() -> dict:
        seen = play_with_transactions(lab_page, jupyter_lab)
        start, committed = seen["start"], seen["committed"]
        assert [r["name"] for r in start["rows"]] == ["orders-0", "inventory-0", "payments-0"]
        # the notebook's story left 1 committed record per partition
        assert [r["committed"] for r in start["rows"]] == [1, 1, 1], start
        assert committed["state"] == "CompleteCommit", committed
        for before, after in zip(start["rows"], committed["rows"]):
            assert after["committed"] == before["committed"] + 1, committed
            assert after["statuses"][-1] == "COMMIT marker" and after["lso"] == after["hw"]
        crashed = seen["crashed"]
        assert crashed["state"] == "Ongoing" and crashed["client"] == "crashed", crashed
        assert all(r["lso"] < r["hw"] for r in crashed["rows"]), crashed
        assert all(r["statuses"][-1] == "open" for r in crashed["rows"]), crashed
        timed_out = seen["timed_out"]
        assert timed_out["elapsed"] - crashed["elapsed"] >= 70_000, timed_out
        assert timed_out["state"] == "CompleteAbort" and "txn.timed_out" in timed_out["events"]
        assert all(r["lso"] == r["hw"] and r["statuses"][-1] == "ABORT marker"
                   for r in timed_out["rows"]), timed_out
        zombie = seen["zombie"]
        assert "ProducerFencedError" in zombie["message"], zombie
        assert zombie["epoch"] > timed_out["epoch"], (timed_out, zombie)
        assert "txn.fenced" in zombie["events"]
        return seen

    run_scenario(lab_page, jupyter_lab, SHOTS / "txn-widget.png", NOTEBOOK, scenario)
