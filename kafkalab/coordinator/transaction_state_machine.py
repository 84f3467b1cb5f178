"""The transaction coordinator's state machine for one ``__transaction_state`` partition
(Kafka's ``TransactionCoordinator`` with its ``TransactionStateManager``).

**Handlers decide, the runtime writes.** Each handler checks a request against the
transactional id's :class:`~.transaction_metadata.TransactionMetadata` and returns a
:class:`~.result.CoordinatorResult`: the new state as a ``__transaction_state`` record, and the
response to send once it is stored. The state changes only by :meth:`replay` of a stored record
(or of every record, when a broker becomes the coordinator), so it always equals the log.

**Ending a transaction** takes three steps, as in Kafka: PrepareCommit (or PrepareAbort) is
stored and the producer answered; the coordinator then writes a COMMIT (ABORT) marker to every
partition of the transaction (WriteTxnMarkers to their leaders, retried until every leader took
it); then CompleteCommit (CompleteAbort) is stored. A coordinator that takes over a partition
finds transactions in a Prepare state and sends their markers again.

**Fencing.** InitProducerId for a transactional id bumps its producer epoch: every request of
an older epoch is answered ``PRODUCER_FENCED``, and the markers carry the new epoch, so the
partitions refuse the old producer's writes too (``INVALID_PRODUCER_EPOCH``). A transaction still
Ongoing is aborted first, under a bumped epoch (the new producer retries on
``CONCURRENT_TRANSACTIONS`` until the abort completed). So is one open longer than its
``transaction.timeout.ms``.

Invariants: one state change per transactional id is being stored at a time (``pending``);
the producer epoch only grows; a transaction's markers all carry the epoch stored with its
Prepare state; once :meth:`unload` ran, the machine changes nothing and answers nobody.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from ..api.base import error_fields
from ..api.messages.producer_ids import InitProducerIdRequest, InitProducerIdResponse
from ..api.messages.transactions import (
    AddOffsetsToTxnRequest,
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse,
    EndTxnRequest,
    EndTxnResponse,
    topic_results,
)
from ..errors import (
    ConcurrentTransactionsError,
    CoordinatorNotAvailableError,
    InvalidProducerIdMappingError,
    InvalidTransactionTimeoutError,
    InvalidTxnStateError,
    ProducerFencedError,
)
from ..record.control import Marker
from . import offsets_topic as ot
from .result import CoordinatorResult
from .transaction_log import TransactionLogRecord
from .transaction_metadata import TransactionMetadata
from .transaction_metadata import TransactionState as S

#: the largest epoch before a producer id is exhausted (Kafka: Short.MaxValue - 1)
MAX_EPOCH = 2**15 - 2
#: how soon a CompleteCommit/CompleteAbort record that could not be stored is stored again
COMPLETE_RETRY_MS = 100


class TransactionContext(Protocol):
    """What the machine uses of its broker's transaction coordinator runtime."""

    def now_ms(self) -> int: ...

    def emit(self, kind: str, text: str, **data) -> None: ...

    def config(self, name: str) -> Any: ...

    def new_producer_id(self) -> int: ...

    def offsets_partitions(self) -> int: ...

    def append(self, machine: Any, result: CoordinatorResult) -> None: ...

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Any: ...

    def send_markers(self, machine: Any, meta: TransactionMetadata, committed: bool,
                     on_written: Callable[[], None]) -> None: ...


