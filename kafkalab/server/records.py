"""A produce request's record bytes checked as Kafka's broker checks them, before the engine.

Kafka's ``ProduceRequest`` v3+ carries exactly one v2 record batch per partition; the broker
refuses anything else per partition: more or fewer than one batch, or an older magic, with
INVALID_RECORD; a batch whose length or CRC-32C does not match its bytes with CORRUPT_MESSAGE
(Kafka's ``LogValidator`` and ``DefaultRecordBatch.ensureValid``). A good batch goes to the
engine as its bytes, untouched (compressed batches stay compressed).

Invariant: :func:`wire_batch` returns a batch only for bytes that hold exactly one complete v2
batch with a correct checksum; everything else raises one of the two errors, saying what was
wrong.
"""
from __future__ import annotations

import struct

from kafka.record.util import calc_crc32c

from ..errors import CorruptRecordError, InvalidRecordError
from ..record import RecordBatch
from ..record.batch import HEADER_SIZE

_LENGTH = struct.Struct(">i")  # batchLength, at byte 8: the bytes after the first 12
_CRC = struct.Struct(">I")  # at byte 17, over the bytes from 21 on


def wire_batch(records: bytes | None) -> RecordBatch:
    """The one record batch of a produce request's partition (see the module)."""
    if not records:
        raise InvalidRecordError(
            "Produce requests with version 3 and above must contain exactly one record batch; "
            "this partition's records are empty")
    if len(records) < HEADER_SIZE:
        raise CorruptRecordError(
            f"Record batch is {len(records)} bytes, shorter than the {HEADER_SIZE}-byte v2 "
            "batch header")
    magic = records[16]
    if magic != 2:
        raise InvalidRecordError(
            f"Produce requests with version 3 and above carry only magic v2 record batches, "
            f"not magic v{magic}")
    size = 12 + _LENGTH.unpack_from(records, 8)[0]
    if size < HEADER_SIZE or size > len(records):
        raise CorruptRecordError(
            f"Record batch says it is {size} bytes but {len(records)} bytes arrived")
    if size < len(records):
        raise InvalidRecordError(
            "Produce requests with version 3 and above must contain exactly one record batch; "
            f"this partition's records hold more ({len(records)} bytes, the first batch {size})")
    expected = _CRC.unpack_from(records, 17)[0]
    actual = calc_crc32c(memoryview(records)[21:])
    if actual != expected:
        raise CorruptRecordError(
            f"Record batch is corrupt (stored crc = {expected}, computed crc = {actual})")
    return RecordBatch.from_bytes(bytes(records))
