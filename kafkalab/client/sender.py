"""The sender: turns ready batches into produce requests, one per broker, and handles answers.

Kafka's producer sender loop, run on the cluster's scheduler instead of a thread. When a
partition's head batch is ready, its leader broker is *ready*; the sender then drains the head
batch of every partition that broker leads into one request (``max_request_size`` bounds it),
as long as fewer than ``max_in_flight_requests_per_connection`` requests to that broker are
unanswered. Answers resolve futures in send order; a retriable error puts the batch back after
``retry_backoff_ms``; ``request_timeout_ms`` without an answer counts as a retriable error;
``delivery_timeout_ms`` after creation a batch fails for good — queued or in flight, as Java's
and kafka-python's senders expire in-flight batches too (a late answer then changes nothing).

Idempotence: each batch gets its sequence numbers when first drained and keeps them on every
retry, so the broker can recognise a retry of a batch it already stored. A batch refused as out
of order while an earlier batch of its partition is unresolved is retried (Java's rule: it is
not the next sequence after the last acknowledged one). When a numbered batch fails for good its
numbers leave a gap, so the producer bumps its epoch (KIP-360) and numbers from 0 again; a
batch numbered under the old epoch that the broker refused is renumbered on its retry, while one
whose fate is unknown (a timeout: it may be stored) fails rather than risk a duplicate.

Invariants: a batch is in exactly one place — its queue, or one in-flight request; each
request is answered once (by the broker or by its timeout, whichever comes first); a batch's
futures resolve once (``batch.done``).
"""
from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from ..cluster.broker import ProduceResult
from ..errors import (
    KafkaTimeoutError,
    LeaderNotAvailableError,
    OutOfOrderSequenceNumberError,
    RequestTimedOutError,
)
from ..record import RecordBatch
from ..structs import TopicPartition
from .accumulator import ProducerBatch, RecordAccumulator

if TYPE_CHECKING:
    from .producer import KafkaProducer


class _Request:
    __slots__ = ("node", "batches", "sent_ms", "done", "timer")

    def __init__(self, node: int, batches: list[ProducerBatch], sent_ms: int):
        self.node = node
        self.batches = batches
        self.sent_ms = sent_ms
        self.done = False
        self.timer = None


