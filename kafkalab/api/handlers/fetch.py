"""Fetch: a consumer reads batches from partition leaders (Kafka's ``handleFetchRequest`` and
``ReplicaManager.fetchMessages``), waiting in the purgatory when there is too little to read.

Each partition is read from the leader's log, from ``fetch_offset`` below the last fetchable
offset (the high watermark, or the last stable offset for ``read_committed``; see
:func:`.leader.last_fetchable_offset`) — with, for ``read_committed``, the aborted transactions
that have records among those returned (Kafka's ``collectAbortedTxns``) — as whole batches: at
most ``partition_max_bytes`` of a partition and ``max_bytes`` in all, except that the first
batch of the response comes back whole however large (KIP-74), so a large batch never blocks a
consumer. A partition that cannot be read is answered with its error (UNKNOWN_TOPIC_OR_PARTITION,
NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, OFFSET_OUT_OF_RANGE) and
positions of -1; the others are read as usual.

The answer goes back at once when ``max_wait_ms`` is 0, when a partition failed, or when at least
``min_bytes`` were read. Otherwise the request waits as a :class:`DelayedFetch` in the broker's
"Fetch" purgatory, watched under each of its (topic, partition): the broker checks it whenever
the high watermark of one of them moves, and it completes — reading the logs again — once
``min_bytes`` are there or a partition fails, or when ``max_wait_ms`` passes (with what there is,
possibly nothing). Followers replicate inside the engine (:mod:`...cluster.replication`), so
every fetch here is a consumer's, read below the high watermark whatever its ``replica_id``.
"""
from __future__ import annotations

from ...errors import KafkaError
from ..base import error_fields
from ..messages.fetch import (
    READ_COMMITTED,
    AbortedTransaction,
    FetchableTopicResponse,
    FetchRequest,
    FetchResponse,
    PartitionData,
)
from ..purgatory import DelayedOperation
from ..registry import handles
from .leader import last_fetchable_offset, led_partition


def read_fetch(broker, request: FetchRequest) -> tuple[FetchResponse, int, bool]:
    """(the response with what the logs hold now, the bytes of records in it, whether a
    partition failed) — Kafka's ``readFromLog``."""
    read_bytes = 0
    failed = False
    topics = []
    for topic in request.topics:
        partitions = []
        for fetch in topic.partitions:
            try:
                log = led_partition(broker, topic.topic, fetch.partition,
                                    fetch.current_leader_epoch).leader_log
                upper = last_fetchable_offset(log, request.isolation_level)
                limit = min(fetch.partition_max_bytes, request.max_bytes - read_bytes)
                batches = log.read(fetch.fetch_offset, max(limit, 0), upper)
                # only the response's first batch may be larger than what is left (KIP-74)
                if batches and read_bytes and batches[0].size_in_bytes > limit:
                    batches = []
            except KafkaError as error:
                failed = True
                partitions.append(PartitionData(fetch.partition, **error_fields(error)))
                continue
            read_bytes += sum(batch.size_in_bytes for batch in batches)
            aborted = None
            if request.isolation_level == READ_COMMITTED:
                end = batches[-1].next_offset if batches else fetch.fetch_offset
                aborted = tuple(AbortedTransaction(t.producer_id, t.first_offset) for t in
                                log.producer_state.aborted_between(fetch.fetch_offset, end))
            partitions.append(PartitionData(
                fetch.partition, high_watermark=log.high_watermark,
                last_stable_offset=log.last_stable_offset, log_start_offset=log.log_start_offset,
                aborted_transactions=aborted, records=tuple(batches)))
        topics.append(FetchableTopicResponse(topic.topic, tuple(partitions)))
    return FetchResponse(tuple(topics)), read_bytes, failed


class DelayedFetch(DelayedOperation):
    """A fetch waiting for ``min_bytes`` (Kafka's ``DelayedFetch``).

    Invariants: answered exactly once, by a fresh read of the logs at completion — when
    ``min_bytes`` can be read, when one of its partitions fails (no longer led here, out of
    range, gone), or after ``max_wait_ms``."""

    def __init__(self, broker, request: FetchRequest, respond):
        super().__init__(request.max_wait_ms)
        self.broker = broker
        self.request = request
        self.respond = respond

    def try_complete(self) -> bool:
        _, read_bytes, failed = read_fetch(self.broker, self.request)
        if failed or read_bytes >= self.request.min_bytes:
            return self.force_complete()
        return False

    def on_complete(self) -> None:
        self.respond(read_fetch(self.broker, self.request)[0])


@handles(FetchRequest)
def handle_fetch(broker, request: FetchRequest, respond) -> None:
    response, read_bytes, failed = read_fetch(broker, request)
    if request.max_wait_ms <= 0 or failed or read_bytes >= request.min_bytes:
        respond(response)
        return
    keys = [(topic.topic, fetch.partition) for topic in request.topics
            for fetch in topic.partitions]
    if not keys:
        respond(response)
        return
    broker.purgatories["Fetch"].try_complete_else_watch(
        DelayedFetch(broker, request, respond), keys)
