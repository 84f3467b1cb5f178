"""Fixtures for the command-line tools' tests: a clean kernel per test, clusters."""
from __future__ import annotations

import pytest

from kafkalab import Cluster
from kafkalab.cluster import registry


@pytest.fixture(autouse=True)
def clean_registry():
    """Forget clusters made by earlier tests, so ``localhost:9092`` means a fresh one."""
    registry.clear()
    yield
    registry.clear()


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(brokers=1, seed=0)
    yield c
    c.close()


@pytest.fixture
def cluster3() -> Cluster:
    c = Cluster(brokers=3, seed=0)
    yield c
    c.close()
