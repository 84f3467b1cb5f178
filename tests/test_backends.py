"""The lesson backend switch (``kafkalab.course.backend``): the embedded engine, ``kafkalab
serve`` with the real kafka-python, or a real cluster (here a ``kafkalab serve`` stands in)."""

import re
import socket

import kafka
import nbformat
import pytest
from loopback import free_ports

import kafkalab
import kafkalab.admin
from kafkalab.client.consumer import KafkaConsumer as EmbeddedConsumer
from kafkalab.client.producer import KafkaProducer as EmbeddedProducer
from kafkalab.course import backend, paths

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLAIN = "This cell needs the embedded engine (BACKEND='embedded'): "


@pytest.fixture(autouse=True)
def restored_clients():
    """Whatever a test does, kafkalab's own clients are back afterwards."""
    yield
    if backend.current() is not None:
        backend.current().close()
    assert kafkalab.KafkaProducer is EmbeddedProducer


# --- choosing the backend ---------------------------------------------------------------------

def test_the_parameter_wins_then_the_environment_then_embedded():
    env = {"KAFKALAB_BACKEND": "serve", "KAFKALAB_BOOTSTRAP_SERVERS": "kafka:9092"}
    assert backend.chosen_backend("embedded", env) == ("embedded", None)
    assert backend.chosen_backend(None, env) == ("serve", None)
    assert backend.chosen_backend(None, {"KAFKALAB_BOOTSTRAP_SERVERS": "kafka:9092"}) == (
        "cluster", "kafka:9092")
    assert backend.chosen_backend(None, {}) == ("embedded", None)


def test_bad_choices_say_what_is_allowed():
    with pytest.raises(ValueError, match="'embedded', 'serve', 'cluster'"):
        backend.chosen_backend("docker", {})
    with pytest.raises(ValueError, match=r"\$KAFKALAB_BOOTSTRAP_SERVERS"):
        backend.chosen_backend("cluster", {})


# --- the name switch -----------------------------------------------------------------------------

def test_cluster_backend_swaps_kafkalab_client_names_for_kafka_python_and_back(capsys):
    made = backend.use_backend("cluster", environ={"KAFKALAB_BOOTSTRAP_SERVERS": "kafka:9092"})
    from kafkalab import KafkaConsumer, KafkaProducer

    assert issubclass(KafkaProducer, kafka.KafkaProducer)
    assert issubclass(KafkaConsumer, kafka.KafkaConsumer)
    assert issubclass(kafkalab.KafkaAdminClient, kafka.KafkaAdminClient)
    assert not issubclass(kafkalab.admin.KafkaAdminClient, kafka.KafkaAdminClient)  # kafkalab's
    assert "real kafka-python" in capsys.readouterr().out
    made.close()
    assert kafkalab.KafkaConsumer is EmbeddedConsumer
    assert not issubclass(kafkalab.KafkaAdminClient, kafka.KafkaAdminClient)
    assert backend.current() is None


def test_embedded_backend_is_a_simulated_cluster_and_leaves_the_names_alone(capsys):
    made = backend.use_backend("embedded", brokers=2, seed=3, environ={})
    assert made.cluster.clock.simulated and len(made.cluster.brokers) == 2
    assert kafkalab.KafkaProducer is EmbeddedProducer
    assert capsys.readouterr().out == ""  # the embedded run prints nothing extra


def test_swap_clients_refuses_a_partial_set():
    with pytest.raises(ValueError, match="KafkaProducer, KafkaConsumer, KafkaAdminClient"):
        backend.swap_clients({"KafkaProducer": kafka.KafkaProducer})


