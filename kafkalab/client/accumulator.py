"""The record accumulator: per-partition queues of batches waiting to be sent.

A record joins its partition's *open* batch — the last of its queue, while it is neither full
nor drained — if it fits in ``batch_size``; that is ``KafkaProducer.send()``'s own per-record
work (Java's ``tryAppend``, done there so that a send costs one Python call). Otherwise the
record that does not fit closes the open batch (:meth:`RecordAccumulator.close`) and
:meth:`RecordAccumulator.open_batch` starts a new one with it. The head batch of a queue is
*ready* when it is full, its ``linger_ms`` has passed, the producer is flushing, or — for a
retried batch — its ``retry_backoff_ms`` has passed. The accumulator wakes the sender only when
that can change: a batch opened (ready at its linger deadline) or filled up (ready now).
Memory: every unsent or unanswered batch counts against ``buffer_memory``; ``send()`` blocks
(up to ``max_block_ms``) while it is used up.

Invariants: within a queue, batches are in send order (idempotent retries: in sequence order);
a partition's open batch (``open_batches``) is the last of its queue, not full and never sent;
``used_bytes`` (``buffer_memory - free_bytes``) is the sum of the sizes of batches not yet
released; ``unresolved`` counts the batches made and not yet released; a batch's ``size`` is
the exact size of its v2 encoding (each record's size is computed once, as it is appended).
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Iterator

from ..record.batch import HEADER_SIZE
from ..structs import RecordMetadata, TopicPartition, serialized_header_size
from .futures import FutureRecordMetadata, run_callback


class ProducerBatch:
    """Records for one partition, their outcome once answered, and the send bookkeeping.

    Records are plain tuples ``(offset_delta, timestamp, key, value, headers)``, as a
    :class:`~kafkalab.record.RecordBatch` stores them; ``size`` is the exact size of their v2
    encoding (the accumulator sizes each record once, as it appends it). The futures of its
    records read the outcome from here (see :mod:`.futures`).

    Invariants: ``done`` turns True once, after ``base_offset``/``log_append_time`` or
    ``error`` are set; callbacks waiting on its records run then, in record order.
    """

    __slots__ = ("tp", "records", "size", "first_timestamp", "small_deltas", "created_ms",
                 "linger_until_ms", "full", "attempts", "retry_at_ms", "base_sequence",
                 "producer_epoch", "in_request", "maybe_stored", "last_error", "wait_for", "done",
                 "base_offset", "log_append_time", "error", "_waiters")

    def __init__(self, tp: TopicPartition, first_timestamp: int, now_ms: int, linger_ms: int,
                 wait_for: Callable[[Callable[[], bool], float], bool]):
        self.tp = tp
        self.records: list[tuple] = []
        self.size = HEADER_SIZE
        self.first_timestamp = first_timestamp  # of its first record: timestamp deltas start here
        #: the timestamps whose delta takes one byte (-64..63 ms from the first)
        self.small_deltas = range(first_timestamp - 64, first_timestamp + 64)
        self.created_ms = now_ms
        self.linger_until_ms = now_ms + linger_ms
        self.full = False
        self.attempts = 0
        self.retry_at_ms = 0
        self.base_sequence = -1
        self.producer_epoch = -1
        self.in_request = False    # in a request not answered yet
        self.maybe_stored = False  # an attempt ended after the leader may have appended it
        self.last_error: Exception | None = None
        self.wait_for = wait_for  # runs the world until a condition holds (future.get)
        self.done = False  # answered: a late answer then changes nothing
        self.base_offset = -1
        self.log_append_time = -1
        self.error: Exception | None = None
        self._waiters: list[tuple[int, Callable | None, Callable | None]] = []

    def is_ready(self, now_ms: int, flushing: bool) -> bool:
        if self.attempts:
            return now_ms >= self.retry_at_ms
        return self.full or flushing or now_ms >= self.linger_until_ms

    def ready_at_ms(self) -> int:
        return self.retry_at_ms if self.attempts else self.linger_until_ms

    # --- records -------------------------------------------------------------------------------
    def metadata(self, index: int) -> RecordMetadata:
        """kafka-python's RecordMetadata of record ``index`` (the batch has been stored)."""
        offset_delta, timestamp, key, value, headers = self.records[index]
        topic, partition = tp = self.tp
        return RecordMetadata(topic, partition, tp,
                              -1 if self.base_offset == -1 else self.base_offset + offset_delta,
                              timestamp if self.log_append_time == -1 else self.log_append_time,
                              None, -1 if key is None else len(key),
                              -1 if value is None else len(value),
                              serialized_header_size(headers))

    # --- outcome -------------------------------------------------------------------------------
    def add_waiter(self, index: int, callback: Callable | None, errback: Callable | None
                   ) -> None:
        """Run ``callback(metadata)`` or ``errback(error)`` for record ``index`` when answered."""
        self._waiters.append((index, callback, errback))

    def complete(self, base_offset: int, log_append_time: int) -> None:
        """Stored at ``base_offset`` (-1 when unknown: acks=0)."""
        self.base_offset, self.log_append_time = base_offset, log_append_time
        self._resolve()

    def fail(self, error: Exception) -> None:
        self.error = error
        self._resolve()

    def _resolve(self) -> None:
        self.done = True
        waiters, self._waiters = self._waiters, []
        # in record order, and for one record in the order registered (sort is stable), as
        # kafka-python's per-record futures run them
        for index, callback, errback in sorted(waiters, key=lambda waiter: waiter[0]):
            if self.error is None:
                run_callback(callback, self.metadata(index))
            else:
                run_callback(errback, self.error)


