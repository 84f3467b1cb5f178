"""Produce (API key 0): a producer's record batches for the partitions one broker leads.

Shaped as Kafka's ``ProduceRequest``/``ProduceResponse`` (v11; the tagged leader hints of KIP-951
and the per-record ``record_errors`` of v8 are left out). A request carries one batch per
partition; the broker answers per partition with the offset the batch got, or an error code.
With ``acks=0`` the broker appends and answers nothing (Kafka sends no response); with
``acks=-1`` (all) it answers once the in-sync replicas have the batch, or when ``timeout_ms``
passes (``REQUEST_TIMED_OUT``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...record import RecordBatch
from ..base import Request, Response


@dataclass(frozen=True)
class PartitionProduceData:
    index: int
    records: RecordBatch


@dataclass(frozen=True)
class TopicProduceData:
    name: str
    partition_data: tuple[PartitionProduceData, ...]


@dataclass(frozen=True)
class ProduceRequest(Request):
    API_KEY = 0
    API_NAME = "Produce"

    transactional_id: str | None
    acks: int  # 0, 1 or -1 (all)
    timeout_ms: int  # how long acks=-1 may wait for the in-sync replicas
    topic_data: tuple[TopicProduceData, ...]


@dataclass(frozen=True)
class PartitionProduceResponse:
    index: int
    error_code: int = 0
    base_offset: int = -1
    log_append_time_ms: int = -1  # -1 unless the topic uses LogAppendTime
    log_start_offset: int = -1
    error_message: str | None = None


@dataclass(frozen=True)
class TopicProduceResponse:
    name: str
    partition_responses: tuple[PartitionProduceResponse, ...]


@dataclass(frozen=True)
class ProduceResponse(Response):
    API_KEY = 0
    API_NAME = "Produce"

    responses: tuple[TopicProduceResponse, ...]
    throttle_time_ms: int = 0
