"""Produce: Kafka's ``handleProduceRequest`` — append each partition's batch through the broker's
append path (``Broker.append_records``: leadership, internal topics, ``min.insync.replicas``,
duplicates of an idempotent producer) and answer once every partition is answered.

With ``acks=-1`` a partition's answer waits in the broker's Produce purgatory until the in-sync
replicas have the batch (see :mod:`...cluster.delayed_produce`); with ``acks=0`` the broker
appends and sends no response at all, as Kafka does — the producer learns nothing, not even an
error.
"""
from __future__ import annotations

from ..base import error_fields
from ..messages.produce import (
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceResponse,
)
from ..registry import handles


@handles(ProduceRequest)
def handle_produce(broker, request: ProduceRequest, respond) -> None:
    entries = [(topic.name, data.index, data.records) for topic in request.topic_data
               for data in topic.partition_data]
    if not entries:  # nothing to append: answered at once, empty
        if request.acks != 0:
            respond(ProduceResponse(()))
        return
    results: dict[tuple[str, int], object] = {}

    def answered(key: tuple[str, int], result) -> None:
        results[key] = result
        if len(results) == len(entries) and request.acks != 0:
            respond(ProduceResponse(tuple(
                TopicProduceResponse(topic.name, tuple(
                    partition_response(data.index, results[(topic.name, data.index)])
                    for data in topic.partition_data))
                for topic in request.topic_data)))

    for name, index, records in entries:
        broker.append_records(name, index, records, request.acks, request.timeout_ms,
                              lambda result, key=(name, index): answered(key, result))


def partition_response(index: int, result) -> PartitionProduceResponse:
    """A partition's entry from its append's ``ProduceResult``."""
    if result.error is not None:
        return PartitionProduceResponse(index, **error_fields(result.error))
    return PartitionProduceResponse(index, base_offset=result.base_offset,
                                    log_append_time_ms=result.log_append_time,
                                    log_start_offset=result.log_start_offset)
