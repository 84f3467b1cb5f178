"""PartitionLog: one replica's log of one partition (Kafka's UnifiedLog/LocalLog, in memory).

The log is a list of :class:`LogSegment`; the last is active and takes appends. It knows three
positions, in Kafka's words:

* ``log_start_offset`` — the first offset still kept (retention moves it forward);
* ``log_end_offset`` (LEO) — the offset the next record will get;
* ``high_watermark`` — the first offset not yet replicated to every in-sync replica. Consumers
  read only below it. The partition's leader moves it; a log alone never does.

Invariants: ``log_start_offset <= high_watermark <= log_end_offset``; offsets of stored batches
increase strictly across segments; a failed append leaves the log unchanged.
"""
from __future__ import annotations

from typing import Callable

from ..config import TopicConfig
from ..errors import InvalidTimestampError, OffsetOutOfRangeError, RecordTooLargeError
from ..record import RecordBatch
from ..timefmt import age_text, duration_text
from .leader_epoch import LeaderEpochCache
from .producer_state import BatchMetadata, ProducerStateManager
from .segment import LogSegment

Emit = Callable[..., object]


def _no_emit(kind: str, text: str, **data) -> None:
    return None


class PartitionLog:
    def __init__(self, topic: str, partition: int, config: TopicConfig,
                 now_ms: Callable[[], int], emit: Emit = _no_emit):
        self.topic = topic
        self.partition = partition
        self.config = config
        self._now_ms = now_ms
        self._emit = emit
        self.segments: list[LogSegment] = [LogSegment(0, now_ms())]
        self.log_start_offset = 0
        self.high_watermark = 0
        self.producer_state = ProducerStateManager(self.name)
        self.epochs = LeaderEpochCache()

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"

    # --- positions -----------------------------------------------------------------------------
    @property
    def active_segment(self) -> LogSegment:
        return self.segments[-1]

    @property
    def log_end_offset(self) -> int:
        return self.segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return sum(s.size_bytes for s in self.segments)

    def batches(self):
        """Every stored batch, oldest first."""
        for segment in self.segments:
            yield from segment.batches

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
        """Append a batch copied from the leader: offsets are kept as the leader gave them."""
        if batch.base_offset != self.log_end_offset:
            raise ValueError(f"follower of {self.name} expected offset {self.log_end_offset}, "
                             f"got a batch at {batch.base_offset}")
        self._append(batch)

    def duplicate_of(self, batch: RecordBatch) -> BatchMetadata | None:
        """For an idempotent producer's batch: the already-stored batch it repeats, or None if
        it is new. Raises OutOfOrderSequenceNumberError / InvalidProducerEpochError."""
        if batch.producer_id < 0 or batch.base_sequence < 0:
            return None
        return self.producer_state.check(batch.producer_id, batch.producer_epoch,
                                         batch.base_sequence, batch.last_sequence)

    def _append(self, batch: RecordBatch) -> None:
        self.epochs.assign(batch.partition_leader_epoch, batch.base_offset)
        self._maybe_roll(batch.size_in_bytes)
        self.active_segment.append(batch)
        if batch.producer_id >= 0 and batch.base_sequence >= 0:
            self.producer_state.record(batch.producer_id, batch.producer_epoch,
                                       batch.base_sequence, batch.last_sequence,
                                       batch.base_offset, batch.last_offset)

    def _maybe_roll(self, incoming_bytes: int) -> None:
        active = self.active_segment
        if not active.batches:
            active.created_ms = self._now_ms()
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

    def roll(self, why: str = "asked to") -> LogSegment:
        """Close the active segment and open a new one at the log end offset."""
        new = LogSegment(self.log_end_offset, self._now_ms())
        self.segments.append(new)
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
        out: list[RecordBatch] = []
        total = 0
        for segment in self._segments_from(offset):
            position = max(segment.position_of(offset), 0)
            for batch in segment.batches[position:]:
                if batch.base_offset >= upper or batch.last_offset < offset:
                    if batch.base_offset >= upper:
                        return out
                    continue
                total += batch.size_in_bytes
                if out and total > max_bytes:
                    return out
                out.append(batch)
        return out

    def _segments_from(self, offset: int) -> list[LogSegment]:
        for i in range(len(self.segments) - 1, -1, -1):
            if self.segments[i].base_offset <= offset:
                return self.segments[i:]
        return self.segments

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ``timestamp_ms`` below the
        high watermark, or None (Kafka's ListOffsets by time)."""
        for segment in self.segments:
            position = segment.time_index.first_position_at_or_after(timestamp_ms)
            if position is None:
                continue
            for batch in segment.batches[position:]:
                if batch.base_offset >= self.high_watermark:
                    return None
                for record in batch.records:
                    offset = batch.base_offset + record.offset_delta
                    if record.timestamp >= timestamp_ms and offset >= self.log_start_offset:
                        return offset, record.timestamp
        return None

    # --- removal -------------------------------------------------------------------------------
    def delete_oldest_segments(self, count: int, why: str) -> int:
        """Delete the ``count`` oldest segments (retention); returns records removed.

        Only segments wholly below the high watermark go; if that includes the active segment a
        fresh one is rolled first, as Kafka does.
        """
        count = min(count, len(self.segments))
        while count and self.segments[count - 1].next_offset > self.high_watermark:
            count -= 1
        if not count:
            return 0
        if count == len(self.segments):
            self.roll("retention deletes every segment")
        doomed, self.segments = self.segments[:count], self.segments[count:]
        removed = sum(s.record_count for s in doomed)
        old_start = self.log_start_offset
        self.log_start_offset = max(self.log_start_offset, self.segments[0].base_offset)
        self._emit("retention.deleted",
                   f"{self.name} deleted {count} segment(s) with {removed} record(s): {why}; "
                   f"log start offset {old_start} -> {self.log_start_offset}",
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
        while len(self.segments) > 1 and self.segments[-1].base_offset >= offset:
            self.segments.pop()
        active = self.active_segment
        position = active.position_of(offset)
        if position >= 0 and active.batches[position].last_offset < offset:
            position += 1  # that batch ends before ``offset``: it stays
        active.truncate_from(max(position, 0))
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
        self.segments = [LogSegment(offset, self._now_ms())]
        self.log_start_offset = self.high_watermark = offset
        self.epochs = LeaderEpochCache()
        self.producer_state = ProducerStateManager(self.name)

    def __repr__(self) -> str:
        return (f"PartitionLog({self.name}: log_start_offset={self.log_start_offset}, "
                f"high_watermark={self.high_watermark}, log_end_offset={self.log_end_offset}, "
                f"segments={len(self.segments)})")
