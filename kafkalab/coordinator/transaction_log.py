"""Records of the internal topic ``__transaction_state``, in Kafka's binary format.

A transaction coordinator keeps each transactional id's state as one record of this compacted
topic, keyed by the id, rewritten on every state change, so a new coordinator rebuilds every
transaction by replaying the partition. The partition of a transactional id is
``abs(java_hash(transactional_id)) % 50`` as in Kafka (``transaction.state.log.num.partitions``).

Schemas (Kafka's ``TransactionLogKey`` v0 / ``TransactionLogValue`` v0)::

    key   : version int16 (0) | transactional_id string
    value : version int16 (0) | producer_id int64 | producer_epoch int16 |
            transaction_timeout_ms int32 | transaction_status int8 |
            transaction_partitions [topic string, partition_ids [int32]] (null when Empty) |
            transaction_last_update_timestamp_ms int64 | transaction_start_timestamp_ms int64

A null value (tombstone) removes an expired transactional id.
"""
from __future__ import annotations

import struct
from typing import NamedTuple

from .offsets_topic import _Reader, _str, partition_for
from .transaction_metadata import TransactionState

TOPIC = "__transaction_state"
PARTITIONS = 50

__all__ = ["TOPIC", "PARTITIONS", "TransactionLogRecord", "encode", "decode", "partition_for"]


class TransactionLogRecord(NamedTuple):
    """One transactional id's state as stored (``state`` None: a tombstone)."""

    transactional_id: str
    producer_id: int = -1
    producer_epoch: int = -1
    timeout_ms: int = 60000
    state: TransactionState | None = None
    #: (topic, partition) pairs, sorted
    partitions: tuple[tuple[str, int], ...] = ()
    last_update_ms: int = -1
    start_ms: int = -1


def encode(record: TransactionLogRecord) -> tuple[bytes, bytes | None]:
    key = struct.pack(">h", 0) + _str(record.transactional_id)
    if record.state is None:
        return key, None
    by_topic: dict[str, list[int]] = {}
    for topic, partition in record.partitions:
        by_topic.setdefault(topic, []).append(partition)
    # Kafka writes a null TransactionPartitions array (length -1) in the Empty state
    count = -1 if record.state is TransactionState.EMPTY else len(by_topic)
    value = struct.pack(">hqhib", 0, record.producer_id, record.producer_epoch,
                        record.timeout_ms, record.state.code) + struct.pack(">i", count)
    for topic, partitions in by_topic.items():
        value += _str(topic) + struct.pack(">i", len(partitions)) + \
            struct.pack(f">{len(partitions)}i", *partitions)
    return key, value + struct.pack(">qq", record.last_update_ms, record.start_ms)


def decode(key: bytes, value: bytes | None) -> TransactionLogRecord:
    r = _Reader(key)
    version = r.take(">h")
    if version != 0:
        raise ValueError(f"unknown __transaction_state key version {version}")
    transactional_id = r.string()
    if value is None:
        return TransactionLogRecord(transactional_id)
    v = _Reader(value)
    v.take(">h")
    producer_id, epoch, timeout_ms = v.take(">q"), v.take(">h"), v.take(">i")
    state = TransactionState.from_code(v.take(">b"))
    partitions = []
    for _ in range(v.take(">i")):
        topic = v.string()
        partitions.extend((topic, v.take(">i")) for _ in range(v.take(">i")))
    return TransactionLogRecord(transactional_id, producer_id, epoch, timeout_ms, state,
                                tuple(partitions), v.take(">q"), v.take(">q"))
