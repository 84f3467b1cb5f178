"""Cleaner: one cleaning pass over one compacted log (Kafka's ``Cleaner.doClean``).

1. **Map** the dirty section: key -> last offset (:class:`~.offset_map.OffsetMap`), from the
   first dirty offset until the first uncleanable offset — or until the map is full, and then
   this pass cleans only up to where the map got.
2. **Group** the segments from the log start to the end of the mapped section into runs whose
   total size fits ``segment.bytes`` (Kafka's ``groupSegmentsBySize``), so repeated cleans do
   not leave ever smaller segments.
3. **Recopy** each run into one new segment keeping, per batch (Kafka's
   ``MemoryRecords.filterTo`` with the cleaner's ``RecordFilter``): a record past the mapped
   section; else a keyed record whose offset is its key's last mapped one or later (keys absent
   from the map are kept) — a tombstone (null value) only while its batch's delete horizon has
   not passed. Keyless records go. A batch keeps its base offset, last offset delta, producer
   id, epoch and sequence, so offsets are preserved and gaps appear. A batch left with no
   records is dropped, except the last batch of an active idempotent producer (its sequence
   numbers must survive) and the batch that ends the cleaning round (so the round's last offset
   survives). A batch that first keeps a tombstone is stamped with a delete horizon, now +
   ``delete.retention.ms`` (KIP-534); a later pass after the horizon removes its tombstones.
   Transactions (Kafka's ``CleanedTransactionMetadata``): the records of an aborted
   transaction are never mapped and go whole; a COMMIT or ABORT marker stays while any batch of
   its transaction is still kept before it, then is stamped with a delete horizon like a
   tombstone and goes once that has passed (so a consumer that read the transaction's records
   still finds its marker).
4. **Swap** the new segments in through the storage protocol (``replace_segments``).

Invariants: no offset changes; the last record of every key mapped in this pass survives
unless it is a tombstone past its horizon; nothing at or past the end of the mapped section is
removed; a batch's records stay in its (possibly emptied) batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Callable

from ..record import RecordBatch
from .cleaner_manager import CleanerState, LONG_MAX, segments_overlapping
from .index import OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES
from .log import PartitionLog
from .offset_map import OffsetMap
from .protocol import SegmentInfo

_ALL_BYTES = 2**63 - 1
_value_of = itemgetter(3)
#: Kafka's groupSegmentsBySize keeps a group's offsets within an int's range from its base
_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class CleanerStats:
    """What one cleaning pass did (Kafka's ``CleanerStats``): records and bytes read and
    written while recopying, records and bytes read while mapping, the offsets it cleaned, and
    how long it took on the cluster's clock (0 s in simulated time, where a pass takes no
    time; the benchmark times the pass itself)."""

    topic: str
    partition: int
    first_dirty_offset: int
    end_offset: int
    records_read: int
    bytes_read: int
    records_written: int
    bytes_written: int
    map_records_read: int
    map_bytes_read: int
    buffer_utilization: float
    map_full: bool
    elapsed_secs: float

    @property
    def records_removed(self) -> int:
        return self.records_read - self.records_written


def _unmapped(log: PartitionLog, batch: RecordBatch) -> bool:
    """A batch whose keys the offset map must not take: a marker, or an aborted
    transaction's records (they were never visible)."""
    return batch.is_control or (batch.is_transactional and
                                log.producer_state.is_aborted(batch.producer_id,
                                                              batch.base_offset))


