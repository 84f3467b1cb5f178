"""Idempotent-producer state of one partition (Kafka's ProducerStateManager).

For each producer id the partition remembers the epoch and the last five batches it appended:
their first and last sequence numbers and offsets. An incoming batch from an idempotent
producer is then either

* the next one (``first_sequence == last_sequence + 1``) — appended;
* a retry of one of the last five — *not* appended again; the producer gets the original
  offset back (this is how a lost acknowledgement stops causing duplicates);
* out of order (a gap) — refused with ``OutOfOrderSequenceNumberError``;
* from an older epoch — refused with ``InvalidProducerEpochError`` (a fenced zombie).

Transactions (Kafka's ``ongoingTxns``, ``unreplicatedTxns`` and transaction index): the first
transactional batch of a producer opens its transaction at that batch's offset; the COMMIT or
ABORT marker the coordinator writes closes it. An aborted transaction is remembered as an
:class:`AbortedTxn` (producer, first offset, marker offset), which a ``read_committed`` fetch
hands the consumer so it can skip those records. The *first unstable offset* is the first offset
of the oldest transaction not yet decided — or decided by a marker the in-sync replicas do not
all have yet: the log's last stable offset stops there.

Invariants: per producer, cached batches have increasing sequences and at most
``BATCHES_PER_PRODUCER`` entries; a refused batch changes nothing; a producer has at most one
open transaction; ``aborted`` is in marker-offset order.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..errors import InvalidProducerEpochError, OutOfOrderSequenceNumberError
from ..record.control import Marker

BATCHES_PER_PRODUCER = 5  # Kafka keeps five, matching max.in.flight.requests.per.connection
_SEQUENCE_WRAP = 2**31


@dataclass(frozen=True)
class BatchMetadata:
    first_sequence: int
    last_sequence: int
    base_offset: int
    last_offset: int


@dataclass(frozen=True)
class AbortedTxn:
    """An aborted transaction as a fetch returns it (Kafka's ``AbortedTxn``): its records are
    the producer's transactional batches from ``first_offset`` up to the ABORT marker at
    ``last_offset``."""
    producer_id: int
    first_offset: int
    last_offset: int


@dataclass
class ProducerEntry:
    epoch: int
    batches: deque = field(default_factory=lambda: deque(maxlen=BATCHES_PER_PRODUCER))
    #: first offset of the producer's open transaction in this partition, None if none
    txn_first_offset: int | None = None

    @property
    def last_sequence(self) -> int:
        return self.batches[-1].last_sequence if self.batches else -1


class ProducerStateManager:
    def __init__(self, name: str):
        self.name = name
        self.producers: dict[int, ProducerEntry] = {}
        #: producer id -> first offset of its open transaction (Kafka's ongoingTxns)
        self.ongoing: dict[int, int] = {}
        #: (first offset, marker offset) of decided transactions whose marker may not be
        #: replicated yet (Kafka's unreplicatedTxns); dropped once the high watermark passes
        self.unreplicated: list[tuple[int, int]] = []
        #: every aborted transaction still in the log, by marker offset
        self.aborted: list[AbortedTxn] = []

    def check(self, producer_id: int, epoch: int, first_sequence: int, last_sequence: int
              ) -> BatchMetadata | None:
        """Validate a batch before append. Returns the cached metadata if it is a duplicate
        (do not append), None if it should be appended, or raises."""
        entry = self.producers.get(producer_id)
        if entry is None or epoch > entry.epoch:
            if first_sequence != 0:
                raise OutOfOrderSequenceNumberError(
                    f"{self.name}: first batch of producer {producer_id} epoch {epoch} has "
                    f"sequence {first_sequence}, expected 0")
            return None
        if epoch < entry.epoch:
            raise InvalidProducerEpochError(
                f"{self.name}: producer {producer_id} has epoch {epoch} but epoch "
                f"{entry.epoch} is current: an older instance was fenced")
        for cached in entry.batches:
            if (cached.first_sequence, cached.last_sequence) == (first_sequence, last_sequence):
                return cached
        expected = (entry.last_sequence + 1) % _SEQUENCE_WRAP
        if first_sequence != expected:
            raise OutOfOrderSequenceNumberError(
                f"{self.name}: producer {producer_id} sent sequence {first_sequence} but "
                f"{expected} was expected (last appended: {entry.last_sequence}); a batch "
                f"before it is missing")
        return None

    def record(self, producer_id: int, epoch: int, first_sequence: int, last_sequence: int,
               base_offset: int, last_offset: int) -> None:
        """Remember an appended batch."""
        entry = self.producers.get(producer_id)
        if entry is None or epoch > entry.epoch:
            entry = self._new_entry(producer_id, epoch)
        entry.batches.append(BatchMetadata(first_sequence, last_sequence, base_offset,
                                           last_offset))

    def _new_entry(self, producer_id: int, epoch: int) -> ProducerEntry:
        """A producer seen at a new epoch: its sequences start again; an open transaction
        stays open (only a marker closes it)."""
        old = self.producers.get(producer_id)
        entry = self.producers[producer_id] = ProducerEntry(epoch)
        if old is not None:
            entry.txn_first_offset = old.txn_first_offset
        return entry

    # --- transactions ----------------------------------------------------------------------------
    def check_marker(self, marker: Marker) -> None:
        """Refuse a marker from an older epoch than the producer's (Kafka: the marker of a
        fenced coordinator or producer)."""
        entry = self.producers.get(marker.producer_id)
        if entry is not None and marker.producer_epoch < entry.epoch:
            raise InvalidProducerEpochError(
                f"{self.name}: a transaction marker for producer {marker.producer_id} carries "
                f"epoch {marker.producer_epoch}, older than its current epoch {entry.epoch}")

    def begin_transactional(self, producer_id: int, epoch: int, base_offset: int) -> None:
        """A transactional batch was appended at ``base_offset``: it opens the producer's
        transaction here unless one is open already."""
        entry = self.producers.get(producer_id)
        if entry is None or epoch > entry.epoch:
            entry = self._new_entry(producer_id, epoch)
        if entry.txn_first_offset is None:
            entry.txn_first_offset = base_offset
            self.ongoing[producer_id] = base_offset

    def complete_transaction(self, marker: Marker, offset: int) -> AbortedTxn | None:
        """The marker at ``offset`` decided the producer's transaction here (it may have no
        records in this partition); returns the :class:`AbortedTxn` an abort leaves."""
        entry = self.producers.get(marker.producer_id)
        if entry is None or marker.producer_epoch > entry.epoch:
            entry = self._new_entry(marker.producer_id, marker.producer_epoch)
        first = entry.txn_first_offset
        entry.txn_first_offset = None
        self.ongoing.pop(marker.producer_id, None)
        if first is None:
            return None
        self.unreplicated.append((first, offset))
        if marker.committed:
            return None
        aborted = AbortedTxn(marker.producer_id, first, offset)
        self.aborted.append(aborted)
        return aborted

    def first_unstable_offset(self, high_watermark: int) -> int | None:
        """The first offset a ``read_committed`` consumer may not read yet: the start of the
        oldest open transaction, or of a decided one whose marker is at or past the high
        watermark (not on every in-sync replica yet). None if there is none."""
        if self.unreplicated and self.unreplicated[0][1] < high_watermark:
            self.unreplicated = [t for t in self.unreplicated if t[1] >= high_watermark]
        firsts = [t[0] for t in self.unreplicated]
        if self.ongoing:
            firsts.extend(self.ongoing.values())
        return min(firsts) if firsts else None

    def aborted_between(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted transactions with records in ``[start, end)`` (Kafka's
        ``collectAbortedTxns``): a ``read_committed`` fetch of those offsets gets them."""
        return [t for t in self.aborted if t.last_offset >= start and t.first_offset < end]

    def is_aborted(self, producer_id: int, offset: int) -> bool:
        """Whether the transactional batch of ``producer_id`` at ``offset`` was aborted."""
        return any(t.producer_id == producer_id and t.first_offset <= offset <= t.last_offset
                   for t in self.aborted)

    def forget_aborted_below(self, log_start_offset: int) -> None:
        """Retention removed everything below ``log_start_offset``: aborted transactions that
        ended there are gone with their records."""
        if self.aborted and self.aborted[0].last_offset < log_start_offset:
            self.aborted = [t for t in self.aborted if t.last_offset >= log_start_offset]
