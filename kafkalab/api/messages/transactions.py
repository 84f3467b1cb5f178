"""The transaction APIs: AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26),
WriteTxnMarkers (27) and TxnOffsetCommit (28), shaped as Kafka's message schemas
(AddPartitionsToTxn v3: one transaction per request, as a producer sends it). InitProducerId
with a ``transactional_id`` is in :mod:`.producer_ids`, FindCoordinator with ``key_type`` 1 in
:mod:`.groups`.

WriteTxnMarkers goes from a transaction coordinator to the leaders of the partitions a
transaction wrote to: never from a client.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..base import Request, Response, error_code, error_message
from .groups import OffsetCommitRequestPartition, OffsetCommitRequestTopic


@dataclass(frozen=True)
class TxnTopic:
    """A topic and some of its partitions (AddPartitionsToTxnTopic, WritableTxnMarkerTopic)."""

    name: str
    partitions: tuple[int, ...]


@dataclass(frozen=True)
class PartitionResult:
    """One partition's answer (AddPartitionsToTxnPartitionResult, TxnOffsetCommitResponse-
    Partition, WritableTxnMarkerPartitionResult)."""

    partition_index: int
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class TopicResult:
    name: str
    results: tuple[PartitionResult, ...]


# --- AddPartitionsToTxn (24) ---------------------------------------------------------------------
@dataclass(frozen=True)
class AddPartitionsToTxnRequest(Request):
    API_KEY = 24
    API_NAME = "AddPartitionsToTxn"

    transactional_id: str
    producer_id: int
    producer_epoch: int
    topics: tuple[TxnTopic, ...]


@dataclass(frozen=True)
class AddPartitionsToTxnResponse(Response):
    API_KEY = 24
    API_NAME = "AddPartitionsToTxn"

    results: tuple[TopicResult, ...]
    throttle_time_ms: int = 0


# --- AddOffsetsToTxn (25) ------------------------------------------------------------------------
@dataclass(frozen=True)
class AddOffsetsToTxnRequest(Request):
    API_KEY = 25
    API_NAME = "AddOffsetsToTxn"

    transactional_id: str
    producer_id: int
    producer_epoch: int
    group_id: str


@dataclass(frozen=True)
class AddOffsetsToTxnResponse(Response):
    API_KEY = 25
    API_NAME = "AddOffsetsToTxn"

    error_code: int = 0
    error_message: str | None = None
    throttle_time_ms: int = 0


# --- EndTxn (26) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class EndTxnRequest(Request):
    API_KEY = 26
    API_NAME = "EndTxn"

    transactional_id: str
    producer_id: int
    producer_epoch: int
    committed: bool


@dataclass(frozen=True)
class EndTxnResponse(Response):
    API_KEY = 26
    API_NAME = "EndTxn"

    error_code: int = 0
    error_message: str | None = None
    throttle_time_ms: int = 0


# --- WriteTxnMarkers (27) ------------------------------------------------------------------------
@dataclass(frozen=True)
class WritableTxnMarker:
    producer_id: int
    producer_epoch: int
    transaction_result: bool  # True: COMMIT, False: ABORT
    topics: tuple[TxnTopic, ...]
    coordinator_epoch: int


@dataclass(frozen=True)
class WriteTxnMarkersRequest(Request):
    API_KEY = 27
    API_NAME = "WriteTxnMarkers"

    markers: tuple[WritableTxnMarker, ...]


@dataclass(frozen=True)
class WritableTxnMarkerResult:
    producer_id: int
    topics: tuple[TopicResult, ...]


@dataclass(frozen=True)
class WriteTxnMarkersResponse(Response):
    API_KEY = 27
    API_NAME = "WriteTxnMarkers"

    markers: tuple[WritableTxnMarkerResult, ...]


# --- TxnOffsetCommit (28) ------------------------------------------------------------------------
#: TxnOffsetCommit's partitions and topics have OffsetCommit's fields in Kafka's schemas
TxnOffsetCommitRequestPartition = OffsetCommitRequestPartition
TxnOffsetCommitRequestTopic = OffsetCommitRequestTopic


@dataclass(frozen=True)
class TxnOffsetCommitRequest(Request):
    API_KEY = 28
    API_NAME = "TxnOffsetCommit"

    transactional_id: str
    group_id: str
    producer_id: int
    producer_epoch: int
    topics: tuple[TxnOffsetCommitRequestTopic, ...]
    #: KIP-447: the consumer's group generation and member id (-1 and "": not checked)
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


@dataclass(frozen=True)
class TxnOffsetCommitResponse(Response):
    API_KEY = 28
    API_NAME = "TxnOffsetCommit"

    topics: tuple[TopicResult, ...]
    throttle_time_ms: int = 0


@lru_cache(maxsize=1024)
def _no_error(index: int) -> PartitionResult:
    """A partition's result without an error (immutable: one per index, shared)."""
    return PartitionResult(index)


def topic_results(topics, error_of) -> tuple[TopicResult, ...]:
    """A result per partition of ``topics`` (TxnTopic-like: ``name`` and ``partitions`` of
    indexes), with the error ``error_of(name, index)`` gives (None: none)."""
    out = []
    for topic in topics:
        results = []
        for index in topic.partitions:
            error = error_of(topic.name, index)
            results.append(_no_error(index) if error is None else
                           PartitionResult(index, error_code(error), error_message(error)))
        out.append(TopicResult(topic.name, tuple(results)))
    return tuple(out)
