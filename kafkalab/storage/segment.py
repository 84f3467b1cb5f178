"""LogSegment: a run of consecutive batches of one partition, with its two indexes (Kafka's
``LogSegment``).

The memory backend (:mod:`.memory`) keeps a log as a list of segments; only the last (active)
one takes appends. A segment is the unit of retention: old segments are deleted whole, never
part of one. Only the backend holds segments; everyone else sees :meth:`LogSegment.info`.
"""
from __future__ import annotations

from typing import Iterable

from ..record import RecordBatch
from .index import OffsetIndex, TimeIndex
from .protocol import SegmentInfo

#: Kafka's default ``index.interval.bytes``
DEFAULT_INDEX_INTERVAL_BYTES = 4096


class LogSegment:
    """One segment's batches and indexes, kept as Kafka's ``LogSegment.append`` keeps them.

    Invariants: ``batches`` are in offset order and at or after ``base_offset``; ``size_bytes``
    and ``record_count`` are the sums of the batches' sizes and record counts;
    ``max_timestamp`` is the largest batch max timestamp (-1 while empty) and
    ``offset_of_max_timestamp`` the last offset of the first batch holding it;
    ``first_batch_timestamp`` is the first batch's max timestamp (Kafka's
    ``rollingBasedTimestamp``, -1 while empty); both indexes point only at batches it holds,
    and an entry was added each time more than ``index.interval.bytes`` had been appended since
    the last one (``bytes_since_last_index_entry`` counts them).
    """

    def __init__(self, base_offset: int, created_ms: int):
        self.base_offset = base_offset
        self.created_ms = created_ms
        self.batches: list[RecordBatch] = []
        self.size_bytes = 0
        self.record_count = 0
        self.first_batch_timestamp = -1
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self.bytes_since_last_index_entry = 0
        #: the interval of the last append: a cleaned copy of this segment is indexed alike
        self.index_interval_bytes = DEFAULT_INDEX_INTERVAL_BYTES
        self.offset_index = OffsetIndex()
        self.time_index = TimeIndex()

    @classmethod
    def of(cls, base_offset: int, created_ms: int, batches: Iterable[RecordBatch],
           index_interval_bytes: int) -> "LogSegment":
        """A segment holding ``batches`` (e.g. a cleaned copy of old segments)."""
        segment = cls(base_offset, created_ms)
        segment.index_interval_bytes = index_interval_bytes
        for batch in batches:
            segment.append(batch, index_interval_bytes)
        return segment

    def append(self, batch: RecordBatch, index_interval_bytes: int) -> None:
        """Add ``batch``; index it if more than ``index_interval_bytes`` were appended since
        the last index entry (Kafka's rule: the first batch is never indexed)."""
        position = len(self.batches)
        self.batches.append(batch)
        size, max_timestamp = batch.size_in_bytes, batch.max_timestamp
        if not position:
            self.first_batch_timestamp = max_timestamp
        self.size_bytes += size
        self.record_count += batch.record_count
        if max_timestamp > self.max_timestamp:
            self.max_timestamp, self.offset_of_max_timestamp = max_timestamp, batch.last_offset
        self.index_interval_bytes = index_interval_bytes
        if self.bytes_since_last_index_entry > index_interval_bytes:
            self.offset_index.append(batch.last_offset, position)
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
            self.bytes_since_last_index_entry = 0
        self.bytes_since_last_index_entry += size

    @property
    def next_offset(self) -> int:
        return self.batches[-1].next_offset if self.batches else self.base_offset

    def info(self) -> SegmentInfo:
        return SegmentInfo(self.base_offset, self.next_offset, len(self.batches),
                           self.record_count, self.size_bytes, self.created_ms,
                           self.max_timestamp, self.first_batch_timestamp,
                           self.offset_index.entries, self.time_index.entries)

    def position_of(self, offset: int) -> int:
        """Position of the last batch whose base offset is <= ``offset`` (-1 if none): the
        offset index says where to start, a short scan finds the batch (Kafka's
        ``translateOffset``)."""
        batches = self.batches
        if not batches or batches[0].base_offset > offset:
            return -1
        position, last = self.offset_index.lookup(offset), len(batches) - 1
        while position < last and batches[position + 1].base_offset <= offset:
            position += 1
        return position

    def position_for_timestamp(self, timestamp_ms: int) -> int | None:
        """Position of a batch from which on the first record with a timestamp
        ``>= timestamp_ms`` is found by scanning; None if this segment holds none."""
        if self.max_timestamp < timestamp_ms:
            return None
        offset = self.time_index.lookup(timestamp_ms)
        return 0 if offset is None else self.position_of(offset)

    def truncate_from(self, position: int) -> None:
        """Drop batches[position:] (a replica truncating to its leader's log), with their index
        entries, as Kafka's ``LogSegment.truncateTo``."""
        removed = self.batches[position:]
        if not removed:
            return
        for batch in removed:
            self.size_bytes -= batch.size_in_bytes
            self.record_count -= batch.record_count
        del self.batches[position:]
        self.offset_index.truncate_to_position(position)
        self.time_index.truncate_to_offset(removed[0].base_offset)
        self.bytes_since_last_index_entry = 0
        self.first_batch_timestamp = self.batches[0].max_timestamp if self.batches else -1
        self.max_timestamp, self.offset_of_max_timestamp = -1, -1
        for batch in self.batches:
            if batch.max_timestamp > self.max_timestamp:
                self.max_timestamp, self.offset_of_max_timestamp = \
                    batch.max_timestamp, batch.last_offset

    def __repr__(self) -> str:
        return (f"LogSegment(base_offset={self.base_offset}, batches={len(self.batches)}, "
                f"size_bytes={self.size_bytes})")
