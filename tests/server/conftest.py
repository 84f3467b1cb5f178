"""Fixtures for the wire server's tests: a served wall-clock cluster on free loopback ports.

``serve_cluster(brokers=1, **kwargs)`` serves a new cluster (``kafkalab.serve``) on the first
run of free consecutive ports from a random start, and stops it after the test.
"""
from __future__ import annotations

import random
import socket

import pytest

from kafkalab.server import serve


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 (and ::1, where it exists)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                    try:
                        sock = socket.socket(family, socket.SOCK_STREAM)
                    except OSError:
                        continue
                    socks.append(sock)
                    try:
                        sock.bind((host, port))
                    except OSError as error:
                        if family == socket.AF_INET6 and error.errno != 98:
                            continue  # no IPv6 loopback here
                        raise
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free run of loopback ports found")


@pytest.fixture
def serve_cluster():
    served = []

    def start(brokers: int = 1, **kwargs):
        server = serve(brokers=brokers, port=_free_ports(brokers), **kwargs)
        served.append(server)
        return server

    yield start
    for server in served:
        server.stop()


@pytest.fixture
def free_ports():
    """``free_ports(count)``: the first of ``count`` free consecutive loopback ports."""
    return _free_ports
