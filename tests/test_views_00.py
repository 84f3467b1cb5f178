"""Notebook 00 read the way a learner reads it after Run All: every view agrees with the prose
beside it (DESIGN §4).

These tests read the outputs of one papermill run (``executed_notebook``): the numbers come from
what the cells showed, never from recomputing them, so a view that shows another moment than
its prose describes (a live widget displayed twice), or prose that quotes the wrong number,
fails here.
"""
from __future__ import annotations

import html
import re

import pytest

from notebook_text import code_cell, prose_after, shown_html, shown_text

NOTEBOOK = "00-start-here.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# the notebook names of DESIGN §4: the only names a cross-reference may use
COURSE_NOTEBOOKS = {
    "00-start-here", "01-topics-partitions-offsets", "02-producers", "02b-transactions",
    "03-consumers", "04-streams", "05-connect", "06-replication", "07-retention-compaction",
    "08-monitoring", "09-patterns", "10-kafka-vs-queues", "11-self-check"}


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def flat(text: str) -> str:
    """Markdown or shown text on one line, single spaces, no emphasis marks."""
    return re.sub(r"\s+", " ", text.replace("**", "").replace("*", ""))


def prose_before(notebook, fragment: str) -> str:
    """The markdown cell right before the code cell containing ``fragment``."""
    index = notebook.cells.index(code_cell(notebook, fragment))
    before = [c for c in notebook.cells[:index] if c.cell_type == "markdown"]
    return before[-1].source if before else ""


def topic_log(cell) -> dict:
    """The topic side of the queue-vs-log snapshot the cell shows: stored offsets and values, the
    retention-deleted range, the log start and end offsets, each reader's position (▲)."""
    shown = shown_html(cell)
    assert "kafkalab-log" in shown, "the cell shows no queue-vs-log view"
    log = shown[shown.index("<div class='kafkalab-log'>"):]
    records = re.findall(r"<span class='kafkalab-record' data-offset='(\d+)'[^>]*><b>\d+</b><br>"
                         r"([^<]*)((?:<div[^>]*>▲[^<]*</div>)*)</span>", log)
    positions = {}
    for offset, _, marks in records:
        for name in re.findall(r"▲([^<]+)</div>", marks):
            positions[html.unescape(name)] = int(offset)
    leo = re.search(r"LEO (\d+)((?:<div[^>]*>▲[^<]*</div>)*)</span>", log)
    for name in re.findall(r"▲([^<]+)</div>", leo.group(2)):
        positions[html.unescape(name)] = int(leo.group(1))
    deleted = re.search(r"offsets (\d+)–(\d+)<br><small>deleted by retention", log)
    start = re.search(r"log start offset (\d+), high watermark (\d+), log end offset (\d+)", log)
    return {"offsets": [int(o) for o, _, _ in records],
            "values": [html.unescape(v) for _, v, _ in records],
            "positions": positions,
            "deleted": (int(deleted.group(1)), int(deleted.group(2))) if deleted else None,
            "log_start": int(start.group(1)), "log_end": int(start.group(3))}


def queue_ready(cell) -> list[str]:
    """The messages the queue side of the snapshot shows as still in the queue."""
    return re.findall(r"<span class='kafkalab-queue-ready'[^>]*>([^<]*)<br>", shown_html(cell))


def outputs_text(notebook) -> str:
    return "\n".join(shown_text(c) for c in notebook.cells if c.cell_type == "code")


# --- views: snapshots, one live widget ----------------------------------------------------------
def test_the_live_widget_is_displayed_once_and_later_cells_show_snapshots(nb):
    live = [c for c in nb.cells if c.cell_type == "code"
            and any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))]
    assert live == [code_cell(nb, "lab = QueueVsLogWidget(")], (
        "a live widget shown in more than one cell shows its final state everywhere after Run "
        "All; the cells after the first show lab.snapshot()")
    for fragment in ("for _ in range(4):", "fraud_reader.seek(payments_0, 0)",
                     "for day in range(6):"):
        assert "kafkalab-queue-vs-log" in shown_html(code_cell(nb, fragment)), fragment


