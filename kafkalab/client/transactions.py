"""A transactional producer's side of transactions (the transactional half of kafka-python's and
Java's ``TransactionManager``).

States are kafka-python 3's :class:`~kafka.producer.transaction_manager.TransactionState`, with
its transitions::

    UNINITIALIZED ──init_transactions()──▶ INITIALIZING ──InitProducerId answered──▶ READY
    READY ──begin_transaction()──▶ IN_TRANSACTION
    IN_TRANSACTION ──commit_transaction()──▶ COMMITTING_TRANSACTION ──EndTxn answered──▶ READY
    IN_TRANSACTION ──abort_transaction()──▶ ABORTING_TRANSACTION ──EndTxn answered──▶ READY
    IN_TRANSACTION, COMMITTING_TRANSACTION ──a record failed──▶ ABORTABLE_ERROR
    ABORTABLE_ERROR ──abort_transaction()──▶ ABORTING_TRANSACTION
    any state ──fenced, unauthorized, an invalid transaction state──▶ FATAL_ERROR (for good)

Requests go one at a time, in kafka-python's priority order (FindCoordinator, InitProducerId,
AddPartitionsToTxn / AddOffsetsToTxn, EndTxn), to the coordinator found by FindCoordinator
(``key_type`` 1 for the transactional id, 0 for a group's TxnOffsetCommit). An answer that the
coordinator moved or is busy (``NOT_COORDINATOR``, ``COORDINATOR_NOT_AVAILABLE``,
``CONCURRENT_TRANSACTIONS``, no answer, a broker down) sends the request again after
``retry_backoff_ms``, looking the coordinator up again where it moved. A partition takes records
only once AddPartitionsToTxn added it (the sender asks :meth:`Transactions.may_send`); EndTxn
waits until every record sent in the transaction is answered. An abort fails the records not
sent yet with ``TransactionAbortedError``.

Invariants: at most one request in flight; a transition not in kafka-python's table raises
``KafkaError`` and changes nothing; once FATAL_ERROR, no request is sent and every call
raises; a blocking call's result resolves exactly once.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable

from kafka.producer.transaction_manager import TransactionState
from kafka.structs import ConsumerGroupMetadata

from ..api.base import error_from
from ..api.messages.groups import GROUP_KEY_TYPE, TRANSACTION_KEY_TYPE, FindCoordinatorRequest
from ..api.messages.producer_ids import InitProducerIdRequest
from ..api.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddPartitionsToTxnRequest,
    EndTxnRequest,
    TxnOffsetCommitRequest,
    TxnOffsetCommitRequestPartition,
    TxnOffsetCommitRequestTopic,
    TxnTopic,
)
from ..errors import (
    ConcurrentTransactionsError,
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    IllegalStateError,
    InvalidProducerEpochError,
    InvalidTxnStateError,
    KafkaConnectionError,
    KafkaError,
    NotCoordinatorError,
    ProducerFencedError,
    RequestTimedOutError,
    TransactionAbortedError,
    TransactionalIdAuthorizationFailedError,
)
from ..structs import TopicPartition

#: answers after which the request goes again, to a coordinator looked up again
_MOVED = (NotCoordinatorError, CoordinatorNotAvailableError, KafkaConnectionError,
          RequestTimedOutError)
#: answers after which the request goes again, to the same coordinator
_BUSY = (ConcurrentTransactionsError, CoordinatorLoadInProgressError)
#: errors that end a transactional producer for good (kafka-python's _FATAL_ERRORS)
_FATAL = (ProducerFencedError, TransactionalIdAuthorizationFailedError, InvalidTxnStateError)

# kafka-python's request priorities: lower goes first
_INIT, _ADD, _END = 1, 2, 3


class TransactionResult:
    """The outcome of one blocking transactional call (kafka-python's
    ``TransactionalRequestResult``). Invariant: resolved once."""

    def __init__(self):
        self.done = False
        self.error: Exception | None = None

    def resolve(self, error: Exception | None = None) -> None:
        if not self.done:
            self.done, self.error = True, error


class _Step:
    """One request to send: ``build()`` makes it, ``handle(response)`` reads the answer and
    returns the error to settle ``result`` with, None when this step succeeded (a step may
    queue the next one itself), or ``RETRY``."""

    def __init__(self, priority: int, key_type: int, key: str, build: Callable[[], Any],
                 handle: Callable[[Any], Any], result: TransactionResult):
        self.priority, self.key_type, self.key = priority, key_type, key
        self.build, self.handle, self.result = build, handle, result
        self.last_step = True  # settle ``result`` once this step succeeded


RETRY = object()
#: a step's ``handle`` returns this when it queued the next step itself (the result waits)
RETRY_LATER_NONE = object()


class Transactions:
    """The transactional state of one producer (see the module)."""

    def __init__(self, transactional_id: str, timeout_ms: int, transport: Any,
                 sequences: Any, config: dict[str, Any], has_incomplete: Callable[[], bool],
                 wake_sender: Callable[..., None], abort_unsent: Callable[[Exception], None]):
        self.transactional_id = transactional_id
        self.timeout_ms = timeout_ms
        self._transport = transport
        self._sequences = sequences  # the producer's id, epoch and sequence numbers
        self._config = config
        self._has_incomplete = has_incomplete
        self._wake_sender = wake_sender
        self._abort_unsent = abort_unsent
        self.state = TransactionState.UNINITIALIZED
        self.last_error: Exception | None = None
        #: partitions the coordinator added / being added / to add (kafka-python's three sets)
        self.partitions: set[TopicPartition] = set()
        self._pending_partitions: set[TopicPartition] = set()
        self._new_partitions: set[TopicPartition] = set()
        self._started = False  # a partition or offsets were added: EndTxn must go
        self._coordinators: dict[tuple[int, str], int] = {}
        self._queue: list[tuple[int, int, _Step]] = []
        self._seq = itertools.count()
        self._in_flight = False
        self._retry_at = 0
        self._coordinator_moved = False  # the last answer said the coordinator moved

    # --- state ---------------------------------------------------------------------------------
    def _transition(self, target: TransactionState, error: Exception | None = None) -> None:
        if not TransactionState.is_transition_valid(self.state, target):
            raise KafkaError(f"TransactionalId {self.transactional_id}: Invalid transition "
                             f"attempted from state {self.state.name} to state {target.name}")
        self.last_error = error if target in (TransactionState.ABORTABLE_ERROR,
                                              TransactionState.FATAL_ERROR) else None
        self.state = target
        self._transport.emit("txn.client_state", f"transactional producer "
                             f"{self.transactional_id}: {target.name}"
                             + (f" ({type(error).__name__}: {error})" if error else ""),
                             transactional_id=self.transactional_id, state=target.name)

    def _fail_if_error(self) -> None:
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR):
            raise KafkaError("Cannot execute transactional method because we are in an error "
                             f"state: {self.last_error!r}")

    def fatal(self, error: Exception) -> None:
        self._transition(TransactionState.FATAL_ERROR, error)
        for _, _, step in self._queue:
            step.result.resolve(error)
        self._queue.clear()

    def abortable(self, error: Exception) -> None:
        """A record of the transaction failed: only an abort may follow."""
        if self.state in (TransactionState.IN_TRANSACTION,
                          TransactionState.COMMITTING_TRANSACTION,
                          TransactionState.ABORTABLE_ERROR):
            self._transition(TransactionState.ABORTABLE_ERROR, error)

    def on_batch_failed(self, error: Exception) -> None:
        """The sender failed a batch of this producer for good: fenced is fatal, anything
        else makes the transaction abortable."""
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR) \
                and not isinstance(error, _FATAL):
            return  # already failed: the first error stays the cause
        if isinstance(error, _FATAL):
            if self.state is not TransactionState.FATAL_ERROR:
                self.fatal(error)
        elif self.state is not TransactionState.ABORTING_TRANSACTION:
            self.abortable(error)
        self._wake_sender()  # its turn fails the records not sent yet (see pump)

    # --- the producer's calls ------------------------------------------------------------------
    def init(self) -> TransactionResult:
        self._transition(TransactionState.INITIALIZING)
        self._sequences.reset_producer_id()
        result = TransactionResult()

        def handle(response):
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                return self._classify(error)
            self._sequences.set_producer_id(response.producer_id, response.producer_epoch)
            self._transition(TransactionState.READY)
            return None

        self._enqueue(_Step(_INIT, TRANSACTION_KEY_TYPE, self.transactional_id,
                            lambda: InitProducerIdRequest(self.transactional_id,
                                                          self.timeout_ms), handle, result))
        return result

    def begin(self) -> None:
        self._fail_if_error()
        if self.state is TransactionState.UNINITIALIZED or not self._sequences.has_producer_id:
            raise IllegalStateError("Cannot begin a transaction before init_transactions() "
                                    "completed")
        self._transition(TransactionState.IN_TRANSACTION)

    def check_send(self, tp: TopicPartition) -> None:
        """``send()``'s check (kafka-python's ``maybe_add_partition_to_transaction``): the
        partition joins the transaction before its first record goes."""
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR):
            raise KafkaError("Cannot perform send because at least one previous transactional "
                             "or idempotent request has failed with errors.", self.last_error)
        if not self._sequences.has_producer_id:
            raise IllegalStateError("Cannot perform a 'send' before completing a call to "
                                    "init_transactions when transactions are enabled.")
        if self.state is not TransactionState.IN_TRANSACTION:
            raise IllegalStateError(f"Cannot call send in state {self.state.name}: call "
                                    "begin_transaction() first")
        if tp not in self.partitions and tp not in self._pending_partitions and \
                tp not in self._new_partitions:
            self._new_partitions.add(tp)
            self._wake_sender()  # AddPartitionsToTxn goes now, not after linger_ms (Java)

    def may_send(self, tp: TopicPartition) -> bool:
        """May the sender drain a batch of ``tp`` now (the partition is in the transaction)?"""
        return tp in self.partitions and self.state is not TransactionState.FATAL_ERROR

    def send_offsets(self, offsets: dict, group_metadata) -> TransactionResult:
        if isinstance(group_metadata, str):
            group_metadata = ConsumerGroupMetadata(group_id=group_metadata)
        elif not isinstance(group_metadata, ConsumerGroupMetadata):
            raise TypeError("send_offsets_to_transaction expects group_metadata to be a "
                            "ConsumerGroupMetadata or a group_id str, got "
                            f"{type(group_metadata)!r}")
        self._fail_if_error()
        if self.state is not TransactionState.IN_TRANSACTION:
            raise KafkaError("Cannot send offsets to transaction because the producer is not "
                             "in an active transaction")
        result = TransactionResult()
        group_id = group_metadata.group_id
        pid, epoch = self._sequences.producer_id, self._sequences.producer_epoch

        def commit_request():
            topics: dict[str, list] = {}
            for tp, om in sorted(offsets.items()):
                offset = getattr(om, "offset", om)
                topics.setdefault(tp.topic, []).append(TxnOffsetCommitRequestPartition(
                    tp.partition, offset, getattr(om, "leader_epoch", -1) or -1,
                    getattr(om, "metadata", "") or ""))
            return TxnOffsetCommitRequest(
                self.transactional_id, group_id, pid, epoch,
                tuple(TxnOffsetCommitRequestTopic(t, tuple(ps)) for t, ps in topics.items()),
                group_metadata.generation_id, group_metadata.member_id or "",
                group_metadata.group_instance_id)

        def committed(response):
            for topic in response.topics:
                for p in topic.results:
                    error = error_from(p.error_code, p.error_message)
                    if error is not None:
                        return self._classify(error)
            return None

        def added(response):
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                return self._classify(error)
            self._started = True
            step = _Step(_ADD, GROUP_KEY_TYPE, group_id, commit_request, committed, result)
            self._enqueue(step, front=True)
            return RETRY_LATER_NONE

        first = _Step(_ADD, TRANSACTION_KEY_TYPE, self.transactional_id,
                      lambda: AddOffsetsToTxnRequest(self.transactional_id, pid, epoch,
                                                     group_id), added, result)
        self._enqueue(first)
        return result

    def end(self, commit: bool) -> TransactionResult:
        """Begin a commit or an abort; the result resolves once EndTxn is answered."""
        if commit:
            self._fail_if_error()
            self._transition(TransactionState.COMMITTING_TRANSACTION)
        else:
            if self.state is not TransactionState.ABORTABLE_ERROR:
                self._fail_if_error()
            self._transition(TransactionState.ABORTING_TRANSACTION)
            self._new_partitions.clear()
            self._abort_unsent(TransactionAbortedError(
                f"the transaction of {self.transactional_id} was aborted before this record "
                "was sent"))
        result = TransactionResult()

        def handle(response):
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                return self._classify(error)
            if not commit and self._sequences.needs_epoch_bump():
                self._bump_epoch(result)  # KIP-360: sequences start again under a new epoch
                return RETRY_LATER_NONE
            self._complete()
            return None

        self._enqueue(_Step(_END, TRANSACTION_KEY_TYPE, self.transactional_id,
                            lambda: EndTxnRequest(self.transactional_id,
                                                  self._sequences.producer_id,
                                                  self._sequences.producer_epoch, commit),
                            handle, result))
        return result

    def _bump_epoch(self, result: TransactionResult) -> None:
        """After an abort that left a gap in a partition's sequences: InitProducerId again
        (the coordinator bumps the epoch), then the transaction is complete."""
        def handle(response):
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                return self._classify(error)
            self._sequences.set_producer_id(response.producer_id, response.producer_epoch)
            self._complete()
            return None

        self._enqueue(_Step(_INIT, TRANSACTION_KEY_TYPE, self.transactional_id,
                            lambda: InitProducerIdRequest(
                                self.transactional_id, self.timeout_ms,
                                self._sequences.producer_id, self._sequences.producer_epoch,
                                "an aborted transaction left a gap in the sequence numbers"),
                            handle, result), front=True)

    def _complete(self) -> None:
        self._transition(TransactionState.READY)
        self._started = False
        self.partitions.clear()
        self._pending_partitions.clear()
        self._new_partitions.clear()

    def _classify(self, error: Exception):
        """An error answer: RETRY for what passes, else the error, made fatal or abortable
        as kafka-python's handlers do."""
        self._coordinator_moved = isinstance(error, _MOVED)
        if isinstance(error, _MOVED + _BUSY):
            return RETRY
        if isinstance(error, InvalidProducerEpochError):
            error = ProducerFencedError(str(error))
        if isinstance(error, _FATAL) or self.state is TransactionState.INITIALIZING:
            self.fatal(error)
        else:
            self.abortable(error)
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR) \
                and self._has_incomplete():
            self._abort_unsent(self.last_error)  # as pump does, before the caller sends more
        return error

    # --- sending -------------------------------------------------------------------------------
    def _enqueue(self, step: _Step, front: bool = False) -> None:
        heapq.heappush(self._queue, (step.priority - (10 if front else 0), next(self._seq), step))
        self._wake_sender()

    def pump(self) -> None:
        """The sender's turn: queue AddPartitionsToTxn for new partitions, then send the next
        request if none is in flight (EndTxn only once every record sent is answered)."""
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR) \
                and self._has_incomplete():
            # kafka-python's sender: records not sent yet fail with the error at once, so no
            # batch stays open to take more records (send() refuses from now on)
            self._abort_unsent(self.last_error)
        if self._new_partitions and self.state is not TransactionState.FATAL_ERROR:
            self._queue_add_partitions()
        if self._in_flight or not self._queue:
            return
        now = self._transport.now_ms()
        if now < self._retry_at:
            self._wake_sender(self._retry_at)  # (the sender keeps one wakeup: the earliest)
            return
        step = self._queue[0][2]
        if step.priority == _END and self._has_incomplete():
            return  # the sender wakes again when the last batch is answered
        heapq.heappop(self._queue)
        if step.priority == _END and not self._started and \
                self.state is not TransactionState.FATAL_ERROR:
            self._complete()  # nothing was added: no EndTxn to send (kafka-python)
            step.result.resolve()
            return
        if self.state in (TransactionState.ABORTABLE_ERROR, TransactionState.FATAL_ERROR):
            # kafka-python's _maybe_terminate_request_with_error: nothing goes in an error
            # state (an abort leaves ABORTABLE_ERROR before its EndTxn is queued)
            step.result.resolve(self.last_error)
            return
        self._send(step)

    def _queue_add_partitions(self) -> None:
        self._pending_partitions |= self._new_partitions
        wanted = frozenset(self._new_partitions)
        self._new_partitions.clear()
        pid, epoch = self._sequences.producer_id, self._sequences.producer_epoch

        def build():
            topics: dict[str, list[int]] = {}
            for tp in sorted(wanted):
                topics.setdefault(tp.topic, []).append(tp.partition)
            return AddPartitionsToTxnRequest(self.transactional_id, pid, epoch, tuple(
                TxnTopic(t, tuple(ps)) for t, ps in topics.items()))

        def handle(response):
            for topic in response.results:
                for p in topic.results:
                    error = error_from(p.error_code, p.error_message)
                    if error is not None:
                        outcome = self._classify(error)
                        if outcome is not RETRY:
                            self._pending_partitions -= wanted
                        return outcome
            self.partitions |= wanted
            self._pending_partitions -= wanted
            self._started = True
            return None

        self._enqueue(_Step(_ADD, TRANSACTION_KEY_TYPE, self.transactional_id, build, handle,
                            TransactionResult()))

    def _send(self, step: _Step) -> None:
        node = self._coordinators.get((step.key_type, step.key))
        if node is None:
            self._find_coordinator(step)
            return
        self._in_flight = True
        request = step.build()
        timeout = self._config["request_timeout_ms"]
        answered = [False]
        timeout_timer: list = []

        def on_response(response) -> None:
            if answered[0]:
                return
            answered[0] = True
            for timer in timeout_timer:
                timer.cancel()  # keeps nothing (request, step) alive until it would fire
            self._in_flight = False
            if isinstance(response, Exception):
                outcome = RETRY
                self._coordinators.pop((step.key_type, step.key), None)
            else:
                self._coordinator_moved = False
                outcome = step.handle(response)
                if outcome is RETRY and self._coordinator_moved:
                    self._coordinators.pop((step.key_type, step.key), None)
            if outcome is RETRY:
                self._retry(step)
            elif outcome is not RETRY_LATER_NONE:
                step.result.resolve(outcome)
            self._wake_sender()

        self._transport.send(node, request, on_response)
        if not answered[0]:
            timeout_timer.append(self._transport.call_later(
                timeout + self._transport.round_trip_ms + 1,
                lambda: on_response(RequestTimedOutError(
                    f"no answer to {request.API_NAME} within "
                    f"request_timeout_ms={timeout}")), background=True))

    def _retry(self, step: _Step) -> None:
        self._retry_at = self._transport.now_ms() + self._config["retry_backoff_ms"]
        heapq.heappush(self._queue, (step.priority - 10, next(self._seq), step))

    def _find_coordinator(self, step: _Step) -> None:
        self._in_flight = True

        def on_response(response) -> None:
            self._in_flight = False
            error = response if isinstance(response, Exception) else \
                error_from(response.error_code, response.error_message)
            if error is None:
                self._coordinators[(step.key_type, step.key)] = response.node_id
                heapq.heappush(self._queue, (step.priority - 10, next(self._seq), step))
            elif isinstance(error, _MOVED + _BUSY):
                self._retry(step)
            else:
                self.fatal(error)
                step.result.resolve(error)
            self._wake_sender()

        self._transport.send(None, FindCoordinatorRequest(step.key, step.key_type),
                             on_response)