class TransactionStateMachine:
    """The transactional ids of ``__transaction_state-<index>``, loaded at leader ``epoch``."""

    def __init__(self, context: TransactionContext, index: int, epoch: int):
        self.context = context
        self.index = index
        self.epoch = epoch
        self.transactions: dict[str, TransactionMetadata] = {}
        self.active = True

    def _emit(self, kind: str, text: str, **data) -> None:
        self.context.emit(kind, text, **data)

    # --- records ---------------------------------------------------------------------------------
    def _record(self, meta: TransactionMetadata, state: S, producer_id: int | None = None,
                epoch: int | None = None, partitions=None, start_ms: int | None = None,
                timeout_ms: int | None = None) -> TransactionLogRecord:
        """``meta``'s record in ``state`` with what changes; marks the change pending."""
        meta.pending = state
        return TransactionLogRecord(
            meta.transactional_id,
            meta.producer_id if producer_id is None else producer_id,
            meta.producer_epoch if epoch is None else epoch,
            meta.timeout_ms if timeout_ms is None else timeout_ms, state,
            tuple(sorted(meta.partitions if partitions is None else partitions)),
            self.context.now_ms(), meta.start_ms if start_ms is None else start_ms)

    def _unpend(self, meta: TransactionMetadata) -> Callable[[Exception | None], None]:
        """``on_stored`` of a state change: a failed store leaves the state as it was."""
        def stored(error: Exception | None) -> None:
            if error is not None:
                meta.pending = None
        return stored

    def replay(self, record: TransactionLogRecord, producer_id: int = -1) -> None:
        """Apply one stored ``__transaction_state`` record (a tombstone removes the id)."""
        if record.state is None:
            self.transactions.pop(record.transactional_id, None)
            return
        meta = self.transactions.get(record.transactional_id)
        if meta is None:
            meta = self.transactions[record.transactional_id] = TransactionMetadata(
                record.transactional_id, record.producer_id, record.producer_epoch,
                record.timeout_ms)
        meta.producer_id, meta.producer_epoch = record.producer_id, record.producer_epoch
        meta.timeout_ms, meta.state = record.timeout_ms, record.state
        meta.partitions = set(record.partitions)
        meta.last_update_ms, meta.start_ms = record.last_update_ms, record.start_ms
        meta.pending = None

    def replay_marker(self, marker: Marker) -> None:
        """(``__transaction_state`` holds no transactional batches: nothing to do.)"""

    def loaded(self) -> None:
        """The log is replayed: transactions left in a Prepare state get their markers."""
        for meta in self.transactions.values():
            if meta.state.completing:
                self._emit("txn.markers_resumed", f"the new coordinator of "
                           f"{meta.transactional_id} sends the "
                           f"{'COMMIT' if meta.state is S.PREPARE_COMMIT else 'ABORT'} markers "
                           "its predecessor may not have finished",
                           transactional_id=meta.transactional_id)
                self._send_markers(meta, meta.state is S.PREPARE_COMMIT)

    def unload(self, error: Exception | None) -> None:
        self.active = False

    # --- checks ----------------------------------------------------------------------------------
    def _check(self, transactional_id: str, producer_id: int, epoch: int,
               meta: TransactionMetadata | None) -> Exception | None:
        """Kafka's checks of a request from a transactional producer."""
        if meta is None or meta.producer_id != producer_id:
            return InvalidProducerIdMappingError(
                f"transactional id {transactional_id} is not mapped to producer id "
                f"{producer_id}" + ("" if meta is None else
                                    f" (it has producer id {meta.producer_id})")
                + ": call init_transactions() first")
        if epoch != meta.producer_epoch:
            return ProducerFencedError(
                f"producer {producer_id} with epoch {epoch} is fenced: transactional id "
                f"{transactional_id} is at epoch {meta.producer_epoch} — a newer producer "
                "with the same transactional_id called init_transactions(), or the "
                "coordinator aborted this producer's transaction after transaction.timeout.ms")
        if meta.pending is not None or meta.state.completing:
            return ConcurrentTransactionsError(
                f"transactional id {transactional_id} is busy ({meta.state.value}"
                f"{' -> ' + meta.pending.value if meta.pending else ''}): retry")
        return None

    # --- InitProducerId --------------------------------------------------------------------------
    def init_producer_id(self, request: InitProducerIdRequest) -> CoordinatorResult:
        tid = request.transactional_id
        max_ms = self.context.config("transaction.max.timeout.ms")
        if not 0 < request.transaction_timeout_ms <= max_ms:
            return CoordinatorResult(response=InitProducerIdResponse(**error_fields(
                InvalidTransactionTimeoutError(
                    f"transaction_timeout_ms={request.transaction_timeout_ms} is not allowed: "
                    f"it must be in 1..transaction.max.timeout.ms={max_ms}"))))
        meta = self.transactions.get(tid)
        if meta is None:
            meta = self.transactions[tid] = TransactionMetadata(
                tid, self.context.new_producer_id(), -1, request.transaction_timeout_ms)
        if meta.pending is not None or meta.state.completing:
            return CoordinatorResult(response=InitProducerIdResponse(**error_fields(
                ConcurrentTransactionsError(
                    f"transactional id {tid} is completing a transaction "
                    f"({meta.state.value}): init_transactions() retries until it is done"))))
        if meta.state is S.ONGOING:
            self._emit("txn.fenced", f"a new producer with transactional id {tid} called "
                       f"init_transactions(): producer {meta.producer_id} epoch "
                       f"{meta.producer_epoch} is fenced and its open transaction is aborted",
                       transactional_id=tid, producer_id=meta.producer_id)
            self._abort(meta, fence=True, why="a new producer instance took over")
            return CoordinatorResult(response=InitProducerIdResponse(**error_fields(
                ConcurrentTransactionsError(
                    f"transactional id {tid} had an open transaction: it is being aborted; "
                    "init_transactions() retries until that is done"))))
        producer_id, epoch = meta.producer_id, meta.producer_epoch + 1
        if epoch > MAX_EPOCH:
            producer_id, epoch = self.context.new_producer_id(), 0
        record = self._record(meta, S.EMPTY, producer_id, epoch, (), -1,
                              request.transaction_timeout_ms)
        fenced = meta.producer_epoch >= 0
        self._emit("txn.producer_initialized", f"transactional id {tid} -> producer id "
                   f"{producer_id}, epoch {epoch}" + (
                       f": epoch {meta.producer_epoch} and older are fenced" if fenced else ""),
                   transactional_id=tid, producer_id=producer_id, epoch=epoch)
        return CoordinatorResult((record,), InitProducerIdResponse(
            producer_id=producer_id, producer_epoch=epoch), on_stored=self._unpend(meta))

    # --- AddPartitionsToTxn / AddOffsetsToTxn ----------------------------------------------------
    def add_partitions(self, request: AddPartitionsToTxnRequest) -> CoordinatorResult:
        wanted = {(t.name, p) for t in request.topics for p in t.partitions}
        return self._add(request, wanted, lambda error: AddPartitionsToTxnResponse(
            topic_results(request.topics, lambda name, index: error)))

    def add_offsets(self, request: AddOffsetsToTxnRequest) -> CoordinatorResult:
        """The group's ``__consumer_offsets`` partition joins the transaction: it gets a marker
        too, which commits (or drops) the offsets sent with the transaction."""
        partition = ot.partition_for(request.group_id, self.context.offsets_partitions())
        return self._add(request, {(ot.TOPIC, partition)},
                         lambda error: AddOffsetsToTxnResponse(**error_fields(error)))

    def _add(self, request, wanted: set[tuple[str, int]], response) -> CoordinatorResult:
        tid = request.transactional_id
        meta = self.transactions.get(tid)
        error = self._check(tid, request.producer_id, request.producer_epoch, meta)
        if error is not None:
            return CoordinatorResult(response=response(error))
        if meta.state is S.ONGOING and wanted <= meta.partitions:
            return CoordinatorResult(response=response(None))
        start = meta.start_ms if meta.state is S.ONGOING else self.context.now_ms()
        added = sorted(wanted - meta.partitions)
        record = self._record(meta, S.ONGOING, partitions=meta.partitions | wanted,
                              start_ms=start)
        self._emit("txn.partitions_added", f"transaction of {tid} (producer "
                   f"{meta.producer_id}) now includes "
                   f"{', '.join(f'{t}-{p}' for t, p in added)}", transactional_id=tid,
                   partitions=[f"{t}-{p}" for t, p in added])
        return CoordinatorResult((record,), response(None), on_stored=self._unpend(meta))

    # --- EndTxn ----------------------------------------------------------------------------------
    def end_txn(self, request: EndTxnRequest) -> CoordinatorResult:
        tid = request.transactional_id
        meta = self.transactions.get(tid)
        what = "commit" if request.committed else "abort"
        done = S.COMPLETE_COMMIT if request.committed else S.COMPLETE_ABORT
        if meta is not None and meta.pending is None and meta.state is done and \
                meta.producer_id == request.producer_id and \
                meta.producer_epoch == request.producer_epoch:
            return CoordinatorResult(response=EndTxnResponse())  # a retry of a finished end
        error = self._check(tid, request.producer_id, request.producer_epoch, meta)
        if error is None and meta.state is not S.ONGOING:
            error = InvalidTxnStateError(
                f"transactional id {tid} cannot {what}: its transaction is "
                f"{meta.state.value}, not Ongoing")
        if error is not None:
            return CoordinatorResult(response=EndTxnResponse(**error_fields(error)))
        return self._prepare(meta, request.committed, EndTxnResponse(),
                             f"the producer asked to {what}")

    def _prepare(self, meta: TransactionMetadata, committed: bool, response: Any,
                 why: str, epoch: int | None = None) -> CoordinatorResult:
        """Store PrepareCommit/PrepareAbort, answer, then write the markers."""
        state = S.PREPARE_COMMIT if committed else S.PREPARE_ABORT
        record = self._record(meta, state, epoch=epoch)
        self._emit("txn.prepare", f"transaction of {meta.transactional_id} (producer "
                   f"{meta.producer_id}): {state.value} — {why}; markers go to "
                   f"{len(meta.partitions)} partition(s)",
                   transactional_id=meta.transactional_id, state=state.value)

        def stored(error: Exception | None) -> None:
            if error is not None:
                meta.pending = None
                return
            self._send_markers(meta, committed)
        return CoordinatorResult((record,), response, on_stored=stored)

    def _abort(self, meta: TransactionMetadata, fence: bool, why: str) -> None:
        """Abort ``meta``'s open transaction on the coordinator's own initiative (nobody waits
        for the answer); ``fence``: under the next epoch, so its producer is fenced."""
        epoch = meta.producer_epoch + 1 if fence else None
        self.context.append(self, self._prepare(meta, False, None, why, epoch))

    def _send_markers(self, meta: TransactionMetadata, committed: bool) -> None:
        state = S.COMPLETE_COMMIT if committed else S.COMPLETE_ABORT

        def complete() -> None:
            if not self.active or self.transactions.get(meta.transactional_id) is not meta:
                return
            record = self._record(meta, state, partitions=())
            self.context.append(self, CoordinatorResult((record,), on_stored=stored))

        def stored(error: Exception | None) -> None:
            if error is None:
                return
            meta.pending = None
            # as Kafka's TransactionMarkerChannelManager.tryAppendToLog: not stored for want
            # of replicas or in time (COORDINATOR_NOT_AVAILABLE) — append it again; no longer
            # the coordinator — the next one reloads PrepareCommit/Abort and completes it
            if isinstance(error, CoordinatorNotAvailableError):
                self.context.call_later(COMPLETE_RETRY_MS, complete)

        def written() -> None:
            if not self.active or self.transactions.get(meta.transactional_id) is not meta:
                return
            self._emit("txn.complete", f"transaction of {meta.transactional_id} (producer "
                       f"{meta.producer_id}): {state.value}, every marker written",
                       transactional_id=meta.transactional_id, state=state.value)
            complete()
        self.context.send_markers(self, meta, committed, written)

    # --- housekeeping ----------------------------------------------------------------------------
    def abort_timed_out(self) -> None:
        """Abort (and fence) every transaction open longer than its timeout (Kafka's
        ``abortTimedOutTransactions``)."""
        now = self.context.now_ms()
        for meta in list(self.transactions.values()):
            if meta.state is S.ONGOING and meta.pending is None and \
                    now - meta.start_ms > meta.timeout_ms:
                self._emit("txn.timed_out", f"transaction of {meta.transactional_id} "
                           f"(producer {meta.producer_id}) has been open "
                           f"{(now - meta.start_ms) / 1000:g} s > transaction.timeout.ms="
                           f"{meta.timeout_ms}: the coordinator aborts it and fences the "
                           "producer", transactional_id=meta.transactional_id)
                self._abort(meta, fence=True,
                            why=f"transaction.timeout.ms={meta.timeout_ms} passed")

    def expire_transactional_ids(self) -> None:
        """Forget transactional ids idle longer than ``transactional.id.expiration.ms``
        (Kafka's ``removeExpiredTransactionalIds``): a tombstone each."""
        now, limit = self.context.now_ms(), self.context.config("transactional.id.expiration.ms")
        for meta in list(self.transactions.values()):
            if meta.state.idle and meta.pending is None and now - meta.last_update_ms > limit:
                self._emit("txn.id_expired", f"transactional id {meta.transactional_id} "
                           f"expired: unused for more than transactional.id.expiration.ms="
                           f"{limit}", transactional_id=meta.transactional_id)
                meta.pending = S.DEAD
                self.context.append(self, CoordinatorResult(
                    (TransactionLogRecord(meta.transactional_id),),
                    on_stored=self._unpend(meta)))