def test_after_four_sends_the_snapshot_shows_what_the_prose_says(nb):
    cell = code_cell(nb, "for _ in range(4):")
    log, prose = topic_log(cell), flat(prose_after(nb, "for _ in range(4):"))
    first, last = map(int, re.search(r"still stored at offsets (\d+)–(\d+)", prose).groups())
    assert log["offsets"] == list(range(first, last + 1))
    quoted = int(re.search(r"both readers' positions are at (\d+)", prose).group(1))
    assert log["positions"] == {"billing": quoted, "fraud-check": quoted}
    left = re.search(r"Only `([^`]+)` and `([^`]+)` are left", prose).groups()
    assert queue_ready(cell) == list(left)
    gone = re.search(r"received `([^`]+)` and `([^`]+)` and acknowledged them", prose).groups()
    assert all(f">{body}<br><small>acked" in shown_html(cell) for body in gone)


def test_the_replay_prints_the_position_the_snapshot_shows(nb):
    cell = code_cell(nb, "fraud_reader.seek(payments_0, 0)")
    text, log = shown_text(cell), topic_log(cell)
    printed = int(re.search(r"its position now:\s+(\d+)", text).group(1))
    assert log["positions"]["fraud-check"] == printed == log["log_end"]
    replayed = re.search(r"fraud-check replays: \[([^\]]*)\]", text).group(1)
    assert re.findall(r"'([^']+)'", replayed) == log["values"]


def test_the_segment_roll_is_where_the_prose_says(nb):
    cell = code_cell(nb, "cluster.advance(days=2)\nlab.send()")
    text = flat(shown_text(cell))
    rolled = int(re.search(r"\[t = 2 d [^\]]+\] segment\.rolled: payments-0 rolled a new "
                           r"segment at offset (\d+)", text).group(1))
    prose = flat(prose_after(nb, "cluster.advance(days=2)\nlab.send()"))
    assert f"rolled a new segment that starts at offset {rolled}" in prose
    assert f"segment 1 holds offsets 0–{rolled - 1} from day 0" in prose
    end = int(re.search(r"partition log_start_offset log_end_offset records segments 0 0 0 "
                        r"(\d+) (\d+) 2", text).group(1))
    assert f"segment 2 holds offsets {rolled}–{end - 1} from day 2" in prose


def test_on_day_8_the_snapshot_shows_the_deletion_the_prose_describes(nb):
    cell = code_cell(nb, "for day in range(6):")
    text, log = shown_text(cell), topic_log(cell)
    assert "now: t = 8 d" in text
    prose = flat(prose_after(nb, "for day in range(6):"))
    first, last, old, new = map(int, re.search(
        r"deleted the first segment, offsets (\d+)–(\d+)\. The log start offset moved from "
        r"(\d+) to (\d+)", prose).groups())
    assert log["deleted"] == (first, last)
    assert log["log_start"] == new and log["offsets"][0] == new
    day = int(re.search(r"Just after day (\d+)", prose).group(1))
    assert re.search(rf"\[t = {day} d [^\]]+\] retention\.deleted: payments-0 .* log start "
                     rf"offset {old} -> {new}", text)
    before = flat(prose_before(nb, "for day in range(6):"))
    assert "The snapshot below shows day 8" in before


def test_the_reader_that_wants_a_deleted_offset_resets_to_the_log_start(nb):
    day8 = topic_log(code_cell(nb, "for day in range(6):"))
    text = shown_text(code_cell(nb, "billing_reader.seek(payments_0, 0)"))
    assert f"reset payments-0 to offset {day8['log_start']} (earliest)" in text
    rereads = re.search(r"billing re-reads: \[([^\]]*)\]", text).group(1)
    assert re.findall(r"'([^']+)'", rereads) == day8["values"]


def test_the_default_segment_story_matches_its_prose(nb):
    text = shown_text(code_cell(nb, 'cluster.create_topic("payments-weekly"'))
    prose = flat(prose_before(nb, 'cluster.create_topic("payments-weekly"'))
    tables = re.findall(r"t = (\d+) d [^\n]*\n\s*log_start_offset log_end_offset records "
                        r"segments\n\s*(\d+) (\d+) (\d+) (\d+)", text)
    (day_a, _, _, kept_a, _), (day_b, _, _, kept_b, _) = tables
    assert f"on day {day_a} the first record is 8 days old and still there" in prose
    assert int(kept_a) == 2 and int(kept_b) == 0
    gone = int(re.search(r"Both go together, just after day (\d+)", prose).group(1))
    assert re.search(rf"\[t = {gone} d [^\]]+\] retention\.deleted: payments-weekly-0", text)


