"""LogSegment: a run of consecutive batches of one partition, with its two indexes.

A partition log is a list of segments; only the last (active) one takes appends. A segment is
the unit of retention: old segments are deleted whole, never part of one.

Invariants: ``batches`` are in offset order and contiguous with ``base_offset``;
``size_bytes`` is the sum of the batches' sizes; indexes cover exactly ``batches``.
"""
from __future__ import annotations

from ..record import RecordBatch
from .index import OffsetIndex, TimeIndex


class LogSegment:
    def __init__(self, base_offset: int, created_ms: int):
        self.base_offset = base_offset
        self.created_ms = created_ms
        self.batches: list[RecordBatch] = []
        self.size_bytes = 0
        self.offset_index = OffsetIndex()
        self.time_index = TimeIndex()

    def append(self, batch: RecordBatch) -> None:
        position = len(self.batches)
        self.batches.append(batch)
        self.size_bytes += batch.size_in_bytes
        self.offset_index.append(batch.base_offset)
        self.time_index.maybe_append(batch.max_timestamp, position)

    @property
    def next_offset(self) -> int:
        return self.batches[-1].next_offset if self.batches else self.base_offset

    @property
    def largest_timestamp(self) -> int:
        """Kafka's ``segment.largestTimestamp``: retention by time looks at this."""
        return self.time_index.largest_timestamp

    @property
    def record_count(self) -> int:
        return sum(b.record_count for b in self.batches)

    def position_of(self, offset: int) -> int:
        return self.offset_index.position_of(offset)

    def truncate_from(self, position: int) -> None:
        """Drop batches[position:] (a replica truncating to its leader's log)."""
        for batch in self.batches[position:]:
            self.size_bytes -= batch.size_in_bytes
        del self.batches[position:]
        self.offset_index.truncate(position)
        self.time_index.truncate(position)

    def __repr__(self) -> str:
        return (f"LogSegment(base_offset={self.base_offset}, batches={len(self.batches)}, "
                f"size_bytes={self.size_bytes})")
