"""The sender: turns ready batches into produce requests, one per broker, and handles answers.

Kafka's producer sender loop, run on the cluster's scheduler instead of a thread. Each run
first refreshes the producer's metadata cache if it is stale or was asked to
(:class:`~.metadata.ClusterMetadata`: brokers and partition leaders as a Metadata request last
answered). When a partition's head batch is ready, its leader broker *by that cache* is *ready*;
the sender then drains the head batch of every partition that broker leads into one
ProduceRequest (``max_request_size`` bounds it), sent through the transport as long as fewer
than ``max_in_flight_requests_per_connection`` requests to that broker are unanswered. Answers
resolve futures in send order; a retriable error puts the batch back after
``retry_backoff_ms``; an error that says the cache is stale (``NOT_LEADER_OR_FOLLOWER``,
``LEADER_NOT_AVAILABLE``, ``UNKNOWN_TOPIC_OR_PARTITION``, a broker that cannot be reached, no
answer) has the cache refreshed before the retry, as kafka-python's sender does;
``request_timeout_ms`` without an answer counts as a retriable error; ``delivery_timeout_ms``
after creation a batch fails for good — queued or in flight, as Java's and kafka-python's
senders expire in-flight batches too (a late answer then changes nothing). With ``acks=0`` the
broker sends no answer: the futures resolve as the request leaves, with offset -1.

Idempotence: the producer's :class:`~.transaction_manager.TransactionManager` owns the producer
id, the epoch and each partition's sequence numbers; the sender asks it whether a head batch may
go, has it number a batch on its first drain, and reports every outcome to it. Each attempt
that ends after the leader may have appended the batch (no answer, or an error the broker gives
after appending) marks the batch *maybe stored*, which stops it from ever being renumbered.

Invariants: a batch is in exactly one place — its queue, or one in-flight request; each
request is answered once (by the broker or by its timeout, whichever comes first); a batch's
futures resolve once (``batch.done``).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from ..api.base import error_from
from ..api.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from ..errors import (
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NotEnoughReplicasAfterAppendError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumberError,
    RequestTimedOutError,
    TransactionAbortedError,
    UnknownTopicOrPartitionError,
)
from ..metrics import Sensor
from ..record import RecordBatch
from ..structs import TopicPartition
from .accumulator import ProducerBatch, RecordAccumulator
from .metadata import ClusterMetadata
from .transaction_manager import TransactionManager


class _Request:
    __slots__ = ("node", "batches", "sent_ms", "done", "timer")

    def __init__(self, node: int, batches: list[ProducerBatch], sent_ms: int):
        self.node = node
        self.batches = batches
        self.sent_ms = sent_ms
        self.done = False
        self.timer = None


class Sender:
    def __init__(self, transport: Any, metadata: ClusterMetadata, config: dict[str, Any],
                 sensors: dict[str, Sensor], sequences: TransactionManager,
                 accumulator: RecordAccumulator, on_metadata_update: Callable[[], None],
                 transactions: Any = None):
        """``on_metadata_update()`` runs after the sender refreshed the metadata cache;
        ``transactions``: a transactional producer's :class:`~.transactions.Transactions`."""
        self._transactions = transactions
        self._transport = transport
        self._metadata = metadata
        self._on_metadata_update = on_metadata_update
        self._accumulator = accumulator
        self._config = config
        self._sensors = sensors
        self._sequences = sequences
        self._in_flight: dict[int, int] = defaultdict(int)
        self._wakeup = None
        self._wakeup_ms: int | None = None
        self._requests: set[_Request] = set()  # unanswered requests (acks != 0)
        self.flushing = False
        #: at the last run, a head batch had no known leader or the producer no id: run again
        #: after retry_backoff_ms (kafka-python's sender polls again after its backoff)
        self._retry_soon = False
        self._closed = False  # force-closed: it never runs again

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    # --- scheduling ------------------------------------------------------------------------------
    def wakeup(self, at_ms: int | None = None) -> None:
        """Make sure the sender runs at ``at_ms`` (default: now) or earlier."""
        if self._closed:
            return
        transport = self._transport
        at_ms = transport.now_ms() if at_ms is None else at_ms
        if self._wakeup_ms is not None and self._wakeup_ms <= at_ms:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup_ms = at_ms
        self._wakeup = transport.call_later(at_ms - transport.now_ms(), self.run)

    def run(self) -> None:
        self._wakeup = self._wakeup_ms = None
        now = self._transport.now_ms()
        if self._metadata.maybe_update():
            self._on_metadata_update()
        self._expire_batches(now)
        self._retry_soon = not self._sequences.maybe_update_producer_id()
        if self._transactions is not None:
            self._transactions.pump()
        max_in_flight = self._config["max_in_flight_requests_per_connection"]
        for node, partitions in self._ready_nodes(now).items():
            while self._in_flight[node] < max_in_flight and self._any_ready(partitions, now):
                self._send(node, self._drain(partitions, now), now)
        self._schedule_next(now)

    def _schedule_next(self, now: int) -> None:
        """Wake for the next linger/backoff deadline or delivery timeout. Heads that are ready
        but unsent wait for an answer (which wakes the sender) or for their timeout."""
        timeout = self._config["delivery_timeout_ms"]
        times = []
        for batch in self._accumulator.heads():
            times.append(batch.created_ms + timeout)
            if batch.ready_at_ms() > now:
                times.append(batch.ready_at_ms())
        times.extend(batch.created_ms + timeout for request in self._requests
                     for batch in request.batches if not batch.done)
        if self._retry_soon and times:  # (only while something waits to be sent)
            times.append(now + self._config["retry_backoff_ms"])
        times = [t for t in times if t > now]  # what is due now was handled by this run
        if times:
            self.wakeup(min(times))

    def _ready_nodes(self, now: int) -> dict[int, list[TopicPartition]]:
        """Brokers with at least one ready head batch -> every partition of theirs with data,
        by the metadata cache. A partition whose leader the cache does not know (no leader, or
        its topic gone) waits, with the cache refreshed until the batch expires."""
        by_node: dict[int, list[TopicPartition]] = defaultdict(list)
        ready: set[int] = set()
        metadata = self._metadata
        for batch in self._accumulator.heads():
            tp = batch.tp
            node = metadata.leader_for_partition(tp)
            if node is None or node == -1:
                batch.last_error = metadata.topic_error(tp.topic) or (
                    UnknownTopicOrPartitionError(f"{tp.topic}-{tp.partition} is not in the "
                                                 "metadata") if node is None else
                    LeaderNotAvailableError(f"{tp.topic}-{tp.partition} has no leader "
                                            "(offline)"))
                metadata.request_update()
                self._retry_soon = True
                continue
            by_node[node].append(batch.tp)
            if batch.is_ready(now, self.flushing):
                ready.add(node)
        return {node: tps for node, tps in by_node.items() if node in ready}

    def _drainable(self, tp: TopicPartition, now: int) -> bool:
        queue = self._accumulator.queues.get(tp)
        return bool(queue) and self._sequences.can_drain(queue[0]) and \
            not (queue[0].attempts and now < queue[0].retry_at_ms) and \
            (self._transactions is None or self._transactions.may_send(tp))

    def _any_ready(self, partitions: list[TopicPartition], now: int) -> bool:
        queues = self._accumulator.queues
        return any(self._drainable(tp, now) and queues[tp][0].is_ready(now, self.flushing)
                   for tp in partitions)

    def _drain(self, partitions: list[TopicPartition], now: int) -> list[ProducerBatch]:
        accumulator, limit = self._accumulator, self._config["max_request_size"]
        drained, size = [], 0
        for tp in partitions:
            if not self._drainable(tp, now):
                continue
            queue = accumulator.queues[tp]
            if drained and size + queue[0].size > limit:
                break
            batch = accumulator.pop_head(tp)
            size += batch.size
            drained.append(batch)
        return drained

    # --- requests ------------------------------------------------------------------------------
    def _send(self, node: int, batches: list[ProducerBatch], now: int) -> None:
        sequences = self._sequences
        topic_data: dict[str, list[PartitionProduceData]] = {}
        for batch in batches:
            if sequences.is_idempotent and batch.base_sequence < 0:
                sequences.assign_sequence(batch)
            batch.attempts += 1
            batch.in_request = True
            record_batch = RecordBatch(
                batch.records, compression_type=self._config["compression_type"],
                producer_id=sequences.producer_id, producer_epoch=batch.producer_epoch,
                base_sequence=batch.base_sequence, uncompressed_size=batch.size,
                is_transactional=self._transactions is not None)
            self._record_batch_metrics(batch, record_batch)
            topic_data.setdefault(batch.tp.topic, []).append(
                PartitionProduceData(batch.tp.partition, record_batch))
        self._sensors["records-per-request"].record(sum(len(b.records) for b in batches))
        acks, timeout_ms = self._config["acks"], self._config["request_timeout_ms"]
        request = _Request(node, batches, now)
        self._transport.send(node, ProduceRequest(
            None, acks, timeout_ms,
            tuple(TopicProduceData(topic, tuple(data)) for topic, data in topic_data.items())),
            lambda response: self._on_response(request, response))
        if acks == 0:
            self._on_response(request, None)
            return
        self._in_flight[node] += 1
        self._requests.add(request)
        # a round trip of grace, so that a broker's own timeout answer (which says why) wins
        request.timer = self._transport.call_later(
            timeout_ms + self._transport.round_trip_ms + 1, lambda: self._on_timeout(request))

    def _record_batch_metrics(self, batch: ProducerBatch, record_batch: RecordBatch) -> None:
        self._sensors["batch-size"].record(record_batch.size_in_bytes)
        if record_batch.codec:
            self._sensors["compression-rate"].record(record_batch.size_in_bytes / batch.size)

    def _on_timeout(self, request: _Request) -> None:
        if request.done:
            return
        self._metadata.request_update()  # as kafka-python, which drops the connection then
        self._on_response(request, RequestTimedOutError(
            f"no answer from broker {request.node} within request_timeout_ms="
            f"{self._config['request_timeout_ms']}"))

    def _on_response(self, request: _Request,
                     response: ProduceResponse | Exception | None) -> None:
        """The answer to ``request``: the broker's response, an error for all of it (the
        broker could not be reached, or did not answer in time), or None for acks=0 (no answer
        comes: the records count as sent)."""
        if request.done:
            return  # already answered by its timeout: a late answer is ignored
        request.done = True
        self._requests.discard(request)
        if request.timer is not None:
            request.timer.cancel()
            self._in_flight[request.node] -= 1
        now = self._transport.now_ms()
        self._sensors["request-latency"].record(now - request.sent_ms)
        answers = {} if not isinstance(response, ProduceResponse) else {
            (topic.name, p.index): p for topic in response.responses
            for p in topic.partition_responses}
        for batch in request.batches:
            batch.in_request = False
            if batch.done:
                continue  # expired in flight (delivery_timeout_ms): already failed
            answer = answers.get(batch.tp)  # (a TopicPartition is a (topic, partition) tuple)
            if answer is None:
                error = response
            elif answer.error_code:
                error = error_from(answer.error_code, answer.error_message)
            else:
                self._complete(batch, answer.base_offset, answer.log_append_time_ms)
                continue
            if error is None:  # acks=0
                self._complete(batch, -1, -1)
                continue
            if getattr(error, "invalid_metadata", False):
                self._metadata.request_update()
            if isinstance(error, _AFTER_APPEND):
                batch.maybe_stored = True
            elif isinstance(error, OutOfOrderSequenceNumberError):
                self._sequences.on_out_of_order(batch)
            if self._should_retry(batch, error, now):
                batch.last_error = error
                self._sensors["record-retry"].record(len(batch.records))
                batch.retry_at_ms = now + self._config["retry_backoff_ms"]
                self._accumulator.reenqueue(batch)
            else:
                self._fail(batch, error)
        self.wakeup()

    def _should_retry(self, batch: ProducerBatch, error: Exception, now: int) -> bool:
        if now + self._config["retry_backoff_ms"] - batch.created_ms >= \
                self._config["delivery_timeout_ms"]:
            return False  # the retry would come too late: fail now, with this error
        if batch.attempts > self._config["retries"]:
            return False
        if isinstance(error, OutOfOrderSequenceNumberError):
            # an earlier batch of this partition is not stored yet (on its way, or retried):
            # retry in sequence order; a real gap renumbers the partition first
            return True
        return bool(getattr(error, "retriable", False))

    def _expire_batches(self, now: int) -> None:
        timeout = self._config["delivery_timeout_ms"]
        accumulator = self._accumulator
        for tp, queue in accumulator.queues.items():
            while queue and now - queue[0].created_ms >= timeout:
                self._expire(accumulator.pop_head(tp), now)
        for request in list(self._requests):
            for batch in request.batches:
                if not batch.done and now - batch.created_ms >= timeout:
                    batch.maybe_stored = True  # its attempt is unanswered: it may be stored
                    self._expire(batch, now)

    def _expire(self, batch: ProducerBatch, now: int) -> None:
        tp = batch.tp
        why = (f"Expiring {len(batch.records)} record(s) for {tp.topic}-{tp.partition}: "
               f"{now - batch.created_ms} ms has passed since batch creation "
               f"(delivery_timeout_ms={self._config['delivery_timeout_ms']})")
        error = batch.last_error
        self._fail(batch, KafkaTimeoutError(why) if error is None
                   else type(error)(f"{why}; last error: {error}"))

    def abort_incomplete(self, error: Exception) -> None:
        """Force-close: fail every batch not answered yet — queued or in flight — with
        ``error`` (kafka-python's ``abort_incomplete_batches``), and never run again; a late
        answer then changes nothing."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = self._wakeup_ms = None
        accumulator = self._accumulator
        for tp, queue in accumulator.queues.items():
            while queue:
                self._fail(accumulator.pop_head(tp), error)
        for request in list(self._requests):
            if request.timer is not None:
                request.timer.cancel()
            for batch in request.batches:
                if not batch.done:
                    self._fail(batch, error)

    # --- resolving futures ---------------------------------------------------------------------
    def _complete(self, batch: ProducerBatch, base_offset: int, log_append_time: int) -> None:
        self._accumulator.release(batch)
        self._sequences.on_stored(batch)
        self._sensors["record-send"].record(len(batch.records))
        batch.complete(base_offset, log_append_time)

    def _fail(self, batch: ProducerBatch, error: Exception) -> None:
        self._accumulator.release(batch)
        self._sensors["record-error"].record(len(batch.records))
        batch.fail(error)
        self._sequences.on_failed(batch, error)
        if self._transactions is not None and not isinstance(error, TransactionAbortedError):
            self._transactions.on_batch_failed(error)

    def abort_unsent(self, error: Exception) -> None:
        """An aborted transaction: fail every batch not in a request (kafka-python's
        ``abort_undrained_batches``); those in flight are answered as usual."""
        accumulator = self._accumulator
        for tp, queue in accumulator.queues.items():
            while queue:
                self._fail(accumulator.pop_head(tp), error)


#: answers that may come after the leader appended the batch: no answer in time, the ISR shrank
#: after the append, or leadership moved while acks=all waited for replication
_AFTER_APPEND = (RequestTimedOutError, NotEnoughReplicasAfterAppendError,
                 NotLeaderForPartitionError)
