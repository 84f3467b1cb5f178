"""RecordBatch: Kafka's v2 record batch, held as decoded records and/or its wire bytes.

An in-process producer hands the broker decoded records; a compressing producer (or, later, a
wire client) hands it bytes. Each form is made lazily from the other with kafka-python's
``kafka.record`` and cached, so paths that only move batches (append, fetch, replication) never
decode or encode.

Schema (Kafka's RecordBatch v2, as kafka.record reads and writes it)::

    baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (=2)
    crc uint32 (crc32c of attributes..end) | attributes int16 (codec 0-2, timestampType 3,
    isTransactional 4, isControl 5, hasDeleteHorizonMs 6) | lastOffsetDelta int32
    firstTimestamp int64 (the delete horizon instead, when hasDeleteHorizonMs)
    maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32
    records [Record]
    Record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
            key bytes | value bytes | headers [key string, value bytes]

Records are stored as plain tuples ``(offset_delta, timestamp, key, value, headers)`` — the
fields of :class:`Record`, in its order — with ``()`` for no headers. CPython's cyclic collector
stops tracking a plain tuple of immutable values, but tracks a namedtuple (or a list) for as long
as it lives: a log of millions of records kept as ``Record``s would make every full collection
walk all of them. A batch keeps its record tuples in a tuple too (not a list, which is tracked
for good and whose every item a full collection visits), so once the collector has seen a batch
it skips its records entirely. ``batch.records`` gives the same records as ``Record``
namedtuples (a fresh list, for views and tests); paths that run per record read
``batch.record_tuples``.

Invariants: records are kept in offset order; ``last_offset_delta`` >= the largest record
delta (the log cleaner keeps a batch's last offset delta when it drops its last records, and may
keep a batch with no records at all — see :meth:`RecordBatch.retained`); once appended to a log
a batch's base offset never changes (the log owns the batch);
``size_in_bytes`` is the length of the batch's v2 encoding.
"""
from __future__ import annotations

import gzip
import struct
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple, Sequence

from kafka import codec as _codec
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

from ..errors import UnsupportedCodecError

#: compression_type name -> v2 codec id (kafka-python's names; None and "none" mean no codec).
CODECS = {None: 0, "none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
_CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}

_timestamp_of = itemgetter(1)  # of a record tuple
_HEADER = DefaultRecordBatchBuilder.HEADER_STRUCT
HEADER_SIZE = _HEADER.size  # 61 bytes


# --- sizes (what kafka.record's DefaultRecordBatchBuilder.size_in_bytes computes, faster) -------
def varint_size(value: int) -> int:
    """Bytes of ``value`` as a zigzag varint (Kafka's ``ByteUtils.sizeOfVarlong``)."""
    return (((value << 1) ^ (value >> 63)).bit_length() + 6) // 7 or 1


def _length_field_size(length: int) -> int:
    """Bytes of a key or value field: its length varint, then the bytes (-1: null, 1 byte).
    (A length n >= 0 takes (n.bit_length() + 7) // 7 bytes as a zigzag varint.)"""
    return 1 if length < 0 else length + (length.bit_length() + 7) // 7


def _headers_size(headers) -> int:
    """Bytes of a record's headers field: the count, then each key and value with lengths."""
    size = varint_size(len(headers))
    for header_key, header_value in headers:
        header_key_len = len(header_key.encode("utf-8"))
        size += varint_size(header_key_len) + header_key_len + \
            (1 if header_value is None else varint_size(len(header_value)) + len(header_value))
    return size


def record_payload_size(key: bytes | None, value: bytes | None, headers) -> int:
    """Bytes of a record's key, value and headers, each with its length varint: the part of a
    record's size that does not depend on where in its batch it lands."""
    return _length_field_size(-1 if key is None else len(key)) + \
        _length_field_size(-1 if value is None else len(value)) + _headers_size(headers)


