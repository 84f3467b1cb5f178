"""The record accumulator: per-partition queues of batches waiting to be sent.

``send()`` appends a record to the last batch of its partition's queue, opening a new batch
when the last one is full (``batch_size``; the record that does not fit closes it). For records
the sticky partitioner placed, ``append(abort_on_new_batch=True)`` refuses to open a new batch,
so the producer can move to another partition first (Java's ``abortOnNewBatch``, KIP-480).
The head batch of a queue is *ready* when it is
full, its ``linger_ms`` has passed, the producer is flushing, or — for a retried batch — its
``retry_backoff_ms`` has passed. Memory: every unsent or unanswered batch counts against
``buffer_memory``; ``send()`` blocks (up to ``max_block_ms``) while it is used up.

Invariants: within a queue, batches are in send order (idempotent retries: in sequence order);
``used_bytes`` is the sum of the sizes of batches not yet released.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

from ..record import Record
from ..record.batch import HEADER_SIZE
from ..structs import TopicPartition
from .futures import FutureRecordMetadata


class ProducerBatch:
    """Records for one partition, with the futures to resolve and the send bookkeeping."""

    __slots__ = ("tp", "records", "futures", "size", "created_ms", "linger_until_ms", "full",
                 "attempts", "retry_at_ms", "base_sequence", "producer_epoch", "last_error",
                 "done")

    def __init__(self, tp: TopicPartition, now_ms: int, linger_ms: int):
        self.tp = tp
        self.records: list[Record] = []
        self.futures: list[tuple[FutureRecordMetadata, int, int, int]] = []
        self.size = HEADER_SIZE
        self.created_ms = now_ms
        self.linger_until_ms = now_ms + linger_ms
        self.full = False
        self.attempts = 0
        self.retry_at_ms = 0
        self.base_sequence = -1
        self.producer_epoch = -1
        self.last_error: Exception | None = None
        self.done = False  # its futures are resolved (a late answer then changes nothing)

    def is_ready(self, now_ms: int, flushing: bool) -> bool:
        if self.attempts:
            return now_ms >= self.retry_at_ms
        return self.full or flushing or now_ms >= self.linger_until_ms

    def ready_at_ms(self) -> int:
        return self.retry_at_ms if self.attempts else self.linger_until_ms


class RecordAccumulator:
    def __init__(self, batch_size: int, linger_ms: int, buffer_memory: int):
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.buffer_memory = buffer_memory
        self.queues: dict[TopicPartition, deque[ProducerBatch]] = {}
        self.used_bytes = 0

    def has_room_for(self, size: int) -> bool:
        return self.used_bytes + size <= self.buffer_memory or self.used_bytes == 0

    def append(self, tp: TopicPartition, record_fields: tuple, size: int, sizes: tuple,
               future: FutureRecordMetadata, now_ms: int, abort_on_new_batch: bool = False
               ) -> tuple[bool, bool]:
        """Add a record; returns ``(appended, closed_full)``. ``closed_full`` means a batch
        filled up (send it soon). With ``abort_on_new_batch``, a record that would need a new
        batch is not appended (``appended`` is False): its partitioner may choose again."""
        queue = self.queues.get(tp)
        if queue is None:
            queue = self.queues[tp] = deque()
        batch = queue[-1] if queue and not queue[-1].full and not queue[-1].attempts else None
        closed_one = False
        if batch is not None and batch.size + size > self.batch_size and batch.records:
            batch.full = closed_one = True
            batch = None
        if batch is None:
            if abort_on_new_batch:
                return False, closed_one
            batch = ProducerBatch(tp, now_ms, self.linger_ms)
            queue.append(batch)
        timestamp, key, value, headers = record_fields
        batch.records.append(Record(len(batch.records), timestamp, key, value, headers))
        batch.futures.append((future, *sizes))
        batch.size += size
        self.used_bytes += size + (HEADER_SIZE if len(batch.records) == 1 else 0)
        return True, closed_one

    def heads(self) -> Iterator[ProducerBatch]:
        for queue in self.queues.values():
            if queue:
                yield queue[0]

    def pop_head(self, tp: TopicPartition) -> ProducerBatch:
        return self.queues[tp].popleft()

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
        """Give back a resolved batch's memory (once: the batch is then done)."""
        if not batch.done:
            batch.done = True
            self.used_bytes -= batch.size

    def has_unsent(self) -> bool:
        return any(self.queues.values())
