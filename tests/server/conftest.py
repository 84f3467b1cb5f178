"""Fixtures for the wire server's tests: a served wall-clock cluster on free loopback ports.

``serve_cluster(brokers=1, **kwargs)`` serves a new cluster (``kafkalab.serve``) on the first
run of free consecutive ports from a random start, and stops it after the test.
"""
from __future__ import annotations

import pytest
from loopback import free_ports as _free_ports

from kafkalab.server import serve


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
