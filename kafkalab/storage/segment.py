"""LogSegment: a run of consecutive batches of one partition, with its two indexes.

The memory backend (:mod:`.memory`) keeps a log as a list of segments; only the last (active)
one takes appends. A segment is the unit of retention: old segments are deleted whole, never
part of one. Only the backend holds segments; everyone else sees :meth:`LogSegment.info`.

Invariants: ``batches`` are in offset order and at or after ``base_offset``; ``size_bytes`` and
``record_count`` are the sums of the batches' sizes and record counts; indexes cover exactly
``batches``.
"""
from __future__ import annotations

from typing import Iterable

from ..record import RecordBatch
from .index import OffsetIndex, TimeIndex
from .protocol import SegmentInfo


class LogSegment:
    def __init__(self, base_offset: int, created_ms: int):
        self.base_offset = base_offset
        self.created_ms = created_ms
        self.batches: list[RecordBatch] = []
        self.size_bytes = 0
        self.record_count = 0
        self.offset_index = OffsetIndex()
        self.time_index = TimeIndex()

    @classmethod
    def of(cls, base_offset: int, created_ms: int, batches: Iterable[RecordBatch]
           ) -> "LogSegment":
        """A segment holding ``batches`` (e.g. a cleaned copy of old segments)."""
        segment = cls(base_offset, created_ms)
        for batch in batches:
            segment.append(batch)
        return segment

    def append(self, batch: RecordBatch) -> None:
        position = len(self.batches)
        self.batches.append(batch)
        self.size_bytes += batch.size_in_bytes
        self.record_count += batch.record_count
        self.offset_index.append(batch.base_offset)
        self.time_index.maybe_append(batch.max_timestamp, position)

    @property
    def next_offset(self) -> int:
        return self.batches[-1].next_offset if self.batches else self.base_offset

    @property
    def largest_timestamp(self) -> int:
        """Kafka's ``segment.largestTimestamp``: retention by time looks at this."""
        return self.time_index.largest_timestamp

    def info(self) -> SegmentInfo:
        return SegmentInfo(self.base_offset, self.next_offset, len(self.batches),
                           self.record_count, self.size_bytes, self.created_ms,
                           self.largest_timestamp)

    def position_of(self, offset: int) -> int:
        return self.offset_index.position_of(offset)

    def truncate_from(self, position: int) -> None:
        """Drop batches[position:] (a replica truncating to its leader's log)."""
        for batch in self.batches[position:]:
            self.size_bytes -= batch.size_in_bytes
            self.record_count -= batch.record_count
        del self.batches[position:]
        self.offset_index.truncate(position)
        self.time_index.truncate(position)

    def __repr__(self) -> str:
        return (f"LogSegment(base_offset={self.base_offset}, batches={len(self.batches)}, "
                f"size_bytes={self.size_bytes})")
