"""The cluster's group coordination (``cluster.group_coordinator``): one
:class:`~.runtime.CoordinatorRuntime` per broker, FindCoordinator's answer, and the lab's
read-only views of every group.

Clients reach a broker's coordinator only through requests (:mod:`..api.handlers.groups`);
this router finds that broker's runtime, creates ``__consumer_offsets`` when a group first
needs it (``offsets.topic.replication.factor``, at most the registered brokers), moves
coordination with leadership of the offsets partitions (Kafka's onElection/onResignation), and
gives views, checks and tests the state as the current coordinators hold it.

Invariants: a stopped broker's runtime is dropped (its memory is gone) and a restarted broker
starts with an empty one; a view never changes a group.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CoordinatorNotAvailableError, InvalidReplicationFactorError
from ..structs import OffsetAndMetadata, TopicPartition
from . import offsets_topic as ot
from .group import Group
from .group_state_machine import GroupStateMachine
from .runtime import CoordinatorRuntime

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext


class GroupCoordinator:
    """The cluster's group coordination: a runtime per running broker (see above)."""

    def __init__(self, cluster: "GroupCoordinatorContext"):
        self.cluster = cluster
        self._runtimes: dict[int, CoordinatorRuntime] = {}
        cluster.events.subscribe(self._on_event)

    # --- the runtimes --------------------------------------------------------------------------
    def on_broker(self, broker_id: int) -> CoordinatorRuntime:
        """The coordinator running inside broker ``broker_id`` (a new one after a restart)."""
        runtime = self._runtimes.get(broker_id)
        if runtime is None:
            runtime = self._runtimes[broker_id] = CoordinatorRuntime(self.cluster, broker_id)
        return runtime

    def on_broker_stopped(self, broker_id: int) -> None:
        """The broker crashed or shut down: its coordinator and all it held are gone."""
        runtime = self._runtimes.pop(broker_id, None)
        if runtime is not None:
            runtime.stop()

    def _on_event(self, event) -> None:
        """Leadership of an offsets partition moved: load it at once on the new leader
        (Kafka's onElection) and unload it elsewhere. (Every request also checks leadership,
        so a coordinator that heard nothing yet still answers right.)"""
        kind, data = event.kind, event.data
        if kind not in ("partition.leader_changed", "partition.offline") or \
                data.get("topic") != ot.TOPIC:
            return
        with self.cluster.lock:  # listeners may run on a callback thread in wall-clock mode
            p = self.cluster.topics.get(ot.TOPIC)
            if p is None:
                return
            p = p.partitions[data["partition"]]
            for broker_id, runtime in list(self._runtimes.items()):
                if broker_id != p.leader and p.index in runtime.machines:
                    runtime.unload(p.index)
            if p.leader is None or not self.cluster.brokers[p.leader].alive:
                return
            machine = self.on_broker(p.leader).machines.get(p.index)
            if machine is None or machine.epoch != p.leader_epoch:
                self.on_broker(p.leader).load(p.index)

    # --- FindCoordinator -----------------------------------------------------------------------
    def offsets_partition(self, group_id: str):
        """The group's ``__consumer_offsets`` partition, creating the topic on first use;
        None while it cannot be created (too few brokers alive)."""
        cluster = self.cluster
        if ot.TOPIC not in cluster.topics:
            partitions = cluster.config["offsets.topic.num.partitions"]
            rf = min(cluster.config["offsets.topic.replication.factor"], len(cluster.brokers))
            try:
                cluster.create_topic(ot.TOPIC, partitions, rf,
                                     {"cleanup.policy": "compact", "segment.bytes": 104857600})
            except InvalidReplicationFactorError as error:
                cluster.events.emit("group.coordinator_unavailable", f"{ot.TOPIC} cannot be "
                                    f"created yet: {error} (offsets.topic.replication.factor="
                                    f"{rf}); FindCoordinator answers COORDINATOR_NOT_AVAILABLE "
                                    "until enough brokers are up", error=type(error).__name__)
                return None
        topic = cluster.topics[ot.TOPIC]
        return topic.partitions[ot.partition_for(group_id, len(topic.partitions))]

    def coordinator_of(self, group_id: str) -> int:
        """Kafka's FindCoordinator: the broker leading the group's offsets partition; raises
        ``CoordinatorNotAvailableError`` while there is none."""
        p = self.offsets_partition(group_id)
        if p is None or p.leader is None:
            why = ("the offsets topic cannot be created yet" if p is None
                   else f"{p.name} has no leader")
            raise CoordinatorNotAvailableError(f"no coordinator for group {group_id}: {why}")
        return p.leader

    # --- the lab's views (tables, checks, tests) -----------------------------------------------
    def _machines(self) -> list[GroupStateMachine]:
        """The machine of every offsets partition with a live leader, as that leader holds
        it."""
        topic = self.cluster.topics.get(ot.TOPIC)
        leaders = sorted({p.leader for p in (topic.partitions if topic else ())
                          if p.leader is not None and self.cluster.brokers[p.leader].alive})
        return [m for b in leaders for m in self.on_broker(b).led_machines()]

    @property
    def groups(self) -> dict[str, Group]:
        """Every group as its current coordinator holds it."""
        return dict(sorted(((g, group) for m in self._machines()
                            for g, group in m.groups.items()), key=lambda item: item[0]))

    @property
    def offsets(self) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        """Every group's committed offsets as its current coordinator holds them."""
        return dict(sorted((g, dict(o)) for m in self._machines()
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
            for batch in p.leader_log.batches():
                for record in batch.records:
                    fresh.replay(ot.decode(record.key, record.value))
            rebuilt.update(fresh.offsets.offsets)
        return {g: o for g, o in rebuilt.items() if o}