def group_segments_by_size(segments: list[SegmentInfo], max_bytes: int, max_index_bytes: int,
                           first_uncleanable: int) -> list[list[SegmentInfo]]:
    """Kafka's ``groupSegmentsBySize``: consecutive segments go into one group — one new
    segment — while their total size stays within ``max_bytes`` (``segment.bytes``) and their
    offset and time indexes within ``max_index_bytes`` (``segment.index.bytes``)."""
    groups: list[list[SegmentInfo]] = []
    i = 0
    while i < len(segments):
        first = segments[i]
        group = [first]
        size = first.size_bytes
        offset_index = OFFSET_ENTRY_BYTES * first.offset_index_entries
        time_index = TIME_ENTRY_BYTES * first.time_index_entries
        i += 1
        while i < len(segments):
            s = segments[i]
            last_offset = (segments[i + 1].base_offset - 1 if i + 1 < len(segments)
                           else first_uncleanable - 1)
            if (size + s.size_bytes > max_bytes or
                    offset_index + OFFSET_ENTRY_BYTES * s.offset_index_entries >
                    max_index_bytes or
                    time_index + TIME_ENTRY_BYTES * s.time_index_entries > max_index_bytes
                    or (s.size_bytes and last_offset - group[-1].base_offset > _INT_MAX)):
                break
            group.append(s)
            size += s.size_bytes
            offset_index += OFFSET_ENTRY_BYTES * s.offset_index_entries
            time_index += TIME_ENTRY_BYTES * s.time_index_entries
            i += 1
        groups.append(group)
    return groups


class Cleaner:
    """Cleans one log at a time with an offset map of ``dedupe_buffer_bytes`` (Kafka gives
    each cleaner thread ``log.cleaner.dedupe.buffer.size`` / ``log.cleaner.threads``), filled
    at most to ``load_factor``; ``now_ms`` is the cluster's clock.

    Invariants: the buffer holds at least one key (refused otherwise); a pass keeps the module's
    invariants and changes the log only through ``replace_segments``."""

    def __init__(self, dedupe_buffer_bytes: int, load_factor: float,
                 now_ms: Callable[[], int]):
        self.dedupe_buffer_bytes = dedupe_buffer_bytes
        self.load_factor = load_factor
        self._now_ms = now_ms
        OffsetMap(dedupe_buffer_bytes, load_factor)  # refuse a buffer too small for one key

    def clean(self, log: PartitionLog, state: CleanerState) -> CleanerStats:
        """One pass over ``log``'s dirty section as ``state`` describes it."""
        started = self._now_ms()
        offsets = OffsetMap(self.dedupe_buffer_bytes, self.load_factor)
        first_dirty, upper = state.first_dirty_offset, state.first_uncleanable_offset
        map_records = map_bytes = 0
        full = False
        if first_dirty < upper:
            for batch in log.read(first_dirty, _ALL_BYTES, upper):
                if _unmapped(log, batch):
                    offsets.cover_to(batch.last_offset)
                    continue
                if not offsets.put_batch(batch, first_dirty):
                    full = True
                    break
                map_records += batch.record_count
                map_bytes += batch.size_in_bytes
            if not full:
                offsets.cover_to(upper - 1)
        else:  # nothing dirty (a clean asked for directly): the clean section is recopied
            offsets.cover_to(first_dirty - 1)  # (dropping only tombstones past their horizon)
        end_offset = offsets.latest_offset + 1
        recopy = _Recopier(offsets.offsets, offsets.latest_offset, upper, self._now_ms(),
                           log.config["delete.retention.ms"], _last_offsets_of_producers(log),
                           lambda batch: _unmapped(log, batch) and not batch.is_control)
        segments = log.segments()
        to_clean = [s for s in segments_overlapping(segments, 0, end_offset)
                    if s is not segments[-1]]
        if to_clean:
            batches = log.read(log.log_start_offset, _ALL_BYTES,
                               segments[len(to_clean)].base_offset)
            next_base = {s.base_offset: after.base_offset
                         for s, after in zip(segments, segments[1:])}
            position = 0
            for group in group_segments_by_size(to_clean, log.config["segment.bytes"],
                                                log.config["segment.index.bytes"], upper):
                stop = next_base[group[-1].base_offset]
                kept: list[RecordBatch] = []
                while position < len(batches) and batches[position].base_offset < stop:
                    retained = recopy(batches[position])
                    if retained is not None:
                        kept.append(retained)
                    position += 1
                log.replace_segments([s.base_offset for s in group],
                                     [(group[0].base_offset, kept)])
        return CleanerStats(log.topic, log.partition, first_dirty, end_offset,
                            recopy.records_read, recopy.bytes_read, recopy.records_written,
                            recopy.bytes_written, map_records, map_bytes, offsets.utilization,
                            full, (self._now_ms() - started) / 1000)


