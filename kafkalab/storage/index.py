"""The two sparse indexes of one segment, as Kafka keeps them (``OffsetIndex``, ``TimeIndex``).

Kafka does not index every batch: a segment adds an entry to both indexes only once more than
``index.interval.bytes`` were appended since its last entry (:meth:`.segment.LogSegment.append`
applies that rule). Each index has room for ``segment.index.bytes`` of entries — 8 bytes an
offset-index entry, 12 bytes a time-index entry — and the log rolls a segment whose index is
full (:meth:`.log.PartitionLog._maybe_roll`). A position here is a batch's place in its
segment (Kafka: its byte position in the segment file).

* :class:`OffsetIndex` maps the last offset of an indexed batch to that batch's position:
  ``lookup(offset)`` gives where to start scanning for the batch that holds ``offset``.
* :class:`TimeIndex` maps the segment's largest timestamp so far, at each index point, to the
  offset of the batch that holds it: ``lookup(ts)`` gives an offset from which on the first
  record with a timestamp ``>= ts`` is found.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right

#: bytes of one entry in Kafka's index files
OFFSET_ENTRY_BYTES = 8
TIME_ENTRY_BYTES = 12


class OffsetIndex:
    """Offset -> position entries of one segment.

    Invariants: ``offsets`` and ``positions`` have one element per entry and both increase
    strictly."""

    def __init__(self):
        self.offsets: list[int] = []
        self.positions: list[int] = []

    @property
    def entries(self) -> int:
        return len(self.offsets)

    def append(self, offset: int, position: int) -> None:
        self.offsets.append(offset)
        self.positions.append(position)

    def lookup(self, offset: int) -> int:
        """Position of the last entry whose offset is ``<= offset`` (0 if none): no batch before
        it can hold ``offset``."""
        i = bisect_right(self.offsets, offset) - 1
        return self.positions[i] if i >= 0 else 0

    def truncate_to_position(self, position: int) -> None:
        """Drop the entries of batches at ``position`` and after."""
        keep = bisect_left(self.positions, position)
        del self.offsets[keep:], self.positions[keep:]


class TimeIndex:
    """Timestamp -> offset entries of one segment; an entry is added only when the segment's
    largest timestamp grew since the last one (Kafka's ``TimeIndex.maybeAppend``).

    Invariants: ``timestamps`` and ``offsets`` have one element per entry; timestamps and
    offsets increase strictly."""

    def __init__(self):
        self.timestamps: list[int] = []
        self.offsets: list[int] = []

    @property
    def entries(self) -> int:
        return len(self.timestamps)

    def maybe_append(self, timestamp: int, offset: int) -> None:
        if not self.timestamps or timestamp > self.timestamps[-1]:
            self.timestamps.append(timestamp)
            self.offsets.append(offset)

    def lookup(self, timestamp: int) -> int | None:
        """Offset of the last entry whose timestamp is ``< timestamp`` (None if none): every
        record before that entry's batch is older than ``timestamp``."""
        i = bisect_left(self.timestamps, timestamp) - 1
        return self.offsets[i] if i >= 0 else None

    def truncate_to_offset(self, offset: int) -> None:
        """Drop the entries pointing at ``offset`` and after."""
        keep = bisect_left(self.offsets, offset)
        del self.timestamps[keep:], self.offsets[keep:]
