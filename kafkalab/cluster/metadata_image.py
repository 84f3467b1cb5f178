"""The metadata image: a broker's own copy of the cluster metadata, built from the controller's log.

In KRaft every broker fetches the active controller's metadata log and applies its records to an
in-memory *metadata image* (Kafka's ``MetadataImage``, read through ``KRaftMetadataCache``); it
answers Metadata and DescribeCluster requests from that image, never by asking the controller.
kafkalab does the same, except that fetching is immediate: each record the controller appends is
published at once to every running broker (:meth:`.controller.Controller.append`), and a broker
that was down replays the log from its applied offset when it starts again, before it serves a
request (:meth:`.cluster.Cluster.restart_broker`).

:class:`MetadataRecord` lives here, not in :mod:`.controller`, so that the brokers' side (this
module) and the controller share it without importing each other.

What each record does to the image (every record type the controller appends):

* ``LeaderChange(leader, voters)`` — ``leader`` becomes the active controller
  (:attr:`MetadataImage.controller_id`); ``voters`` the quorum; the record's controller epoch
  becomes :attr:`MetadataImage.controller_epoch`.
* ``RegisterBroker(broker_id, host, port)`` — the broker is registered at that address. A new
  registration starts unfenced; a broker registering again keeps its fenced flag (the
  controller fences and unfences only with the two records below).
* ``FenceBroker(broker_id)`` / ``UnfenceBroker(broker_id)`` — set / clear its fenced flag.
* ``Topic(name)`` — an empty topic; internal when its name is one of ``INTERNAL_TOPICS`` (as
  Kafka's ``Topic.isInternal``).
* ``Partition(topic, partition, replicas, leader, leader_epoch, isr)`` — a new partition.
* ``PartitionChange(topic, partition, leader, leader_epoch, isr, unclean)`` — its new leader
  (``-1``: offline, no leader), leader epoch and ISR; its replicas stay. (Kafka's record
  carries only what changed; the controller here writes leader and ISR every time.)
* ``RemoveTopic(name)`` — the topic and its partitions are gone.

Invariants: records are applied in log order, each exactly once (``apply`` refuses any record
but the one at ``applied_offset + 1``), so every field except :attr:`controller_id` equals a
replay of the metadata log from offset 0 up to and including :attr:`applied_offset` (-1: nothing
applied yet) — :meth:`MetadataImage.replayed` builds exactly that. :attr:`controller_id` is what
the raft layer last told the broker: the leader of the last ``LeaderChange`` record, or ``None``
while the quorum has no leader (:meth:`MetadataImage.handle_leader_change`, KRaft's
``RaftClient.Listener.handleLeaderChange``), until the next ``LeaderChange`` record. Snapshots
are not frozen: read it under the cluster's lock, as everything else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..config import INTERNAL_TOPICS


@dataclass(frozen=True)
class MetadataRecord:
    """One record of the controller's metadata log (KRaft's ``__cluster_metadata``)."""

    offset: int
    controller_epoch: int
    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        return f"#{self.offset} [epoch {self.controller_epoch}] {self.type}({details})"


@dataclass
class BrokerRegistration:
    """A registered broker as the image holds it (Kafka's ``BrokerRegistration``)."""

    id: int
    host: str
    port: int
    fenced: bool = False


@dataclass
class PartitionRegistration:
    """A partition as the image holds it (Kafka's ``PartitionRegistration``); ``leader`` is
    ``None`` while the partition is offline."""

    topic: str
    index: int
    replicas: list[int]
    leader: int | None
    leader_epoch: int
    isr: list[int]


@dataclass
class TopicImage:
    """A topic as the image holds it (Kafka's ``TopicImage``); ``partitions`` by index."""

    name: str
    internal: bool
    partitions: dict[int, PartitionRegistration] = field(default_factory=dict)

    def partition_list(self) -> list[PartitionRegistration]:
        """The partitions in index order."""
        return [self.partitions[i] for i in sorted(self.partitions)]


class MetadataImage:
    """One broker's image of the cluster metadata (see the module docstring)."""

    def __init__(self) -> None:
        self.applied_offset = -1
        self.brokers: dict[int, BrokerRegistration] = {}
        self.topics: dict[str, TopicImage] = {}
        self.controller_id: int | None = None
        self.controller_epoch = 0
        self.voters: list[int] = []

    # --- building it -------------------------------------------------------------------------
    @classmethod
    def replayed(cls, records: Sequence[MetadataRecord],
                 up_to: int | None = None) -> "MetadataImage":
        """The image a replay of ``records`` (a metadata log from offset 0) gives, up to and
        including offset ``up_to`` (default: all of them)."""
        image = cls()
        image.catch_up(records if up_to is None else records[:up_to + 1])
        return image

    def catch_up(self, log: Sequence[MetadataRecord]) -> int:
        """Apply the records of ``log`` (the whole metadata log, from offset 0) past
        :attr:`applied_offset`, as a KRaft broker fetching from its offset; returns how many."""
        missing = log[self.applied_offset + 1:]
        for record in missing:
            self.apply(record)
        return len(missing)

    def handle_leader_change(self, leader: int | None) -> None:
        """The quorum's current leader, told outside the log: ``None`` while it has none (a
        ``LeaderChange`` record follows once one is elected)."""
        self.controller_id = leader

    def apply(self, record: MetadataRecord) -> None:
        """Apply the next record of the metadata log (the one at ``applied_offset + 1``)."""
        if record.offset != self.applied_offset + 1:
            raise ValueError(f"metadata image at offset {self.applied_offset} cannot apply "
                             f"record {record}: records apply in log order, each once")
        handler = getattr(self, f"_apply_{record.type}", None)
        if handler is None:
            raise ValueError(f"unknown metadata record type {record.type!r}: {record}")
        handler(record, **record.fields)
        self.applied_offset = record.offset

    def _apply_LeaderChange(self, record: MetadataRecord, leader: int,
                            voters: Iterable[int]) -> None:
        self.controller_id = leader
        self.controller_epoch = record.controller_epoch
        self.voters = list(voters)

    def _apply_RegisterBroker(self, record: MetadataRecord, broker_id: int, host: str,
                              port: int) -> None:
        previous = self.brokers.get(broker_id)
        self.brokers[broker_id] = BrokerRegistration(
            broker_id, host, port, fenced=previous is not None and previous.fenced)

    def _apply_FenceBroker(self, record: MetadataRecord, broker_id: int) -> None:
        self._registered(broker_id, record).fenced = True

    def _apply_UnfenceBroker(self, record: MetadataRecord, broker_id: int) -> None:
        self._registered(broker_id, record).fenced = False

    def _apply_Topic(self, record: MetadataRecord, name: str) -> None:
        if name in self.topics:
            raise ValueError(f"metadata record {record} creates topic {name!r} again")
        self.topics[name] = TopicImage(name, internal=name in INTERNAL_TOPICS)

    def _apply_Partition(self, record: MetadataRecord, topic: str, partition: int,
                         replicas: Iterable[int], leader: int | None, leader_epoch: int,
                         isr: Iterable[int]) -> None:
        self._topic(topic, record).partitions[partition] = PartitionRegistration(
            topic, partition, list(replicas), None if leader in (None, -1) else leader,
            leader_epoch, list(isr))

    def _apply_PartitionChange(self, record: MetadataRecord, topic: str, partition: int,
                               leader: int, leader_epoch: int, isr: Iterable[int],
                               unclean: bool = False) -> None:
        registration = self._topic(topic, record).partitions.get(partition)
        if registration is None:
            raise ValueError(f"metadata record {record} changes partition {partition} of "
                             f"{topic!r}, which the image does not have")
        registration.leader = None if leader in (None, -1) else leader
        registration.leader_epoch = leader_epoch
        registration.isr = list(isr)

    def _apply_RemoveTopic(self, record: MetadataRecord, name: str) -> None:
        self._topic(name, record)
        del self.topics[name]

    def _registered(self, broker_id: int, record: MetadataRecord) -> BrokerRegistration:
        if broker_id not in self.brokers:
            raise ValueError(f"metadata record {record} names broker {broker_id}, which never "
                             "registered")
        return self.brokers[broker_id]

    def _topic(self, name: str, record: MetadataRecord) -> TopicImage:
        if name not in self.topics:
            raise ValueError(f"metadata record {record} names topic {name!r}, which the image "
                             "does not have")
        return self.topics[name]

    # --- reading it (the Metadata and DescribeCluster handlers) -------------------------------
    def topic(self, name: str) -> TopicImage | None:
        return self.topics.get(name)

    def topic_names(self) -> list[str]:
        return sorted(self.topics)

    def registered_brokers(self) -> list[BrokerRegistration]:
        """Every registered broker, by id, fenced or not."""
        return [self.brokers[b] for b in sorted(self.brokers)]

    def unfenced_brokers(self) -> list[BrokerRegistration]:
        """The registered brokers the controller has not fenced, by id."""
        return [b for b in self.registered_brokers() if not b.fenced]

    def is_fenced(self, broker_id: int) -> bool:
        """True for a fenced broker, and for one that never registered."""
        registration = self.brokers.get(broker_id)
        return registration is None or registration.fenced

    def describe(self) -> dict[str, Any]:
        """The image as plain data (compare two images, or an image with the cluster):
        ``brokers`` id -> (host, port, fenced); ``topics`` name -> (internal, {index:
        (replicas, leader, leader_epoch, isr)}); the controller; the applied offset."""
        return {
            "applied_offset": self.applied_offset,
            "controller_id": self.controller_id,
            "brokers": {b.id: (b.host, b.port, b.fenced) for b in self.registered_brokers()},
            "topics": {name: (self.topics[name].internal, {
                p.index: (list(p.replicas), p.leader, p.leader_epoch, list(p.isr))
                for p in self.topics[name].partition_list()}) for name in self.topic_names()},
        }

    def __repr__(self) -> str:
        return (f"MetadataImage(applied_offset={self.applied_offset}, "
                f"brokers={sorted(self.brokers)}, topics={self.topic_names()}, "
                f"controller={self.controller_id})")
