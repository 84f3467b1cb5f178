"""Sparse indexes of one segment, as in Kafka: offset -> batch position, time -> offset.

:class:`OffsetIndex` keeps every batch's base offset in a sorted list; the batch holding an
offset is found by bisection. :class:`TimeIndex` keeps an entry each time a batch raises the
segment's largest timestamp, so ``lookup(ts)`` finds the first batch that may hold a record with
timestamp >= ts.

Invariants: base offsets strictly increase; time-index timestamps strictly increase.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right


class OffsetIndex:
    def __init__(self):
        self.base_offsets: list[int] = []

    def append(self, base_offset: int) -> None:
        self.base_offsets.append(base_offset)

    def position_of(self, offset: int) -> int:
        """Position of the last batch whose base offset is <= offset (-1 if none)."""
        return bisect_right(self.base_offsets, offset) - 1

    def truncate(self, position: int) -> None:
        del self.base_offsets[position:]


class TimeIndex:
    def __init__(self):
        self.timestamps: list[int] = []
        self.positions: list[int] = []

    def maybe_append(self, max_timestamp: int, position: int) -> None:
        if not self.timestamps or max_timestamp > self.timestamps[-1]:
            self.timestamps.append(max_timestamp)
            self.positions.append(position)

    def first_position_at_or_after(self, timestamp: int) -> int | None:
        """Position of the first batch whose running max timestamp reaches ``timestamp``."""
        i = bisect_left(self.timestamps, timestamp)
        return self.positions[i] if i < len(self.positions) else None

    @property
    def largest_timestamp(self) -> int:
        return self.timestamps[-1] if self.timestamps else -1

    def truncate(self, position: int) -> None:
        keep = bisect_left(self.positions, position)
        del self.timestamps[keep:], self.positions[keep:]
