"""The memory backend (``memory://``): a log's segments as Python lists, in the kernel's memory.

:class:`MemoryLogStorage` implements :class:`~.protocol.LogStorage` with a list of
:class:`~.segment.LogSegment`, each holding its batches and its offset and time indexes. It
is Kafka's ``LocalLog``/``LogSegments`` without files: nothing survives the kernel, which is
what a notebook's lab cluster wants.

Invariants: those of :class:`~.protocol.LogStorage` — at least one segment, the last takes
appends; base offsets strictly increase; ``segments[0].base_offset <= log_start_offset <=
log_end_offset``. A refused call (``ValueError``) changes nothing.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..record import RecordBatch
from .protocol import SegmentInfo
from .segment import DEFAULT_INDEX_INTERVAL_BYTES, LogSegment


class MemoryLogStorage:
    """One replica's segments, in memory; ``now_ms`` stamps when segments are rolled and
    first appended to."""

    def __init__(self, name: str, now_ms: Callable[[], int]):
        self.name = name
        self._now_ms = now_ms
        self._segments: list[LogSegment] = [LogSegment(0, now_ms())]
        self._log_start_offset = 0

    # --- positions -----------------------------------------------------------------------------
    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return sum(s.size_bytes for s in self._segments)

    def segments(self) -> tuple[SegmentInfo, ...]:
        return tuple(s.info() for s in self._segments)

    def active_segment(self) -> SegmentInfo:
        return self._segments[-1].info()

    # --- append --------------------------------------------------------------------------------
    def append(self, batch: RecordBatch,
               index_interval_bytes: int = DEFAULT_INDEX_INTERVAL_BYTES) -> None:
        active = self._segments[-1]
        if batch.base_offset < active.next_offset:  # a gap is fine: compaction leaves them
            raise ValueError(f"{self.name}: a batch at offset {batch.base_offset} does not "
                             f"continue the log, which ends at offset {active.next_offset}")
        if not active.batches:
            active.created_ms = self._now_ms()  # its age counts from its first batch
        active.append(batch, index_interval_bytes)

    def roll(self) -> SegmentInfo:
        segment = LogSegment(self.log_end_offset, self._now_ms())
        self._segments.append(segment)
        return segment.info()

    # --- read ----------------------------------------------------------------------------------
    def _first_segment_for(self, offset: int) -> int:
        """Index of the segment holding ``offset`` (the last whose base offset is <= it)."""
        segments = self._segments
        for i in range(len(segments) - 1, -1, -1):
            if segments[i].base_offset <= offset:
                return i
        return 0

    def read(self, offset: int, max_bytes: int, upper_offset: int) -> list[RecordBatch]:
        out: list[RecordBatch] = []
        total = 0
        segments = self._segments
        for i in range(self._first_segment_for(offset), len(segments)):
            segment = segments[i]
            for batch in segment.batches[max(segment.position_of(offset), 0):]:
                if batch.base_offset >= upper_offset:
                    return out
                if batch.last_offset < offset:
                    continue
                total += batch.size_in_bytes
                if out and total > max_bytes:
                    return out
                out.append(batch)
        return out

    def find_offset_by_timestamp(self, timestamp_ms: int, start_offset: int
                                 ) -> tuple[int, int] | None:
        for segment in self._segments:
            if segment.next_offset <= start_offset:
                continue
            position = segment.position_for_timestamp(timestamp_ms)
            if position is None:
                continue
            for batch in segment.batches[position:]:
                if batch.last_offset < start_offset or batch.max_timestamp < timestamp_ms:
                    continue
                for delta, timestamp, *_ in batch.record_tuples:
                    offset = batch.base_offset + delta
                    if timestamp >= timestamp_ms and offset >= start_offset:
                        return offset, timestamp
        return None

    # --- removal -------------------------------------------------------------------------------
    def truncate_to(self, offset: int) -> None:
        if offset < self._log_start_offset:
            raise ValueError(f"{self.name}: cannot truncate to offset {offset} below the log "
                             f"start offset {self._log_start_offset}; truncate fully instead")
        segments = self._segments
        while len(segments) > 1 and segments[-1].base_offset >= offset:
            segments.pop()
        active = segments[-1]
        position = active.position_of(offset)
        if position >= 0 and active.batches[position].last_offset < offset:
            position += 1  # that batch ends before ``offset``: it stays
        active.truncate_from(max(position, 0))

    def truncate_fully_and_start_at(self, offset: int) -> None:
        self._segments = [LogSegment(offset, self._now_ms())]
        self._log_start_offset = offset

    def advance_log_start_offset(self, offset: int) -> None:
        if offset > self.log_end_offset:
            raise ValueError(f"{self.name}: the log start offset cannot pass the log end "
                             f"offset {self.log_end_offset} (asked for {offset})")
        self._log_start_offset = max(self._log_start_offset, offset)

    def delete_oldest_segments(self, count: int) -> tuple[SegmentInfo, ...]:
        if not 0 <= count < len(self._segments):
            raise ValueError(f"{self.name}: can delete 0..{len(self._segments) - 1} of its "
                             f"{len(self._segments)} segment(s) (never the active one), not "
                             f"{count}")
        doomed, self._segments = self._segments[:count], self._segments[count:]
        self._log_start_offset = max(self._log_start_offset, self._segments[0].base_offset)
        return tuple(s.info() for s in doomed)

    def replace_segments(self, old_base_offsets: Sequence[int],
                         new_segments: Sequence[tuple[int, Sequence[RecordBatch]]]) -> None:
        bases = [s.base_offset for s in self._segments]
        first = bases.index(old_base_offsets[0]) if old_base_offsets and \
            old_base_offsets[0] in bases else -1
        end = first + len(old_base_offsets)
        if first < 0 or bases[first:end] != list(old_base_offsets) or end >= len(bases):
            raise ValueError(f"{self.name}: segments {list(old_base_offsets)} are not a run of "
                             f"consecutive closed segments; its segments start at {bases} "
                             f"(the last is active)")
        old = self._segments[first:end]
        start, stop = old[0].base_offset, self._segments[end].base_offset
        replacement = [LogSegment.of(base, old[0].created_ms, batches,
                                     old[0].index_interval_bytes)
                       for base, batches in new_segments]
        self._check_replacement(replacement, start, stop)
        self._segments[first:end] = replacement

    def _check_replacement(self, replacement: list[LogSegment], start: int, stop: int) -> None:
        if not replacement or replacement[0].base_offset != start:
            raise ValueError(f"{self.name}: the new segments must start at offset {start}, "
                             f"where the old ones did")
        position = start
        for segment in replacement:
            if segment.base_offset < position:
                raise ValueError(f"{self.name}: new segment at {segment.base_offset} overlaps "
                                 f"the one before it (which ends at {position})")
            for batch in segment.batches:
                if batch.base_offset < max(position, segment.base_offset):
                    raise ValueError(f"{self.name}: batch at {batch.base_offset} is out of "
                                     f"order in the new segment at {segment.base_offset}")
                position = batch.next_offset
            position = max(position, segment.base_offset)
        if position > stop:
            raise ValueError(f"{self.name}: the new segments reach offset {position}, past the "
                             f"replaced range {start}..{stop - 1}")

    def __repr__(self) -> str:
        return (f"MemoryLogStorage({self.name}: {len(self._segments)} segment(s), "
                f"log_start_offset={self._log_start_offset}, "
                f"log_end_offset={self.log_end_offset})")