class RecordAccumulator:
    def __init__(self, batch_size: int, linger_ms: int, buffer_memory: int,
                 wake_sender: Callable[[int | None], None],
                 wait_for: Callable[[Callable[[], bool], float], bool]):
        """``wake_sender(at_ms)`` asks the sender to run at ``at_ms`` (None: now);
        ``wait_for`` is handed to batches for their futures' ``get()``."""
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.buffer_memory = buffer_memory
        self.queues: dict[TopicPartition, deque[ProducerBatch]] = {}
        self.open_batches: dict[TopicPartition, ProducerBatch] = {}
        self.free_bytes = buffer_memory  # (the counter send() reads and updates)
        self.unresolved = 0  # batches made and not yet answered (queued or in flight)
        self._wake_sender = wake_sender
        self._wait_for = wait_for

    @property
    def used_bytes(self) -> int:
        return self.buffer_memory - self.free_bytes

    def has_room_for(self, size: int) -> bool:
        return size <= self.free_bytes or self.free_bytes == self.buffer_memory

    def close(self, batch: ProducerBatch) -> None:
        """A record did not fit in the open ``batch``: it takes no more, and is ready now."""
        batch.full = True
        del self.open_batches[batch.tp]
        self._wake_sender(None)

    def open_batch(self, tp: TopicPartition, timestamp: int, key: bytes | None,
                   value: bytes | None, headers: tuple, size: int,
                   now_ms: int) -> FutureRecordMetadata:
        """Start ``tp``'s open batch with a record (an empty batch takes any record, even one
        larger than ``batch_size``) of ``size`` bytes (its deltas are 0); its future."""
        batch = self.open_batches[tp] = ProducerBatch(tp, timestamp, now_ms, self.linger_ms,
                                                      self._wait_for)
        batch.records.append((0, timestamp, key, value, headers))
        batch.size += size
        self.free_bytes -= batch.size
        self.unresolved += 1
        self.queues.setdefault(tp, deque()).append(batch)
        self._wake_sender(batch.linger_until_ms)
        return FutureRecordMetadata(batch, 0)

    def heads(self) -> Iterator[ProducerBatch]:
        for queue in self.queues.values():
            if queue:
                yield queue[0]

    def pop_head(self, tp: TopicPartition) -> ProducerBatch:
        """Take a partition's head batch out of its queue (to send it, or to fail it): it is
        closed to new records."""
        batch = self.queues[tp].popleft()
        if self.open_batches.get(tp) is batch:
            del self.open_batches[tp]
        return batch

    def reenqueue(self, batch: ProducerBatch) -> None:
        """Put a failed batch back at the front, keeping (epoch, sequence) order for
        idempotence: batches of an older epoch were sent first, so they go first."""
        queue = self.queues.setdefault(batch.tp, deque())
        position = 0
        if batch.base_sequence >= 0:
            key = (batch.producer_epoch, batch.base_sequence)
            while (position < len(queue) and queue[position].base_sequence >= 0
                   and (queue[position].producer_epoch, queue[position].base_sequence) < key):
                position += 1
        queue.insert(position, batch)

    def release(self, batch: ProducerBatch) -> None:
        """Give back a batch's memory; once per batch, when it is answered."""
        self.free_bytes += batch.size
        self.unresolved -= 1
