"""Which in-process cluster a ``bootstrap_servers`` string names (DESIGN §3).

A new :class:`Cluster` registers its brokers' addresses, taking them over from any earlier
cluster, so the lesson's ``bootstrap_servers=['localhost:9092']`` reaches the cluster a notebook
made last. With none made, the first client gets a default single-broker cluster at
``localhost:9092``, built by the factory ``cluster.py`` sets (:func:`set_default_factory`): the
registry knows clusters only as objects, so it does not import the module that imports it.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import KafkaConnectionError

DEFAULT_PORT = 9092
_LOCAL_NAMES = {"127.0.0.1": "localhost", "::1": "localhost", "[::1]": "localhost"}
_clusters: dict[str, Any] = {}  # address -> the Cluster registered there
_default_factory: Callable[[], Any] | None = None


def normalize(address: str) -> str:
    """'localhost' -> 'localhost:9092'; '127.0.0.1:9093' -> 'localhost:9093'."""
    address = address.strip()
    for scheme in ("PLAINTEXT://", "plaintext://"):
        address = address.removeprefix(scheme)
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    if not host:
        host, port = address, ""
    host = _LOCAL_NAMES.get(host, host)
    return f"{host}:{port or DEFAULT_PORT}"


def set_default_factory(factory: Callable[[], Any]) -> None:
    """What :func:`resolve` calls for the default cluster (``Cluster``, set by ``cluster.py``)."""
    global _default_factory
    _default_factory = factory


def register(cluster: Any, addresses: Iterable[str]) -> None:
    for address in addresses:
        _clusters[normalize(address)] = cluster


def resolve(bootstrap_servers: str | Iterable[str]) -> Any:
    """The Cluster ``bootstrap_servers`` names (the default one, made on first use)."""
    if isinstance(bootstrap_servers, str):
        bootstrap_servers = bootstrap_servers.split(",")
    addresses = [normalize(a) for a in bootstrap_servers if a.strip()]
    for address in addresses:
        if address in _clusters:
            return _clusters[address]
    if (f"localhost:{DEFAULT_PORT}" in addresses and not _clusters
            and _default_factory is not None):
        return _default_factory()  # a Cluster(): it registers itself at localhost:9092
    known = ", ".join(sorted(_clusters)) or "none yet"
    raise KafkaConnectionError(
        f"No kafkalab cluster listens on {', '.join(addresses) or '(empty)'}; "
        f"clusters in this kernel: {known}. Create one with kafkalab.Cluster(...) and pass "
        f"its .bootstrap_servers")


def unregister(cluster: Any) -> None:
    """Forget one cluster's addresses (others stay reachable)."""
    for address in [a for a, c in _clusters.items() if c is cluster]:
        del _clusters[address]


def clear() -> None:
    """Forget every registered cluster (tests start from a clean kernel state)."""
    _clusters.clear()
