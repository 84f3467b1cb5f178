"""PartitionLog: one replica's log of one partition (Kafka's UnifiedLog).

The log keeps its batches in a :class:`~.protocol.LogStorage` backend (segments; the memory
backend by default) and adds what Kafka's ``UnifiedLog`` adds over its ``LocalLog``: when to
roll, what an append must satisfy, the idempotent producers' state, the leader-epoch cache and
three positions, in Kafka's words:

* ``log_start_offset`` — the first offset still kept (retention and DeleteRecords move it
  forward; the backend keeps it, as Kafka checkpoints it);
* ``log_end_offset`` (LEO) — the offset the next record will get;
* ``high_watermark`` — the first offset not yet replicated to every in-sync replica. Consumers
  read only below it. The partition's leader moves it; a log alone never does;
* ``last_stable_offset`` (LSO) — the first offset of a transaction not yet decided (or whose
  marker is not yet below the high watermark), else the high watermark: ``read_committed``
  consumers read only below it.

Invariants: ``log_start_offset <= last_stable_offset <= high_watermark <= log_end_offset``;
offsets of stored batches increase strictly across segments; a failed append leaves the log
unchanged; the log reaches its batches only through its backend.
"""
from __future__ import annotations

import random
from typing import Callable, Iterator, Sequence

from ..config import TopicConfig
from ..errors import (
    InvalidRecordError,
    InvalidTimestampError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
)
from ..record import RecordBatch
from ..record.control import marker_of
from ..timefmt import age_text, duration_text
from .backends import open_log_storage
from .index import OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES
from .leader_epoch import LeaderEpochCache
from .producer_state import BatchMetadata, ProducerStateManager
from .protocol import LogStorage, SegmentInfo

Emit = Callable[..., object]
#: read() without a byte limit
_ALL_BYTES = 2**63 - 1


def _no_emit(kind: str, text: str, **data) -> None:
    return None


