"""Who can reach whom: the lab's network between brokers, the controller and clients.

A dead broker reaches nobody. ``isolate(b, from_brokers, from_clients)`` cuts a live broker off
from the other brokers and the controllers (replication, heartbeats) and/or from clients;
``heal()`` reconnects everything.

Invariant: reachability is symmetric.
"""
from __future__ import annotations

CLIENTS = "clients"


class Network:
    def __init__(self, is_alive):
        self._is_alive = is_alive
        self._cut: set[frozenset] = set()
        self._isolated_from_brokers: set[int] = set()
        self._isolated_from_clients: set[int] = set()

    def isolate(self, broker: int, from_brokers: bool = True, from_clients: bool = True) -> None:
        if from_brokers:
            self._isolated_from_brokers.add(broker)
        if from_clients:
            self._isolated_from_clients.add(broker)

    def heal(self) -> None:
        self._isolated_from_brokers.clear()
        self._isolated_from_clients.clear()

    def isolated(self) -> dict[int, str]:
        out = {}
        for b in self._isolated_from_brokers | self._isolated_from_clients:
            parts = [w for w, s in (("brokers", self._isolated_from_brokers),
                                    ("clients", self._isolated_from_clients)) if b in s]
            out[b] = " and ".join(parts)
        return out

    def brokers_connected(self, a: int, b: int) -> bool:
        if not (self._is_alive(a) and self._is_alive(b)):
            return False
        return a == b or not ({a, b} & self._isolated_from_brokers)

    def reaches_controller(self, broker: int) -> bool:
        """Controllers are reached over the brokers' network."""
        return self._is_alive(broker) and broker not in self._isolated_from_brokers

    def client_reaches(self, broker: int) -> bool:
        return self._is_alive(broker) and broker not in self._isolated_from_clients
