"""The storage protocol: what a log backend keeps for one replica of one partition.

Kafka splits a log in layers: ``UnifiedLog`` (positions, validation, producer state, leader
epochs — :class:`~.log.PartitionLog` here) over ``LocalLog``/``LogSegments`` (the segments and
what is stored in them). :class:`LogStorage` is that lower layer as a protocol, so the memory
backend (:mod:`.memory`) and a disk backend later are interchangeable; :mod:`.backends` picks
one by the scheme of a storage URL (``memory://``).

A backend stores whole batches in segments and knows only offsets, sizes and timestamps: it
never decides when to roll, what to delete or whether an append is allowed — its caller does.
Everything it hands out about its segments is a :class:`SegmentInfo` snapshot; nobody outside
a backend reaches a segment's batches or indexes.

Invariants every backend keeps: there is always at least one segment, and the last one (the
active segment) takes appends; segment base offsets increase strictly and each segment's
batches are in offset order; ``log_start_offset`` lies between the first segment's base offset
and ``log_end_offset``.
"""
from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence

from ..record import RecordBatch


class SegmentInfo(NamedTuple):
    """One segment as it is at the moment it was listed (a snapshot, not a handle; a named
    tuple, made on every append's roll check).

    ``next_offset`` is the offset after its last batch (``base_offset`` while empty);
    ``largest_timestamp`` is -1 while empty; ``created_ms`` is when it was rolled, or — once it
    holds batches — when its first batch was appended. ``first_batch_timestamp`` is the first
    batch's max timestamp (-1 while empty): ``segment.ms`` counts from there, as Kafka's
    ``rollingBasedTimestamp``. ``offset_index_entries`` / ``time_index_entries``: entries in its
    sparse indexes (``segment.index.bytes`` bounds them)."""

    base_offset: int
    next_offset: int
    batch_count: int
    record_count: int
    size_bytes: int
    created_ms: int
    largest_timestamp: int
    first_batch_timestamp: int = -1
    offset_index_entries: int = 0
    time_index_entries: int = 0

    @property
    def empty(self) -> bool:
        return self.batch_count == 0


class LogStorage(Protocol):
    """The segments of one replica's log. Offsets are assigned by the caller; a backend checks
    only that they continue its log — at or after its end: a follower copying a compacted
    leader's log appends across its gaps (``ValueError`` otherwise, with the numbers)."""

    @property
    def log_start_offset(self) -> int:
        """The first offset still kept (Kafka checkpoints it with the log)."""

    @property
    def log_end_offset(self) -> int:
        """The offset after the last stored batch."""

    @property
    def size_bytes(self) -> int:
        """Bytes of every stored batch."""

    def segments(self) -> tuple[SegmentInfo, ...]:
        """Every segment, oldest first; the last is the active one."""

    def active_segment(self) -> SegmentInfo:
        """The segment appends go to (``segments()[-1]``, without listing the others)."""

    def append(self, batch: RecordBatch, index_interval_bytes: int = 4096) -> None:
        """Add ``batch`` (its offsets assigned, starting at or after ``log_end_offset``) to
        the active segment, indexing it if more than ``index_interval_bytes`` (the topic's
        ``index.interval.bytes``) were appended since the segment's last index entry."""

    def roll(self) -> SegmentInfo:
        """Close the active segment and open an empty one at ``log_end_offset``."""

    def read(self, offset: int, max_bytes: int, upper_offset: int) -> list[RecordBatch]:
        """Whole batches from the one holding ``offset`` on, each starting below
        ``upper_offset``, at most ``max_bytes`` in all except that the first batch always comes
        whole (an offset between two batches starts at the next one)."""

    def find_offset_by_timestamp(self, timestamp_ms: int, start_offset: int
                                 ) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after ``start_offset`` whose timestamp
        is ``>= timestamp_ms`` (the time indexes find where to look), or None."""

    def truncate_to(self, offset: int) -> None:
        """Remove every batch holding an offset ``>= offset`` (a batch holding ``offset`` goes
        whole, so the log may end below ``offset``); segments that start at or after
        ``offset`` go, except the first. ``offset`` is at least ``log_start_offset``."""

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Remove everything and start again, empty, with one segment at ``offset``; the log
        start offset becomes ``offset``."""

    def advance_log_start_offset(self, offset: int) -> None:
        """Move the log start offset forward to ``offset`` (never back; at most
        ``log_end_offset``). Batches below it stay until their segment is deleted."""

    def delete_oldest_segments(self, count: int) -> tuple[SegmentInfo, ...]:
        """Delete the ``count`` oldest segments, never the active one; the log start offset
        moves up to the new first segment's base offset if it was below. Returns what went."""

    def replace_segments(self, old_base_offsets: Sequence[int],
                         new_segments: Sequence[tuple[int, Sequence[RecordBatch]]]) -> None:
        """Swap a run of consecutive closed segments (named by their base offsets) for new
        ones, each ``(base_offset, batches)`` — what the log cleaner does with a compacted run.
        The new segments cover the same offset range: the first starts at the first old base
        offset, their batches lie inside the old segments' offsets and in order."""
