"""``kafkalab.serve()`` in a notebook and ``kafkalab serve`` on the command line."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
from kafka import KafkaProducer

import kafkalab
from kafkalab.server import serve

from wire_helpers import RawClient


def test_serve_refuses_a_simulated_cluster_and_says_how_to_make_a_wall_clock_one():
    with pytest.raises(ValueError, match=r"clock='wall'"):
        serve(kafkalab.Cluster())


def test_a_served_clusters_lab_api_works_but_advance_is_refused(free_ports):
    cluster = kafkalab.Cluster(brokers=1, clock="wall", port=free_ports(1))
    with serve(cluster) as served:
        assert served.bootstrap_servers == f"localhost:{cluster.brokers[1].port}"
        cluster.create_topic("orders", partitions=2)
        producer = KafkaProducer(bootstrap_servers=served.bootstrap_servers)
        producer.send("orders", b"x", partition=1).get(timeout=10)
        producer.close()
        assert list(cluster.describe_topic("orders")["high_watermark"]) == [0, 1]
        with pytest.raises(RuntimeError, match="real time"):
            cluster.advance(seconds=1)
    assert served.stopped
    with pytest.raises(ConnectionRefusedError):
        RawClient(cluster.brokers[1].port)
    cluster.close()


def test_a_port_in_use_is_named_in_the_error(free_ports):
    port = free_ports(1)
    taken = socket.socket()
    taken.bind(("127.0.0.1", port))
    taken.listen()
    try:
        with pytest.raises(OSError, match=rf"127.0.0.1:{port}.*another Kafka"):
            serve(port=port)
    finally:
        taken.close()


def _start(*args: str) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "kafkalab.cli", "serve", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Stop with"):
            break
    return process, lines


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_prints_its_listeners_serves_and_stops_cleanly(free_ports, signum):
    port = free_ports(2)
    process, lines = _start("--brokers", "2", "--partitions", "3", "--port", str(port))
    try:
        assert lines[1:3] == [f"  broker 1: PLAINTEXT://localhost:{port}",
                              f"  broker 2: PLAINTEXT://localhost:{port + 1}"]
        assert lines[3] == f"bootstrap servers: localhost:{port},localhost:{port + 1}"
        producer = KafkaProducer(bootstrap_servers=f"localhost:{port + 1}")
        sent = producer.send("orders", b"hello").get(timeout=10)
        assert producer.partitions_for("orders") == {0, 1, 2}  # --partitions 3
        producer.close()
        assert sent.offset == 0
    finally:
        process.send_signal(signum)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.strip().endswith("kafkalab serve: stopped")


@pytest.mark.parametrize("args, message", [
    (["--brokers", "0"], "--brokers must be at least 1"),
    (["--config", "nonsense"], "--config 'nonsense' is not NAME=VALUE"),
    (["--config", "num.partitions=-4"], "num.partitions"),
    (["--sasl-user", "alice"], "--sasl-user 'alice' is not USER:PASSWORD"),
])
def test_bad_arguments_exit_2_saying_what_is_wrong(args, message):
    done = subprocess.run([sys.executable, "-m", "kafkalab.cli", "serve", "--port", "1",
                           *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.startswith("kafkalab serve: error:")
