"""OffsetMap: the log cleaner's key -> last offset map over a log's dirty section (Kafka's
``SkimpyOffsetMap``).

Kafka keeps it in a fixed buffer, ``log.cleaner.dedupe.buffer.size`` bytes shared by the
cleaner threads, 24 bytes a slot (a 16-byte key hash and an 8-byte offset), filled at most to
``log.cleaner.io.buffer.load.factor``. Here a dict holds the keys themselves, with the same
capacity rule, so a dirty section with more distinct keys than fit is cleaned in several passes
exactly when Kafka's would be.

Invariants: ``len(self) <= max_entries``; every mapped offset is ``<= latest_offset``; a key's
mapped offset is the last offset it was put at; records without a key are never mapped.
"""
from __future__ import annotations

from operator import itemgetter

from ..record import RecordBatch

#: Kafka's SkimpyOffsetMap: a 16-byte MD5 of the key and an 8-byte offset per slot
BYTES_PER_ENTRY = 24

_key_of = itemgetter(2)
_delta_of = itemgetter(0)


class OffsetMap:
    """Key -> last offset for up to ``max_entries`` keys (``memory_bytes`` / 24 slots, times
    ``load_factor``); invariants in the module docstring."""

    def __init__(self, memory_bytes: int, load_factor: float):
        self.slots = memory_bytes // BYTES_PER_ENTRY
        self.max_entries = int(self.slots * load_factor)
        if self.max_entries < 1:
            raise ValueError(
                f"the log cleaner's offset map is too small to hold even one key: "
                f"log.cleaner.dedupe.buffer.size={memory_bytes} bytes gives {self.slots} slot(s) "
                f"of {BYTES_PER_ENTRY} bytes, x log.cleaner.io.buffer.load.factor={load_factor};"
                f" raise the buffer size or lower log.cleaner.threads")
        self.offsets: dict[bytes, int] = {}
        #: the last offset the map covers (Kafka's ``latestOffset``), -1 while empty
        self.latest_offset = -1

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def utilization(self) -> float:
        """Share of the slots in use (Kafka's ``max-buffer-utilization-percent`` / 100)."""
        return len(self.offsets) / self.slots

    def put_batch(self, batch: RecordBatch, start_offset: int) -> bool:
        """Map the keyed records of ``batch`` at or after ``start_offset``; False when the map
        filled up first (the records from the first unmapped one on stay unmapped, and
        ``latest_offset`` is the last record mapped), True otherwise (``latest_offset`` moves
        to the batch's last offset, as Kafka's ``buildOffsetMapForSegment``)."""
        offsets = self.offsets
        rows = batch.record_tuples
        base = batch.base_offset
        if base >= start_offset and len(offsets) + len(rows) <= self.max_entries:
            # every record fits whatever its key: one C-level update
            if batch.last_offset_delta + 1 == len(rows):  # no gaps: offsets base..base+n-1
                offsets.update(zip(map(_key_of, rows), range(base, base + len(rows))))
            else:
                offsets.update(zip(map(_key_of, rows), map(base.__add__, map(_delta_of, rows))))
            offsets.pop(None, None)  # keyless records are not mapped
        else:
            limit = self.max_entries
            for delta, _, key, _, _ in rows:
                offset = base + delta
                if key is None or offset < start_offset:
                    continue
                if len(offsets) >= limit:
                    return False
                offsets[key] = offset
                self.latest_offset = offset
        if batch.last_offset >= start_offset:
            self.latest_offset = max(self.latest_offset, batch.last_offset)
        return True

    def cover_to(self, offset: int) -> None:
        """The map covers offsets up to ``offset`` (the end of a segment fully mapped, past any
        gap at its end)."""
        self.latest_offset = max(self.latest_offset, offset)
