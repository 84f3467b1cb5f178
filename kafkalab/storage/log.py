"""PartitionLog: one replica's log of one partition (Kafka's UnifiedLog).

The log keeps its batches in a :class:`~.protocol.LogStorage` backend (segments; the memory
backend by default) and adds what Kafka's ``UnifiedLog`` adds over its ``LocalLog``: when to
roll, what an append must satisfy, the idempotent producers' state, the leader-epoch cache and
three positions, in Kafka's words:

* ``log_start_offset`` — the first offset still kept (retention and DeleteRecords move it
  forward; the backend keeps it, as Kafka checkpoints it);
* ``log_end_offset`` (LEO) — the offset the next record will get;
* ``high_watermark`` — the first offset not yet replicated to every in-sync replica. Consumers
  read only below it. The partition's leader moves it; a log alone never does.

Invariants: ``log_start_offset <= high_watermark <= log_end_offset``; offsets of stored batches
increase strictly across segments; a failed append leaves the log unchanged; the log reaches
its batches only through its backend.
"""
from __future__ import annotations

from typing import Callable, Iterator

from ..config import TopicConfig
from ..errors import InvalidTimestampError, OffsetOutOfRangeError, RecordTooLargeError
from ..record import RecordBatch
from ..timefmt import age_text, duration_text
from .backends import open_log_storage
from .leader_epoch import LeaderEpochCache
from .producer_state import BatchMetadata, ProducerStateManager
from .protocol import LogStorage, SegmentInfo

Emit = Callable[..., object]
#: read() without a byte limit
_ALL_BYTES = 2**63 - 1


def _no_emit(kind: str, text: str, **data) -> None:
    return None


class PartitionLog:
    """One replica's log; ``storage`` is its backend (default: a new ``memory://`` one)."""

    def __init__(self, topic: str, partition: int, config: TopicConfig,
                 now_ms: Callable[[], int], emit: Emit = _no_emit,
                 storage: LogStorage | None = None):
        self.topic = topic
        self.partition = partition
        self.config = config
        self._now_ms = now_ms
        self._emit = emit
        self._storage = storage if storage is not None else open_log_storage(
            "memory://", topic, partition, now_ms)
        self.high_watermark = self._storage.log_start_offset
        self.producer_state = ProducerStateManager(self.name)
        self.epochs = LeaderEpochCache()

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

    def append_as_leader(self, batch: RecordBatch, leader_epoch: int) -> int:
        """Assign offsets to ``batch`` and append it; returns its base offset."""
        self.validate(batch)
        if self.config["message.timestamp.type"] == "LogAppendTime":
            batch.stamp_log_append_time(self._now_ms())
        elif batch.max_timestamp < 0:
            raise InvalidTimestampError(
                f"Record timestamps must be >= 0 ms since the epoch, got {batch.max_timestamp}")
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
        self._maybe_roll(batch.size_in_bytes)
        self._storage.append(batch)
        self.epochs.assign(batch.partition_leader_epoch, batch.base_offset)
        if batch.producer_id >= 0 and batch.base_sequence >= 0:
            self.producer_state.record(batch.producer_id, batch.producer_epoch,
                                       batch.base_sequence, batch.last_sequence,
                                       batch.base_offset, batch.last_offset)

    def _maybe_roll(self, incoming_bytes: int) -> None:
        active = self._storage.active_segment()
        if active.empty:
            return
        segment_bytes, segment_ms = self.config["segment.bytes"], self.config["segment.ms"]
        age_ms = self._now_ms() - active.created_ms
        if active.size_bytes + incoming_bytes > segment_bytes:
            why = (f"{active.size_bytes} + {incoming_bytes} bytes would exceed "
                   f"segment.bytes={segment_bytes}")
        elif age_ms >= segment_ms:
            why = (f"it is {age_text(age_ms)} >= segment.ms={segment_ms} "
                   f"({duration_text(segment_ms)})")
        else:
            return
        self.roll(why)

    def roll(self, why: str = "asked to") -> SegmentInfo:
        """Close the active segment and open a new one at the log end offset."""
        new = self._storage.roll()
        self._emit("segment.rolled", f"{self.name} rolled a new segment at offset "
                   f"{new.base_offset}: {why}", topic=self.topic, partition=self.partition,
                   base_offset=new.base_offset)
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
        return True

    def delete_oldest_segments(self, count: int, why: str) -> int:
        """Delete the ``count`` oldest segments (retention); returns records removed.

        Only segments wholly below the high watermark go; if that includes the active segment a
        fresh one is rolled first, as Kafka does.
        """
        segments = self._storage.segments()
        count = min(count, len(segments))
        while count and segments[count - 1].next_offset > self.high_watermark:
            count -= 1
        if not count:
            return 0
        if count == len(segments):
            self.roll("retention deletes every segment")
        old_start = self.log_start_offset
        doomed = self._storage.delete_oldest_segments(count)
        self.epochs.truncate_from_start(self.log_start_offset)
        removed = sum(s.record_count for s in doomed)
        start = self.log_start_offset
        moved = f"{old_start} -> {start}" if start != old_start else f"stays {start}"
        self._emit("retention.deleted",
                   f"{self.name} deleted {count} segment(s) with {removed} record(s): {why}; "
                   f"log start offset {moved}",
                   topic=self.topic, partition=self.partition, segments=count, records=removed,
                   log_start_offset=self.log_start_offset)
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

    def _forget_producer_batches_from(self, end: int) -> None:
        """Rebuild the state of producers that had batches at or after ``end`` from the batches
        still in the log (Kafka reloads producer state on truncation): a retry of a removed
        batch must be appended again, not answered as a duplicate at an offset it lost."""
        state = self.producer_state
        stale = {pid for pid, entry in state.producers.items()
                 if any(b.last_offset >= end for b in entry.batches)}
        if not stale:
            return
        for pid in stale:
            del state.producers[pid]
        for batch in self.batches():
            if batch.producer_id in stale and batch.base_sequence >= 0:
                state.record(batch.producer_id, batch.producer_epoch, batch.base_sequence,
                             batch.last_sequence, batch.base_offset, batch.last_offset)

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every record and start again, empty, at ``offset`` (Kafka's
        ``truncateFullyAndStartAt``: a follower whose leader deleted what it needs next)."""
        self._storage.truncate_fully_and_start_at(offset)
        self.high_watermark = offset
        self.epochs = LeaderEpochCache()
        self.producer_state = ProducerStateManager(self.name)

    def __repr__(self) -> str:
        return (f"PartitionLog({self.name}: log_start_offset={self.log_start_offset}, "
                f"high_watermark={self.high_watermark}, log_end_offset={self.log_end_offset}, "
                f"segments={len(self.segments())})")
