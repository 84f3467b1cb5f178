"""What the engine's parts may use of the cluster they run in: an engine context and narrow ports.

:class:`~.cluster.Cluster` builds the brokers, the replica manager, the controller and the group
coordinator and hands each of them itself; each part types that argument as its own Protocol
here, which lists exactly what the part uses — the engine context (clock via ``now_ms``,
scheduler, seeded RNG, event log, broker config) plus the few ports it talks to. The parts import
this module, never ``cluster.py``, so the package has no import cycle (``TYPE_CHECKING`` imports
included); this module imports, for type checking only, modules that import none of the parts.

Growing a Protocol is how a part takes a new dependency on the cluster: visibly, in one place.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

if TYPE_CHECKING:
    import random

    from ..config import BrokerConfig
    from ..record import RecordBatch
    from ..scheduler import Scheduler
    from .events import EventLog
    from .network import Network
    from .partition import Partition
    from .topic import Topic


class EngineContext(Protocol):
    """The services every part shares: one clock, one scheduler, one seeded RNG, one event log,
    the brokers' config."""

    scheduler: Scheduler
    rng: random.Random
    events: EventLog
    config: BrokerConfig

    def now_ms(self) -> int: ...


class BrokerInfo(Protocol):
    """A broker as the other parts see it: its id, address and whether it runs."""

    id: int
    host: str
    port: int
    alive: bool

    def high_watermark_moved(self, topic: str, partition: int) -> None: ...


class ReplicasPort(Protocol):
    """The replica manager (``replication.ReplicaManager``) as brokers, the controller and the
    group coordinator call it."""

    def on_leader_append(self, partition: Partition) -> None: ...

    def wait_for_commit(self, partition: Partition, offset: int, timeout_ms: int,
                        respond: Callable[..., Any]) -> None: ...

    def maybe_complete(self, partition: Partition) -> None: ...

    def on_leader_change(self, partition: Partition, old_leader: int | None) -> None: ...

    def resync(self) -> None: ...


class ControllerPort(Protocol):
    """The controller as a partition leader calls it (Kafka's AlterPartition)."""

    def alter_isr(self, partition: Partition, leader: int, isr: list[int], why: str) -> bool: ...


class BrokerContext(EngineContext, Protocol):
    """What a :class:`~.broker.Broker` uses."""

    network: Network
    replicas: ReplicasPort

    def partition(self, topic: str, partition: int) -> Partition: ...


class ReplicationContext(EngineContext, Protocol):
    """What the :class:`~.replication.ReplicaManager` uses."""

    brokers: Mapping[int, BrokerInfo]
    topics: Mapping[str, Topic]
    network: Network
    network_latency_ms: int
    controller: ControllerPort


class ControllerContext(EngineContext, Protocol):
    """What the :class:`~.controller.Controller` uses."""

    brokers: Mapping[int, BrokerInfo]
    topics: Mapping[str, Topic]
    network: Network
    replicas: ReplicasPort

    def metrics_isr_change(self, grew: bool, broker: int) -> None: ...


class CoordinatorBroker(BrokerInfo, Protocol):
    """A broker as a group coordinator inside it writes ``__consumer_offsets``: through the
    broker's own append path (Kafka's ReplicaManager.appendRecords)."""

    def append_records(self, topic: str, partition: int, batch: RecordBatch, acks: int,
                       timeout_ms: int, respond: Callable[..., Any],
                       internal_topics_allowed: bool = False) -> None: ...


class GroupCoordinatorContext(EngineContext, Protocol):
    """What the group coordinators use (``coordinator.group_coordinator``)."""

    lock: Any  # the cluster's one lock (a threading.RLock)
    brokers: Mapping[int, CoordinatorBroker]
    topics: Mapping[str, Topic]
    network: Network
    network_latency_ms: int

    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     config: Mapping[str, Any] | None = None) -> Any: ...
