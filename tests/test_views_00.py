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

from notebook_text import (code_cell, flat, live_widget_cells, outputs_text, prose_after,
                           prose_before, shown_html, shown_text)

NOTEBOOK = "00-start-here.ipynb"


@pytest.fixture(scope="module")
def nb(executed_notebook):
    return executed_notebook(NOTEBOOK)


def cell_with_id(notebook, cell_id: str):
    """The cell ``cell_id`` (the diagrams split off for the backend switch share their source)."""
    return next(c for c in notebook.cells if c.get("id") == cell_id)


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


# --- views: snapshots, one live widget ----------------------------------------------------------
DAY_8 = "cluster.advance(days=6)  # to day 8"


def test_the_live_widget_is_displayed_once_and_later_cells_show_snapshots(nb):
    live = live_widget_cells(nb)
    play = code_cell(nb, "play = QueueVsLogWidget(")
    assert live == [play], (
        "a live widget shown in more than one cell shows its final state everywhere after Run "
        "All; the lesson's cells show lab.snapshot()")
    for fragment in ("for _ in range(4):", "fraud_reader.seek(payments_0, 0)", DAY_8):
        assert "kafkalab-queue-vs-log" in shown_html(code_cell(nb, fragment)), fragment
        assert "lab.snapshot()" in code_cell(nb, fragment).source, fragment


def test_the_learners_widget_is_on_its_own_cluster_that_no_later_cell_moves(nb):
    """DESIGN §4: the widget to click sits on a cluster of its own (its own port, so it never
    takes over localhost:9092), and only the learner moves it: after Run All it still shows the
    moment it was displayed, so the first click does not jump days ahead."""
    play = code_cell(nb, "play = QueueVsLogWidget(")
    assert re.search(r"playground = Cluster\([^)]*port=39092", play.source)
    assert "QueueVsLogWidget(playground," in play.source
    later = nb.cells[nb.cells.index(play) + 1:]
    for cell in later:
        if cell.cell_type == "code":
            assert not re.search(r"\b(play|playground)\.", cell.source), cell.source
    assert "t = 0 d 00:00:00" in shown_text(play), "the live widget shows its cluster's clock"
    prose = flat(prose_before(nb, "play = QueueVsLogWidget("))
    assert "runs on a cluster of its own" in prose and "no other cell moves its clock" in prose


def test_each_snapshot_shows_the_clock_of_its_moment(nb):
    from notebook_text import clock_seconds

    assert clock_seconds(shown_text(code_cell(nb, "for _ in range(4):"))) < 3600 * 2
    day8 = shown_text(code_cell(nb, DAY_8))
    assert clock_seconds(day8) // 86400 == 8
    printed = re.search(r"now: (t = \d+ d [\d:.]+)", day8).group(1)
    assert f"clock: {printed}" in day8, "the snapshot's clock is the time the cell printed"


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
    cell = code_cell(nb, DAY_8)
    text, log = shown_text(cell), topic_log(cell)
    assert "now: t = 8 d" in text
    prose = flat(prose_after(nb, DAY_8))
    first, last, old, new = map(int, re.search(
        r"deleted the first segment, offsets (\d+)–(\d+)\. The log start offset moved from "
        r"(\d+) to (\d+)", prose).groups())
    assert log["deleted"] == (first, last)
    assert log["log_start"] == new and log["offsets"][0] == new
    day = int(re.search(r"Just after day (\d+)", prose).group(1))
    assert re.search(rf"\[t = {day} d [^\]]+\] retention\.deleted: payments-0 .* log start "
                     rf"offset {old} -> {new}", text)
    before = flat(prose_before(nb, DAY_8))
    assert "The snapshot below shows day 8" in before