class Sender:
    def __init__(self, producer: "KafkaProducer", accumulator: RecordAccumulator):
        self._producer = producer
        self._transport = producer._transport
        self._accumulator = accumulator
        self._config = producer.config
        self._sensors = producer._sensors
        self._in_flight: dict[int, int] = defaultdict(int)
        self._wakeup = None
        self._wakeup_ms: int | None = None
        self._next_sequence: dict[TopicPartition, int] = defaultdict(int)
        self._last_acked_sequence: dict[TopicPartition, int] = defaultdict(lambda: -1)
        self._requests: set[_Request] = set()  # unanswered requests (acks != 0)
        self.flushing = False
        self._leaderless = False  # some head batch's partition had no leader at the last run

    @property
    def in_flight(self) -> int:
        return sum(self._in_flight.values())

    # --- scheduling ------------------------------------------------------------------------------
    def wakeup(self, at_ms: int | None = None) -> None:
        """Make sure the sender runs at ``at_ms`` (default: now) or earlier."""
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
        self._expire_batches(now)
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
        if self._leaderless:  # look for the leader again, as Kafka's metadata refresh does
            times.append(now + self._config["retry_backoff_ms"])
        times = [t for t in times if t > now]  # what is due now was handled by this run
        if times:
            self.wakeup(min(times))

    def _ready_nodes(self, now: int) -> dict[int, list[TopicPartition]]:
        """Brokers with at least one ready head batch -> every partition of theirs with data."""
        by_node: dict[int, list[TopicPartition]] = defaultdict(list)
        ready: set[int] = set()
        self._leaderless = False
        for batch in self._accumulator.heads():
            try:
                node = self._transport.leader_for(*batch.tp)
            except Exception as error:  # e.g. the topic was deleted: wait, retrying, to expiry
                batch.last_error = error
                continue
            if node is None:
                batch.last_error = LeaderNotAvailableError(
                    f"{batch.tp.topic}-{batch.tp.partition} has no leader (offline)")
                self._leaderless = True
                continue
            by_node[node].append(batch.tp)
            if batch.is_ready(now, self.flushing):
                ready.add(node)
        return {node: tps for node, tps in by_node.items() if node in ready}

    def _any_ready(self, partitions: list[TopicPartition], now: int) -> bool:
        queues = self._accumulator.queues
        return any(queues.get(tp) and queues[tp][0].is_ready(now, self.flushing)
                   for tp in partitions)

    def _drain(self, partitions: list[TopicPartition], now: int) -> list[ProducerBatch]:
        accumulator, limit = self._accumulator, self._config["max_request_size"]
        drained, size = [], 0
        for tp in partitions:
            queue = accumulator.queues.get(tp)
            if not queue or (queue[0].attempts and now < queue[0].retry_at_ms):
                continue
            if drained and size + queue[0].size > limit:
                break
            batch = accumulator.pop_head(tp)
            size += batch.size
            drained.append(batch)
        return drained

    # --- requests ------------------------------------------------------------------------------
    def _send(self, node: int, batches: list[ProducerBatch], now: int) -> None:
        producer = self._producer
        wire = []
        for batch in batches:
            if producer.producer_id >= 0 and (batch.base_sequence < 0 or
                                              batch.producer_epoch != producer.producer_epoch):
                self._assign_sequence(batch)
            batch.attempts += 1
            record_batch = RecordBatch(
                batch.records, compression_type=self._config["compression_type"],
                producer_id=producer.producer_id, producer_epoch=batch.producer_epoch,
                base_sequence=batch.base_sequence, uncompressed_size=batch.size)
            self._record_batch_metrics(batch, record_batch)
            wire.append((batch.tp.topic, batch.tp.partition, record_batch))
        self._sensors["records-per-request"].record(sum(len(b.records) for b in batches))
        acks = producer._acks
        request = _Request(node, batches, now)
        self._transport.produce(node, wire, acks, self._config["request_timeout_ms"],
                                lambda results: self._on_response(request, results))
        if acks == 0:
            self._on_response(request, {(b.tp.topic, b.tp.partition): ProduceResult()
                                        for b in batches})
            return
        self._in_flight[node] += 1
        self._requests.add(request)
        # a round trip of grace, so that a broker's own timeout answer (which says why) wins
        grace_ms = 2 * self._transport.cluster.network_latency_ms + 1
        request.timer = self._transport.call_later(
            self._config["request_timeout_ms"] + grace_ms, lambda: self._on_timeout(request))

    def _assign_sequence(self, batch: ProducerBatch) -> None:
        """Number a batch on its first drain, or again after an epoch bump."""
        batch.base_sequence = self._next_sequence[batch.tp]
        batch.producer_epoch = self._producer.producer_epoch
        self._next_sequence[batch.tp] = (batch.base_sequence + len(batch.records)) % 2**31

    def _is_stale(self, batch: ProducerBatch) -> bool:
        """Numbered under an epoch the producer has since bumped away from."""
        return batch.base_sequence >= 0 and batch.producer_epoch != self._producer.producer_epoch

    def _bump_epoch(self, failed: ProducerBatch, error: Exception) -> None:
        """KIP-360: a numbered batch failed for good, leaving a gap in its partition's
        sequence; take a new epoch, whose sequences start at 0 on every partition."""
        producer = self._producer
        tp = failed.tp
        producer.producer_id, producer.producer_epoch = self._transport.init_producer_id(
            producer.producer_id, producer.producer_epoch,
            f"its batch of sequences {failed.base_sequence}.."
            f"{(failed.base_sequence + len(failed.records) - 1) % 2**31} for "
            f"{tp.topic}-{tp.partition} failed ({type(error).__name__})")
        self._next_sequence.clear()
        self._last_acked_sequence.clear()
        # Waiting retries of the old epoch: renumber those the broker refused; fail those
        # whose last attempt may have been stored (a timeout), rather than store them twice.
        for queue in self._accumulator.queues.values():
            for batch in [b for b in queue if self._is_stale(b) and _maybe_stored(b.last_error)]:
                queue.remove(batch)
                self._fail(batch, batch.last_error)

    def _record_batch_metrics(self, batch: ProducerBatch, record_batch: RecordBatch) -> None:
        self._sensors["batch-size"].record(record_batch.size_in_bytes)
        if record_batch.codec:
            self._sensors["compression-rate"].record(record_batch.size_in_bytes / batch.size)

    def _on_timeout(self, request: _Request) -> None:
        if request.done:
            return
        error = RequestTimedOutError(
            f"no answer from broker {request.node} within request_timeout_ms="
            f"{self._config['request_timeout_ms']}")
        self._on_response(request, {(b.tp.topic, b.tp.partition): ProduceResult(error=error)
                                    for b in request.batches})

    def _on_response(self, request: _Request, results: dict) -> None:
        if request.done:
            return  # already answered by its timeout: a late answer is ignored
        request.done = True
        self._requests.discard(request)
        if request.timer is not None:
            request.timer.cancel()
            self._in_flight[request.node] -= 1
        now = self._transport.now_ms()
        self._sensors["request-latency"].record(now - request.sent_ms)
        for batch in request.batches:
            if batch.done:
                continue  # expired in flight (delivery_timeout_ms): already failed
            result = results[(batch.tp.topic, batch.tp.partition)]
            if result.error is None:
                self._complete(batch, result)
            elif self._should_retry(batch, result.error, now):
                batch.last_error = result.error
                self._sensors["record-retry"].record(len(batch.records))
                batch.retry_at_ms = now + self._config["retry_backoff_ms"]
                self._accumulator.reenqueue(batch)
            else:
                self._fail(batch, result.error)
        self.wakeup()

    def _should_retry(self, batch: ProducerBatch, error: Exception, now: int) -> bool:
        if now + self._config["retry_backoff_ms"] - batch.created_ms >= \
                self._config["delivery_timeout_ms"]:
            return False  # the retry would come too late: fail now, with this error
        if batch.attempts > self._config["retries"]:
            return False
        if self._is_stale(batch):
            # numbered under an epoch since bumped: safe to renumber only if surely not stored
            return not _maybe_stored(error)
        if isinstance(error, OutOfOrderSequenceNumberError):
            # refused because an earlier batch of this partition is not stored yet (it failed
            # and is being retried, or is still on its way): retry in sequence order. Only the
            # next sequence after the last acknowledged one being refused is a real error.
            expected = (self._last_acked_sequence[batch.tp] + 1) % 2**31
            return batch.base_sequence != expected
        return bool(getattr(error, "retriable", False))

    def _expire_batches(self, now: int) -> None:
        timeout = self._config["delivery_timeout_ms"]
        for tp, queue in self._accumulator.queues.items():
            while queue and now - queue[0].created_ms >= timeout:
                self._expire(queue.popleft(), now)
        for request in list(self._requests):
            for batch in request.batches:
                if not batch.done and now - batch.created_ms >= timeout:
                    self._expire(batch, now)

    def _expire(self, batch: ProducerBatch, now: int) -> None:
        tp = batch.tp
        why = (f"Expiring {len(batch.records)} record(s) for {tp.topic}-{tp.partition}: "
               f"{now - batch.created_ms} ms has passed since batch creation "
               f"(delivery_timeout_ms={self._config['delivery_timeout_ms']})")
        error = batch.last_error
        self._fail(batch, KafkaTimeoutError(why) if error is None
                   else type(error)(f"{why}; last error: {error}"))

    # --- resolving futures ---------------------------------------------------------------------
    def _complete(self, batch: ProducerBatch, result: ProduceResult) -> None:
        self._accumulator.release(batch)
        if batch.base_sequence >= 0 and not self._is_stale(batch):
            self._last_acked_sequence[batch.tp] = \
                (batch.base_sequence + len(batch.records) - 1) % 2**31
        self._sensors["record-send"].record(len(batch.records))
        batch.complete(result.base_offset, result.log_append_time)
        self._producer._unresolved -= len(batch.records)

    def _fail(self, batch: ProducerBatch, error: Exception) -> None:
        self._accumulator.release(batch)
        self._sensors["record-error"].record(len(batch.records))
        batch.fail(error)
        self._producer._unresolved -= len(batch.records)
        if batch.base_sequence >= 0 and not self._is_stale(batch):
            self._bump_epoch(batch, error)


def _maybe_stored(error: Exception | None) -> bool:
    """A timeout leaves a batch's fate unknown: the broker may have stored it (a lost answer,
    or acks='all' waiting for replication). Every other error is a refusal before append."""
    return isinstance(error, (RequestTimedOutError, KafkaTimeoutError))
