"""The tools as IPython magics (``%load_ext kafkalab``) in a real InteractiveShell, against the
in-kernel cluster: the lesson's "Создание топика" verbatim, and each tool once."""
from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from kafkalab.tools.magics import TOOLS


@pytest.fixture
def shell(cluster):
    shell = InteractiveShell.instance()
    result = shell.run_cell("%load_ext kafkalab")
    assert result.success
    yield shell
    InteractiveShell.clear_instance()


def run(shell, cell: str) -> None:
    result = shell.run_cell(cell)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_every_tool_is_a_magic_named_as_the_tool(shell):
    line_magics = shell.magics_manager.magics["line"]
    assert set(TOOLS) <= set(line_magics)
    assert "kafka-console-producer" in shell.magics_manager.magics["cell"]


def test_the_lessons_commands_run_verbatim(shell, capsys):
    run(shell, "%kafka-topics --create \\\n"
               "  --bootstrap-server localhost:9092 \\\n"
               "  --topic orders \\\n"
               "  --partitions 3 \\\n"
               "  --replication-factor 1")
    assert capsys.readouterr().out == "Created topic orders.\n"
    run(shell, "%kafka-topics --list --bootstrap-server localhost:9092")
    assert capsys.readouterr().out == "orders\n"
    run(shell, "%kafka-topics --describe --topic orders --bootstrap-server localhost:9092")
    assert capsys.readouterr().out.splitlines() == [
        "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: ",
        "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1",
        "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1",
        "\tTopic: orders\tPartition: 2\tLeader: 1\tReplicas: 1\tIsr: 1"]


def test_produce_in_a_cell_consume_configure_and_describe_the_group(shell, capsys, cluster):
    cluster.create_topic("orders", partitions=3)
    run(shell, "%%kafka-console-producer --bootstrap-server localhost:9092 --topic orders "
               "--property parse.key=true --property key.separator=:\n"
               "user1:created\nuser2:paid\nuser1:shipped\n")
    run(shell, "%kafka-console-consumer --bootstrap-server localhost:9092 --topic orders "
               "--from-beginning --group email-service --property print.key=true")
    captured = capsys.readouterr()
    assert sorted(captured.out.splitlines()) == ["user1\tcreated", "user1\tshipped",
                                                 "user2\tpaid"]
    assert captured.err == "Processed a total of 3 messages\n"
    run(shell, "%kafka-consumer-groups --bootstrap-server localhost:9092 --describe "
               "--group email-service")
    captured = capsys.readouterr()
    assert "has no active members" in captured.err
    assert [line.split()[5] for line in captured.out.splitlines()[2:]] == ["0", "0", "0"]
    run(shell, "%kafka-configs --bootstrap-server localhost:9092 --alter --entity-type topics "
               "--entity-name orders --add-config retention.ms=604800000")
    assert capsys.readouterr().out == "Completed updating config for topic orders.\n"
    assert cluster.describe_topic("orders") is not None


def test_python_values_quotes_and_errors_in_a_magic(shell, capsys):
    run(shell, "name = 'payments'\n%kafka-topics --create --bootstrap-server localhost:9092 "
               "--topic {name} --partitions 2")
    assert capsys.readouterr().out == "Created topic payments.\n"
    run(shell, "%kafka-topics --list --bootstrap-server localhost:9092 --topic 'pay.*'")
    assert capsys.readouterr().out == "payments\n"
    run(shell, "%kafka-configs --alter --entity-type topics --entity-name payments "
               "--add-config retention.bytes=10737418240")  # a refused command: no exception
    assert capsys.readouterr().err == ("One of the required --bootstrap-server or --zookeeper "
                                       "arguments must be specified\n")


def test_the_producer_as_a_line_magic_says_where_the_records_go(shell, capsys):
    run(shell, "%kafka-console-producer --bootstrap-server localhost:9092 --topic orders")
    assert "%%kafka-console-producer --bootstrap-server localhost:9092 --topic orders" in \
        capsys.readouterr().out