def test_the_reader_that_wants_a_deleted_offset_resets_to_the_log_start(nb):
    day8 = topic_log(code_cell(nb, DAY_8))
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
    for diagram_id in ("arch-diagram", "arch2-diagram"):
        diagram = shown_text(cell_with_id(nb, diagram_id))
        assert f"active controller: controller {active}" in diagram, diagram_id
    assert f"active: controller {active}" in shown_text(code_cell(nb, "cluster = backend.cluster"))
    assert f"`controller {active}`" in prose_before(nb, 'cluster.create_topic("orders"')


def test_describe_cluster_answers_a_broker_and_the_notebook_says_why(nb):
    cell = code_cell(nb, "describe_cluster()")
    text = shown_text(cell)
    answered = int(re.search(r"'controller_id': (-?\d+)", text).group(1))
    brokers = {int(b) for b in re.findall(r"'broker_id': (\d+)", text)}
    assert answered in brokers, "KRaft brokers answer clients with a live broker's id"
    active = re.search(r"active controller: controller (\d+)",
                       shown_text(cell_with_id(nb, "arch2-diagram"))).group(1)
    prose = flat(prose_after(nb, "describe_cluster()"))
    assert f"`'controller_id': {answered}`" in prose and f"`controller {active}`" in prose
    assert "clients cannot reach the controllers" in prose


def test_the_record_counts_in_the_diagram_match_the_prose(nb):
    text = flat(shown_text(cell_with_id(nb, "arch2-diagram")))
    counts = {int(p): int(n) for p, n in re.findall(r"partition (\d) leader: broker \d · (\d+) "
                                                     r"rec", text)}
    prose = flat(prose_after(nb, "describe_cluster()"))
    total = int(re.search(r"add up to the (\d+) orders", prose).group(1))
    assert sum(counts.values()) == total
    a, b, empty = map(int, re.search(r"land in partitions (\d) and (\d) only, so partition (\d) "
                                     r"got none", prose).groups())
    assert {p for p, n in counts.items() if n} == {a, b} and counts[empty] == 0


def test_the_recorded_requests_are_the_ones_the_prose_explains(nb):
    text = flat(shown_text(code_cell(nb, "with record_requests() as requests:")))
    rows = re.findall(r"\d+ \d+ client-1 (\S+) (\w+)", text)
    assert [api for _, api in rows] == ["InitProducerId", "Metadata", "Produce", "Produce"]
    assert [node for node, _ in rows[:2]] == ["<NA>", "<NA>"]
    produce_nodes = {int(node) for node, api in rows if api == "Produce"}
    # the brokers leading the partitions the keys landed in, as the diagram above shows them
    diagram = flat(shown_text(cell_with_id(nb, "arch2-diagram")))
    leaders = {int(p): int(b) for p, b in re.findall(r"partition (\d) leader: broker (\d)",
                                                     diagram)}
    prose = flat(prose_after(nb, "with record_requests() as requests:"))
    a, b, empty = map(int, re.search(r"land in partitions (\d) and (\d), so two brokers got a "
                                     r"request, and partition (\d)", prose).groups())
    assert produce_nodes == {leaders[a], leaders[b]} and leaders[empty] not in produce_nodes


# --- time ---------------------------------------------------------------------------------------
def test_simulated_time_is_shown_as_a_learner_reads_it(nb):
    text = outputs_text(nb)
    raw = re.findall(r"\b\d{4,} ms\b", text)
    assert not raw, f"raw milliseconds shown: {raw[:3]}"
    assert not re.search(r"\b1\d{12}\b", text), "an epoch-ms timestamp is shown"
    assert "[t = 7 d 01:05:00] retention.deleted" in text


