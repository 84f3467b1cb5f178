"""The cluster's group coordination (``cluster.group_coordinator``): one group coordinator per
broker (a :class:`~.runtime.CoordinatorRuntime` over ``__consumer_offsets``), FindCoordinator's
answer, and the lab's read-only views of every group.

Clients reach a broker's coordinator only through requests (:mod:`..api.handlers.groups`);
this router finds that broker's runtime, creates ``__consumer_offsets`` when a group first
needs it (``offsets.topic.replication.factor``, at most the registered brokers), moves
coordination with leadership of the offsets partitions, and gives views, checks and tests the
state as the current coordinators hold it. Each broker's group coordinator also expires
offsets (``offsets.retention.minutes``) and keeps the join rounds waiting in its purgatory.

Invariants: a stopped broker's runtime is dropped (its memory is gone) and a restarted broker
starts with an empty one; a view never changes a group.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..api.purgatory import Purgatory
from ..record.control import Marker
from ..structs import OffsetAndMetadata, TopicPartition
from . import offsets_topic as ot
from .group import Group
from .group_state_machine import GroupStateMachine
from .runtime import CoordinatorRouter, CoordinatorRuntime, CoordinatorSpec, replay_log

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext


#: ``__consumer_offsets`` and its state machines
GROUP_SPEC = CoordinatorSpec(
    topic=ot.TOPIC, key_name="group", event_prefix="group", partition_for=ot.partition_for,
    encode=ot.encode, decode=ot.decode, key_of=lambda record: record.group,
    new_machine=GroupStateMachine,
    topic_configs=lambda config, brokers: (config["offsets.topic.num.partitions"], {
        "replication.factor": min(config["offsets.topic.replication.factor"], brokers),
        "cleanup.policy": "compact", "segment.bytes": 104857600}))


class GroupCoordinatorRuntime(CoordinatorRuntime):
    """One broker's group coordinator: the runtime, the join rounds waiting for members
    (Kafka's rebalance purgatory), member ids, and offsets retention."""

    def __init__(self, cluster: "GroupCoordinatorContext", broker_id: int):
        super().__init__(cluster, broker_id, GROUP_SPEC)
        #: join rounds waiting for members, keyed by group id (Kafka's rebalance purgatory)
        self.join_purgatory = Purgatory("Rebalance", cluster.scheduler)
        self._member_seq = 0
        self._retention_timer = None

    def new_member_id(self, prefix: str) -> str:
        """Kafka's member id: the client's id (or the static instance id) and a unique tail."""
        self._member_seq += 1
        return "%s-%08x-%04x" % (prefix, self.cluster.rng.getrandbits(32), self._member_seq)

    def loaded(self, machine: GroupStateMachine, count: int) -> None:
        if self._retention_timer is None:
            self._schedule_offsets_retention()
        if count or machine.groups:
            p = self._partition(machine.index)
            self.emit("group.coordinator_loaded", f"broker {self.broker_id} now coordinates "
                      f"the groups of {p.name} (leader epoch {p.leader_epoch}): it rebuilt "
                      f"{len(machine.groups)} group(s) by replaying {count} record(s)",
                      broker=self.broker_id, partition=machine.index,
                      groups=list(machine.groups))

    def unloaded(self, machine: GroupStateMachine) -> None:
        if machine.groups:
            self.emit("group.coordinator_unloaded", f"broker {self.broker_id} no longer "
                      f"coordinates the groups of __consumer_offsets-{machine.index}: "
                      f"{', '.join(machine.groups)}", broker=self.broker_id,
                      partition=machine.index)

    def stopped(self) -> None:
        if self._retention_timer is not None:
            self._retention_timer.cancel()

    def transaction_completed(self, index: int, marker: Marker) -> None:
        """A COMMIT or ABORT marker was written to ``__consumer_offsets-<index>``: the pending
        transactional offsets of its producer become committed, or are dropped (Kafka's
        ``GroupCoordinator.onTransactionCompleted``)."""
        machine = self.machines.get(index)
        if machine is not None:
            machine.replay_marker(marker)

    # --- offsets retention ---------------------------------------------------------------------
    def _schedule_offsets_retention(self) -> None:
        self._retention_timer = self.call_later(
            self.config("offsets.retention.check.interval.ms"), self._expire_offsets,
            background=True)

    def _expire_offsets(self) -> None:
        """Every offsets.retention.check.interval.ms: each machine still led expires what
        offsets.retention.minutes says."""
        if not self.active:
            return
        for machine in self.current_machines():
            machine.expire_offsets()
        self._schedule_offsets_retention()


class GroupCoordinator(CoordinatorRouter):
    """The cluster's group coordination: a group coordinator per running broker (see above)."""

    def __init__(self, cluster: "GroupCoordinatorContext"):
        super().__init__(cluster, GROUP_SPEC)

    def new_runtime(self, broker_id: int) -> GroupCoordinatorRuntime:
        return GroupCoordinatorRuntime(self.cluster, broker_id)

    def offsets_partition(self, group_id: str):
        """The group's ``__consumer_offsets`` partition, creating the topic on first use;
        None while it cannot be created (too few brokers alive)."""
        return self.state_partition(group_id)

    # --- the lab's views (tables, checks, tests) -----------------------------------------------
    @property
    def groups(self) -> dict[str, Group]:
        """Every group as its current coordinator holds it."""
        return dict(sorted(((g, group) for m in self.live_machines()
                            for g, group in m.groups.items()), key=lambda item: item[0]))

    @property
    def offsets(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Every group's committed offsets as its current coordinator holds them."""
        return dict(sorted((g, dict(o)) for m in self.live_machines()
                           for g, o in m.offsets.offsets.items()))

    def fetch_offsets(self, group_id: str) -> dict[TopicPartition, OffsetAndMetadata]:
        """The group's committed offsets as its live coordinator holds them ({} if none)."""
        topic = self.cluster.topics.get(ot.TOPIC)
        if topic is None:
            return {}
        p = topic.partitions[ot.partition_for(group_id, len(topic.partitions))]
        if p.leader is None or not self.cluster.brokers[p.leader].alive:
            return {}
        machine, _ = self.on_broker(p.leader).machine_for(group_id)
        return machine.offsets.fetch(group_id)

    def load(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Replay every __consumer_offsets partition into fresh machines: the offsets a new
        coordinator would rebuild (a check that the coordinators' state equals the log)."""
        rebuilt: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        topic = self.cluster.topics.get(ot.TOPIC)
        for p in (topic.partitions if topic else []):
            if p.leader is None:
                continue
            fresh = GroupStateMachine(self.on_broker(p.leader), p.index, p.leader_epoch)
            replay_log(fresh, p.leader_log, GROUP_SPEC)
            rebuilt.update(fresh.offsets.offsets)
        return {g: o for g, o in rebuilt.items() if o}
