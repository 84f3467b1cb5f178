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

from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    import random

    from ..config import BrokerConfig
    from ..record import RecordBatch
    from ..scheduler import Scheduler
    from .events import EventLog
    from .metadata_image import MetadataRecord
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

    def complete_delayed_requests(self, topic: str, partition: int) -> None: ...

    def low_watermark_moved(self, topic: str, partition: int) -> None: ...


class ReplicasPort(Protocol):
    """The replica manager (``replication.ReplicaManager``) as brokers, the controller and the
    group coordinator call it."""

    def on_leader_append(self, partition: Partition) -> None: ...

    def on_leader_log_start_moved(self, partition: Partition) -> None: ...

    def maybe_complete(self, partition: Partition) -> None: ...

    def on_leader_change(self, partition: Partition, old_leader: int | None) -> None: ...

    def resync(self) -> None: ...


class ControllerPort(Protocol):
    """The controller as a partition leader calls it (Kafka's AlterPartition)."""

    def alter_isr(self, partition: Partition, leader: int, isr: list[int], why: str) -> bool: ...


class BrokerContext(EngineContext, Protocol):
    """What a :class:`~.broker.Broker` uses."""

    brokers: Mapping[int, BrokerInfo]  # which are alive (DeleteRecords' low watermark)
    network: Network
    replicas: ReplicasPort

    def partition(self, topic: str, partition: int) -> Partition: ...

    def init_producer_id(self, producer_id: int, producer_epoch: int,
                         reason: str) -> tuple[int, int]: ...


class ReplicationContext(EngineContext, Protocol):
    """What the :class:`~.replication.ReplicaManager` uses."""

    brokers: Mapping[int, BrokerInfo]
    topics: Mapping[str, Topic]
    network: Network
    network_latency_ms: int
    controller: ControllerPort


class MetadataSource(Protocol):
    """The controller as a broker reads the metadata from it (KRaft's fetch of the metadata
    log): the log, and the quorum's current leader (None while it has none)."""

    @property
    def log(self) -> Sequence[MetadataRecord]: ...

    @property
    def active(self) -> int | None: ...


class MetadataBroker(BrokerInfo, Protocol):
    """A broker as the controller publishes metadata to it: it applies the records of the log
    it has not applied yet to its :class:`~.metadata_image.MetadataImage`."""

    def catch_up_metadata(self, source: MetadataSource) -> None: ...


class ControllerContext(EngineContext, Protocol):
    """What the :class:`~.controller.Controller` uses."""

    brokers: Mapping[int, MetadataBroker]
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
    """What the group coordinators use (``coordinator.router``, ``coordinator.runtime``)."""

    lock: Any  # the cluster's one lock (a threading.RLock)
    brokers: Mapping[int, CoordinatorBroker]
    topics: Mapping[str, Topic]

    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     config: Mapping[str, Any] | None = None) -> Any: ...


class GroupHandlerContext(Protocol):
    """What the group handlers (``api.handlers.groups``) use: the cluster's group coordination
    (``coordinator.router.GroupCoordinator``: each broker's coordinator, FindCoordinator's
    answer) and the brokers' addresses."""

    brokers: Mapping[int, BrokerInfo]
    group_coordinator: Any
    transaction_coordinator: Any


class TopicAdminContext(Protocol):
    """What the topic and config handlers (``api.handlers.topics``/``configs``) use. In KRaft a
    broker forwards CreateTopics, DeleteTopics, CreatePartitions and config changes to the
    active controller; here they are the lab facade's own operations, which write the
    controller's records and emit the explained events."""

    config: BrokerConfig
    topics: Mapping[str, Topic]

    def topic(self, name: str) -> Topic: ...

    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     config: Mapping[str, Any] | None = None,
                     replica_assignment: Mapping[int, list[int]] | None = None,
                     validate_only: bool = False) -> Any: ...

    def delete_topic(self, name: str) -> None: ...

    def create_partitions(self, name: str, total: int, validate_only: bool = False,
                          assignment: list[list[int]] | None = None) -> Any: ...

    def alter_topic_config(self, name: str, set: Mapping[str, Any] | None = None,
                           delete: list[str] = (), validate_only: bool = False) -> Any: ...


class ClusterDescriptionContext(Protocol):
    """What the DescribeCluster handler uses besides the broker's own metadata image: the
    cluster's id and which brokers run."""

    cluster_id: str
    brokers: Mapping[int, BrokerInfo]


class MetadataHandlerContext(ClusterDescriptionContext, Protocol):
    """What the Metadata handler uses besides the broker's own metadata image: the cluster's
    id, which brokers run (offline replicas), and the create path for a topic the image does
    not have (auto-creation, through the controller)."""

    def topic_for_client(self, name: str, allow_auto_create: bool = True) -> Topic: ...
