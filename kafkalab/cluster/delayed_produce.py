"""DelayedProduce: an ``acks=all`` append waiting for the in-sync replicas (Kafka's
DelayedProduce), and ProduceResult, what an append answers.

The leader appends a batch at once; the answer waits in the broker's Produce purgatory, watched
under ``(topic, partition)``, until the high watermark passes the batch's last offset — every
replica of the ISR has it. Whoever changes what it waits for tells the broker
(``Broker.complete_delayed_requests``): the high watermark moved, leadership moved, the topic was
deleted. Then :meth:`DelayedProduce.try_complete` decides, as Kafka's
``checkEnoughReplicasReachOffset``:

* the high watermark passed the offset: stored — or ``NOT_ENOUGH_REPLICAS_AFTER_APPEND`` if the
  ISR shrank under ``min.insync.replicas`` meanwhile (the record is written but less safe than
  asked);
* this broker no longer leads the partition (or leads it in a newer epoch):
  ``NOT_LEADER_OR_FOLLOWER`` — the record may or may not survive on the new leader;
* the topic was deleted: ``UNKNOWN_TOPIC_OR_PARTITION``.

If none of these happens within the request's ``timeout_ms``, it answers ``REQUEST_TIMED_OUT``.

Invariant: the append is answered exactly once (the purgatory's guarantee), with the append's
own result only when the high watermark passed its last offset under the leader epoch it was
appended in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

from ..api.purgatory import DelayedOperation
from ..errors import (
    NotEnoughReplicasAfterAppendError,
    NotLeaderForPartitionError,
    RequestTimedOutError,
    UnknownTopicOrPartitionError,
)

if TYPE_CHECKING:
    from .context import BrokerContext
    from .partition import Partition


class ProduceResult(NamedTuple):
    """One partition's outcome of an append (Kafka's ``ProduceResponse.PartitionResponse``): the
    offset the batch got, or the error. The Produce handler turns it into the response's
    partition entry; a coordinator writing its internal topic reads it directly. (A named tuple:
    one is made for every append.)"""

    base_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1
    error: Exception | None = None


class DelayedProduce(DelayedOperation):
    """One partition's ``acks=-1`` append waiting in its leader's Produce purgatory.

    Invariant: answers with the append's result only if, under the leader epoch it was
    appended in, the high watermark passed ``required_offset``; otherwise with the error that
    says why not (see the module)."""

    def __init__(self, cluster: "BrokerContext", broker_id: int, partition: "Partition",
                 required_offset: int, timeout_ms: int, result: ProduceResult,
                 respond: Callable[[ProduceResult], None]):
        """Wait until the high watermark of ``partition`` passes ``required_offset`` (the
        batch's last offset); then ``respond(result)``, or a ``ProduceResult`` with the
        error."""
        super().__init__(timeout_ms)
        self._cluster = cluster
        self._broker_id = broker_id
        self._partition = partition
        self._leader_epoch = partition.leader_epoch
        self._required_offset = required_offset
        self._result = result
        self._respond = respond
        self._error: Exception | None = None

    def try_complete(self) -> bool:
        p, offset = self._partition, self._required_offset
        leads = p.leader == self._broker_id and p.leader_epoch == self._leader_epoch
        if leads and p.high_watermark > offset:
            # (a deleted topic's partition never gets here: the high watermark moving past
            # the offset completed this operation at once)
            min_isr = p.leader_log.config["min.insync.replicas"]
            if len(p.isr) < min_isr:
                self._error = NotEnoughReplicasAfterAppendError(
                    f"{p.name}: the record was written, but the ISR shrank to {p.isr} < "
                    f"min.insync.replicas={min_isr} before it was replicated")
        elif self._deleted():
            self._error = UnknownTopicOrPartitionError(
                f"{p.name} was deleted before offset {offset} was committed")
        elif not leads:
            self._error = NotLeaderForPartitionError(
                f"leadership of {p.name} moved from broker {self._broker_id} to {p.leader} "
                f"before offset {offset} was committed")
        else:
            return False
        return self.force_complete()

    def _deleted(self) -> bool:
        """Was the partition's topic deleted (perhaps created again since)?"""
        p = self._partition
        try:
            return self._cluster.partition(p.topic, p.index) is not p
        except UnknownTopicOrPartitionError:
            return True

    def on_expiration(self) -> None:
        p = self._partition
        self._error = RequestTimedOutError(
            f"acks=all: offset {self._required_offset} of {p.name} was not replicated to the "
            f"ISR {p.isr} in time (high watermark {p.high_watermark})")

    def on_complete(self) -> None:
        if self._error is None:
            self._respond(self._result)
        else:
            self._respond(ProduceResult(error=self._error))
