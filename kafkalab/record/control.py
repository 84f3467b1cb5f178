"""Control records: the COMMIT and ABORT markers a transaction coordinator writes.

A marker is a batch of its own (attributes ``isTransactional`` and ``isControl`` set) carrying
the transactional producer's id and epoch and a single record, in Kafka's ``ControlRecordType``
format::

    key   : version int16 (0) | type int16 (0 = ABORT, 1 = COMMIT)
    value : version int16 (0) | coordinator_epoch int32      (EndTransactionMarker)

Consumers never see control records: they tell a ``read_committed`` consumer where a
transaction ends, and the broker where its last stable offset may move.

Invariants: a marker batch holds exactly one record; :func:`marker_of` reads back what
:func:`marker_batch` wrote.
"""
from __future__ import annotations

import struct
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

from .batch import HEADER_SIZE, RecordBatch, record_size

_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")
#: a marker batch's size: the batch header and one record with a 4-byte key, a 6-byte value
MARKER_BYTES = HEADER_SIZE + record_size(0, 0, bytes(_KEY.size), bytes(_VALUE.size), ())


class ControlRecordType(IntEnum):
    """Kafka's ``ControlRecordType`` (the marker types transactions use)."""
    ABORT = 0
    COMMIT = 1


class Marker(NamedTuple):
    """What a control batch says: which producer's transaction ended, and how."""
    producer_id: int
    producer_epoch: int
    type: ControlRecordType
    coordinator_epoch: int

    @property
    def committed(self) -> bool:
        return self.type is ControlRecordType.COMMIT


def marker_batch(producer_id: int, producer_epoch: int, committed: bool,
                 coordinator_epoch: int, timestamp_ms: int) -> RecordBatch:
    """A control batch ending ``producer_id``'s transaction (Kafka's
    ``MemoryRecords.withEndTransactionMarker``)."""
    kind = ControlRecordType.COMMIT if committed else ControlRecordType.ABORT
    return RecordBatch([(0, timestamp_ms, _KEY.pack(0, kind), _VALUE.pack(0, coordinator_epoch),
                         ())], producer_id=producer_id, producer_epoch=producer_epoch,
                       is_transactional=True, is_control=True, uncompressed_size=MARKER_BYTES)


def marker_of(batch: RecordBatch) -> Marker:
    """Read the marker a control batch carries (ValueError for an unknown control type)."""
    _, _, key, value, _ = batch.record_tuples[0]
    try:
        kind, coordinator_epoch = _control_record(key, value)
    except ValueError as error:
        raise ValueError(f"{error} at offset {batch.base_offset}") from None
    return Marker(batch.producer_id, batch.producer_epoch, kind, coordinator_epoch)


@lru_cache(maxsize=256)
def _control_record(key: bytes, value: bytes | None) -> tuple[ControlRecordType, int]:
    """(type, coordinator epoch) of a control record (few distinct ones: cached)."""
    version, kind = _KEY.unpack_from(key)
    if kind not in (0, 1):
        raise ValueError(f"unknown control record type {kind} (version {version}): known are "
                         "ABORT (0) and COMMIT (1)")
    coordinator_epoch = _VALUE.unpack_from(value)[1] if value and len(value) >= 6 else -1
    return ControlRecordType(kind), coordinator_epoch