@lru_cache(maxsize=4096)
def record_sizes(key_length: int, value_length: int, headers: tuple = ()) -> tuple[int, int]:
    """``(size, payload)`` of a record a producer appends, by its key and value lengths (-1:
    null) and headers (a tuple): ``size`` where its offset and timestamp deltas take one byte
    each (a batch's first 64 records, less than 64 ms after the first), and its payload
    (:func:`record_payload_size`), to size it anywhere else with
    :func:`record_size_from_payload`. Cached: they depend on nothing else, and a producer
    sends few distinct lengths."""
    payload = _length_field_size(key_length) + _length_field_size(value_length) + \
        _headers_size(headers)
    return record_size_from_payload(0, 0, payload), payload


def record_size_from_payload(offset_delta: int, timestamp_delta: int, payload: int) -> int:
    """Bytes of one encoded record: its length varint, attributes (1), timestamp and offset
    deltas, then the ``payload`` (see :func:`record_payload_size`)."""
    # (n.bit_length() + 7) // 7: the varint size of n >= 0; -64..63 take one byte
    body = 1 + (offset_delta.bit_length() + 7) // 7 + payload + \
        (1 if -64 <= timestamp_delta < 64 else varint_size(timestamp_delta))
    return body + (body.bit_length() + 7) // 7


def record_size(offset_delta: int, timestamp_delta: int, key: bytes | None,
                value: bytes | None, headers) -> int:
    """Bytes of one encoded v2 record."""
    return record_size_from_payload(offset_delta, timestamp_delta,
                                    record_payload_size(key, value, headers))


#: codec id -> (library present?, compress). gzip is written with mtime 0: kafka-python's
#: gzip_encode stamps the wall-clock time into the gzip header, which would make the bytes (and
#: the CRC) of the same batch differ from run to run (DESIGN §2.2-2.3).
_COMPRESSORS = {
    1: (_codec.has_gzip, lambda data: gzip.compress(data, compresslevel=9, mtime=0)),
    2: (_codec.has_snappy, _codec.snappy_encode),
    3: (_codec.has_lz4, _codec.lz4_encode),
    4: (_codec.has_zstd, _codec.zstd_encode),
}