class PartitionLog:
    """One replica's log; ``storage`` is its backend (default: a new ``memory://`` one);
    ``rng`` draws each segment's ``segment.jitter.ms`` (the cluster's seeded RNG; a log made on
    its own seeds one from its name)."""

    def __init__(self, topic: str, partition: int, config: TopicConfig,
                 now_ms: Callable[[], int], emit: Emit = _no_emit,
                 storage: LogStorage | None = None, rng: random.Random | None = None):
        self.topic = topic
        self.partition = partition
        self.config = config
        self._now_ms = now_ms
        self._emit = emit
        self._storage = storage if storage is not None else open_log_storage(
            "memory://", topic, partition, now_ms)
        self.high_watermark = self._storage.log_start_offset
        self._rng = rng if rng is not None else random.Random(self.name)
        #: the active segment's roll jitter, drawn when it takes its first batch
        self._roll_jitter_ms = 0
        self.producer_state = ProducerStateManager(self.name)
        self.epochs = LeaderEpochCache()
        #: told the new log end offset after every truncation (the log cleaner cuts its
        #: checkpoint back, as Kafka's LogManager.truncateTo tells its cleaner)
        self.truncation_listeners: list[Callable[[int], None]] = []
        #: called after every roll (a closed segment may now be cleanable: the log cleaner
        #: looks again)
        self.roll_listeners: list[Callable[[], None]] = []
        #: called when retention moved the log start offset (a leader's followers learn it
        #: from the answer to their next fetch)
        self.log_start_listeners: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"

    # --- positions -----------------------------------------------------------------------------
    @property
    def log_start_offset(self) -> int:
        return self._storage.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._storage.log_end_offset

    @property
    def last_stable_offset(self) -> int:
        """Kafka's LSO: the first offset not yet decided (committed or aborted, the marker below
        the high watermark); with no open transaction, the high watermark. ``read_committed``
        consumers read below it; the log cleaner never cleans past it."""
        hw = self.high_watermark
        first_unstable = self.producer_state.first_unstable_offset(hw)
        return hw if first_unstable is None or first_unstable > hw else first_unstable

    @property
    def size_bytes(self) -> int:
        return self._storage.size_bytes

    def segments(self) -> tuple[SegmentInfo, ...]:
        """The segments as they are now (snapshots), oldest first; the last is active."""
        return self._storage.segments()

    def batches(self) -> Iterator[RecordBatch]:
        """Every batch still kept, oldest first: from the one holding the log start offset
        (records of it below the log start offset are deleted, though still stored)."""
        return iter(self._storage.read(self.log_start_offset, _ALL_BYTES, self.log_end_offset))

    @property
    def record_count(self) -> int:
        """Records kept at offsets ``>= log_start_offset``."""
        start, count = self.log_start_offset, 0
        for batch in self.batches():
            if batch.base_offset >= start:
                count += batch.record_count
            else:  # straddles the log start offset (DeleteRecords): count what is kept
                count += sum(batch.base_offset + r[0] >= start for r in batch.record_tuples)
        return count

    # --- append --------------------------------------------------------------------------------
    def validate(self, batch: RecordBatch) -> None:
        """Refuse a batch the topic's configs do not allow; the log is not touched."""
        limit = self.config["max.message.bytes"]
        if batch.size_in_bytes > limit:
            raise RecordTooLargeError(
                f"The batch of {batch.record_count} record(s) for {self.name} is "
                f"{batch.size_in_bytes} bytes, larger than max.message.bytes={limit}; "
                f"raise max.message.bytes on the topic or send smaller records")
        if "compact" in self.config["cleanup.policy"] and not batch.is_control and \
                any(row[2] is None for row in batch.record_tuples):
            # Kafka's LogValidator.validateKey: INVALID_RECORD
            raise InvalidRecordError(
                f"Compacted topic cannot accept message without key in topic partition "
                f"{self.name}. (cleanup.policy="
                f"{','.join(self.config['cleanup.policy'])} keeps the last record per key: give "
                f"every record a key)")

    def append_as_leader(self, batch: RecordBatch, leader_epoch: int) -> int:
        """Assign offsets to ``batch`` and append it; returns its base offset."""
        self.validate(batch)
        if self.config["message.timestamp.type"] == "LogAppendTime":
            batch.stamp_log_append_time(self._now_ms())
        elif batch.max_timestamp < 0:
            raise InvalidTimestampError(
                f"Record timestamps must be >= 0 ms since the epoch, got {batch.max_timestamp}")
        if batch.is_control:
            self.producer_state.check_marker(marker_of(batch))
        batch.assign(self.log_end_offset, leader_epoch)
        self._append(batch)
        return batch.base_offset

    def append_as_follower(self, batch: RecordBatch) -> None:
        """Append a batch copied from the leader: offsets are kept as the leader gave them
        (``ValueError`` if it does not start at this log's end).

        An empty log whose start offset lies inside ``batch`` — the leader's log start offset
        fell in the middle of a batch (DeleteRecords) — starts again at the batch's base offset
        and takes it whole, as Kafka's follower does on UnexpectedAppendOffsetException; the
        next fetch moves its log start offset up to the leader's again."""
        end = self.log_end_offset
        if end == self.log_start_offset and batch.base_offset < end <= batch.last_offset:
            self.truncate_fully_and_start_at(batch.base_offset)
        self._append(batch)

    def duplicate_of(self, batch: RecordBatch) -> BatchMetadata | None:
        """For an idempotent producer's batch: the already-stored batch it repeats, or None if
        it is new. Raises OutOfOrderSequenceNumberError / InvalidProducerEpochError."""
        if batch.producer_id < 0 or batch.base_sequence < 0:
            return None
        return self.producer_state.check(batch.producer_id, batch.producer_epoch,
                                         batch.base_sequence, batch.last_sequence)

    def _append(self, batch: RecordBatch) -> None:
        self._maybe_roll(batch)
        self._storage.append(batch, self.config["index.interval.bytes"])
        self.epochs.assign(batch.partition_leader_epoch, batch.base_offset)
        if batch.producer_id >= 0:
            self._track_producer(batch)

    def _track_producer(self, batch: RecordBatch) -> None:
        """The producer state a batch of a producer with an id changes: its sequences, the
        transaction it opens, or the one a marker closes."""
        state = self.producer_state
        if batch.is_control:
            state.complete_transaction(marker_of(batch), batch.base_offset)
            return
        if batch.base_sequence >= 0:
            state.record(batch.producer_id, batch.producer_epoch, batch.base_sequence,
                         batch.last_sequence, batch.base_offset, batch.last_offset)
        if batch.is_transactional:
            state.begin_transactional(batch.producer_id, batch.producer_epoch,
                                      batch.base_offset)

    def _maybe_roll(self, batch: RecordBatch) -> None:
        """Roll before appending ``batch`` if the active segment should not take it (Kafka's
        ``UnifiedLog.maybeRoll``). An empty segment always takes it. The segment that takes
        ``batch`` as its first draws its jitter."""
        active = self._storage.active_segment()
        if not active.empty:
            why = self._roll_reason(active, batch)
            if why is None:
                return
            self.roll(why)
        self._roll_jitter_ms = self._draw_roll_jitter()

    def _draw_roll_jitter(self) -> int:
        """Kafka's ``LogConfig.randomSegmentJitter``: 0, or a draw in [0, min(segment.jitter.ms,
        segment.ms))."""
        jitter_ms = self.config["segment.jitter.ms"]
        return self._rng.randrange(min(jitter_ms, self.config["segment.ms"])) if jitter_ms else 0

    def _max_segment_ms(self) -> tuple[int, str]:
        """Kafka's ``LogConfig.maxSegmentMs`` and the config it comes from: ``segment.ms``, or
        a smaller ``max.compaction.lag.ms`` on a compacted topic (so the cleaner can reach the
        records in time)."""
        segment_ms = self.config["segment.ms"]
        if "compact" in self.config["cleanup.policy"]:
            lag_ms = self.config["max.compaction.lag.ms"]
            if 0 < lag_ms < segment_ms:
                return lag_ms, "max.compaction.lag.ms"
        return segment_ms, "segment.ms"

    def _roll_reason(self, active: SegmentInfo, batch: RecordBatch) -> str | None:
        """Why the (non-empty) active segment must not take ``batch``, or None (Kafka's
        ``LogSegment.shouldRoll``): it would pass ``segment.bytes``; ``batch`` is more than
        ``segment.ms`` (less this segment's jitter) newer than its first batch — or, without
        timestamps, the segment is that old; or one of its indexes is full."""
        segment_bytes, incoming = self.config["segment.bytes"], batch.size_in_bytes
        if active.size_bytes > segment_bytes - incoming:
            return (f"{active.size_bytes} + {incoming} bytes would exceed "
                    f"segment.bytes={segment_bytes}")
        max_ms, name = self._max_segment_ms()
        jitter_ms = self._roll_jitter_ms
        by_timestamps = active.first_batch_timestamp >= 0
        waited = (batch.max_timestamp - active.first_batch_timestamp if by_timestamps
                  else self._now_ms() - active.created_ms)
        if waited > max_ms - jitter_ms:
            waited_text = (f"this batch is {duration_text(waited)} newer than the segment's "
                           f"first batch" if by_timestamps
                           else f"the segment is {age_text(waited)}")
            jitter_text = (f" less this segment's random jitter of {duration_text(jitter_ms)} "
                           f"(segment.jitter.ms={self.config['segment.jitter.ms']})"
                           if jitter_ms else "")
            return (f"{waited_text}, more than {name}={max_ms} ({duration_text(max_ms)})"
                    f"{jitter_text}")
        index_bytes = self.config["segment.index.bytes"]
        for entries, entry_bytes, index in (
                (active.offset_index_entries, OFFSET_ENTRY_BYTES, "offset"),
                (active.time_index_entries, TIME_ENTRY_BYTES, "time")):
            if entries >= index_bytes // entry_bytes:
                return (f"its {index} index is full: {entries} entries of {entry_bytes} bytes "
                        f"fill segment.index.bytes={index_bytes}")
        return None

    def roll(self, why: str = "asked to") -> SegmentInfo:
        """Close the active segment and open a new one at the log end offset."""
        new = self._storage.roll()
        self._emit("segment.rolled", f"{self.name} rolled a new segment at offset "
                   f"{new.base_offset}: {why}", topic=self.topic, partition=self.partition,
                   base_offset=new.base_offset)
        for listener in self.roll_listeners:
            listener()
        return new

    # --- read ----------------------------------------------------------------------------------
    def check_offset(self, offset: int) -> None:
        start, end = self.log_start_offset, self.log_end_offset
        if not start <= offset <= end:
            holds = (f"the log holds offsets {start}..{end - 1}" if end > start
                     else "the log holds no records")
            raise OffsetOutOfRangeError(
                f"Offset {offset} is out of range for {self.name}: {holds} (log start offset "
                f"{start}, log end offset {end}); valid fetch offsets are {start}..{end}")

    def read(self, offset: int, max_bytes: int, upper_offset: int | None = None
             ) -> list[RecordBatch]:
        """Whole batches from the one holding ``offset``, below ``upper_offset`` (default: the
        high watermark), at most ``max_bytes`` in all except that the first batch is always
        returned whole (Kafka's rule, so a large batch can never block a consumer)."""
        self.check_offset(offset)
        upper = self.high_watermark if upper_offset is None else upper_offset
        return self._storage.read(offset, max_bytes, upper)

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ``timestamp_ms`` below the
        high watermark, or None (Kafka's ListOffsets by time)."""
        found = self._storage.find_offset_by_timestamp(timestamp_ms, self.log_start_offset)
        return found if found is not None and found[0] < self.high_watermark else None

    # --- removal -------------------------------------------------------------------------------
    def maybe_increment_log_start_offset(self, offset: int) -> bool:
        """Kafka's ``maybeIncrementLogStartOffset``: move the log start offset forward to
        ``offset`` (DeleteRecords on a leader, a follower following its leader, retention);
        True if it moved. Never past the high watermark (OffsetOutOfRangeError); the records
        below it can no longer be read, and their segments go at the next retention check.
        Leader epochs that started below it now start at it."""
        if offset > self.high_watermark:
            raise OffsetOutOfRangeError(
                f"Cannot move the log start offset of {self.name} to {offset}: it is beyond the "
                f"high watermark {self.high_watermark}; records from {self.high_watermark} on "
                f"are not committed yet. Allowed: {self.log_start_offset}..{self.high_watermark}"
                f" (-1 means the high watermark)")
        if offset <= self.log_start_offset:
            return False
        self._storage.advance_log_start_offset(offset)
        self.epochs.truncate_from_start(offset)
        self.producer_state.forget_aborted_below(offset)
        return True

    def delete_oldest_segments(self, count: int, why: str) -> int:
        """Delete the ``count`` oldest segments (retention); returns records removed.

        As Kafka's ``deletableSegments``: a segment goes only if everything up to where the next
        one starts (the log end offset, for the last) is below the high watermark, and an empty
        last segment never goes. If the active segment goes too, a fresh one is rolled first.
        """
        segments = self._storage.segments()
        count = min(count, len(segments) - (1 if segments[-1].empty else 0))
        ends = [s.base_offset for s in segments[1:]] + [self.log_end_offset]
        while count and ends[count - 1] > self.high_watermark:
            count -= 1
        if not count:
            return 0
        if count == len(segments):
            self.roll("retention deletes every segment")
        old_start = self.log_start_offset
        doomed = self._storage.delete_oldest_segments(count)
        self.epochs.truncate_from_start(self.log_start_offset)
        self.producer_state.forget_aborted_below(self.log_start_offset)
        removed = sum(s.record_count for s in doomed)
        start = self.log_start_offset
        moved = f"{old_start} -> {start}" if start != old_start else f"stays {start}"
        self._emit("retention.deleted",
                   f"{self.name} deleted {count} segment(s) with {removed} record(s): {why}; "
                   f"log start offset {moved}",
                   topic=self.topic, partition=self.partition, segments=count, records=removed,
                   log_start_offset=self.log_start_offset)
        if start != old_start:
            for listener in self.log_start_listeners:
                listener()
        return removed

    def truncate_to(self, offset: int) -> None:
        """Remove every record at or after ``offset`` (a follower truncating to its leader).

        As Kafka's ``LogSegment.truncateTo``, a batch holding ``offset`` goes whole, so the log
        may end below ``offset`` but never above it. The leader-epoch cache and the idempotent
        producers' state are cut back to what the remaining log holds."""
        if offset >= self.log_end_offset:
            return
        if offset < self.log_start_offset:
            self.truncate_fully_and_start_at(offset)
            return
        self._storage.truncate_to(offset)
        self.high_watermark = min(self.high_watermark, self.log_end_offset)
        self.epochs.truncate_from_end(self.log_end_offset)
        self._forget_producer_batches_from(self.log_end_offset)
        for listener in self.truncation_listeners:
            listener(self.log_end_offset)

    def _forget_producer_batches_from(self, end: int) -> None:
        """Rebuild the state of producers that had batches at or after ``end`` from the batches
        still in the log (Kafka reloads producer state on truncation): a retry of a removed
        batch must be appended again, not answered as a duplicate at an offset it lost. The
        transactions (open, decided, aborted) are rebuilt from the log whenever any reached
        ``end``."""
        state = self.producer_state
        stale = {pid for pid, entry in state.producers.items()
                 if any(b.last_offset >= end for b in entry.batches)
                 or (entry.txn_first_offset is not None and entry.txn_first_offset >= end)}
        rebuild_txns = stale or any(t[1] >= end for t in state.unreplicated) or \
            any(t.last_offset >= end for t in state.aborted)
        if not stale and not rebuild_txns:
            return
        for pid in stale:
            del state.producers[pid]
        if rebuild_txns:
            state.ongoing.clear()
            state.unreplicated.clear()
            state.aborted.clear()
            for entry in state.producers.values():
                entry.txn_first_offset = None
        for batch in self.batches():
            if batch.producer_id < 0:
                continue
            if batch.producer_id in stale and batch.base_sequence >= 0 and \
                    not batch.is_control:
                state.record(batch.producer_id, batch.producer_epoch, batch.base_sequence,
                             batch.last_sequence, batch.base_offset, batch.last_offset)
            if rebuild_txns and batch.is_control:
                state.complete_transaction(marker_of(batch), batch.base_offset)
            elif rebuild_txns and batch.is_transactional:
                state.begin_transactional(batch.producer_id, batch.producer_epoch,
                                          batch.base_offset)
        state.forget_aborted_below(self.log_start_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every record and start again, empty, at ``offset`` (Kafka's
        ``truncateFullyAndStartAt``: a follower whose leader deleted what it needs next)."""
        self._storage.truncate_fully_and_start_at(offset)
        self.high_watermark = offset
        self.epochs = LeaderEpochCache()
        self.producer_state = ProducerStateManager(self.name)
        for listener in self.truncation_listeners:
            listener(offset)

    def replace_segments(self, old_base_offsets: Sequence[int],
                         new_segments: Sequence[tuple[int, Sequence[RecordBatch]]]) -> None:
        """Swap a run of consecutive closed segments for their cleaned copies, each
        ``(base_offset, batches)`` (the log cleaner; see :meth:`LogStorage.replace_segments`).
        Offsets are kept, so the log may have gaps; positions do not move."""
        self._storage.replace_segments(old_base_offsets, new_segments)

    def __repr__(self) -> str:
        return (f"PartitionLog({self.name}: log_start_offset={self.log_start_offset}, "
                f"high_watermark={self.high_watermark}, log_end_offset={self.log_end_offset}, "
                f"segments={len(self.segments())})")
