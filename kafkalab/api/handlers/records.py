"""DeleteRecords: the leader moves its log start offset; the answer waits for the replicas.

As Kafka's ``ReplicaManager.deleteRecords`` and ``Partition.deleteRecordsOnLeader``, per
partition: an internal topic is refused (INVALID_TOPIC_EXCEPTION); the partition must exist and
be led here (:func:`.leader.led_partition`); its ``cleanup.policy`` must include ``delete``
(POLICY_VIOLATION); ``offset`` -1 means the high watermark, any other negative offset or one
beyond the high watermark is OFFSET_OUT_OF_RANGE. The leader's log start offset then moves (an
explained ``records.deleted`` event), followers learn it from their next fetch, and the
request waits in the broker's DeleteRecords purgatory (:class:`DelayedDeleteRecords`) until the
partition's low watermark — the smallest log start offset over its replicas on live brokers —
reaches the offset. The segments wholly below the new log start offset go at each replica's
next retention check.
"""
from __future__ import annotations

from typing import Callable

from ...config import INTERNAL_TOPICS
from ...errors import (
    InvalidTopicError,
    KafkaError,
    NotLeaderForPartitionError,
    OffsetOutOfRangeError,
    PolicyViolationError,
    RequestTimedOutError,
    UnknownTopicOrPartitionError,
)
from ..base import error_fields
from ..messages.records import (
    HIGH_WATERMARK,
    DeleteRecordsPartitionResult,
    DeleteRecordsRequest,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)
from ..purgatory import DelayedOperation
from ..registry import handles
from .leader import led_partition


def delete_records_on_leader(broker, topic: str, index: int, offset: int) -> tuple[object, int]:
    """Move the leader's log start offset of ``topic``-``index`` to ``offset`` (-1: the high
    watermark); (the partition, the offset the low watermark must reach). Raises the
    partition's error."""
    if topic in INTERNAL_TOPICS:
        raise InvalidTopicError(f"Cannot delete records of internal topic {topic}")
    p = led_partition(broker, topic, index)
    log = p.leader_log
    if "delete" not in log.config["cleanup.policy"]:
        raise PolicyViolationError(
            f"Records of partition {p.name} can not be deleted due to the configured policy: "
            f"cleanup.policy=compact keeps the last record of every key; DeleteRecords needs a "
            f"cleanup.policy that includes delete")
    required = log.high_watermark if offset == HIGH_WATERMARK else offset
    if required < 0:
        raise OffsetOutOfRangeError(
            f"The offset {required} for partition {p.name} is not valid: give an offset from "
            f"0 up to the high watermark {log.high_watermark}, or -1 for the high watermark")
    before = log.log_start_offset
    if log.maybe_increment_log_start_offset(required):
        cluster = broker.cluster
        cluster.events.emit(
            "records.deleted", f"broker {broker.id} deleted the records of {p.name} below "
            f"offset {required} (DeleteRecords): log start offset of {p.name} moved {before} -> "
            f"{required}; consumers can no longer read offsets below {required}, the followers "
            f"follow on their next fetch, and segments wholly below it go at the next "
            f"retention check", topic=topic, partition=index, broker=broker.id,
            log_start_offset=required, before=before)
        cluster.replicas.on_leader_log_start_moved(p)
    return p, required


class DelayedDeleteRecords(DelayedOperation):
    """A DeleteRecords request waiting until each partition's low watermark reaches its offset
    (Kafka's ``DelayedDeleteRecords``). A partition that stops being led here or is deleted
    meanwhile is answered with that error; one still waiting at the timeout with
    REQUEST_TIMED_OUT.

    Invariant: answered once, with one result per asked partition in the request's order."""

    def __init__(self, broker, request: DeleteRecordsRequest,
                 results: dict[tuple[str, int], DeleteRecordsPartitionResult],
                 pending: dict[tuple[str, int], tuple[object, int]],
                 respond: Callable[[DeleteRecordsResponse], None]):
        super().__init__(request.timeout_ms)
        self._broker = broker
        self._request = request
        self._results = results
        self._pending = pending  # (topic, index) -> (partition, required offset)
        self._respond = respond

    def try_complete(self) -> bool:
        for key, (p, required) in list(self._pending.items()):
            result = self._check(key, p, required)
            if result is not None:
                self._results[key] = result
                del self._pending[key]
        return not self._pending and self.force_complete()

    def _check(self, key: tuple[str, int], p, required: int
               ) -> DeleteRecordsPartitionResult | None:
        """The partition's result if it is settled now, else None."""
        cluster = self._broker.cluster
        try:
            if cluster.partition(*key) is not p:
                raise UnknownTopicOrPartitionError(
                    f"{p.name} was deleted before its replicas deleted the records below "
                    f"{required}")
        except UnknownTopicOrPartitionError as error:
            return DeleteRecordsPartitionResult(key[1], **error_fields(error))
        if p.leader != self._broker.id:
            return DeleteRecordsPartitionResult(key[1], **error_fields(NotLeaderForPartitionError(
                f"leadership of {p.name} moved from broker {self._broker.id} to {p.leader} "
                f"before its replicas deleted the records below {required}")))
        low = p.low_watermark(lambda b: cluster.brokers[b].alive)
        return DeleteRecordsPartitionResult(key[1], low) if low >= required else None

    def on_expiration(self) -> None:
        cluster = self._broker.cluster
        for key, (p, required) in self._pending.items():
            behind = {b: p.follower_log_start.get(b, -1) for b in p.replicas
                      if b != p.leader and cluster.brokers[b].alive}
            self._results[key] = DeleteRecordsPartitionResult(key[1], **error_fields(
                RequestTimedOutError(
                    f"DeleteRecords: the replicas of {p.name} did not all delete the records "
                    f"below {required} within timeout_ms={self._request.timeout_ms}; their "
                    f"log start offsets as the leader knows them: {behind}")))
        self._pending.clear()

    def on_complete(self) -> None:
        self._respond(response_of(self._request, self._results))


def response_of(request: DeleteRecordsRequest,
                results: dict[tuple[str, int], DeleteRecordsPartitionResult]
                ) -> DeleteRecordsResponse:
    return DeleteRecordsResponse(tuple(
        DeleteRecordsTopicResult(topic.name, tuple(results[(topic.name, asked.partition_index)]
                                                   for asked in topic.partitions))
        for topic in request.topics))


@handles(DeleteRecordsRequest)
def handle_delete_records(broker, request: DeleteRecordsRequest, respond) -> None:
    results: dict[tuple[str, int], DeleteRecordsPartitionResult] = {}
    pending: dict[tuple[str, int], tuple[object, int]] = {}
    for topic in request.topics:
        for asked in topic.partitions:
            key = (topic.name, asked.partition_index)
            try:
                pending[key] = delete_records_on_leader(broker, topic.name,
                                                        asked.partition_index, asked.offset)
            except KafkaError as error:
                results[key] = DeleteRecordsPartitionResult(asked.partition_index,
                                                            **error_fields(error))
    operation = DelayedDeleteRecords(broker, request, results, pending, respond)
    broker.purgatories["DeleteRecords"].try_complete_else_watch(operation, list(pending))