class Record(NamedTuple):
    """One record: offset within the batch, timestamp, key, value, headers. (A batch stores
    plain tuples of these fields; see the module docstring.)"""

    offset_delta: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class RecordBatch:
    """A v2 record batch; see the module docstring for the layout and invariants."""

    __slots__ = ("base_offset", "partition_leader_epoch", "producer_id", "producer_epoch",
                 "base_sequence", "is_transactional", "is_control", "codec", "timestamp_type",
                 "last_offset_delta", "first_timestamp", "max_timestamp", "record_count",
                 "delete_horizon_ms", "_rows", "_raw", "_size")

    def __init__(self, records: Sequence[tuple], *, compression_type: str | None = None,
                 producer_id: int = -1, producer_epoch: int = -1, base_sequence: int = -1,
                 is_transactional: bool = False, is_control: bool = False,
                 timestamp_type: int = 0, uncompressed_size: int | None = None):
        """``records``: all :class:`Record` namedtuples, or all plain tuples of their fields.
        ``uncompressed_size``: the batch's encoded size without compression, if the caller
        already knows it (a producer sums its records' sizes as it appends them)."""
        if not records:
            raise ValueError("a record batch holds at least one record")
        if compression_type not in CODECS:
            raise UnsupportedCodecError(
                f"Unknown compression type {compression_type!r}: allowed are "
                "None, 'gzip', 'snappy', 'lz4', 'zstd'")
        self.base_offset = 0
        self.partition_leader_epoch = -1
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.is_transactional = is_transactional
        self.is_control = is_control
        self.codec = CODECS[compression_type]
        self.timestamp_type = timestamp_type
        self._rows: tuple[tuple, ...] | None = tuple(records)
        if type(self._rows[0]) is not tuple:  # Records: stored as plain tuples
            self._rows = tuple(map(tuple, self._rows))
        self.last_offset_delta = self._rows[-1][0]
        self.first_timestamp = self._rows[0][1]
        self.max_timestamp = max(map(_timestamp_of, self._rows))
        self.record_count = len(self._rows)
        #: when the log cleaner may drop this batch's tombstones (KIP-534), -1 until a clean
        #: stamps it; on the wire it replaces firstTimestamp (attribute hasDeleteHorizonMs)
        self.delete_horizon_ms = -1
        self._raw: bytes | None = None
        self._size: int | None = uncompressed_size if self.codec == 0 else None

    @classmethod
    def retained(cls, original: "RecordBatch", rows: tuple[tuple, ...],
                 delete_horizon_ms: int) -> "RecordBatch":
        """What the log cleaner writes for ``original`` keeping only ``rows`` (a subset of its
        record tuples, possibly none), as Kafka's ``MemoryRecords.filterTo``: the same base
        offset and last offset delta (so the producer's last sequence survives), producer id,
        epoch, base sequence, leader epoch, flags and codec; ``delete_horizon_ms`` (-1: none)
        stamped as Kafka stamps a batch holding tombstones on its first clean."""
        batch = cls.__new__(cls)
        for name in ("base_offset", "partition_leader_epoch", "producer_id", "producer_epoch",
                     "base_sequence", "is_transactional", "is_control", "codec",
                     "timestamp_type", "last_offset_delta"):
            setattr(batch, name, getattr(original, name))
        batch._rows = rows
        batch.record_count = len(rows)
        batch.delete_horizon_ms = delete_horizon_ms
        if rows:
            batch.first_timestamp = rows[0][1]
            batch.max_timestamp = (original.max_timestamp if original.timestamp_type == 1
                                   else max(map(_timestamp_of, rows)))
        else:  # an empty batch keeps its original's times (DefaultRecordBatch.writeEmptyHeader)
            batch.first_timestamp, batch.max_timestamp = (original.first_timestamp,
                                                          original.max_timestamp)
        batch._raw = None
        batch._size = None
        return batch

    @property
    def base_timestamp(self) -> int:
        """The batch header's firstTimestamp: record timestamps are stored as deltas from it —
        the first record's timestamp, or the delete horizon once one is stamped."""
        return self.delete_horizon_ms if self.delete_horizon_ms >= 0 else self.first_timestamp

    @classmethod
    def from_bytes(cls, raw: bytes) -> "RecordBatch":
        """Wrap a v2 batch as received on the wire; records are decoded only when asked for."""
        (base_offset, _length, leader_epoch, magic, _crc, attributes, last_delta, first_ts,
         max_ts, producer_id, producer_epoch, base_sequence, count) = _HEADER.unpack_from(raw)
        if magic != 2:
            raise ValueError(f"only v2 record batches (magic 2) are supported, not magic {magic}")
        batch = cls.__new__(cls)
        batch.base_offset = base_offset
        batch.partition_leader_epoch = leader_epoch
        batch.producer_id, batch.producer_epoch = producer_id, producer_epoch
        batch.base_sequence = base_sequence
        batch.is_transactional = bool(attributes & 0x10)
        batch.is_control = bool(attributes & 0x20)
        batch.codec = attributes & 0x07
        batch.timestamp_type = (attributes & 0x08) >> 3
        batch.last_offset_delta = last_delta
        batch.first_timestamp, batch.max_timestamp = first_ts, max_ts
        batch.record_count = count
        batch.delete_horizon_ms = first_ts if attributes & 0x40 else -1
        batch._rows = None
        batch._raw = bytes(raw)
        batch._size = len(raw)
        return batch

    # --- offsets -------------------------------------------------------------------------------
    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def last_sequence(self) -> int:
        """Sequence number of the last record (idempotent producers), -1 without one."""
        if self.base_sequence < 0:
            return -1
        return (self.base_sequence + self.last_offset_delta) % 2**31

    @property
    def compression_type(self) -> str:
        return _CODEC_NAMES[self.codec]

    # --- the two forms -------------------------------------------------------------------------
    @property
    def record_tuples(self) -> tuple[tuple, ...]:
        """The records as stored, ``(offset_delta, timestamp, key, value, headers)`` plain
        tuples (decoding and decompressing the bytes once, if that is the form we have).
        A tuple, not a list: see the module docstring."""
        if self._rows is None:
            base = self.base_offset
            self._rows = tuple([(r.offset - base, r.timestamp, r.key, r.value, tuple(r.headers))
                                for r in DefaultRecordBatch(self._raw)])
        return self._rows

    @property
    def records(self) -> list[Record]:
        """The records as :class:`Record` namedtuples (a new list on every call)."""
        return list(map(Record._make, self.record_tuples))

    @property
    def raw(self) -> bytes:
        """The batch as Kafka v2 bytes (compressed with the batch's codec)."""
        if self._raw is None:
            self._raw = self._encode()
        return self._raw

    def _encode(self) -> bytes:
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=0, is_transactional=self.is_transactional,
            producer_id=self.producer_id, producer_epoch=self.producer_epoch,
            base_sequence=self.base_sequence, batch_size=2**31 - 1)
        base_timestamp = self.base_timestamp
        # the builder takes its first record's timestamp as the base, unless one is set before
        builder._first_timestamp = builder._max_timestamp = base_timestamp
        for offset_delta, timestamp, key, value, headers in self._rows:
            builder.append(offset_delta, timestamp, key, value, headers)
        buf = builder.build()
        if self.codec:
            # Compressed here rather than by the builder, deterministically (see _COMPRESSORS).
            # As kafka.record does, a batch the codec would not make smaller goes uncompressed.
            available, compress = _COMPRESSORS[self.codec]
            if not available():
                raise UnsupportedCodecError(
                    f"Libraries for {self.compression_type} compression codec not found")
            compressed = compress(bytes(buf[HEADER_SIZE:]))
            if len(compressed) < len(buf) - HEADER_SIZE:
                buf = buf[:HEADER_SIZE] + compressed
            else:
                self.codec = 0
        # The builder writes base offset 0 and leader epoch 0, and cannot express control
        # batches, LogAppendTime or a last offset delta past the last record (compaction).
        attributes = self._attributes()
        struct.pack_into(">qiibIhi", buf, 0, self.base_offset, len(buf) - 12,
                         self.partition_leader_epoch, 2, 0, attributes, self.last_offset_delta)
        struct.pack_into(">qq", buf, 27, base_timestamp, self.max_timestamp)
        struct.pack_into(">I", buf, 17, calc_crc32c(memoryview(buf)[21:]))
        return bytes(buf)

    def _attributes(self) -> int:
        attributes = self.codec
        attributes |= self.timestamp_type << 3
        if self.is_transactional:
            attributes |= 0x10
        if self.is_control:
            attributes |= 0x20
        if self.delete_horizon_ms >= 0:
            attributes |= 0x40
        return attributes

    @property
    def size_in_bytes(self) -> int:
        """Bytes this batch takes in the log (its v2 encoding, compressed if it is)."""
        if self._size is None:
            if self._raw is not None or self.codec:
                self._size = len(self.raw)
            else:
                first_ts = self.base_timestamp
                self._size = HEADER_SIZE + sum(
                    record_size(delta, timestamp - first_ts, key, value, headers)
                    for delta, timestamp, key, value, headers in self._rows)
        return self._size

    # --- changes the log makes on append ----------------------------------------------------
    def assign(self, base_offset: int, leader_epoch: int) -> None:
        """Set the base offset and leader epoch (done once, by the log that appends the batch)."""
        self.base_offset = base_offset
        self.partition_leader_epoch = leader_epoch
        if self._raw is not None:
            raw = bytearray(self._raw)
            struct.pack_into(">q", raw, 0, base_offset)
            struct.pack_into(">i", raw, 12, leader_epoch)
            self._raw = bytes(raw)

    def stamp_log_append_time(self, now_ms: int) -> None:
        """``message.timestamp.type=LogAppendTime``: every record takes the broker's time."""
        self._rows = tuple([(delta, now_ms, key, value, headers)
                            for delta, _, key, value, headers in self.record_tuples])
        self.timestamp_type = 1
        self.first_timestamp = self.max_timestamp = now_ms
        self._raw = None
        self._size = None

    def __repr__(self) -> str:
        return (f"RecordBatch(offsets {self.base_offset}..{self.last_offset}, "
                f"{self.record_count} records, {self.size_in_bytes} bytes, "
                f"codec={self.compression_type})")
