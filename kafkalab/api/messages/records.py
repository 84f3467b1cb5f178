"""DeleteRecords (API key 21): delete a partition's records below an offset.

Shaped as Kafka's ``DeleteRecordsRequest``/``DeleteRecordsResponse`` (v2). The leader moves its
log start offset to ``offset`` (-1: its high watermark); the answer's ``low_watermark`` is the
smallest log start offset over the partition's replicas on live brokers, and comes once every
such replica has followed (or ``timeout_ms`` passes: ``REQUEST_TIMED_OUT``). Per partition errors:
``OFFSET_OUT_OF_RANGE`` (beyond the high watermark, or negative), ``NOT_LEADER_OR_FOLLOWER``,
``UNKNOWN_TOPIC_OR_PARTITION``, ``POLICY_VIOLATION`` (``cleanup.policy`` without ``delete``),
``INVALID_TOPIC_EXCEPTION`` (an internal topic).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

#: ``offset`` meaning "below the high watermark" (Kafka's ``DeleteRecordsRequest.HIGH_WATERMARK``)
HIGH_WATERMARK = -1
#: ``low_watermark`` of a partition answered with an error
INVALID_LOW_WATERMARK = -1


@dataclass(frozen=True)
class DeleteRecordsPartition:
    partition_index: int
    offset: int  # records below it are deleted; HIGH_WATERMARK: below the high watermark


@dataclass(frozen=True)
class DeleteRecordsTopic:
    name: str
    partitions: tuple[DeleteRecordsPartition, ...]


@dataclass(frozen=True)
class DeleteRecordsRequest(Request):
    API_KEY = 21
    API_NAME = "DeleteRecords"

    topics: tuple[DeleteRecordsTopic, ...]
    #: how long the leader waits for its followers to delete too
    timeout_ms: int


@dataclass(frozen=True)
class DeleteRecordsPartitionResult:
    partition_index: int
    low_watermark: int = INVALID_LOW_WATERMARK
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class DeleteRecordsTopicResult:
    name: str
    partitions: tuple[DeleteRecordsPartitionResult, ...]


@dataclass(frozen=True)
class DeleteRecordsResponse(Response):
    API_KEY = 21
    API_NAME = "DeleteRecords"

    topics: tuple[DeleteRecordsTopicResult, ...]
    throttle_time_ms: int = 0
