"""The owner of an idempotent producer's identity: producer id, epoch, per-partition sequences.

Java's ``TransactionManager`` (its idempotent half, KIP-360); 02b-transactions extends it.
It gets the producer id and each new epoch from a broker with an InitProducerId request through
the producer's transport — at once when the producer is made, or, if no broker answers then,
before the sender's next round (batches wait until it has one, as Java's sender does).
The sender asks it whether a partition's head batch may go (:meth:`can_drain`), has it number a
batch on its first drain (:meth:`assign_sequence`) and tells it every outcome. It keeps, per
partition, the epoch that partition's numbers belong to, the next sequence, the last sequence
the broker acknowledged, and the numbered batches not yet resolved (*in flight*: in a request
or waiting to be retried).

The rule that keeps one ``send()`` from being stored twice: **a batch whose fate is unknown is
never renumbered.** A batch's fate is unknown (``maybe_stored``) once an attempt ended after the
leader may have appended it: no answer (a timeout), ``NotEnoughReplicasAfterAppendError``, or
``NotLeaderForPartitionError`` (acks=all waiting when leadership moved). Such a batch is retried
with its own epoch and sequence, so the broker answers a copy it has with the original offset.
Renumbering (a new epoch, sequences from 0) happens only for one partition, and only after every
batch of that partition is answered and surely not stored:

* a numbered batch refused for good leaves a gap the broker would refuse for ever: that
  partition's sequences restart under a new epoch, its waiting retries renumbered;
* a batch that failed with its fate unknown makes its partition *unresolved*: no new batch goes
  there until the batches in flight are answered. If a later one was acknowledged the failed
  one was stored after all (no gap); otherwise the partition restarts under a new epoch.

Other partitions keep their epoch and numbers until they have nothing in flight, then move to the
producer's current epoch from 0 (the broker accepts a higher epoch starting at 0).

Where kafka-python 3.0 differs, this follows Java's producer, because kafka-python's own notes
call its way lossy: on a bump it clears every partition's numbers and fails the batches in flight
(its ``bump_producer_id_and_epoch`` TODO), and a batch refused as out of order fails, where Java
(and this class) renumbers the partition and retries it.

Invariants: per partition, in-flight batches are in sequence order and carry the partition's
epoch; a batch keeps its (epoch, sequence) on every retry unless renumbered as above; the
producer epoch only grows; no batch of an idempotent producer is drained before it has an id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..api.base import error_from
from ..api.messages.producer_ids import InitProducerIdRequest
from ..errors import KafkaConnectionError
from ..structs import TopicPartition
from .accumulator import ProducerBatch

SEQUENCE_WRAP = 2**31  # sequences are int32 and wrap to 0, as the broker expects
NO_PRODUCER_ID = -1


def last_sequence(batch: ProducerBatch) -> int:
    return (batch.base_sequence + len(batch.records) - 1) % SEQUENCE_WRAP


@dataclass
class PartitionSequences:
    """One partition's numbering (Java's ``TxnPartitionEntry``)."""
    epoch: int
    next_sequence: int = 0
    last_acked: int = -1
    in_flight: list[ProducerBatch] = field(default_factory=list)
    # why: a batch failed with its fate unknown; until the batches after it are answered
    unresolved: str | None = None


class TransactionManager:
    def __init__(self, transport: Any | None, transactional: bool = False):
        """``transport``: where InitProducerId requests go; None: the producer is not
        idempotent. A ``transactional`` producer gets its id and epochs from its transaction
        coordinator (:mod:`.transactions` calls :meth:`set_producer_id`): this class then only
        numbers batches, and a gap waits for the transaction's abort to bump the epoch."""
        self._transport = transport
        self.is_idempotent = transport is not None
        self.transactional = transactional
        self.producer_id, self.producer_epoch = NO_PRODUCER_ID, -1
        self._partitions: dict[TopicPartition, PartitionSequences] = {}
        self._restart: dict[TopicPartition, str] = {}  # partition -> why its numbers restart
        if self.is_idempotent and not transactional:
            self._init_producer_id("")

    @property
    def has_producer_id(self) -> bool:
        return self.producer_id != NO_PRODUCER_ID

    def reset_producer_id(self) -> None:
        """init_transactions() began: no id until the coordinator answers."""
        self.producer_id, self.producer_epoch = NO_PRODUCER_ID, -1

    def set_producer_id(self, producer_id: int, epoch: int) -> None:
        """The transaction coordinator gave this id and epoch: every partition numbers from 0
        again under it (nothing is in flight between transactions)."""
        self.producer_id, self.producer_epoch = producer_id, epoch
        self._partitions.clear()
        self._restart.clear()

    def needs_epoch_bump(self) -> bool:
        """A transactional producer left a gap in a partition's sequences (or may have)."""
        return bool(self._restart) or any(e.unresolved is not None
                                          for e in self._partitions.values())

    def _init_producer_id(self, reason: str) -> bool:
        """Ask any broker for an id (while we have none) or for the next epoch of ours; False
        if no broker could be reached (ask again later)."""
        try:
            response = self._transport.call(None, InitProducerIdRequest(
                producer_id=self.producer_id, producer_epoch=self.producer_epoch,
                reason=reason or None))
        except KafkaConnectionError:
            return False
        error = error_from(response.error_code, response.error_message)
        if error is not None:
            raise error
        self.producer_id, self.producer_epoch = response.producer_id, response.producer_epoch
        return True

    def _entry(self, tp: TopicPartition) -> PartitionSequences:
        entry = self._partitions.get(tp)
        if entry is None:
            entry = self._partitions[tp] = PartitionSequences(self.producer_epoch)
        return entry

    # --- sending -------------------------------------------------------------------------------
    def can_drain(self, batch: ProducerBatch) -> bool:
        """May this head batch be sent now? (Java's ``shouldStopDrainBatchesForPartition``)"""
        if not self.is_idempotent:
            return True
        if self.producer_id == NO_PRODUCER_ID:
            return False  # InitProducerId has not been answered yet
        entry = self._entry(batch.tp)
        if batch.base_sequence < 0:
            # a new batch waits while its partition's numbering is in question, or while
            # batches of an older epoch are in flight (a new epoch's sequence 0 must not
            # overtake them)
            return not (entry.unresolved is not None or batch.tp in self._restart
                        or (entry.in_flight and entry.epoch != self.producer_epoch))
        # a retry goes only as the partition's first unresolved batch, so retries stay in order
        return not entry.in_flight or entry.in_flight[0] is batch

    def assign_sequence(self, batch: ProducerBatch) -> None:
        """Number a batch on its first drain (the partition moves to the current epoch first,
        when it has nothing in flight)."""
        entry = self._entry(batch.tp)
        if entry.epoch != self.producer_epoch and not entry.in_flight:
            entry.epoch, entry.next_sequence, entry.last_acked = self.producer_epoch, 0, -1
        batch.producer_epoch, batch.base_sequence = entry.epoch, entry.next_sequence
        entry.next_sequence = (entry.next_sequence + len(batch.records)) % SEQUENCE_WRAP
        entry.in_flight.append(batch)

    # --- outcomes ------------------------------------------------------------------------------
    def on_stored(self, batch: ProducerBatch) -> None:
        """The broker has the batch (appended now, or a duplicate of one it had)."""
        entry = self._partitions.get(batch.tp)
        if entry is None or batch not in entry.in_flight:
            return
        entry.in_flight.remove(batch)
        if batch.producer_epoch == entry.epoch:
            entry.last_acked = last_sequence(batch)

    def on_out_of_order(self, batch: ProducerBatch) -> None:
        """The leader refused the batch as out of sequence: it does not have it. Retried as
        is while an earlier batch is still on its way; if it is the next sequence after the last
        acknowledged one, or an earlier batch failed unresolved, the sequence has a gap."""
        batch.maybe_stored = False
        entry = self._entry(batch.tp)
        expected = (entry.last_acked + 1) % SEQUENCE_WRAP
        if entry.unresolved is not None or batch.base_sequence == expected:
            self._restart.setdefault(batch.tp, (
                f"the broker refused sequence {batch.base_sequence} for "
                f"{batch.tp.topic}-{batch.tp.partition} as out of order: an earlier batch is "
                "missing"))

    def on_failed(self, batch: ProducerBatch, error: Exception) -> None:
        """The batch failed for good: its numbers leave a gap (surely not stored), or its
        partition becomes unresolved (perhaps stored)."""
        entry = self._partitions.get(batch.tp)
        if entry is None or batch not in entry.in_flight:
            return
        entry.in_flight.remove(batch)
        tp, last = batch.tp, last_sequence(batch)
        why = (f"its batch of sequences {batch.base_sequence}..{last} for "
               f"{tp.topic}-{tp.partition} failed ({type(error).__name__})")
        if batch.maybe_stored:
            entry.unresolved = entry.unresolved or why + " and no later batch showed it stored"
        else:
            self._restart.setdefault(tp, why)

    # --- epoch bumps ---------------------------------------------------------------------------
    def maybe_update_producer_id(self) -> bool:
        """Before each send round: get a producer id if there is none yet; settle unresolved
        partitions whose batches are all answered, then restart the numbering of every partition
        that needs it and safely can — none of its batches in a request or perhaps stored —
        under one new epoch (KIP-360). False while no broker answers InitProducerId (the
        sender asks again after ``retry_backoff_ms``)."""
        if self.transactional:
            return True  # ids and epochs come from the transaction coordinator
        if self.is_idempotent and self.producer_id == NO_PRODUCER_ID and \
                not self._init_producer_id(""):
            return False
        for tp, entry in self._partitions.items():
            if entry.unresolved is not None and not entry.in_flight:
                why, entry.unresolved = entry.unresolved, None
                if (entry.last_acked + 1) % SEQUENCE_WRAP != entry.next_sequence:
                    # the last numbered batch was not acknowledged: nothing shows it stored
                    self._restart.setdefault(tp, why)
        ready = [tp for tp in self._restart
                 if not any(b.in_request or b.maybe_stored
                            for b in self._partitions[tp].in_flight)]
        if not ready:
            return True
        if any(self._partitions[tp].epoch == self.producer_epoch for tp in ready) and \
                not self._init_producer_id("; ".join(self._restart[tp] for tp in ready)):
            return False
        for tp in ready:
            del self._restart[tp]
            entry = self._partitions[tp]
            entry.epoch, entry.next_sequence, entry.last_acked = self.producer_epoch, 0, -1
            entry.unresolved = None
            for batch in entry.in_flight:  # waiting retries, each surely not stored: renumber
                batch.producer_epoch, batch.base_sequence = entry.epoch, entry.next_sequence
                entry.next_sequence = (entry.next_sequence + len(batch.records)) % SEQUENCE_WRAP
        return True
