"""Broker: one Kafka server of the lab cluster, and the requests it answers (Kafka's KafkaApis).

A broker answers produce, fetch and list-offsets requests for the partitions it leads. Requests
arrive through the client transport; the broker checks leadership and topic configs, appends or
reads whole batches, and answers with Kafka's error classes and a reason.

A broker answers Metadata and DescribeCluster from its own :attr:`Broker.metadata_image`, which
it builds from the controller's metadata log (:meth:`Broker.catch_up_metadata`).

Invariants: only the current leader of a partition appends to it; a refused request changes
nothing; a running broker's metadata image has applied the whole metadata log.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..api.kafka_apis import KafkaApis
from ..api.purgatory import Purgatory
from ..config import INTERNAL_TOPICS
from ..errors import (
    InvalidRecordError,
    InvalidTopicError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
)
from ..record import RecordBatch
from ..storage import LogManager
from .delayed_produce import DelayedProduce, ProduceResult
from .metadata_image import MetadataImage

if TYPE_CHECKING:
    from .context import BrokerContext, MetadataSource

ACKS_ALL = -1


class Broker:
    def __init__(self, cluster: "BrokerContext", broker_id: int, host: str, port: int):
        self.cluster = cluster
        self.id = broker_id
        self.host = host
        self.port = port
        self.alive = True
        self.apis = KafkaApis(self)
        #: requests waiting in this broker, by kind (Kafka's delayed-operation purgatories),
        #: watched under (topic, partition)
        self.purgatories = {name: Purgatory(name, cluster.scheduler)
                            for name in ("Produce", "Fetch", "DeleteRecords")}
        #: this broker's replicas' logs and their retention (Kafka's LogManager)
        self.log_manager = LogManager(broker_id, cluster.config, cluster.scheduler,
                                      cluster.now_ms, cluster.events.emit, lambda: self.alive,
                                      cluster.rng)
        #: the cluster metadata as this broker knows it: the controller's log, replayed
        #: (Kafka's MetadataImage / KRaftMetadataCache)
        self.metadata_image = MetadataImage()

    def catch_up_metadata(self, source: "MetadataSource") -> None:
        """Apply the metadata records this broker has not applied yet and learn the quorum's
        current leader: each time the controller appends a record (while this broker runs), and
        when it starts again after being down (KRaft brokers fetch the log from their offset)."""
        self.metadata_image.catch_up(source.log)
        self.metadata_image.handle_leader_change(source.active)

    def high_watermark_moved(self, topic: str, partition: int) -> None:
        """The high watermark of a partition this broker leads moved: waiting produce
        (acks=all) and fetch requests on it may complete now."""
        self.complete_delayed_requests(topic, partition)

    def complete_delayed_requests(self, topic: str, partition: int) -> None:
        """What requests on a partition wait for changed — its high watermark, its leader, or
        its topic is gone (Kafka's completeDelayedFetchOrProduceRequests): each may answer now."""
        for purgatory in self.purgatories.values():
            purgatory.check_and_complete((topic, partition))

    def low_watermark_moved(self, topic: str, partition: int) -> None:
        """A replica's log start offset of a partition this broker leads moved: waiting
        DeleteRecords requests on it may complete now."""
        self.purgatories["DeleteRecords"].check_and_complete((topic, partition))

    def handle(self, request, respond: Callable) -> None:
        """A client's request (see :mod:`..api`); ``respond(response)`` answers it."""
        self.apis.handle(request, respond)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _led_partition(self, topic: str, partition: int):
        t = self.cluster.topics.get(topic)  # (the append path: no second lock round)
        p = t.partitions[partition] if t is not None and type(partition) is int and \
            0 <= partition < len(t.partitions) else self.cluster.partition(topic, partition)
        if p.leader != self.id:
            raise NotLeaderForPartitionError(
                f"Broker {self.id} is not the leader of {p.name} (leader: {p.leader})")
        return p

    def append_records(self, topic: str, partition: int, batch: RecordBatch, acks: int,
                       timeout_ms: int, respond: Callable[[ProduceResult], None],
                       internal_topics_allowed: bool = False) -> None:
        """Kafka's ReplicaManager.appendRecords: the append path of produce requests, and of
        this broker's coordinators writing their internal topics and transaction markers
        (``internal_topics_allowed``: from a coordinator, not a client) — leadership,
        ``min.insync.replicas`` and ``acks`` checked the same way.
        ``respond(ProduceResult)`` runs once: at once, or with ``acks=-1`` once the in-sync
        replicas have the batch (a :class:`~.delayed_produce.DelayedProduce` in this broker's
        Produce purgatory, ``timeout_ms`` at most)."""
        try:
            if topic in INTERNAL_TOPICS and not internal_topics_allowed:
                # only the coordinators write there (ReplicaManager)
                raise InvalidTopicError(f"Cannot append to internal topic {topic}")
            if batch.is_control and not internal_topics_allowed:
                raise InvalidRecordError(  # Kafka's LogValidator: only coordinators may
                    f"Clients are not allowed to write control records ({topic}-{partition}):"
                    " transaction markers come from the transaction coordinator")
            p = self._led_partition(topic, partition)
            min_isr = p.leader_log.config["min.insync.replicas"]
            if acks == ACKS_ALL and len(p.isr) < min_isr:
                raise NotEnoughReplicasError(
                    f"{p.name} has {len(p.isr)} in-sync replica(s) {p.isr} < "
                    f"min.insync.replicas={min_isr}; acks=all cannot be satisfied")
            log = p.leader_log
            duplicate = log.duplicate_of(batch)
            if duplicate is None:
                base_offset, last_offset = log.append_as_leader(batch, p.leader_epoch), None
            else:
                base_offset, last_offset = duplicate.base_offset, duplicate.last_offset
        except Exception as error:  # every refusal goes back to the client as its error
            self.cluster.events.emit("produce.rejected", f"broker {self.id} refused a batch for "
                                     f"{topic}-{partition}: {error}", topic=topic,
                                     partition=partition, error=type(error).__name__)
            respond(ProduceResult(error=error))
            return
        append_time = batch.max_timestamp if batch.timestamp_type == 1 else -1
        result = ProduceResult(base_offset, append_time, log.log_start_offset)
        if last_offset is None:
            last_offset = batch.last_offset
            self.cluster.replicas.on_leader_append(p)
        else:
            self.cluster.events.emit(
                "produce.duplicate", f"broker {self.id} recognised a retried batch of producer "
                f"{batch.producer_id} (sequences {batch.base_sequence}..{batch.last_sequence}) "
                f"in {p.name}: already stored at offsets {base_offset}..{last_offset}, not "
                "appended again", topic=topic, partition=partition,
                producer_id=batch.producer_id, base_offset=base_offset)
        if acks == ACKS_ALL and p.high_watermark <= last_offset:
            # not yet on every in-sync replica: wait (a leader alone in its ISR has it already,
            # and the ISR was checked against min.insync.replicas just before the append)
            self.purgatories["Produce"].try_complete_else_watch(
                DelayedProduce(self.cluster, self.id, p, last_offset, timeout_ms, result,
                               respond), [(topic, partition)])
        else:
            respond(result)

    def __repr__(self) -> str:
        return f"Broker(id={self.id}, {self.address}, {'up' if self.alive else 'down'})"
