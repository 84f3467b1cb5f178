"""Idempotent-producer state of one partition (Kafka's ProducerStateManager).

For each producer id the partition remembers the epoch and the last five batches it appended:
their first and last sequence numbers and offsets. An incoming batch from an idempotent
producer is then either

* the next one (``first_sequence == last_sequence + 1``) — appended;
* a retry of one of the last five — *not* appended again; the producer gets the original
  offset back (this is how a lost acknowledgement stops causing duplicates);
* out of order (a gap) — refused with ``OutOfOrderSequenceNumberError``;
* from an older epoch — refused with ``InvalidProducerEpochError`` (a fenced zombie).

Invariants: per producer, cached batches have increasing sequences and at most
``BATCHES_PER_PRODUCER`` entries; a refused batch changes nothing.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..errors import InvalidProducerEpochError, OutOfOrderSequenceNumberError

BATCHES_PER_PRODUCER = 5  # Kafka keeps five, matching max.in.flight.requests.per.connection
_SEQUENCE_WRAP = 2**31


@dataclass(frozen=True)
class BatchMetadata:
    first_sequence: int
    last_sequence: int
    base_offset: int
    last_offset: int


@dataclass
class ProducerEntry:
    epoch: int
    batches: deque = field(default_factory=lambda: deque(maxlen=BATCHES_PER_PRODUCER))

    @property
    def last_sequence(self) -> int:
        return self.batches[-1].last_sequence if self.batches else -1


class ProducerStateManager:
    def __init__(self, name: str):
        self.name = name
        self.producers: dict[int, ProducerEntry] = {}

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
            entry = self.producers[producer_id] = ProducerEntry(epoch)
        entry.batches.append(BatchMetadata(first_sequence, last_sequence, base_offset,
                                           last_offset))
