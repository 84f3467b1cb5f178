"""The group coordinator inside one broker (Kafka's CoordinatorRuntime behind its
GroupCoordinatorService): one state machine per ``__consumer_offsets`` partition the broker
leads, and the plumbing between them and the broker.

**Where a group lives.** The coordinator of a group is the leader of the group's
``__consumer_offsets`` partition (``Utils.abs(groupId.hashCode) % 50``, :mod:`.offsets_topic`).
A request reaching a broker that does not lead that partition is answered ``NOT_COORDINATOR``.
When a broker becomes the leader of an offsets partition it builds a fresh
:class:`~.group_state_machine.GroupStateMachine` by replaying that partition's log (Kafka's
``onElection``/``loadGroupsForPartition``); the broker that lost it drops its machine and
answers the requests still waiting with ``NOT_COORDINATOR`` (``onResignation``).

**Records appended, then the response.** A handler's
:class:`~.result.CoordinatorResult` goes through :meth:`CoordinatorRuntime.append`: its records
are appended through the broker's own append path — leadership, liveness, ``acks=-1``
(``offsets.commit.required.acks``) and ``min.insync.replicas`` of the offsets topic — and only
once the partition accepted them (replicated to the ISR) are they replayed into the machine and
the response sent. A failed append comes back as Kafka maps it: ``COORDINATOR_NOT_AVAILABLE``
(not enough replicas, timed out) or ``NOT_COORDINATOR`` (leadership moved) — both retriable.

Invariants: a machine is held only for a partition this broker leads, loaded at the current
leader epoch; an append answered after its machine was dropped counts as failed
(``NOT_COORDINATOR``); a stopped runtime (the broker crashed) answers nobody and writes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..api.purgatory import Purgatory
from ..errors import NotCoordinatorError, NotLeaderForPartitionError
from ..record import Record, RecordBatch
from . import offsets_topic as ot
from .group_state_machine import GroupStateMachine
from .result import CoordinatorResult, store_error

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext

#: Kafka's ``offsets.commit.timeout.ms``: how long a coordinator's append waits for the ISR
OFFSETS_COMMIT_TIMEOUT_MS = 5000
#: Kafka's ``offsets.commit.required.acks``: the coordinator appends with acks=all
OFFSETS_COMMIT_REQUIRED_ACKS = -1


class CoordinatorRuntime:
    """One broker's group coordinator (see above); the context its state machines run in."""

    def __init__(self, cluster: "GroupCoordinatorContext", broker_id: int):
        self.cluster = cluster
        self.broker_id = broker_id
        #: offsets partition index -> its state machine (loaded at ``machine.epoch``)
        self.machines: dict[int, GroupStateMachine] = {}
        #: join rounds waiting for members, keyed by group id (Kafka's rebalance purgatory)
        self.join_purgatory = Purgatory("Rebalance", cluster.scheduler)
        self._member_seq = 0
        self._retention_timer = None
        self.active = True

    # --- what the state machines use (MachineContext) ------------------------------------------
    def now_ms(self) -> int:
        return self.cluster.now_ms()

    def call_later(self, delay_ms: int, callback: Callable[[], None],
                   background: bool = False) -> Any:
        return self.cluster.scheduler.call_later(delay_ms, callback, background=background)

    def emit(self, kind: str, text: str, **data) -> None:
        self.cluster.events.emit(kind, text, **data)

    def config(self, name: str) -> Any:
        return self.cluster.config[name]

    def new_member_id(self, prefix: str) -> str:
        """Kafka's member id: the client's id (or the static instance id) and a unique tail."""
        self._member_seq += 1
        return "%s-%08x-%04x" % (prefix, self.cluster.rng.getrandbits(32), self._member_seq)

    # --- which machine answers ------------------------------------------------------------------
    def _partition(self, index: int):
        return self.cluster.topics[ot.TOPIC].partitions[index]

    def machine_for(self, group_id: str
                    ) -> tuple[GroupStateMachine | None, Exception | None]:
        """(the machine holding ``group_id``, None) if this broker coordinates it — loading
        its partition first if it has just become the leader — else (None, NOT_COORDINATOR)."""
        topic = self.cluster.topics.get(ot.TOPIC)
        p = None if topic is None else topic.partitions[
            ot.partition_for(group_id, len(topic.partitions))]
        if p is None or p.leader != self.broker_id:
            if p is not None and p.index in self.machines:
                self.unload(p.index)
            where = "no __consumer_offsets yet" if p is None else (
                f"{p.name} is led by broker {p.leader}" if p.leader is not None
                else f"{p.name} has no leader")
            return None, NotCoordinatorError(
                f"broker {self.broker_id} is not the coordinator of group {group_id} "
                f"({where}): find the coordinator again")
        machine = self.machines.get(p.index)
        if machine is None or machine.epoch != p.leader_epoch:
            machine = self.load(p.index)
        return machine, None

    def led_machines(self) -> list[GroupStateMachine]:
        """The machines of every offsets partition this broker leads (ListGroups, views):
        loaded at the current epoch, skipping partitions with neither records nor a machine."""
        topic = self.cluster.topics.get(ot.TOPIC)
        out = []
        for p in (topic.partitions if topic else ()):
            if p.leader != self.broker_id:
                continue
            machine = self.machines.get(p.index)
            if machine is None or machine.epoch != p.leader_epoch:
                if machine is None and not any(True for _ in p.logs[self.broker_id].batches()):
                    continue
                machine = self.load(p.index)
            out.append(machine)
        return out

    def run(self, group_id: str, handle: Callable[[GroupStateMachine], CoordinatorResult],
            respond: Callable[[Any], None], on_error: Callable[[Exception], Any]) -> None:
        """One request about ``group_id``: ``handle`` it on the group's machine, append its
        records, then ``respond``; ``on_error(error)`` builds the answer when this broker does
        not coordinate the group or the append fails."""
        machine, error = self.machine_for(group_id)
        if error is not None:
            respond(on_error(error))
            return
        self.append(machine, handle(machine), respond, on_error)

    # --- records appended, then the response ---------------------------------------------------
    def append(self, machine: GroupStateMachine, result: CoordinatorResult,
               respond: Callable[[Any], None] | None = None,
               on_error: Callable[[Exception], Any] | None = None) -> None:
        """Append ``result``'s records to the machine's partition (acks=-1) and, once stored,
        replay them and send its response (see :class:`~.result.CoordinatorResult`)."""
        if not result.records:
            if respond is not None and result.response is not None:
                respond(result.response)
            return
        p = self._partition(machine.index)
        now = self.cluster.now_ms()
        batch = RecordBatch([Record(i, now, *ot.encode(r), [])
                             for i, r in enumerate(result.records)])
        group_id = result.records[0].group

        def stored(produced) -> None:
            if not self.active:
                return  # the broker crashed meanwhile: nobody is there to answer
            error = produced.error
            if error is None and self.machines.get(machine.index) is not machine:
                error = NotLeaderForPartitionError(f"leadership of {p.name} moved meanwhile")
            if error is not None:
                error = store_error(error, p.name)
                self.emit("group.store_failed", f"coordinator on broker {self.broker_id} "
                          f"could not store {len(result.records)} record(s) of group "
                          f"{group_id} in {p.name}: {error}", group=group_id,
                          error=type(error).__name__)
            elif not result.replayed:
                for record in result.records:
                    machine.replay(record)
            if result.on_stored is not None:
                result.on_stored(error)
            if respond is not None and result.response is not None:
                respond(result.response if error is None else on_error(error))

        self.cluster.brokers[self.broker_id].append_records(
            ot.TOPIC, machine.index, batch, OFFSETS_COMMIT_REQUIRED_ACKS,
            OFFSETS_COMMIT_TIMEOUT_MS, stored, internal_topics_allowed=True)

    # --- election and resignation --------------------------------------------------------------
    def load(self, index: int) -> GroupStateMachine:
        """Become the coordinator of ``__consumer_offsets-<index>``: a fresh machine replays
        this broker's replica of the partition (Kafka's onElection)."""
        if index in self.machines:
            self.unload(index)
        p = self._partition(index)
        machine = self.machines[index] = GroupStateMachine(self, index, p.leader_epoch)
        count = 0
        for batch in p.logs[self.broker_id].batches():
            for record in batch.records:
                machine.replay(ot.decode(record.key, record.value))
                count += 1
        machine.loaded()
        if self._retention_timer is None:
            self._schedule_offsets_retention()
        if count or machine.groups:
            self.emit("group.coordinator_loaded", f"broker {self.broker_id} now coordinates "
                      f"the groups of {p.name} (leader epoch {p.leader_epoch}): it rebuilt "
                      f"{len(machine.groups)} group(s) by replaying {count} record(s)",
                      broker=self.broker_id, partition=index, groups=list(machine.groups))
        return machine

    def unload(self, index: int) -> None:
        """Stop coordinating ``__consumer_offsets-<index>`` (Kafka's onResignation): its groups
        leave memory and the requests still waiting are answered ``NOT_COORDINATOR``."""
        machine = self.machines.pop(index, None)
        if machine is None:
            return
        machine.unload(NotCoordinatorError(
            f"broker {self.broker_id} no longer leads __consumer_offsets-{index}: find the "
            "coordinator again"))
        if machine.groups:
            self.emit("group.coordinator_unloaded", f"broker {self.broker_id} no longer "
                      f"coordinates the groups of __consumer_offsets-{index}: "
                      f"{', '.join(machine.groups)}", broker=self.broker_id, partition=index)

    def stop(self) -> None:
        """The broker stopped: everything in memory is gone, nobody is answered."""
        self.active = False
        for machine in self.machines.values():
            machine.unload(None)
        self.machines.clear()
        if self._retention_timer is not None:
            self._retention_timer.cancel()

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
        for index in list(self.machines):
            p = self._partition(index)
            if p.leader != self.broker_id:
                self.unload(index)
            elif self.machines[index].epoch != p.leader_epoch:
                self.load(index).expire_offsets()
            else:
                self.machines[index].expire_offsets()
        self._schedule_offsets_retention()
