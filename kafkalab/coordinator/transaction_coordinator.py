"""The cluster's transaction coordination (``cluster.transaction_coordinator``): one transaction
coordinator per broker (a :class:`~.runtime.CoordinatorRuntime` over ``__transaction_state``),
FindCoordinator's answer for transactional ids, the markers, the timers, and the lab's views.

``__transaction_state`` is created on first use with Kafka's settings:
``transaction.state.log.num.partitions`` (50) partitions, compacted, replication factor
``transaction.state.log.replication.factor`` (3; here at most the brokers there are) and
``min.insync.replicas`` ``transaction.state.log.min.isr`` (2; at most the replication factor).

**Markers** (Kafka's ``TransactionMarkerChannelManager``): the coordinator groups a
transaction's partitions by their current leader and sends each leader one WriteTxnMarkers
request over the brokers' network; partitions whose leader is unknown, unreachable or refused
(not the leader any more) are tried again after ``MARKER_RETRY_MS``; a deleted topic's partitions
are skipped. Only once every partition took its marker is the transaction complete.

**Timers**: every ``transaction.abort.timed.out.transaction.cleanup.interval.ms`` each
coordinator aborts transactions open longer than their ``transaction.timeout.ms``; every
``transaction.remove.expired.transaction.cleanup.interval.ms`` it forgets transactional ids
unused for ``transactional.id.expiration.ms``.

Invariants: markers are sent only by the machine that stored the Prepare state, while it is
loaded; a new coordinator resends the markers of every transaction it finds in a Prepare state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..api.base import error_from
from ..api.messages.transactions import TxnTopic, WritableTxnMarker, WriteTxnMarkersRequest
from ..errors import UnknownTopicOrPartitionError
from . import offsets_topic as ot
from . import transaction_log as tl
from .runtime import CoordinatorRouter, CoordinatorRuntime, CoordinatorSpec
from .transaction_metadata import TransactionMetadata
from .transaction_state_machine import TransactionStateMachine

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext

#: how long the coordinator waits before sending a marker again (Kafka retries as soon as the
#: partition's leader is known; the lab waits a little so a dead leader is not asked in a loop)
MARKER_RETRY_MS = 100


def _topic_configs(config, brokers: int) -> tuple[int, dict]:
    rf = min(config["transaction.state.log.replication.factor"], brokers)
    return config["transaction.state.log.num.partitions"], {
        "replication.factor": rf, "cleanup.policy": "compact",
        "min.insync.replicas": min(config["transaction.state.log.min.isr"], rf),
        "segment.bytes": 104857600}


#: ``__transaction_state`` and its state machines
TRANSACTION_SPEC = CoordinatorSpec(
    topic=tl.TOPIC, key_name="transactional id", event_prefix="txn",
    partition_for=tl.partition_for, encode=tl.encode, decode=tl.decode,
    key_of=lambda record: record.transactional_id, new_machine=TransactionStateMachine,
    topic_configs=_topic_configs)


class TransactionCoordinatorRuntime(CoordinatorRuntime):
    """One broker's transaction coordinator: the runtime, its marker channel and timers."""

    def __init__(self, cluster: "GroupCoordinatorContext", broker_id: int):
        super().__init__(cluster, broker_id, TRANSACTION_SPEC)
        self._timers = []

    # --- what the state machines use -------------------------------------------------------------
    def new_producer_id(self) -> int:
        return self.cluster.allocate_producer_id()

    def offsets_partitions(self) -> int:
        """Partitions of ``__consumer_offsets`` (created now if no group made it yet)."""
        topic = self.cluster.topics.get(ot.TOPIC)
        if topic is None:
            self.cluster.group_coordinator.state_partition("")
            topic = self.cluster.topics.get(ot.TOPIC)
        return len(topic.partitions) if topic else self.config("offsets.topic.num.partitions")

    def send_markers(self, machine: TransactionStateMachine, meta: TransactionMetadata,
                     committed: bool, on_written: Callable[[], None]) -> None:
        """Write ``meta``'s marker to every partition of its transaction (see the module);
        ``on_written()`` once all took it."""
        remaining = set(meta.partitions)
        marker = dict(producer_id=meta.producer_id, producer_epoch=meta.producer_epoch,
                      transaction_result=committed, coordinator_epoch=machine.epoch)

        def attempt() -> None:
            if not self.active or self.machines.get(machine.index) is not machine:
                return  # this broker no longer coordinates it: the next coordinator resends
            if not remaining:
                on_written()
                return
            by_leader: dict[int, list[tuple[str, int]]] = {}
            for topic, index in sorted(remaining):
                t = self.cluster.topics.get(topic)
                if t is None or index >= len(t.partitions):
                    remaining.discard((topic, index))
                    self.emit("txn.marker_skipped", f"no marker for {topic}-{index} of "
                              f"{meta.transactional_id}: the partition was deleted",
                              transactional_id=meta.transactional_id)
                    continue
                leader = t.partitions[index].leader
                if leader is not None and self.cluster.network.brokers_connected(
                        self.broker_id, leader):
                    by_leader.setdefault(leader, []).append((topic, index))
            waiting = [len(by_leader)]

            def answered(response) -> None:
                for result in response.markers:
                    for topic in result.topics:
                        for p in topic.results:
                            error = error_from(p.error_code, p.error_message)
                            if error is None or isinstance(error, UnknownTopicOrPartitionError):
                                remaining.discard((topic.name, p.partition_index))
                waiting[0] -= 1
                if waiting[0] == 0:
                    retry()

            def retry() -> None:
                if remaining:
                    self.call_later(MARKER_RETRY_MS, attempt)
                else:
                    attempt()

            if not by_leader:
                retry()
                return
            for leader, partitions in by_leader.items():
                topics: dict[str, list[int]] = {}
                for topic, index in partitions:
                    topics.setdefault(topic, []).append(index)
                request = WriteTxnMarkersRequest((WritableTxnMarker(
                    topics=tuple(TxnTopic(t, tuple(ps)) for t, ps in topics.items()),
                    **marker),))
                self.cluster.brokers[leader].handle(request, answered)

        attempt()

    # --- timers ----------------------------------------------------------------------------------
    def loaded(self, machine: TransactionStateMachine, count: int) -> None:
        if not self._timers:
            self._every("transaction.abort.timed.out.transaction.cleanup.interval.ms",
                        lambda m: m.abort_timed_out())
            self._every("transaction.remove.expired.transaction.cleanup.interval.ms",
                        lambda m: m.expire_transactional_ids())
        if count:
            p = self._partition(machine.index)
            self.emit("txn.coordinator_loaded", f"broker {self.broker_id} now coordinates the "
                      f"transactional ids of {p.name} (leader epoch {p.leader_epoch}): it "
                      f"rebuilt {len(machine.transactions)} of them by replaying {count} "
                      "record(s)", broker=self.broker_id, partition=machine.index)

    def _every(self, config_name: str, work: Callable[[TransactionStateMachine], None]) -> None:
        interval = self.config(config_name)

        def run() -> None:
            if not self.active:
                return
            for machine in self.current_machines():
                work(machine)
            self._timers.append(self.call_later(interval, run, background=True))
        self._timers.append(self.call_later(interval, run, background=True))

    def stopped(self) -> None:
        for timer in self._timers:
            timer.cancel()


class TransactionCoordinator(CoordinatorRouter):
    """The cluster's transaction coordination: a transaction coordinator per running broker
    (see above)."""

    def __init__(self, cluster: "GroupCoordinatorContext"):
        super().__init__(cluster, TRANSACTION_SPEC)

    def new_runtime(self, broker_id: int) -> TransactionCoordinatorRuntime:
        return TransactionCoordinatorRuntime(self.cluster, broker_id)

    @property
    def transactions(self) -> dict[str, TransactionMetadata]:
        """Every transactional id as its current coordinator holds it."""
        return dict(sorted((tid, meta) for m in self.live_machines()
                           for tid, meta in m.transactions.items()))