def test_the_lessons_localhost_9092_names_the_chosen_cluster():
    made = backend.use_backend("cluster", environ={"KAFKALAB_BOOTSTRAP_SERVERS": "a:1,b:2"})
    assert made.client_configs({"bootstrap_servers": ["localhost:9092"]})[
        "bootstrap_servers"] == ["a:1", "b:2"]
    assert made.client_configs({})["bootstrap_servers"] == ["a:1", "b:2"]  # kafka's default
    assert made.client_configs({"bootstrap_servers": "other:9092"}) == {
        "bootstrap_servers": "other:9092"}


# --- engine-only cells ---------------------------------------------------------------------------

def test_engine_only_cells_print_one_plain_line_where_they_cannot_run(capsys):
    on_cluster = backend.LessonBackend("cluster", None)
    on_serve = backend.LessonBackend("serve", None)
    embedded = backend.LessonBackend("embedded", None)
    assert not on_cluster.allows("state")
    assert capsys.readouterr().out == (
        PLAIN + "it reads the engine's own state (cluster.records, batches, describe_topic, "
        "its views), which a real cluster does not show.\n")
    assert on_serve.allows("state", "events") and capsys.readouterr().out == ""
    assert not on_serve.allows("state", "time")
    assert capsys.readouterr().out.startswith(PLAIN + "it moves simulated time")
    assert on_cluster.allows("timing")
    assert "wall-clock milliseconds" in capsys.readouterr().out
    assert all(embedded.allows(kind) for kind in backend.NEEDS)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="unknown engine need 'logs': one of state, events"):
        embedded.allows("logs")


