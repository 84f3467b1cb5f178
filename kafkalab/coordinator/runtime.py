"""A coordinator inside one broker (Kafka's ``CoordinatorRuntime``): one state machine per
partition of its internal topic that the broker leads, and the plumbing between them and the
broker. The group coordinator (``__consumer_offsets``, :mod:`.router`) and the transaction
coordinator (``__transaction_state``, :mod:`.transaction_coordinator`) are both built on it;
a :class:`CoordinatorSpec` says what differs.

**Where a key lives.** The coordinator of a key (a group id, a transactional id) is the leader of
the key's partition of the internal topic (``Utils.abs(key.hashCode) % partitions``). A request
reaching a broker that does not lead that partition is answered ``NOT_COORDINATOR``. When a
broker becomes the leader of a partition it builds a fresh state machine by replaying that
partition's log (Kafka's ``onElection``); the broker that lost it drops its machine and answers
the requests still waiting with ``NOT_COORDINATOR`` (``onResignation``).

**Records appended, then the response.** A handler's :class:`~.result.CoordinatorResult` goes
through :meth:`CoordinatorRuntime.append`: its records are appended through the broker's own
append path — leadership, liveness, ``acks=-1`` and ``min.insync.replicas`` of the internal
topic — and only once the partition accepted them (replicated to the ISR) are they replayed into
the machine and the response sent. A failed append comes back as Kafka maps it:
``COORDINATOR_NOT_AVAILABLE`` (not enough replicas, timed out) or ``NOT_COORDINATOR``
(leadership moved) — both retriable.

Invariants: a machine is held only for a partition this broker leads, loaded at the current
leader epoch; an append answered after its machine was dropped counts as failed
(``NOT_COORDINATOR``); a stopped runtime (the broker crashed) answers nobody and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..errors import (
    CoordinatorNotAvailableError,
    InvalidReplicationFactorError,
    NotCoordinatorError,
    NotLeaderForPartitionError,
)
from ..record import RecordBatch
from ..record.control import marker_of
from .result import CoordinatorResult, store_error

if TYPE_CHECKING:
    from ..cluster.context import GroupCoordinatorContext

#: Kafka's ``offsets.commit.timeout.ms`` / ``transaction.state.log`` write timeout: how long a
#: coordinator's append waits for the ISR
OFFSETS_COMMIT_TIMEOUT_MS = 5000
#: coordinators append with acks=all (``offsets.commit.required.acks``)
OFFSETS_COMMIT_REQUIRED_ACKS = -1


@dataclass(frozen=True)
class CoordinatorSpec:
    """What one kind of coordinator brings to the runtime: its internal topic, what its keys
    are called in messages ("group", "transactional id") and its events' prefix, the key's
    partition, the topic's records, its state machines, and the topic's settings
    (``topic_configs(broker_config, brokers)`` -> (partitions, configs with
    ``replication.factor``))."""

    topic: str
    key_name: str
    event_prefix: str
    partition_for: Callable[[str, int], int]
    encode: Callable[[Any], tuple[bytes, bytes | None]]
    decode: Callable[[bytes, bytes | None], Any]
    key_of: Callable[[Any], str]
    new_machine: Callable[["CoordinatorRuntime", int, int], Any]
    topic_configs: Callable[[Any, int], tuple[int, dict]]


def replay_log(machine, log, spec: CoordinatorSpec) -> int:
    """Replay every record of ``log`` into ``machine``; returns how many. Transactional
    batches are replayed as pending for their producer, and a marker completes them."""
    count = 0
    for batch in log.batches():
        if batch.is_control:
            machine.replay_marker(marker_of(batch))
            continue
        producer_id = batch.producer_id if batch.is_transactional else -1
        for row in batch.record_tuples:
            machine.replay(spec.decode(row[2], row[3]), producer_id)
            count += 1
    return count


class CoordinatorRuntime:
    """One broker's coordinator of one kind (see above); the context its state machines run
    in. Subclasses add what their kind needs (timers, purgatories) through :meth:`loaded` and
    :meth:`stopped`."""

    def __init__(self, cluster: "GroupCoordinatorContext", broker_id: int,
                 spec: CoordinatorSpec):
        self.cluster = cluster
        self.broker_id = broker_id
        self.spec = spec
        #: partition index -> its state machine (loaded at ``machine.epoch``)
        self.machines: dict[int, Any] = {}
        self.active = True

    # --- what the state machines use -----------------------------------------------------------
    def now_ms(self) -> int:
        return self.cluster.now_ms()

    def call_later(self, delay_ms: int, callback: Callable[[], None],
                   background: bool = False) -> Any:
        return self.cluster.scheduler.call_later(delay_ms, callback, background=background)

    def emit(self, kind: str, text: str, **data) -> None:
        self.cluster.events.emit(kind, text, **data)

    def config(self, name: str) -> Any:
        return self.cluster.config[name]

    # --- which machine answers ------------------------------------------------------------------
    def _partition(self, index: int):
        return self.cluster.topics[self.spec.topic].partitions[index]

    def machine_for(self, key: str) -> tuple[Any, Exception | None]:
        """(the machine holding ``key``, None) if this broker coordinates it — loading its
        partition first if it has just become the leader — else (None, NOT_COORDINATOR)."""
        spec = self.spec
        topic = self.cluster.topics.get(spec.topic)
        p = None if topic is None else topic.partitions[
            spec.partition_for(key, len(topic.partitions))]
        if p is None or p.leader != self.broker_id or not self.active:
            if p is not None and p.index in self.machines:
                self.unload(p.index)
            where = f"no {spec.topic} yet" if p is None else (
                f"{p.name} is led by broker {p.leader}" if p.leader is not None
                else f"{p.name} has no leader")
            return None, NotCoordinatorError(
                f"broker {self.broker_id} is not the coordinator of {spec.key_name} {key} "
                f"({where}): find the coordinator again")
        machine = self.machines.get(p.index)
        if machine is None or machine.epoch != p.leader_epoch:
            machine = self.load(p.index)
        return machine, None

    def led_machines(self) -> list:
        """The machines of every partition this broker leads (lists, views): loaded at the
        current epoch, skipping partitions with neither records nor a machine."""
        topic = self.cluster.topics.get(self.spec.topic)
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

    def current_machines(self) -> list:
        """For periodic work: the machines still led here, each at the current leader epoch
        (a machine whose partition moved away is unloaded, one whose epoch moved reloaded)."""
        out = []
        for index in list(self.machines):
            p = self._partition(index)
            if p.leader != self.broker_id:
                self.unload(index)
            elif self.machines[index].epoch != p.leader_epoch:
                out.append(self.load(index))
            else:
                out.append(self.machines[index])
        return out

    def run(self, key: str, handle: Callable[[Any], CoordinatorResult],
            respond: Callable[[Any], None], on_error: Callable[[Exception], Any]) -> None:
        """One request about ``key``: ``handle`` it on the key's machine, append its records,
        then ``respond``; ``on_error(error)`` builds the answer when this broker does not
        coordinate the key or the append fails."""
        machine, error = self.machine_for(key)
        if error is not None:
            respond(on_error(error))
            return
        self.append(machine, handle(machine), respond, on_error)

    # --- records appended, then the response ---------------------------------------------------
    def append(self, machine, result: CoordinatorResult,
               respond: Callable[[Any], None] | None = None,
               on_error: Callable[[Exception], Any] | None = None) -> None:
        """Append ``result``'s records to the machine's partition (acks=-1) and, once stored,
        replay them and send its response (see :class:`~.result.CoordinatorResult`)."""
        if not result.records:
            if respond is not None and result.response is not None:
                respond(result.response)
            return
        spec = self.spec
        p = self._partition(machine.index)
        now = self.cluster.now_ms()
        producer_id, producer_epoch = result.producer or (-1, -1)
        batch = RecordBatch([(i, now, *spec.encode(r), ())
                             for i, r in enumerate(result.records)],
                            producer_id=producer_id, producer_epoch=producer_epoch,
                            is_transactional=result.producer is not None)
        key = spec.key_of(result.records[0])

        def stored(produced) -> None:
            if not self.active:
                return  # the broker crashed meanwhile: nobody is there to answer
            error = produced.error
            if error is None and self.machines.get(machine.index) is not machine:
                error = NotLeaderForPartitionError(f"leadership of {p.name} moved meanwhile")
            if error is not None:
                error = store_error(error, p.name)
                self.emit(f"{spec.event_prefix}.store_failed", f"coordinator on broker "
                          f"{self.broker_id} could not store {len(result.records)} record(s) "
                          f"of {spec.key_name} {key} in {p.name}: {error}",
                          **{spec.event_prefix: key}, error=type(error).__name__)
            elif not result.replayed:
                for record in result.records:
                    machine.replay(record, producer_id)
            if result.on_stored is not None:
                result.on_stored(error)
            if respond is not None and result.response is not None:
                respond(result.response if error is None else on_error(error))

        self.cluster.brokers[self.broker_id].append_records(
            spec.topic, machine.index, batch, OFFSETS_COMMIT_REQUIRED_ACKS,
            OFFSETS_COMMIT_TIMEOUT_MS, stored, internal_topics_allowed=True)

    # --- election and resignation --------------------------------------------------------------
    def load(self, index: int):
        """Become the coordinator of partition ``index``: a fresh machine replays this broker's
        replica of it (Kafka's onElection). Transactional batches are replayed as pending for
        their producer, and a marker completes them."""
        if index in self.machines:
            self.unload(index)
        spec = self.spec
        p = self._partition(index)
        machine = self.machines[index] = spec.new_machine(self, index, p.leader_epoch)
        count = replay_log(machine, p.logs[self.broker_id], spec)
        machine.loaded()
        self.loaded(machine, count)
        return machine

    def loaded(self, machine, count: int) -> None:
        """``machine`` has just been rebuilt from ``count`` records (subclasses start their
        timers and explain it)."""

    def unload(self, index: int) -> None:
        """Stop coordinating partition ``index`` (Kafka's onResignation): its state leaves
        memory and the requests still waiting are answered ``NOT_COORDINATOR``."""
        machine = self.machines.pop(index, None)
        if machine is None:
            return
        machine.unload(NotCoordinatorError(
            f"broker {self.broker_id} no longer leads {self.spec.topic}-{index}: find the "
            "coordinator again"))
        self.unloaded(machine)

    def unloaded(self, machine) -> None:
        """``machine`` was dropped (subclasses explain it)."""

    def stop(self) -> None:
        """The broker stopped: everything in memory is gone, nobody is answered."""
        self.active = False
        for machine in self.machines.values():
            machine.unload(None)
        self.machines.clear()
        self.stopped()

    def stopped(self) -> None:
        """The runtime stopped (subclasses cancel their timers)."""


class CoordinatorRouter:
    """The cluster's coordinators of one kind: a runtime per running broker, the internal
    topic created on first use, coordination moved with leadership of its partitions (Kafka's
    onElection/onResignation), and FindCoordinator's answer.

    Invariants: a stopped broker's runtime is dropped (its memory is gone) and a restarted
    broker starts with an empty one."""

    def __init__(self, cluster: "GroupCoordinatorContext", spec: CoordinatorSpec):
        self.cluster = cluster
        self.spec = spec
        self._runtimes: dict[int, CoordinatorRuntime] = {}
        cluster.events.subscribe(self._on_event)

    def new_runtime(self, broker_id: int) -> CoordinatorRuntime:
        return CoordinatorRuntime(self.cluster, broker_id, self.spec)

    def on_broker(self, broker_id: int) -> CoordinatorRuntime:
        """The coordinator running inside broker ``broker_id`` (a new one after a restart)."""
        runtime = self._runtimes.get(broker_id)
        if runtime is None:
            runtime = self._runtimes[broker_id] = self.new_runtime(broker_id)
        return runtime

    def on_broker_stopped(self, broker_id: int) -> None:
        """The broker crashed or shut down: its coordinator and all it held are gone."""
        runtime = self._runtimes.pop(broker_id, None)
        if runtime is not None:
            runtime.stop()

    def _on_event(self, event) -> None:
        """Leadership of a partition of the internal topic moved: load it at once on the new
        leader (Kafka's onElection) and unload it elsewhere. (Every request also checks
        leadership, so a coordinator that heard nothing yet still answers right.)"""
        kind, data = event.kind, event.data
        if kind not in ("partition.leader_changed", "partition.offline") or \
                data.get("topic") != self.spec.topic:
            return
        with self.cluster.lock:  # listeners may run on a callback thread in wall-clock mode
            p = self.cluster.topics.get(self.spec.topic)
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

    def state_partition(self, key: str):
        """The key's partition of the internal topic, creating the topic on first use; None
        while it cannot be created (too few brokers alive)."""
        cluster, spec = self.cluster, self.spec
        if spec.topic not in cluster.topics:
            partitions, configs = spec.topic_configs(cluster.config, len(cluster.brokers))
            rf = configs.pop("replication.factor")
            try:
                cluster.create_topic(spec.topic, partitions, rf, configs)
            except InvalidReplicationFactorError as error:
                cluster.events.emit(f"{spec.event_prefix}.coordinator_unavailable",
                                    f"{spec.topic} cannot be created yet: {error} "
                                    f"(replication factor {rf}); FindCoordinator answers "
                                    "COORDINATOR_NOT_AVAILABLE until enough brokers are up",
                                    error=type(error).__name__)
                return None
        topic = cluster.topics[spec.topic]
        return topic.partitions[spec.partition_for(key, len(topic.partitions))]

    def coordinator_of(self, key: str) -> int:
        """Kafka's FindCoordinator: the broker leading the key's partition; raises
        ``CoordinatorNotAvailableError`` while there is none."""
        p = self.state_partition(key)
        if p is None or p.leader is None:
            why = (f"{self.spec.topic} cannot be created yet" if p is None
                   else f"{p.name} has no leader")
            raise CoordinatorNotAvailableError(
                f"no coordinator for {self.spec.key_name} {key}: {why}")
        return p.leader

    def live_machines(self) -> list:
        """The machine of every partition with a live leader, as that leader holds it."""
        topic = self.cluster.topics.get(self.spec.topic)
        leaders = sorted({p.leader for p in (topic.partitions if topic else ())
                          if p.leader is not None and self.cluster.brokers[p.leader].alive})
        return [m for b in leaders for m in self.on_broker(b).led_machines()]
