"""RecordBatch: Kafka's v2 batch as decoded records and/or wire bytes (DESIGN §2.1).

The bytes are checked with kafka-python's own reader (an independent decoder): a batch kafkalab
writes must be one a real Kafka client can read, CRC included.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import codec as kafka_codec
from kafka.record.default_records import DefaultRecordBatch

from kafkalab.errors import UnsupportedCodecError
from kafkalab.record import CODECS, Record, RecordBatch
from kafkalab.record.batch import HEADER_SIZE

HAS_CODEC = {"gzip": kafka_codec.has_gzip(), "snappy": kafka_codec.has_snappy(),
             "lz4": kafka_codec.has_lz4(), "zstd": kafka_codec.has_zstd()}
AVAILABLE = [None] + [name for name, ok in HAS_CODEC.items() if ok]


def codec_param(name):
    marks = [] if name is None or HAS_CODEC[name] else [
        pytest.mark.skip(reason=f"the {name} library is not installed")]
    return pytest.param(name, marks=marks, id=str(name))


ALL_CODECS = [codec_param(c) for c in (None, "gzip", "snappy", "lz4", "zstd")]

T0 = 1_767_225_600_000


def orders(n: int, size: int = 40) -> list[Record]:
    return [Record(i, T0 + i, b"user_%d" % (i % 3), b'{"order_id": "%d", "pad": "%s"}'
                   % (i, b"x" * size), [("source", b"web")] if i % 2 else [])
            for i in range(n)]


def fields(batch: RecordBatch) -> dict:
    return {name: getattr(batch, name) for name in (
        "base_offset", "partition_leader_epoch", "producer_id", "producer_epoch",
        "base_sequence", "is_transactional", "is_control", "codec", "timestamp_type",
        "last_offset_delta", "first_timestamp", "max_timestamp", "record_count")}


def as_tuples(records) -> list[tuple]:
    return [(r.offset_delta, r.timestamp, r.key, r.value, [tuple(h) for h in r.headers])
            for r in records]


@pytest.mark.parametrize("compression", ALL_CODECS)
def test_encode_decode_roundtrip_keeps_every_field(compression):
    batch = RecordBatch(orders(20), compression_type=compression, producer_id=4711,
                        producer_epoch=3, base_sequence=100, is_transactional=True)
    batch.assign(base_offset=1234, leader_epoch=7)
    raw = batch.raw
    again = RecordBatch.from_bytes(raw)
    assert fields(again) == fields(batch)
    assert again.compression_type == (compression or "none")
    assert as_tuples(again.records) == as_tuples(orders(20))
    assert again.size_in_bytes == len(raw) == batch.size_in_bytes
    assert again.raw == raw  # the wire form is kept as received


@pytest.mark.parametrize("compression", ALL_CODECS)
def test_kafka_python_reads_what_kafkalab_writes(compression):
    batch = RecordBatch(orders(10), compression_type=compression, producer_id=9,
                        producer_epoch=1, base_sequence=0)
    batch.assign(base_offset=500, leader_epoch=2)
    reader = DefaultRecordBatch(batch.raw)
    assert reader.validate_crc()
    assert reader.base_offset == 500
    assert reader.producer_id == 9 and reader.producer_epoch == 1 and reader.base_sequence == 0
    assert reader.compression_type == CODECS[compression]
    records = list(reader)
    assert [r.offset for r in records] == list(range(500, 510))
    assert [(r.timestamp, r.key, r.value, r.headers) for r in records] == \
           [(r.timestamp, r.key, r.value, r.headers) for r in orders(10)]


def test_compression_shrinks_a_repetitive_batch():
    plain = RecordBatch(orders(50, size=500))
    packed = RecordBatch(orders(50, size=500), compression_type="gzip")
    assert packed.codec == 1
    assert packed.size_in_bytes < plain.size_in_bytes / 5
    assert as_tuples(RecordBatch.from_bytes(packed.raw).records) == as_tuples(orders(50, 500))


@pytest.mark.parametrize("compression", ALL_CODECS)
def test_encoding_does_not_depend_on_the_wall_clock(compression, monkeypatch):
    """Same batch, same bytes, whenever it is encoded (DESIGN §2.3; gzip headers carry a time)."""
    import time

    first = RecordBatch(orders(20), compression_type=compression).raw
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    assert RecordBatch(orders(20), compression_type=compression).raw == first


def test_a_batch_the_codec_cannot_shrink_is_stored_uncompressed():
    import os

    noise = [Record(0, T0, None, os.urandom(200), [])]
    batch = RecordBatch(noise, compression_type="gzip")
    assert batch.size_in_bytes == RecordBatch(noise).size_in_bytes
    assert batch.compression_type == "none"
    assert DefaultRecordBatch(batch.raw).compression_type == 0


def test_uncompressed_size_is_known_without_encoding_and_matches_the_encoding():
    batch = RecordBatch(orders(7))
    size = batch.size_in_bytes
    assert batch._raw is None  # the size did not need the bytes (DESIGN §2.1)
    assert size == len(batch.raw)


def test_assign_moves_an_encoded_batch_without_breaking_its_crc():
    batch = RecordBatch.from_bytes(RecordBatch(orders(3), compression_type="gzip").raw)
    batch.assign(base_offset=42, leader_epoch=5)
    reader = DefaultRecordBatch(batch.raw)
    assert reader.validate_crc()
    assert reader.base_offset == 42 and batch.partition_leader_epoch == 5
    assert [r.offset for r in reader] == [42, 43, 44]
    assert [r.offset_delta for r in batch.records] == [0, 1, 2]


def test_from_bytes_decodes_records_only_when_asked():
    raw = RecordBatch(orders(5)).raw
    batch = RecordBatch.from_bytes(raw)
    assert batch._rows is None
    assert batch.record_count == 5 and batch.last_offset == 4 and batch.next_offset == 5
    assert batch.max_timestamp == T0 + 4
    assert batch._rows is None
    assert len(batch.records) == 5


def test_control_batch_and_log_append_time_survive_the_roundtrip():
    batch = RecordBatch([Record(0, T0, b"\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00", [])],
                        producer_id=1, producer_epoch=0, is_transactional=True,
                        is_control=True)
    batch.assign(10, 0)
    again = RecordBatch.from_bytes(batch.raw)
    assert again.is_control and again.is_transactional
    assert DefaultRecordBatch(batch.raw).is_control_batch

    stamped = RecordBatch(orders(3))
    stamped.stamp_log_append_time(T0 + 999)
    assert stamped.timestamp_type == 1
    decoded = RecordBatch.from_bytes(stamped.raw)
    assert decoded.timestamp_type == 1
    assert [r.timestamp for r in decoded.records] == [T0 + 999] * 3
    assert decoded.max_timestamp == T0 + 999


def test_a_batch_needs_records_and_a_known_codec():
    with pytest.raises(ValueError, match="at least one record"):
        RecordBatch([])
    with pytest.raises(UnsupportedCodecError, match="'brotli'.*allowed are"):
        RecordBatch(orders(1), compression_type="brotli")


def test_header_size_is_kafkas_61_bytes():
    assert HEADER_SIZE == 61


# --- property: any batch survives the roundtrip ------------------------------------------------

maybe_bytes = st.one_of(st.none(), st.binary(max_size=64))
headers = st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=16))),
                   max_size=3)


@st.composite
def record_lists(draw):
    n = draw(st.integers(1, 30))
    first = draw(st.integers(0, 2**41))
    # offset deltas increase (compaction can leave gaps); timestamps may go back and forth
    gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    deltas, d = [], -1
    for g in gaps:
        d += g
        deltas.append(d)
    out = []
    for delta in deltas:
        ts = first + draw(st.integers(-10_000, 10_000))
        out.append(Record(delta, max(ts, 0), draw(maybe_bytes), draw(maybe_bytes),
                          draw(headers)))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=record_lists(), compression=st.sampled_from(AVAILABLE),
       base_offset=st.integers(0, 2**40), epoch=st.integers(-1, 1000),
       producer_id=st.integers(-1, 2**40), transactional=st.booleans())
def test_property_roundtrip(records, compression, base_offset, epoch, producer_id,
                            transactional):
    batch = RecordBatch(records, compression_type=compression, producer_id=producer_id,
                        producer_epoch=0 if producer_id >= 0 else -1,
                        base_sequence=0 if producer_id >= 0 else -1,
                        is_transactional=transactional)
    batch.assign(base_offset, epoch)
    if compression is None:
        assert batch.size_in_bytes == len(batch.raw)
    again = RecordBatch.from_bytes(batch.raw)
    assert fields(again) == fields(batch)
    assert as_tuples(again.records) == as_tuples(records)
    reader = DefaultRecordBatch(batch.raw)
    assert reader.validate_crc()
    assert [r.offset for r in reader] == [base_offset + r.offset_delta for r in records]