def test_a_taken_port_is_a_clear_error():
    port = free_ports(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(RuntimeError, match=f"listens on port\\(s\\) {port}, but one is taken"):
            backend.use_backend("serve", environ={"KAFKALAB_SERVE_PORT": str(port)})
    assert backend.current() is None and kafkalab.KafkaProducer is EmbeddedProducer


# --- lesson notebooks on the real kafka-python ---------------------------------------------------

def run_lesson(name, kernel, folder, monkeypatch, backend_name, **environ):
    import papermill

    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    notebook = paths.REPO_ROOT / "notebooks" / name
    try:
        papermill.execute_notebook(
            str(notebook), str(folder / name), parameters={"FAST": True, "BACKEND": backend_name},
            store_widget_state=False, kernel_name=kernel, cwd=str(notebook.parent),
            progress_bar=False)
    except papermill.PapermillExecutionError as error:
        pytest.fail(f"{name} on {backend_name}: {ANSI.sub('', str(error))}", pytrace=False)
    return nbformat.read(folder / name, as_version=4)


def shown(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                   for o in cell.outputs)


def cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def engine_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%needs_engine")]


@pytest.fixture(scope="module")
def served_lessons(python3_kernel, tmp_path_factory):
    """01-topics-partitions-offsets, 02-producers and 03-consumers run with BACKEND='serve'
    on free ports."""
    folder = tmp_path_factory.mktemp("served")
    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        for name in ["01-topics-partitions-offsets.ipynb", "02-producers.ipynb",
                     "03-consumers.ipynb"]:
            runs[name] = run_lesson(name, python3_kernel, folder, patch, "serve",
                                    KAFKALAB_SERVE_PORT=str(free_ports(3)))
    return runs


def test_topics_lesson_runs_with_the_real_kafka_python_on_kafkalab_serve(served_lessons):
    nb = served_lessons["01-topics-partitions-offsets.ipynb"]
    assert "real kafka-python" in shown(cell(nb, "setup"))
    # the kafka-topics magics follow the switch: the real client created clicks on the server
    assert "Created topic clicks." in shown(cell(nb, "configs"))
    assert "Topic: clicks\tPartitionCount: 6" in shown(cell(nb, "configs"))
    assert shown(cell(nb, "lab")).startswith(PLAIN + "its view draws")


def test_producers_lesson_runs_with_the_real_kafka_python_on_kafkalab_serve(served_lessons):
    nb = served_lessons["02-producers.ipynb"]
    assert "real kafka-python" in shown(cell(nb, "2bcb92cd"))
    lesson = shown(cell(nb, "b76fabd7"))  # the lesson's producer: only the real client warns so
    assert "value_serializer does not implement kafka.serializer.Serializer" in lesson
    assert re.search(r"Sent to partition \d at offset \d", lesson)
    # the served cluster's own log holds what the real client sent
    keyed = shown(cell(nb, "d96d6b50"))
    assert keyed.count("user_789") == 10 and PLAIN not in keyed
    assert shown(cell(nb, "25cc512e")).startswith(PLAIN + "it moves simulated time")
    assert shown(cell(nb, "110bc374")).startswith(PLAIN + "it injects faults")


def test_consumers_lesson_runs_with_the_real_kafka_python_on_kafkalab_serve(served_lessons):
    nb = served_lessons["03-consumers.ipynb"]
    basic = shown(cell(nb, "basic"))
    assert basic.count("Partition: ") == 6  # the lesson's loop read the six orders and stopped
    members = shown(cell(nb, "basic-describe"))  # the served coordinator saw kafka-python join
    assert f"kafka-python-{kafka.__version__}" in members
    reserved = shown(cell(nb, "manual-fn"))  # the three good orders, in any partition order
    assert sorted(re.findall(r"'(\d+)'", reserved)) == ["7", "8", "9"], reserved
    groups = shown(cell(nb, "groups-build"))  # the lesson's picture, on real time
    for member, partitions in [("email-1", "[0]"), ("email-2", "[1]"), ("email-3", "[2]"),
                               ("analytics-1", "[0, 1]"), ("analytics-2", "[2]")]:
        assert re.search(rf"{member}\s+{re.escape(partitions)}", groups), groups
    assert shown(cell(nb, "listener")).startswith(PLAIN + "its rebalance listener")


def test_a_real_cluster_runs_the_lesson_code_and_engine_cells_say_why_they_cannot(
        python3_kernel, tmp_path, monkeypatch):
    nb, stored = on_a_stand_in("02-producers.ipynb", 3, python3_kernel, tmp_path, monkeypatch,
                               read=lambda cluster: cluster.records("orders"))
    assert "Sent to partition" in shown(cell(nb, "b76fabd7"))
    assert (stored["key"] == "user_789").sum() == 10  # the lesson's keyed orders reached it


def on_a_stand_in(name, brokers, kernel, folder, monkeypatch, read=lambda cluster: None):
    """``name`` run with BACKEND='cluster' against a ``kafkalab serve`` of ``brokers`` brokers:
    the run, and what ``read`` took from the stand-in's engine afterwards. Nothing raised, and
    each engine-only cell printed its one plain line (a ``timing`` one runs, with its note)."""
    from kafkalab.server import serve

    with serve(brokers=brokers, port=free_ports(brokers)) as stand_in:
        nb = run_lesson(name, kernel, folder, monkeypatch, "cluster",
                        KAFKALAB_BOOTSTRAP_SERVERS=stand_in.bootstrap_servers)
        seen = read(stand_in.cluster)
    errors = [c.id for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    for engine_cell in engine_cells(nb):
        text = shown(engine_cell)
        if engine_cell.source.split("\n", 1)[0] == "%%needs_engine timing":
            assert "(Real time here" in text and PLAIN not in text
        else:
            assert text.startswith(PLAIN) and text.count("\n") == 1, (engine_cell.id, text)
    return nb, seen


def test_retention_lesson_on_a_real_cluster_runs_its_admin_and_client_code(
        python3_kernel, tmp_path, monkeypatch):
    nb, profiles = on_a_stand_in("07-retention-compaction.ipynb", 1, python3_kernel, tmp_path,
                                 monkeypatch, lambda c: c.records("user-profiles"))
    # kafka-configs through the real admin client: the topic's retention.ms, as Kafka describes it
    assert "604800000" in shown(cell(nb, "r07-s2-alter"))
    assert shown(cell(nb, "r07-s2-check")).startswith(PLAIN + "it moves simulated time")
    assert shown(cell(nb, "r07-s2-consumers")).startswith(PLAIN + "it reads what simulated time did")
    # the lesson's six profile updates went through kafka-python, and read back the same way
    assert list(profiles["value"]) == ["v1", "v2", "v3", "v4", "v5", "v6"]
    assert "str.encode: TypeError" in shown(cell(nb, "c07-s5-none-code"))
    table = shown(cell(nb, "u07-s6-profiles"))
    assert re.search(r"user1\s+v6", table) and re.search(r"user3\s+v4", table), table
    assert "InvalidRecordError" in shown(cell(nb, "u07-s6-keyless"))  # a keyless record refused
    assert shown(cell(nb, "u07-s7-restart")).startswith(PLAIN + "it crashes, stops or restarts")


def test_replication_lesson_on_a_real_cluster_runs_its_producers_and_admin_code(
        python3_kernel, tmp_path, monkeypatch):
    nb, (written, orders) = on_a_stand_in(
        "06-replication.ipynb", 3, python3_kernel, tmp_path, monkeypatch,
        lambda c: (len(c.records("critical-events")), c.describe_topic("orders")))
    assert "min.insync.replicas" in shown(cell(nb, "baae9317"))  # the real admin's answer
    # the lesson's acks='all' producer, then the acks=1 one, each wrote once to the 6 partitions
    assert shown(cell(nb, "87039cf7")).count("written at offset 1") == 6
    assert written == 12
    assert list(orders["replicas"]) == [[3]]  # created by kafka-python with a replica assignment
    assert shown(cell(nb, "afe245af")).startswith(PLAIN + "it crashes, stops or restarts")
    assert shown(cell(nb, "5c92e4f3-topic")).startswith(PLAIN + "it reads the engine's own state")


def test_transactions_lesson_on_a_real_cluster_commits_with_the_real_producer(
        python3_kernel, tmp_path, monkeypatch):
    nb, orders = on_a_stand_in("02b-transactions.ipynb", 3, python3_kernel, tmp_path, monkeypatch,
                               lambda c: c.records("orders"))
    assert "\nTransaction aborted:" in "\n" + shown(cell(nb, "35db4fb5"))  # dicts, no serializer
    assert "\nTransaction committed\n" in shown(cell(nb, "d93e85ec"))
    # the fixed transaction reached the cluster: its record and the COMMIT marker after it
    assert list(orders["value"])[0] == '{"order_id": "1"}'
    assert list(orders["transaction"]) == ["committed", "COMMIT marker"]
    # the shop's own clusters (localhost:19092 ...) are kafkalab's, out of the real client's reach
    assert shown(cell(nb, "0af9ac26")).startswith(PLAIN + "it runs on a kafkalab cluster of its")
    assert "Transaction 2" not in shown(cell(nb, "36eb196d"))  # the playground ran, no error


def test_start_here_on_a_real_cluster_sends_the_orders_and_serves_its_own_section_5(
        python3_kernel, tmp_path, monkeypatch):
    nb, orders = on_a_stand_in("00-start-here.ipynb", 3, python3_kernel, tmp_path, monkeypatch,
                               lambda c: c.records("orders"))
    assert len(orders) == 12 and set(orders["key"]) == {f"user-{i}" for i in range(4)}
    assert "'controller_id'" in shown(cell(nb, "arch2"))  # the real admin's describe_cluster()
    assert shown(cell(nb, "time")).startswith(PLAIN + "it moves simulated time")
    assert shown(cell(nb, "widget")).startswith(PLAIN + "it runs on a kafkalab cluster of its")
    # section 5 serves a cluster of its own, as in every mode, and the real client reaches it
    assert "Sent to partition" in shown(cell(nb, "real-produce"))
    assert "Partition: " in shown(cell(nb, "real-consume"))