def _last_offsets_of_producers(log: PartitionLog) -> dict[int, int]:
    """Producer id -> last offset of its last batch, for the idempotent producers the log
    still tracks (Kafka's ``lastRecordsOfActiveProducers``)."""
    return {pid: entry.batches[-1].last_offset
            for pid, entry in log.producer_state.producers.items() if entry.batches}


class _Recopier:
    """The per-batch filter of one pass (Kafka's ``RecordFilter`` with ``filterTo``):
    ``__call__(batch)`` returns the batch to keep (the same one if nothing changes, a
    retained copy, or an empty one) or None to drop it.

    Invariants: ``records_read``/``bytes_read`` count every batch it was given,
    ``records_written``/``bytes_written`` every batch it returned."""

    def __init__(self, offsets: dict, latest_offset: int, upper: int, now_ms: int,
                 delete_retention_ms: int, last_of_producer: dict[int, int],
                 aborted: Callable[[RecordBatch], bool]):
        self.offsets = offsets
        self.aborted = aborted
        #: producers with a batch kept since their last marker in this pass
        self.txn_kept: set[int] = set()
        self.latest_offset = latest_offset
        self.upper = upper
        self.now_ms = now_ms
        self.new_horizon = min(now_ms + delete_retention_ms, LONG_MAX)
        self.last_of_producer = last_of_producer
        self.records_read = self.bytes_read = self.records_written = self.bytes_written = 0

    def __call__(self, batch: RecordBatch) -> RecordBatch | None:
        rows = batch.record_tuples
        self.records_read += len(rows)
        self.bytes_read += batch.size_in_bytes
        if batch.is_control:
            out = self._marker(batch)
            if out is not None:
                self.records_written += len(rows)
                self.bytes_written += out.size_in_bytes
            return out
        base = batch.base_offset
        if self.aborted(batch):
            rows = ()  # an aborted transaction's records go whole
        horizon = batch.delete_horizon_ms
        keep_tombstones = horizon < 0 or self.now_ms < horizon
        get = self.offsets.get
        if not rows:
            kept = []
        elif batch.last_offset <= self.latest_offset:
            if keep_tombstones:
                kept = [r for r in rows if r[2] is not None and get(r[2], -1) <= base + r[0]]
            else:
                kept = [r for r in rows if r[3] is not None and r[2] is not None
                        and get(r[2], -1) <= base + r[0]]
        else:  # the map filled inside this batch: what lies past it stays
            latest = self.latest_offset
            kept = [r for r in rows if base + r[0] > latest or (
                r[2] is not None and get(r[2], -1) <= base + r[0]
                and (keep_tombstones or r[3] is not None))]
        if kept:
            stamp = horizon < 0 and None in map(_value_of, kept)
            if len(kept) == len(rows) and not stamp:
                out = batch
            else:
                out = RecordBatch.retained(batch, tuple(kept),
                                           self.new_horizon if stamp else horizon)
        elif (batch.producer_id >= 0 and
              self.last_of_producer.get(batch.producer_id) == batch.last_offset) or \
                batch.next_offset == self.upper:
            out = RecordBatch.retained(batch, (), -1)
        else:
            return None
        if kept and batch.is_transactional:
            self.txn_kept.add(batch.producer_id)
        self.records_written += len(kept)
        self.bytes_written += out.size_in_bytes
        return out

    def _marker(self, batch: RecordBatch) -> RecordBatch | None:
        """A COMMIT/ABORT marker stays while its transaction has a batch kept before it; then
        until the delete horizon it is stamped with passes."""
        if batch.producer_id in self.txn_kept:
            self.txn_kept.discard(batch.producer_id)
            return batch
        horizon = batch.delete_horizon_ms
        if horizon < 0:
            return RecordBatch.retained(batch, batch.record_tuples, self.new_horizon)
        return batch if self.now_ms < horizon else None
