"""What a coordinator's state machine hands its runtime (Kafka's ``CoordinatorResult``).

A handler of :class:`~.group_state_machine.GroupStateMachine` never writes or answers by
itself: it returns the records to append to its ``__consumer_offsets`` partition and the
response that may go out once they are stored. The runtime (:mod:`.runtime`) appends them
through the broker, replays them into the state machine when the partition accepted them, and
only then answers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import (
    CoordinatorNotAvailableError,
    KafkaConnectionError,
    NotCoordinatorError,
    NotEnoughReplicasAfterAppendError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    UnknownTopicOrPartitionError,
)

@dataclass(frozen=True)
class CoordinatorResult:
    """Records to append, then a response.

    Invariants: with no ``records`` the response (if any) goes out at once. With records, the
    response goes out only after the partition stored them (acks=-1) and they were replayed
    (unless ``replayed``: the handler applied them to its state already, as deletions do);
    ``on_stored(error)`` runs first, with None or the append's error mapped as Kafka's group
    coordinator maps it (:func:`store_error`). ``response`` None: nobody waits for this result,
    or the state machine answers later itself (a join round, the members waiting in SyncGroup).
    """

    #: ``offsets_topic.OffsetCommit`` / ``GroupMetadataRecord`` values, in append order
    records: tuple = ()
    response: Any = None
    replayed: bool = False
    on_stored: Callable[[Exception | None], None] | None = None
    #: (producer id, epoch) of a transactional producer whose transaction the records belong
    #: to (TxnOffsetCommit): they are written as a transactional batch, pending until its marker
    producer: tuple[int, int] | None = None


def store_error(error: Exception, partition: str) -> Exception:
    """How Kafka's group coordinator maps a failed append to the client's error: retriable
    COORDINATOR_NOT_AVAILABLE (the partition could not take it now) or NOT_COORDINATOR (its
    leadership moved)."""
    if isinstance(error, (UnknownTopicOrPartitionError, NotEnoughReplicasError,
                          NotEnoughReplicasAfterAppendError, RequestTimedOutError)):
        return CoordinatorNotAvailableError(
            f"the coordinator could not store the record in {partition}: {error}")
    if isinstance(error, (NotLeaderForPartitionError, KafkaConnectionError)):
        return NotCoordinatorError(f"the coordinator no longer leads {partition}: {error}")
    return error