def test_the_queue_vs_log_widget_shows_its_clock_and_every_button_explains_itself():
    from kafkalab import Cluster, KafkaConsumer, TopicPartition
    from kafkalab.viz.queue_vs_log import ClassicQueue, QueueVsLogWidget

    lesson = Cluster(brokers=1)
    mine = Cluster(brokers=1, port=39092)
    assert lesson.bootstrap_servers == "localhost:9092"
    widgets = {}
    for name, on in (("lesson", lesson), ("mine", mine)):
        on.create_topic("payments", partitions=1, config={"segment.ms": 86_400_000})
        reader = KafkaConsumer(bootstrap_servers=on.bootstrap_servers,
                               auto_offset_reset="earliest")
        reader.assign([TopicPartition("payments", 0)])
        widgets[name] = QueueVsLogWidget(on, "payments", ClassicQueue("payments"),
                                         readers={"billing": reader}, worker="billing")
    play = widgets["mine"]
    assert all(b.tooltip for b in play.buttons), [b.description for b in play.buttons]
    [send] = [b for b in play.buttons if b.description == "Send a message to both"]
    [wait] = [b for b in play.buttons if b.description == "Wait 1 day"]
    send.click()
    for _ in range(8):
        wait.click()
    shown = play.view.value
    assert "clock: t = 8 d" in shown and "deleted by retention" in shown
    assert play.actions[-1].startswith("[t = 8 d") and "1 day passed" in play.actions[-1]
    # the other cluster's clock and widget did not move
    lesson_view = widgets["lesson"].static_html()
    assert "clock: t = 0 d 00:00:00" in lesson_view and "deleted by retention" not in lesson_view


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


