"""Kafka's command-line tools (kafkalab.tools) over the wire: the real kafka-python against
``kafkalab serve``, as a learner runs them in a terminal — the lesson's commands, checked
against the embedded view of the same cluster."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import kafka

from kafkalab.tools import configs, console_consumer, console_producer, consumer_groups, topics


def _run(main, argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    kwargs = {} if stdin is None else {"stdin": io.StringIO(stdin)}
    code = main(argv, client=kafka, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_the_lessons_commands_over_the_wire(serve_cluster):
    served = serve_cluster(brokers=3, config={"group.initial.rebalance.delay.ms": 0})
    bootstrap = served.bootstrap_servers.split(",")[0]
    code, out, _ = _run(topics.main, ["--create", "--bootstrap-server", bootstrap, "--topic",
                                      "orders", "--partitions", "3",
                                      "--replication-factor", "1"])
    assert (code, out) == (0, "Created topic orders.\n")
    assert len(served.cluster.describe_topic("orders")) == 3
    assert _run(topics.main, ["--list", "--bootstrap-server", bootstrap])[1] == "orders\n"
    code, out, _ = _run(topics.main, ["--describe", "--topic", "orders", "--bootstrap-server",
                                      bootstrap])
    lines = out.splitlines()
    assert lines[0].startswith("Topic: orders\tPartitionCount: 3\tReplicationFactor: 1")
    leaders = served.cluster.describe_topic("orders")["leader"].tolist()
    assert [line.split("\t")[3] for line in lines[1:]] == [f"Leader: {b}" for b in leaders]

    code, out, _ = _run(configs.main, ["--alter", "--bootstrap-server", bootstrap,
                                       "--entity-type", "topics", "--entity-name", "orders",
                                       "--add-config", "retention.ms=604800000"])
    assert (code, out) == (0, "Completed updating config for topic orders.\n")
    assert served.cluster.topic("orders").config["retention.ms"] == 604800000

    code, _, _ = _run(console_producer.main, ["--bootstrap-server", bootstrap, "--topic",
                                              "orders", "--property", "parse.key=true",
                                              "--property", "key.separator=:"],
                      stdin="user-1:first\nuser-1:second\n")
    assert code == 0
    stored = served.cluster.records("orders")
    assert sorted(stored["value"]) == ["first", "second"] and len(set(stored["partition"])) == 1

    code, out, err = _run(console_consumer.main, [
        "--bootstrap-server", bootstrap, "--topic", "orders", "--from-beginning",
        "--group", "cli-readers", "--max-messages", "2", "--timeout-ms", "15000"])
    assert (code, out.splitlines()) == (0, ["first", "second"])
    assert "Processed a total of 2 messages" in err

    code, out, _ = _run(consumer_groups.main, ["--bootstrap-server", bootstrap, "--describe",
                                               "--group", "cli-readers"])
    header, *rows = [line.split() for line in out.splitlines() if line.strip()]
    assert header[:6] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
                          "LAG"]
    embedded = served.cluster.describe_consumer_group("cli-readers")
    assert sorted((int(r[2]), int(r[3]), int(r[5])) for r in rows if r[3] != "-") == sorted(
        zip(embedded["PARTITION"], embedded["CURRENT-OFFSET"], embedded["LAG"]))


def test_the_console_script_is_installed_and_speaks_the_wire_protocol(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("clicks", partitions=2)
    script = Path(sys.executable).with_name("kafka-topics")
    done = subprocess.run([str(script), "--bootstrap-server", served.bootstrap_servers,
                           "--list"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "clicks\n"), done.stderr
