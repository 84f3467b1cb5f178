"""The transaction APIs (Kafka's ``KafkaApis.handleAddPartitionsToTxnRequest`` ...): a broker
hands each request to its own transaction coordinator — or, for TxnOffsetCommit, its group
coordinator — see :mod:`...coordinator.transaction_coordinator`.

InitProducerId with a ``transactional_id``, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn go to
the broker leading the transactional id's ``__transaction_state`` partition (any other broker
answers ``NOT_COORDINATOR``), and are answered once the new state is stored. TxnOffsetCommit goes
to the group's coordinator. WriteTxnMarkers comes from a transaction coordinator to a
partition's leader: each marker is appended with acks=all as a control batch (refused from an
older producer epoch), and a marker on ``__consumer_offsets`` then commits or drops the
transaction's pending offsets there; the answer goes once every partition answered.
"""
from __future__ import annotations

from ...coordinator import offsets_topic as ot
from ...record.control import marker_batch, marker_of
from ..base import error_fields
from ..messages.producer_ids import InitProducerIdRequest, InitProducerIdResponse
from ..messages.transactions import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    PartitionResult,
    TopicResult,
    TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
    WritableTxnMarkerResult,
    WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
    topic_results,
)
from ..registry import handles

#: how long a marker's append waits for the in-sync replicas (Kafka: request.timeout.ms)
MARKER_TIMEOUT_MS = 30000


def _coordinator(broker):
    """The transaction coordinator running inside ``broker``."""
    return broker.cluster.transaction_coordinator.on_broker(broker.id)


def handle_transactional_init(broker, request: InitProducerIdRequest, respond) -> None:
    """InitProducerId naming a transactional id (called by the InitProducerId handler)."""
    _coordinator(broker).run(request.transactional_id,
                             lambda m: m.init_producer_id(request), respond,
                             lambda e: InitProducerIdResponse(**error_fields(e)))


@handles(AddPartitionsToTxnRequest)
def handle_add_partitions(broker, request: AddPartitionsToTxnRequest, respond) -> None:
    _coordinator(broker).run(
        request.transactional_id, lambda m: m.add_partitions(request), respond,
        lambda e: AddPartitionsToTxnResponse(topic_results(
            request.topics, lambda name, index: e)))


@handles(AddOffsetsToTxnRequest)
def handle_add_offsets(broker, request: AddOffsetsToTxnRequest, respond) -> None:
    _coordinator(broker).run(request.transactional_id, lambda m: m.add_offsets(request),
                             respond, lambda e: AddOffsetsToTxnResponse(**error_fields(e)))


@handles(EndTxnRequest)
def handle_end_txn(broker, request: EndTxnRequest, respond) -> None:
    _coordinator(broker).run(request.transactional_id, lambda m: m.end_txn(request), respond,
                             lambda e: EndTxnResponse(**error_fields(e)))


@handles(TxnOffsetCommitRequest)
def handle_txn_offset_commit(broker, request: TxnOffsetCommitRequest, respond) -> None:
    broker.cluster.group_coordinator.on_broker(broker.id).run(
        request.group_id, lambda m: m.commit_transactional_offsets(request), respond,
        lambda e: TxnOffsetCommitResponse(tuple(
            TopicResult(t.name, tuple(PartitionResult(p.partition_index, **error_fields(e))
                                      for p in t.partitions)) for t in request.topics)))


@handles(WriteTxnMarkersRequest)
def handle_write_txn_markers(broker, request: WriteTxnMarkersRequest, respond) -> None:
    entries = [(m, t.name, index) for m in request.markers for t in m.topics
               for index in t.partitions]
    errors: dict[tuple[int, str, int], Exception | None] = {}

    def answered(key, error) -> None:
        errors[key] = error
        if len(errors) == len(entries):
            respond(WriteTxnMarkersResponse(tuple(
                WritableTxnMarkerResult(m.producer_id, topic_results(
                    m.topics, lambda name, index, pid=m.producer_id: errors[(pid, name, index)]))
                for m in request.markers)))

    if not entries:
        respond(WriteTxnMarkersResponse(()))
        return
    now = broker.cluster.now_ms()
    for marker, topic, index in entries:
        batch = marker_batch(marker.producer_id, marker.producer_epoch,
                             marker.transaction_result, marker.coordinator_epoch, now)
        key = (marker.producer_id, topic, index)

        def stored(result, key=key, topic=topic, index=index, batch=batch) -> None:
            if result.error is None and topic == ot.TOPIC:
                broker.cluster.group_coordinator.on_broker(broker.id).transaction_completed(
                    index, marker_of(batch))
            answered(key, result.error)

        broker.append_records(topic, index, batch, -1, MARKER_TIMEOUT_MS, stored,
                              internal_topics_allowed=True)
