"""A transactional id as its coordinator holds it (Kafka's ``TransactionMetadata``).

States, in Kafka's words (``TransactionState``)::

    Empty / Complete* ──AddPartitionsToTxn──▶ Ongoing
    Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers written──▶ CompleteCommit
    Ongoing ──EndTxn(abort), transaction.timeout.ms, a new InitProducerId──▶ PrepareAbort
            ──markers written──▶ CompleteAbort
    Empty / Complete* ──InitProducerId──▶ Empty (epoch + 1);  idle too long ──▶ Dead (expired)

Invariants: the producer epoch only grows (a new producer id starts again at 0); in Empty and
Complete* no partition is in the transaction being written; while ``pending`` is set (a state
change being stored) no other request changes the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class TransactionState(str, Enum):
    EMPTY = "Empty"
    ONGOING = "Ongoing"
    PREPARE_COMMIT = "PrepareCommit"
    PREPARE_ABORT = "PrepareAbort"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"
    DEAD = "Dead"
    PREPARE_EPOCH_FENCE = "PrepareEpochFence"

    @property
    def code(self) -> int:
        """Kafka's ``TransactionState.id`` as stored in ``__transaction_state``."""
        return _CODES.index(self)

    @classmethod
    def from_code(cls, code: int) -> "TransactionState":
        return _CODES[code]

    @property
    def completing(self) -> bool:
        return self in (TransactionState.PREPARE_COMMIT, TransactionState.PREPARE_ABORT)

    @property
    def idle(self) -> bool:
        """No transaction in progress: a new one may start."""
        return self in (TransactionState.EMPTY, TransactionState.COMPLETE_COMMIT,
                        TransactionState.COMPLETE_ABORT)


_CODES = list(TransactionState)


@dataclass
class TransactionMetadata:
    """One transactional id (see the module for states and invariants)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TransactionState = TransactionState.EMPTY
    #: (topic, partition) pairs the current transaction wrote to (or will: AddPartitionsToTxn)
    partitions: set[tuple[str, int]] = field(default_factory=set)
    start_ms: int = -1
    last_update_ms: int = -1
    #: the state being stored, if a change is on its way to the log
    pending: TransactionState | None = None
    #: the leader epoch of the __transaction_state partition when the markers were sent
    coordinator_epoch: int = 0