# --- section 5: setting Kafka up (the lesson's Docker Compose, kafkalab serve) -----------------
# the lesson's file as its "Docker Compose" section prints it
LESSON_COMPOSE = """\
version: '3'
services:
  zookeeper:
    image: confluentinc/cp-zookeeper:7.5.0
    environment:
      ZOOKEEPER_CLIENT_PORT: 2181
      ZOOKEEPER_TICK_TIME: 2000
    ports:
      - "2181:2181"

  kafka:
    image: confluentinc/cp-kafka:7.5.0
    depends_on:
      - zookeeper
    ports:
      - "9092:9092"
    environment:
      KAFKA_BROKER_ID: 1
      KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181
      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://localhost:9092
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: 1
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: 1
"""
RF_SETTINGS = {"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "offsets.topic.replication.factor",
               "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":
                   "transaction.state.log.replication.factor",
               "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "transaction.state.log.min.isr"}


def markdown(notebook, heading: str) -> str:
    """The one markdown cell that contains ``heading``."""
    cells = [c.source for c in notebook.cells if c.cell_type == "markdown" and heading in c.source]
    assert len(cells) == 1, f"{len(cells)} markdown cells contain {heading!r}"
    return cells[0]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def explained(text: str) -> dict[str, str]:
    """The rows of a markdown table whose first column is code: `line` -> explanation."""
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", text, re.M))


def compose_lines(text: str) -> list[str]:
    """The lines of a compose file a reader needs explained, a list item joined to its key
    (``ports: - "9092:9092"``); service names and ``environment:`` are only structure."""
    lines, key = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            lines.append(f"{key} {line}")
        elif line.endswith(":") and line[:-1] in ("ports", "depends_on"):
            key = line
        elif line == "services:" or (line and not line.endswith(":")):
            lines.append(line)
    return lines


def test_the_lessons_compose_file_is_shown_as_printed(nb):
    setup = markdown(nb, "(*Docker Compose*)")
    assert "*Установка и настройка Kafka*" in setup
    assert fenced(setup, "yaml") == [LESSON_COMPOSE]
    assert fenced(setup, "bash") == ["docker-compose up -d\n"]


def test_every_line_of_the_lessons_compose_file_is_explained(nb):
    from kafkalab.config import BrokerConfig

    rows = explained(markdown(nb, "Line by line:"))
    assert list(rows) == compose_lines(LESSON_COMPOSE)
    for env, config in RF_SETTINGS.items():
        # the config it sets, with Kafka's default (the one kafkalab's config has too)
        row = next(text for line, text in rows.items() if line.startswith(env))
        assert f"`{config}` (default {BrokerConfig()[config]})" in row


def test_the_prose_says_where_localhost_works_and_what_breaks_without_the_ones(nb):
    prose = flat(markdown(nb, "Line by line:"))
    assert "Why `localhost:9092` works only from the host." in prose
    assert "the next one, to `localhost:9092`, fails" in prose
    for what in ("`COORDINATOR_NOT_AVAILABLE`", "`NOT_ENOUGH_REPLICAS`", "`__consumer_offsets`",
                 "`__transaction_state`", "A one-broker cluster needs all three at 1"):
        assert what in prose, what


def test_the_kraft_file_is_a_consistent_one_broker_kafka(nb):
    import yaml

    kraft = markdown(nb, "What has changed since: KRaft")
    prose = flat(kraft)
    for dated in ("`version: '3'` is ignored", "`docker compose up -d`",
                  "Kafka 4.0 removed ZooKeeper mode"):
        assert dated in prose, dated
    [text] = fenced(kraft, "yaml")
    assert fenced(kraft, "bash") == ["docker compose up -d\n"]
    compose = yaml.safe_load(text)
    assert set(compose) == {"services"}, "no `version:` and nothing else at the top"
    [(name, service)] = compose["services"].items()
    assert service["image"].startswith("apache/kafka:4.")
    env = {k: str(v) for k, v in service["environment"].items()}
    assert not [k for k in env if "ZOOKEEPER" in k] and "depends_on" not in service
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    listeners = dict(re.findall(r"(\w+)://[^:,]*:(\d+)", env["KAFKA_LISTENERS"]))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    voter_id, voter_port = re.fullmatch(r"(\d+)@[\w.-]+:(\d+)",
                                        env["KAFKA_CONTROLLER_QUORUM_VOTERS"]).groups()
    assert voter_id == env["KAFKA_NODE_ID"] and listeners.pop(controller) == voter_port
    advertised = dict(re.findall(r"(\w+)://[^:,]*:(\d+)", env["KAFKA_ADVERTISED_LISTENERS"]))
    assert advertised == listeners == {"PLAINTEXT": "9092"}, "clients never see the controllers"
    assert service["ports"] == ["9092:9092"]
    assert all(env[k] == "1" for k in RF_SETTINGS)
    rows = explained(kraft)
    for key in env:
        if key not in RF_SETTINGS:
            assert f"{key}: {env[key]}" in rows, key
    assert "the three `1`s" in kraft
    # tied to the quorum section 2 showed
    assert "ids 1000 to 1002" in prose


def _command_startup(port: int) -> list[str]:
    """What ``kafkalab serve --brokers 3 --partitions 3 --port <port>`` prints before it
    serves (then it is stopped with SIGTERM)."""
    import signal
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "kafkalab.cli", "serve", "--brokers", "3",
                                "--partitions", "3", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Stop with"):
                break
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    return lines


def test_the_start_up_shown_is_what_kafkalab_serve_prints(nb):
    from kafkalab.course.lesson00 import free_port

    serve_md = markdown(nb, "One command here: `kafkalab serve`")
    assert fenced(serve_md, "bash") == ["kafkalab serve --brokers 3 --partitions 3\n"]
    [shown] = re.findall(r"It prints:\n\n```\n(.*?)```", serve_md, re.S)
    port = free_port(brokers=3)
    printed = "\n".join(_command_startup(port)) + "\n"
    for i in range(3):  # as it prints on the default port 9092
        printed = printed.replace(f"localhost:{port + i}", f"localhost:{9092 + i}")
    assert shown == printed


def served_ports(nb) -> list[int]:
    text = shown_text(code_cell(nb, "served = kafkalab.serve(wall)"))
    bootstrap = re.search(r"<kafkalab\.serve serving at ([^>]+)>", text).group(1)
    listed = re.findall(r"PLAINTEXT://localhost:(\d+)", text)
    ports = [int(a.rpartition(":")[2]) for a in bootstrap.split(",")]
    assert ports == [int(p) for p in listed]
    return ports


def test_the_served_cluster_has_ports_of_its_own(nb):
    ports = served_ports(nb)
    first = ports[0]
    assert ports == [first, first + 1, first + 2]
    assert first >= 49092, "neither the lesson's localhost:9092 nor a Kafka's on this machine"
    source = code_cell(nb, "served = kafkalab.serve(wall)").source
    assert 'clock="wall"' in source and "free_port(brokers=3)" in source


def _table(output) -> list[dict[str, str]]:
    from notebook_text import table

    return table({"outputs": [output]})


def test_the_real_clients_see_the_offsets_the_engine_stored(nb):
    produced = shown_text(code_cell(nb, "from kafka import KafkaAdminClient, KafkaProducer"))
    sent = [tuple(map(int, m)) for m in
            re.findall(r"Sent to partition (\d+) at offset (\d+)", produced)]
    consumer_cell = code_cell(nb, "group_id='email-service'")
    assert "from kafka import KafkaConsumer" in consumer_cell.source
    consumed = [tuple(map(int, m)) for m in re.findall(r"Partition: (\d+), Offset: (\d+)",
                                                       shown_text(consumer_cell))]
    views = [o for o in code_cell(nb, 'wall.records("orders")').outputs if "data" in o]
    topic, records, group = (_table(o) for o in views)
    stored = [(int(r["partition"]), int(r["offset"])) for r in records]
    assert consumed == stored and sent == [stored[0], stored[-1]]
    [partition] = {p for p, _ in stored}
    assert [int(r["log_end_offset"]) for r in topic if int(r["partition"]) == partition] == [10]
    committed = {int(r["PARTITION"]): (int(r["CURRENT-OFFSET"]), int(r["LAG"])) for r in group}
    assert committed[partition] == (len(stored), 0)
    assert {r["CONSUMER-ID"] for r in group} == {"-"}
    assert len(stored) == 10 and {r["key"] for r in records} == {"user_789"}
    prose = flat(prose_after(nb, 'wall.records("orders")'))
    assert "ten records of `user_789` in one partition" in prose and "its lag is 0" in prose


def test_the_section_ends_with_the_server_stopped(nb):
    text = shown_text(code_cell(nb, "served.stop()"))
    assert "advance: cluster.advance() moves simulated time" in text
    ports = served_ports(nb)
    assert f"<kafkalab.serve stopped at localhost:{ports[0]}," in text
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "served.stop()" in last_code.source and "wall.close()" in last_code.source


# --- free_port (lesson00) -----------------------------------------------------------------------
def test_free_port_skips_ports_in_use_and_the_kernels_clusters():
    import socket

    from kafkalab import Cluster
    from kafkalab.course.lesson00 import free_port

    start = free_port(brokers=2, start=51000)
    assert free_port(brokers=2, start=start) == start  # the same answer while it stays free
    taken = socket.socket()
    taken.bind(("127.0.0.1", start + 1))
    taken.listen()
    try:
        assert free_port(brokers=2, start=start) >= start + 2
    finally:
        taken.close()
    lab = Cluster(brokers=1, port=start)  # in-process: nothing listens, but the address is its
    try:
        assert free_port(brokers=2, start=start) >= start + 2
    finally:
        lab.close()
    assert free_port(brokers=2, start=start) == start
    assert free_port(brokers=3, start=9090) > 9092, "9092 is the lesson's, always"


@pytest.mark.parametrize("kwargs, message", [
    ({"brokers": 0}, "brokers must be a whole number >= 1"),
    ({"start": 80}, "start must leave room"),
    ({"start": 65500}, "start must leave room"),
])
def test_free_port_says_what_was_wrong(kwargs, message):
    from kafkalab.course.lesson00 import free_port

    with pytest.raises(ValueError, match=message):
        free_port(**kwargs)