# --- the controller -----------------------------------------------------------------------------
def test_events_diagram_and_prose_name_the_same_active_controller(nb):
    events = shown_text(code_cell(nb, "def when():"))
    active = re.search(r"controller (\d+) is the active controller", events).group(1)
    for fragment in ('cluster.create_topic("orders"', "describe_cluster()"):
        diagram = shown_text(code_cell(nb, fragment))
        assert f"active controller: controller {active}" in diagram, fragment
    assert f"active: controller {active}" in shown_text(code_cell(nb, "cluster = Cluster("))
    assert f"`controller {active}`" in prose_before(nb, 'cluster.create_topic("orders"')


def test_describe_cluster_answers_a_broker_and_the_notebook_says_why(nb):
    cell = code_cell(nb, "describe_cluster()")
    text = shown_text(cell)
    answered = int(re.search(r"'controller_id': (-?\d+)", text).group(1))
    brokers = {int(b) for b in re.findall(r"'broker_id': (\d+)", text)}
    assert answered in brokers, "KRaft brokers answer clients with a live broker's id"
    active = re.search(r"active controller: controller (\d+)", text).group(1)
    prose = flat(prose_after(nb, "describe_cluster()"))
    assert f"`'controller_id': {answered}`" in prose and f"`controller {active}`" in prose
    assert "clients cannot reach the controllers" in prose


def test_the_record_counts_in_the_diagram_match_the_prose(nb):
    text = flat(shown_text(code_cell(nb, "describe_cluster()")))
    counts = {int(p): int(n) for p, n in re.findall(r"partition (\d) leader: broker \d · (\d+) "
                                                     r"rec", text)}
    prose = flat(prose_after(nb, "describe_cluster()"))
    total = int(re.search(r"add up to the (\d+) orders", prose).group(1))
    assert sum(counts.values()) == total
    a, b, empty = map(int, re.search(r"land in partitions (\d) and (\d) only, so partition (\d) "
                                     r"got none", prose).groups())
    assert {p for p, n in counts.items() if n} == {a, b} and counts[empty] == 0


# --- time and cross-references ------------------------------------------------------------------
def test_simulated_time_is_shown_as_a_learner_reads_it(nb):
    text = outputs_text(nb)
    raw = re.findall(r"\b\d{4,} ms\b", text)
    assert not raw, f"raw milliseconds shown: {raw[:3]}"
    assert not re.search(r"\b1\d{12}\b", text), "an epoch-ms timestamp is shown"
    assert "[t = 7 d 01:05:00] retention.deleted" in text


@pytest.mark.parametrize("path", ["notebooks/00-start-here.ipynb",
                                  "solutions/00-start-here.ipynb",
                                  "kafkalab/viz/architecture.py"])
def test_cross_references_use_the_course_notebook_names(path):
    from kafkalab.course import paths

    file = paths.REPO_ROOT / path
    if file.suffix == ".ipynb":
        import nbformat

        text = "\n".join(c.source for c in nbformat.read(file, as_version=4).cells)
    else:
        text = file.read_text()
    assert not re.search(r"\blesson \d|\blesson of its own|\bthe \w+ lesson\b", text,
                         re.IGNORECASE), "refer to other notebooks by their names (DESIGN §4)"
    for name in re.findall(r"\b(\d\d[ab]?-[a-z][a-z-]*[a-z])\b", text):
        assert name in COURSE_NOTEBOOKS, name


def test_the_diagram_and_the_cluster_view_follow_a_controller_failover():
    from kafkalab import Cluster, KafkaAdminClient
    from kafkalab.viz.architecture import ArchitectureDiagram

    cluster = Cluster(brokers=3, port=39092)
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    cluster.kill_controller()  # 1000
    cluster.advance(seconds=2)  # controller.quorum.election.timeout.ms passes
    assert cluster.controller.active == 1001
    assert "active controller: controller 1001" in ArchitectureDiagram(cluster, "orders").svg()
    assert "active: controller 1001" in cluster._repr_html_()
    # clients are still answered with a live broker, as in KRaft Kafka
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    assert admin.describe_cluster()["controller_id"] in cluster.brokers
