"""The consume path's requests: Fetch (API key 1), ListOffsets (2), OffsetForLeaderEpoch (23).

Shaped as Kafka's ``FetchRequest``/``FetchResponse`` (v12: topics by name; no fetch sessions —
every fetch is a full one, ``session_id`` 0), ``ListOffsetsRequest``/``ListOffsetsResponse``
(v9) and ``OffsetForLeaderEpochRequest``/``OffsetForLeaderEpochResponse`` (v4); the nested
classes carry the names of the schemas' structs (``FetchTopic``, ``PartitionData`` ...). A
fetch response carries whole :class:`~kafkalab.record.RecordBatch` objects in ``records``, never
decoded for the trip (a wire codec writes their v2 bytes).

``current_leader_epoch`` (KIP-320) is the leader epoch the client last heard of; -1 skips the
check. An older epoch than the broker's is answered ``FENCED_LEADER_EPOCH``, a newer one
``UNKNOWN_LEADER_EPOCH``: either way the client's metadata is stale.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...record import RecordBatch
from ..base import Request, Response

#: ``replica_id`` of a consumer (a follower sends its broker id)
CONSUMER_REPLICA_ID = -1
#: ``isolation_level``: read below the high watermark / below the last stable offset
READ_UNCOMMITTED, READ_COMMITTED = 0, 1
#: ListOffsets' special timestamps (Kafka's ``ListOffsetsRequest`` constants; -3 is KIP-734's)
EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP = -2, -1, -3


# --- Fetch ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchPartition:
    partition: int
    fetch_offset: int
    log_start_offset: int = -1  # a follower's; -1 from consumers
    partition_max_bytes: int = 1048576  # max.partition.fetch.bytes' default
    current_leader_epoch: int = -1


@dataclass(frozen=True)
class FetchTopic:
    topic: str
    partitions: tuple[FetchPartition, ...]


@dataclass(frozen=True)
class FetchRequest(Request):
    API_KEY = 1
    API_NAME = "Fetch"

    topics: tuple[FetchTopic, ...]
    replica_id: int = CONSUMER_REPLICA_ID
    #: how long the broker may hold the request back waiting for ``min_bytes`` (0: answer now)
    max_wait_ms: int = 500
    min_bytes: int = 1
    max_bytes: int = 52428800  # fetch.max.bytes' default
    isolation_level: int = READ_UNCOMMITTED


@dataclass(frozen=True)
class AbortedTransaction:
    """A transaction whose records a ``read_committed`` consumer must skip: the producer's
    transactional batches from ``first_offset`` on, up to its ABORT marker."""

    producer_id: int
    first_offset: int


@dataclass(frozen=True)
class PartitionData:
    """One partition of a FetchResponse. ``aborted_transactions`` is None for a
    ``read_uncommitted`` fetch, as Kafka sends it."""

    partition_index: int
    error_code: int = 0
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    aborted_transactions: tuple[AbortedTransaction, ...] | None = None
    records: tuple[RecordBatch, ...] = ()
    error_message: str | None = None


@dataclass(frozen=True)
class FetchableTopicResponse:
    topic: str
    partitions: tuple[PartitionData, ...]


@dataclass(frozen=True)
class FetchResponse(Response):
    API_KEY = 1
    API_NAME = "Fetch"

    responses: tuple[FetchableTopicResponse, ...]
    throttle_time_ms: int = 0
    error_code: int = 0
    session_id: int = 0


# --- ListOffsets ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListOffsetsPartition:
    partition_index: int
    #: EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, or a time in ms: the first offset
    #: whose record's timestamp is at or after it
    timestamp: int
    current_leader_epoch: int = -1


@dataclass(frozen=True)
class ListOffsetsTopic:
    name: str
    partitions: tuple[ListOffsetsPartition, ...]


@dataclass(frozen=True)
class ListOffsetsRequest(Request):
    API_KEY = 2
    API_NAME = "ListOffsets"

    topics: tuple[ListOffsetsTopic, ...]
    replica_id: int = CONSUMER_REPLICA_ID
    isolation_level: int = READ_UNCOMMITTED
    timeout_ms: int = 30000


@dataclass(frozen=True)
class ListOffsetsPartitionResponse:
    partition_index: int
    error_code: int = 0
    #: the found record's timestamp (-1 for the earliest and latest offsets)
    timestamp: int = -1
    offset: int = -1  # -1: no record that new
    leader_epoch: int = -1
    error_message: str | None = None


@dataclass(frozen=True)
class ListOffsetsTopicResponse:
    name: str
    partitions: tuple[ListOffsetsPartitionResponse, ...]


@dataclass(frozen=True)
class ListOffsetsResponse(Response):
    API_KEY = 2
    API_NAME = "ListOffsets"

    topics: tuple[ListOffsetsTopicResponse, ...]
    throttle_time_ms: int = 0


# --- OffsetForLeaderEpoch ------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetForLeaderPartition:
    partition: int
    #: the epoch whose end offset is asked for (the epoch of the asker's last record)
    leader_epoch: int
    current_leader_epoch: int = -1


@dataclass(frozen=True)
class OffsetForLeaderTopic:
    topic: str
    partitions: tuple[OffsetForLeaderPartition, ...]


@dataclass(frozen=True)
class OffsetForLeaderEpochRequest(Request):
    API_KEY = 23
    API_NAME = "OffsetForLeaderEpoch"

    topics: tuple[OffsetForLeaderTopic, ...]
    replica_id: int = CONSUMER_REPLICA_ID


@dataclass(frozen=True)
class EpochEndOffset:
    """One partition of an OffsetForLeaderEpochResponse: the largest epoch the leader knows
    that is at most the asked one, and the offset where it ended (-1, -1: none known)."""

    partition: int
    error_code: int = 0
    leader_epoch: int = -1
    end_offset: int = -1
    error_message: str | None = None


@dataclass(frozen=True)
class OffsetForLeaderTopicResult:
    topic: str
    partitions: tuple[EpochEndOffset, ...]


@dataclass(frozen=True)
class OffsetForLeaderEpochResponse(Response):
    API_KEY = 23
    API_NAME = "OffsetForLeaderEpoch"

    topics: tuple[OffsetForLeaderTopicResult, ...]
    throttle_time_ms: int = 0
