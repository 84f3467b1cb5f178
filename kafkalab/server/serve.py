"""``kafkalab.serve()``: a wall-clock cluster behind Kafka's wire protocol, for real clients.

``serve()`` makes a wall-clock cluster (or takes one) and starts the socket loop
(:mod:`.loop`) on every broker's port; the handle it returns says where clients connect
(``bootstrap_servers``) and stops the server (``stop()``). The lab API keeps working on the
served cluster — ``cluster.kill_broker(2)`` closes broker 2's port and clients fail over, as
against Kafka — except what needs simulated time (``cluster.advance`` says so).

Invariant: a served cluster runs on real time (a simulated clock would stand still between
requests: ``serve`` refuses one, saying how to make a wall-clock cluster).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..cluster import Cluster
from .loop import WireLoop


class ServedCluster:
    """A running wire server over ``cluster``: ``bootstrap_servers``, ``stop()``; usable as a
    context manager. Invariant: after ``stop()`` no port of it listens."""

    def __init__(self, cluster: Cluster, loop: WireLoop, owns_cluster: bool):
        self.cluster = cluster
        self._loop = loop
        self._owns_cluster = owns_cluster
        self.stopped = False

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of every broker, comma-separated, as clients take it."""
        return ",".join(f"{b.host}:{b.port}" for b in self.cluster.brokers.values())

    @property
    def listeners(self) -> list[str]:
        """Every broker's listener as Kafka prints it (``PLAINTEXT://127.0.0.1:9092``)."""
        protocol = "SASL_PLAINTEXT" if self._loop.sasl_users is not None else "PLAINTEXT"
        return [f"{protocol}://{b.host}:{b.port}" for b in self.cluster.brokers.values()]

    @property
    def running(self) -> bool:
        """The socket loop is serving (False once stopped, or if it died)."""
        return self._loop.running

    def stop(self) -> None:
        """Close every port and connection; a cluster ``serve()`` made is closed too."""
        if self.stopped:
            return
        self.stopped = True
        self._loop.stop()
        if self._owns_cluster:
            self.cluster.close()

    def __enter__(self) -> "ServedCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "serving"
        return f"<kafkalab.serve {state} at {self.bootstrap_servers}>"


def serve(cluster: Cluster | None = None, *, brokers: int = 1, partitions: int | None = None,
          seed: int = 0, port: int = 9092, config: Mapping[str, Any] | None = None,
          sasl_users: Mapping[str, str] | None = None) -> ServedCluster:
    """Serve ``cluster`` (a wall-clock one) — or a new wall-clock cluster of ``brokers``
    brokers on ports ``port``, ``port + 1`` ... (``partitions``: ``num.partitions`` of
    auto-created topics; ``config``: broker configs) — on Kafka's wire protocol.
    ``sasl_users`` (user -> password) makes the listeners SASL_PLAINTEXT with PLAIN."""
    owns = cluster is None
    if owns:
        overrides = dict(config or {})
        if partitions is not None:
            overrides["num.partitions"] = partitions
        cluster = Cluster(brokers=brokers, seed=seed, clock="wall", config=overrides,
                          port=port)
    elif cluster.clock.simulated:
        raise ValueError(
            "serve() needs a cluster on real time: real clients cannot wait in simulated time, "
            "which only moves when the notebook drives it. Make one with "
            "kafkalab.Cluster(brokers=..., clock='wall'), or call kafkalab.serve() without a "
            "cluster to get a new one")
    loop = WireLoop(cluster, dict(sasl_users) if sasl_users is not None else None)
    try:
        loop.start()
    except OSError:
        loop.stop()
        if owns:
            cluster.close()
        raise
    return ServedCluster(cluster, loop, owns)
