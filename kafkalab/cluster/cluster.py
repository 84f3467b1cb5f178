"""Cluster: the lab's Kafka cluster — brokers, topics, time, events — and its lab API.

``Cluster(brokers=3, seed=0)`` builds N brokers (ids 1..N, ``localhost:9092``..), one scheduler
over one clock, one seeded RNG and one lock. Clients reach it through ``bootstrap_servers``;
notebooks drive it directly: create topics, ``advance(ms=...)`` simulated time, read
``events``, show ``describe_topic`` tables.

Invariants: every public method holds ``self.lock`` (the engine is single-threaded, DESIGN §2.5);
all randomness comes from ``self.rng``; all time from ``self.clock``; a refused request changes
nothing.
"""
from __future__ import annotations

import functools
import os
import random
import sys
import threading
import warnings
from typing import Any, Mapping

from ..clock import Clock, make_clock
from ..timefmt import clock_text
from ..coordinator.router import GroupCoordinator
from ..coordinator.transaction_coordinator import TransactionCoordinator
from ..config import (
    INTERNAL_TOPICS,
    BrokerConfig,
    TopicConfig,
    collision_key,
    kafka_string,
    validate_topic_name,
)
from ..driver import SimDriver, WallDriver
from ..errors import (
    InvalidPartitionsError,
    InvalidReplicationAssignmentError,
    InvalidRequestError,
    InvalidTopicError,
    KafkaError,
    TopicAlreadyExistsError,
    TopicDeletionDisabledError,
    UnknownTopicOrPartitionError,
)
from ..metrics import Sensor
from ..scheduler import Scheduler
from ..storage.cleaner_manager import is_compacted
from . import registry
from .broker import Broker
from .clients import ClientRegistry
from .events import EventLog
from .faults import FaultInjector
from .partition import Partition
from .placement import assign_replicas
from .controller import Controller
from .network import Network
from .replication import ReplicaManager
from .snapshots import BrokerSnapshot, ClusterSnapshot, TopicSummary, render_html
from .topic import Topic


def locked(method):
    """Run a public method under the cluster's one lock."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return wrapper


def explains_refusals(kind: str, verb: str):
    """A refused topic request (a Kafka error) also leaves a ``kind`` event saying why
    (DESIGN §2.7); the error is raised on unchanged."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, name, *args, **kwargs):
            try:
                return method(self, name, *args, **kwargs)
            except KafkaError as error:
                self.events.emit(kind, f"refused to {verb} {name!r}: {error}", topic=name,
                                 error=type(error).__name__)
                raise
        return wrapper
    return decorate


def _caller_level() -> int:
    """``stacklevel`` for a warning issued by ``warn_once``: the first frame outside kafkalab,
    so the warning names the learner's line (and Python's once-per-line filter applies)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(2), 2  # warn_once's caller: stacklevel 2
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _imbalance(partitions, broker_id: int) -> float:
    """Share of the partitions preferring ``broker_id`` that it does not lead."""
    preferred = [p for p in partitions if p.preferred_leader == broker_id]
    if not preferred:
        return 0.0
    return sum(p.leader != broker_id for p in preferred) / len(preferred)


class Cluster:
    def __init__(self, brokers: int = 1, seed: int = 0, clock: "str | Clock" = "sim",
                 config: Mapping[str, Any] | None = None, host: str = "localhost",
                 port: int = registry.DEFAULT_PORT, network_latency_ms: int = 1,
                 controllers: int = 3):
        if not isinstance(brokers, int) or brokers < 1:
            raise ValueError(f"brokers must be a whole number >= 1, not {brokers!r}")
        if not isinstance(controllers, int) or controllers < 1:
            raise ValueError(f"controllers must be a whole number >= 1 (the KRaft quorum's "
                             f"voters; 3 survive one failure), not {controllers!r}")
        self.lock = threading.RLock()
        self.clock = make_clock(clock)
        self.scheduler = Scheduler(self.clock)
        self.rng = random.Random(seed)
        self.seed = seed
        self.config = BrokerConfig(config)
        self.network_latency_ms = network_latency_ms
        #: when the cluster started: simulated times are shown as ``t = ...`` since then
        self.start_ms = self.clock.now_ms()
        self.events = EventLog(self.clock.now_ms, self.start_ms)
        self.brokers = {i: Broker(self, i, host, port + i - 1) for i in range(1, brokers + 1)}
        self.topics: dict[str, Topic] = {}
        # grows by one whenever a topic appears, goes or gains partitions: clients may cache
        # partition counts while it stays the same
        self.metadata_version = 0
        self._clients = ClientRegistry()
        self.faults = FaultInjector(self.events, self._clients)
        self.group_coordinator = GroupCoordinator(self)
        self.transaction_coordinator = TransactionCoordinator(self)
        self._next_producer_id = 0
        self.network = Network(lambda b: self.brokers[b].alive)
        self.replicas = ReplicaManager(self)
        self.controller = Controller(self, voters=controllers)
        # per broker, as Kafka's ReplicaManager meters: counted on the leader whose ISR changed
        self._isr_shrinks = {b: Sensor(self.clock.now_ms) for b in self.brokers}
        self._isr_expands = {b: Sensor(self.clock.now_ms) for b in self.brokers}
        self._warned: set[str] = set()  # the keys of warn_once() warnings already given
        driver_class = SimDriver if self.clock.simulated else WallDriver
        self.driver = driver_class(self.scheduler, self.lock, self.events)
        self.events.emit("cluster.started", f"cluster of {brokers} broker(s) started at "
                         f"{self.bootstrap_servers} (seed {seed}, "
                         f"{'simulated' if self.clock.simulated else 'real'} time)",
                         brokers=brokers, seed=seed)
        self.controller.elect()
        for broker_id in self.brokers:
            self.controller.register(broker_id)
        for broker in self.brokers.values():
            broker.log_manager.startup()  # retention, every log.retention.check.interval.ms
        if self.config["auto.leader.rebalance.enable"]:
            self._every(1000 * self.config["leader.imbalance.check.interval.seconds"],
                        lambda: self.elect_preferred_leaders(only_if_imbalanced=True))
        registry.register(self, [b.address for b in self.brokers.values()])

    # --- addresses and time ----------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return ",".join(b.address for b in self.brokers.values())

    @property
    def cluster_id(self) -> str:
        """The id Metadata and DescribeCluster answer (Kafka's ``cluster.id``)."""
        return f"kafkalab-{self.seed}"

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def clock_text(self, time_ms: int | None = None) -> str:
        """``time_ms`` (default: now) as the learner reads it: ``t = 2 d 00:00:08`` since the
        cluster started."""
        return clock_text((self.now_ms() if time_ms is None else time_ms) - self.start_ms)

    @locked
    def advance(self, ms: int = 0, *, seconds: float = 0, minutes: float = 0, hours: float = 0,
                days: float = 0) -> int:
        """Run the world forward in simulated time; returns the new time in ms."""
        total = ms + 1000 * (seconds + 60 * (minutes + 60 * (hours + 24 * days)))
        if total < 0:
            raise ValueError(f"advance() moves time forward only, not by {total} ms")
        self.driver.advance(int(total))
        return self.now_ms()

    def run_until_idle(self) -> None:
        """Run every pending request, replication and timer (not periodic housekeeping).
        Simulated time only: a wall-clock cluster refuses it (RuntimeError)."""
        self.driver.run_until_idle()

    # --- topics --------------------------------------------------------------------------------
    @locked
    @explains_refusals("topic.create_rejected", "create topic")
    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     config: Mapping[str, Any] | None = None,
                     replica_assignment: Mapping[int, list[int]] | None = None,
                     validate_only: bool = False) -> Topic | None:
        """Create a topic (Kafka's CreateTopics); ``partitions`` defaults to num.partitions.

        With ``validate_only`` every check runs but nothing is stored (not even RNG draws).
        """
        validate_topic_name(name)
        if name in self.topics:
            raise TopicAlreadyExistsError(f"Topic '{name}' already exists.")
        clash = [t for t in self.topics if collision_key(t) == collision_key(name)]
        if clash:
            raise InvalidTopicError(
                f"Topic '{name}' collides with existing topic '{clash[0]}': names that differ "
                f"only by '.' and '_' are not allowed together")
        given_partitions, given_rf = partitions, replication_factor
        partitions = self.config["num.partitions"] if partitions in (None, -1) else partitions
        rf = (self.config["default.replication.factor"] if replication_factor in (None, -1)
              else replication_factor)
        topic_config = TopicConfig(self.config, config)
        if replica_assignment:
            if given_partitions not in (None, -1) or given_rf not in (None, -1):
                raise InvalidRequestError(
                    "Both numPartitions or replicationFactor and replicasAssignments were set. "
                    "Both cannot be used at the same time: give the replica assignment alone")
            assignment = self._check_assignment(replica_assignment)
        else:
            rng = self.rng
            if validate_only:
                rng = random.Random()
                rng.setstate(self.rng.getstate())
            assignment = assign_replicas(self._usable_brokers(), partitions, rf, rng)
        if validate_only:
            return None
        topic = Topic(name, topic_config, internal=name in INTERNAL_TOPICS)
        self._add_partitions(topic, assignment)
        self.topics[name] = topic
        leaders = ", ".join(f"{p.index}→broker {p.leader}" for p in topic.partitions)
        self.events.emit("topic.created", f"topic {name} created with {len(assignment)} "
                         f"partition(s), replication factor {len(assignment[0])}; "
                         f"leaders: {leaders}", topic=name, partitions=len(assignment),
                         replication_factor=len(assignment[0]))
        return topic

    def warn_once(self, key: str, message: str) -> None:
        """``warnings.warn(message)`` the first time ``key`` comes up in this cluster: for what
        kafkalab accepts but does not do yet (a topic or client config)."""
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=_caller_level())

    def _check_assignment(self, assignment: Mapping[int, list[int]],
                          first: int = 0) -> list[list[int]]:
        """Kafka's checks of a manual replica assignment of partitions ``first``.. onward
        (INVALID_REPLICA_ASSIGNMENT)."""
        ids = sorted(assignment)
        if ids != list(range(first, first + len(ids))):
            raise InvalidReplicationAssignmentError(
                f"replica assignment must name partitions {first}..n-1 without gaps, got {ids}")
        out = [list(assignment[i]) for i in ids]
        for i, replicas in zip(ids, out):
            unknown = [b for b in replicas if b not in self.brokers]
            if unknown or len(set(replicas)) != len(replicas) or not replicas:
                raise InvalidReplicationAssignmentError(
                    f"replica assignment of partition {i} {replicas} must list distinct known "
                    f"brokers {sorted(self.brokers)}")
        if len({len(replicas) for replicas in out}) > 1:
            raise InvalidReplicationAssignmentError(
                f"All partitions should have the same number of replicas, got "
                f"{[len(r) for r in out]} in {out}")
        return out

    def _usable_brokers(self) -> list[int]:
        """Brokers new replicas may go to: alive and not fenced (as Kafka places them)."""
        return [b for b in self.brokers if self.controller.usable(b)]

    def _add_partitions(self, topic: Topic, assignment: list[list[int]]) -> None:
        self.metadata_version += 1
        if not any(p for p in topic.partitions):
            self.controller.append("Topic", name=topic.name)
        for replicas in assignment:
            index = len(topic.partitions)
            partition = Partition(topic.name, index, replicas, topic.config, self.clock.now_ms,
                                  {b: self.brokers[b].log_manager for b in replicas})
            for broker, log in partition.logs.items():
                log.log_start_listeners.append(
                    lambda p=partition, b=broker: self._retention_moved_log_start(p, b))
            self.controller.append("Partition", topic=topic.name, partition=index,
                                   replicas=list(replicas), leader=partition.leader,
                                   leader_epoch=0, isr=list(partition.isr))
            topic.partitions.append(partition)

    def _retention_moved_log_start(self, partition: Partition, broker: int) -> None:
        """Retention moved the log start offset of ``broker``'s replica: if it leads, its
        followers learn it from the answer to their waiting fetch, as Kafka's followers (who
        always have a fetch waiting) do."""
        if partition.leader == broker:
            self.replicas.on_leader_log_start_moved(partition)

    @locked
    @explains_refusals("topic.delete_rejected", "delete topic")
    def delete_topic(self, name: str) -> None:
        topic = self.topic(name)
        if not self.config["delete.topic.enable"]:
            raise TopicDeletionDisabledError(
                f"Topic '{name}' cannot be deleted: the brokers run with "
                f"delete.topic.enable=false")
        self.controller.append("RemoveTopic", name=topic.name)
        del self.topics[topic.name]
        for partition in topic.partitions:
            self.replicas.forget_partition(partition)
            partition.delete_logs()
        self.metadata_version += 1
        self.events.emit("topic.deleted", f"topic {name} deleted with its "
                         f"{len(topic.partitions)} partition(s)", topic=name)

    @locked
    @explains_refusals("topic.partitions_rejected", "add partitions to topic")
    def create_partitions(self, name: str, total: int, validate_only: bool = False,
                          assignment: list[list[int]] | None = None) -> Topic:
        """Grow a topic to ``total`` partitions (Kafka never shrinks one), placed by Kafka's
        rule or by ``assignment``: the replicas of each new partition, in order.

        With ``validate_only`` every check runs but nothing is stored (not even RNG draws).
        """
        topic = self.topic(name)
        current = len(topic.partitions)
        if not isinstance(total, int) or total <= current:
            raise InvalidPartitionsError(
                f"Topic {name} has {current} partitions; the new count must be larger "
                f"(got {total!r}). Kafka can add partitions but never remove them")
        if assignment is not None:
            if len(assignment) != total - current:
                raise InvalidReplicationAssignmentError(
                    f"Attempted to add {total - current} additional partition(s), but "
                    f"{len(assignment)} assignment(s) were specified: give one per new "
                    f"partition")
            assignment = self._check_assignment(dict(enumerate(assignment, current)), current)
            if len(assignment[0]) != topic.replication_factor:
                raise InvalidReplicationAssignmentError(
                    f"The manual partition assignment gives {len(assignment[0])} replica(s) "
                    f"per partition, but the partitions of {name} have "
                    f"{topic.replication_factor}")
        else:
            usable = sorted(self._usable_brokers())
            # as Kafka's addPartitions: start (and shift) at partition 0's preferred leader, so
            # the leaders' round robin goes on where it was; no random draws
            first_leader = topic.partitions[0].replicas[0]
            start = next((i for i, b in enumerate(usable) if b >= first_leader), 0)
            assignment = assign_replicas(usable, total - current, topic.replication_factor,
                                         None, first_partition=current, fixed_start=start)
        if validate_only:
            return topic
        self._add_partitions(topic, assignment)
        self.events.emit("topic.partitions_added", f"topic {name} grew from {current} to "
                         f"{total} partitions; keys may now map to different partitions",
                         topic=name, before=current, after=total)
        return topic

    @locked
    @explains_refusals("topic.config_rejected", "change the configs of topic")
    def alter_topic_config(self, name: str, set: Mapping[str, Any] | None = None,
                           delete: list[str] = (),
                           validate_only: bool = False) -> dict[str, tuple[Any, Any]]:
        """Change topic configs atomically (``kafka-configs --alter``); returns what changed.

        With ``validate_only`` every check runs on a copy and nothing is changed.
        """
        topic = self.topic(name)
        if validate_only:
            return TopicConfig(self.config, topic.config.overrides).alter(set, delete)
        changed = topic.config.alter(set, delete)
        if changed:
            for broker in self.brokers.values():
                broker.log_manager.topic_config_changed(name)
        for key, (old, new) in changed.items():
            self.events.emit("topic.config_changed", f"topic {name}: {key} "
                             f"{kafka_string(old)} -> {kafka_string(new)}", topic=name,
                             config=key, old=old, new=new)
        if changed.get("unclean.leader.election.enable", (None, False))[1] and \
                self.controller.active is not None:
            # as KRaft's controller: offline partitions may now take an out-of-sync leader
            for p in self.topics[name].partitions:
                if p.leader is None:
                    self.controller.elect_leader(
                        p, p.isr, "unclean.leader.election.enable was set to true")
        return changed

    @locked
    def topic(self, name: str) -> Topic:
        try:
            return self.topics[name]
        except (KeyError, TypeError):
            raise UnknownTopicOrPartitionError(
                f"Topic '{name}' does not exist. Existing topics: "
                f"{', '.join(sorted(self.topics)) or 'none'}") from None

    @locked
    def partition(self, topic: str, partition: int) -> Partition:
        t = self.topic(topic)
        if not isinstance(partition, int) or not 0 <= partition < len(t.partitions):
            raise UnknownTopicOrPartitionError(
                f"Partition {partition!r} of topic '{topic}' does not exist: it has partitions "
                f"0..{len(t.partitions) - 1}")
        return t.partitions[partition]

    @locked
    def topic_for_client(self, name: str, allow_auto_create: bool = True) -> Topic:
        """The topic a client names, auto-created as Kafka does when the broker allows it."""
        if name in self.topics:
            return self.topics[name]
        validate_topic_name(name)
        if allow_auto_create and self.config["auto.create.topics.enable"]:
            topic = self.create_topic(name)
            self.events.emit("topic.auto_created", f"topic {name} was auto-created because a "
                             "client used it (auto.create.topics.enable=true)", topic=name)
            return topic
        return self.topic(name)

    @locked
    def init_producer_id(self, producer_id: int = -1, producer_epoch: int = -1,
                         reason: str = "") -> tuple[int, int]:
        """Kafka's InitProducerId for an idempotent producer: a new (producer id, epoch 0), or
        — given the current id and epoch (KIP-360) — the same id with the next epoch, whose
        sequence numbers start again at 0 on every partition. An epoch past Kafka's int16
        range gets a new producer id instead."""
        if producer_id >= 0 and producer_epoch + 1 < 2**15 - 1:
            epoch = producer_epoch + 1
            self.events.emit("producer.epoch_bumped", f"idempotent producer {producer_id} "
                             f"bumped its epoch {producer_epoch} -> {epoch}"
                             f"{': ' + reason if reason else ''}; its sequence numbers start "
                             "again at 0", producer_id=producer_id, epoch=epoch)
            return producer_id, epoch
        producer_id = self.allocate_producer_id()
        self.events.emit("producer.id_assigned", f"idempotent producer got producer id "
                         f"{producer_id}, epoch 0", producer_id=producer_id)
        return producer_id, 0

    def allocate_producer_id(self) -> int:
        """The next unused producer id (Kafka's ProducerIdManager): idempotent producers and
        transaction coordinators draw from one sequence."""
        producer_id = self._next_producer_id
        self._next_producer_id += 1
        return producer_id

    # --- clients and housekeeping --------------------------------------------------------------
    def register_client(self, client: object, on_crash=None) -> None:
        """Know a client; ``on_crash`` (a method of it) is how ``faults.crash_consumer`` kills
        it (see :mod:`.clients`)."""
        self._clients.register(client, on_crash)

    @property
    def clients(self) -> list:
        return list(self._clients)

    def _every(self, interval_ms: int, work) -> None:
        """Run ``work`` every ``interval_ms`` as background housekeeping."""
        def run():
            work()
            self.scheduler.call_later(interval_ms, run, background=True)
        self.scheduler.call_later(interval_ms, run, background=True)

    # --- broker faults (lab API) ---------------------------------------------------------------
    def _broker(self, broker_id: int) -> Broker:
        if broker_id not in self.brokers:
            raise ValueError(f"there is no broker {broker_id!r}; brokers are "
                             f"{sorted(self.brokers)}")
        return self.brokers[broker_id]

    @locked
    def kill_broker(self, broker_id: int) -> None:
        """Crash a broker: it stops at once, mid-flight. The controller notices only when its
        heartbeats stop (broker.session.timeout.ms) and then moves its leaderships."""
        broker = self._broker(broker_id)
        if not broker.alive:
            return
        self._stop(broker, "broker.killed", f"broker {broker_id} crashed (its log stays on disk)")

    @locked
    def restart_broker(self, broker_id: int) -> None:
        """Start a stopped broker: it replays the metadata records it missed (its metadata image
        catches up), registers, truncates its replicas to their leaders' logs (leader epochs) and
        catches up."""
        broker = self._broker(broker_id)
        if broker.alive:
            return
        broker.alive = True
        broker.catch_up_metadata(self.controller)  # what it missed, before it serves requests
        for topic in self.topics.values():
            for p in topic.partitions:
                if broker_id in p.logs:
                    p.synced_epoch.pop(broker_id, None)
        self.events.emit("broker.restarted", f"broker {broker_id} started again",
                         broker=broker_id)
        self.controller.note_restart(broker_id)
        self.controller.maybe_reelect()
        self.controller.register_returning()

    @locked
    def shutdown_broker(self, broker_id: int) -> None:
        """Controlled shutdown: leadership moves to in-sync replicas first, then it stops."""
        broker = self._broker(broker_id)
        if not broker.alive:
            return
        if not self.controller.reaches(broker_id):
            # nobody to hand leadership to: Kafka gives up on the controlled shutdown and stops
            self.events.emit("broker.shutdown_uncontrolled", f"broker {broker_id} cannot reach "
                             "an active controller, so its shutdown cannot move leadership "
                             "first: it stops like a crash, and its partitions wait for it to "
                             "be fenced", broker=broker_id)
            self.kill_broker(broker_id)
            return
        for topic in list(self.topics.values()):
            for p in topic.partitions:
                if broker_id in p.isr or p.leader == broker_id:
                    self.controller._move_off(p, broker_id,
                                              f"controlled shutdown of broker {broker_id}")
        self.controller.fence(broker_id, "controlled shutdown")
        self._stop(broker, "broker.stopped", f"broker {broker_id} shut down cleanly")

    def _stop(self, broker: Broker, kind: str, text: str) -> None:
        """Take a broker down: its pending fetches die with it; a controller election follows
        if the quorum needs one."""
        broker.alive = False
        self.replicas.drop_fetches(broker.id)
        self.group_coordinator.on_broker_stopped(broker.id)  # its coordinators' memory is gone
        self.transaction_coordinator.on_broker_stopped(broker.id)
        self.events.emit(kind, text, broker=broker.id)
        self.controller.maybe_reelect()

    @locked
    def isolate_broker(self, broker_id: int, from_brokers: bool = True,
                       from_clients: bool = True) -> None:
        """Cut a broker off the network: from the other brokers (and so the controller and
        replication) and/or from clients. ``heal()`` reconnects."""
        self._broker(broker_id)
        self.network.isolate(broker_id, from_brokers, from_clients)
        cut = " and ".join(w for w, on in (("the other brokers", from_brokers),
                                            ("clients", from_clients)) if on)
        self.events.emit("broker.isolated", f"broker {broker_id} is cut off from {cut}",
                         broker=broker_id)
        self.controller.maybe_reelect()

    @locked
    def heal(self) -> None:
        """Reconnect every isolated broker."""
        isolated = self.network.isolated()
        self.network.heal()
        slow = sorted(self.replicas.slow_followers)
        self.replicas.slow_followers.clear()
        for broker_id in slow:
            self.replicas.retime_fetches(broker_id)
        cut = []  # "brokers 1 and 2 had been cut off from the brokers"
        for how in sorted(set(isolated.values())):
            ids = [str(b) for b in sorted(b for b, h in isolated.items() if h == how)]
            who = " and ".join(filter(None, [", ".join(ids[:-1]), ids[-1]]))
            cut.append(f"broker{'s' if len(ids) > 1 else ''} {who} had been cut off from the "
                       f"{how}")
        cut = "; ".join(cut)
        self.events.emit("network.healed", f"network healed: {cut or 'no broker was cut off'}; "
                         f"every link works again", brokers=sorted(isolated))
        for broker_id in isolated:  # a replica cut off may have been a stale leader
            for topic in self.topics.values():
                for p in topic.partitions:
                    if p.leader != broker_id:
                        p.synced_epoch.pop(broker_id, None)
        self.controller.maybe_reelect()
        self.controller.register_returning()

    @locked
    def kill_controller(self, controller_id: int | None = None) -> None:
        """Crash a controller node (default: the active one); a majority elects a new one."""
        self.controller.kill_voter(self.controller.active if controller_id is None
                                   else controller_id)

    @locked
    def restart_controller(self, controller_id: int) -> None:
        self.controller.restart_voter(controller_id)

    @locked
    def slow_follower(self, broker_id: int, delay_ms: int) -> None:
        """Make a broker's follower fetches ``delay_ms`` slower (a slow disk or link)."""
        self._broker(broker_id)
        self.replicas.slow_followers[broker_id] = int(delay_ms)
        self.replicas.retime_fetches(broker_id)
        self.events.emit("broker.slow", f"broker {broker_id} fetches as a follower "
                         f"{delay_ms} ms late", broker=broker_id, delay_ms=delay_ms)

    @locked
    def elect_preferred_leaders(self, only_if_imbalanced: bool = False) -> int:
        """Give leadership back to each partition's preferred (first) replica where it is in
        sync; returns how many leaders moved. With ``only_if_imbalanced`` (the automatic check,
        ``auto.leader.rebalance.enable``) only for brokers that lead fewer than 90% of the
        partitions they are preferred for (Kafka's leader.imbalance.per.broker.percentage=10)."""
        moved = 0
        if self.controller.active is None:
            return 0
        partitions = [p for t in list(self.topics.values()) for p in t.partitions]
        imbalanced = {b for b in self.brokers if _imbalance(partitions, b) > 0.10}
        for p in partitions:
            preferred = p.preferred_leader
            if only_if_imbalanced and preferred not in imbalanced:
                continue
            if (p.leader != preferred and preferred in p.isr
                    and self.controller.usable(preferred)):
                self.controller.elect_leader(p, p.isr, "preferred leader election",
                                             preferred=preferred)
                moved += 1
        return moved

    def metrics_isr_change(self, grew: bool, broker: int) -> None:
        (self._isr_expands if grew else self._isr_shrinks)[broker].record(1)

    @locked
    def broker_metrics(self):
        """Kafka's health metrics as a DataFrame: one row per broker, then one per controller
        node (``role``). As in KRaft, ActiveControllerCount and OfflinePartitionsCount are
        reported by the controllers (only the active one counts offline partitions), so each
        column sums to the cluster's value; IsrShrinksPerSec/IsrExpandsPerSec are per leader
        broker, over the last minute."""
        import pandas as pd

        rows = []
        partitions = [p for t in self.topics.values() for p in t.partitions]
        controller = self.controller
        for b in self.brokers.values():
            led = [p for p in partitions if p.leader == b.id]
            rows.append({
                "broker": b.id, "role": "broker", "alive": b.alive,
                "fenced": b.id in controller.fenced,
                "LeaderCount": len(led),
                "PartitionCount": sum(b.id in p.replicas for p in partitions),
                "UnderReplicatedPartitions": sum(len(p.isr) < len(p.replicas) for p in led),
                "UnderMinIsrPartitionCount": sum(
                    len(p.isr) < p.leader_log.config["min.insync.replicas"] for p in led),
                "OfflinePartitionsCount": 0, "ActiveControllerCount": 0,
                "IsrShrinksPerSec": self._isr_shrinks[b.id].rate(),
                "IsrExpandsPerSec": self._isr_expands[b.id].rate()})
        for voter in controller.voters:
            active = voter == controller.active
            rows.append({
                "broker": voter, "role": "controller", "alive": voter in controller.alive_voters,
                "fenced": False, "LeaderCount": 0, "PartitionCount": 0,
                "UnderReplicatedPartitions": 0, "UnderMinIsrPartitionCount": 0,
                "OfflinePartitionsCount": sum(p.leader is None for p in partitions)
                if active else 0,
                "ActiveControllerCount": int(active),
                "IsrShrinksPerSec": 0.0, "IsrExpandsPerSec": 0.0})
        return pd.DataFrame(rows)

    # --- views ---------------------------------------------------------------------------------
    @locked
    def describe_topic(self, name: str):
        from .tables import describe_topic_frame

        return describe_topic_frame(self.topic(name), lambda b: self.brokers[b].alive)

    @locked
    def records(self, topic: str, partition: int | None = None):
        """A partition's stored records (all partitions if None) as a DataFrame."""
        from .tables import records_frame

        t = self.topic(topic)
        parts = t.partitions if partition is None else [self.partition(topic, partition)]
        return records_frame(parts)

    @locked
    def describe_segments(self, topic: str, partition: int = 0, broker: int | None = None):
        """The segments of one replica of a partition (default: the leader's, as views show
        it) as a DataFrame, oldest first: offsets, records, size, created and age, largest
        timestamp, whether active, and the section as the log cleaner sees it ("clean",
        "dirty", "uncleanable", "active"; "closed" for a topic that is not compacted or a
        broker whose cleaner is off)."""
        from .tables import segments_frame

        p = self.partition(topic, partition)
        if broker is None:  # the replica views show: the leader, or the preferred one offline
            broker_id = p.leader if p.leader is not None else p.preferred_leader
        else:
            broker_id = broker
        if broker_id not in p.logs:
            raise ValueError(f"broker {broker_id!r} holds no replica of {p.name}; its replicas "
                             f"are on brokers {p.replicas}")
        log = p.logs[broker_id]
        cleaner = self.brokers[broker_id].log_manager.cleaner
        state = cleaner.describe(log) if cleaner is not None and is_compacted(log) else None
        return segments_frame(log, state, self.now_ms(), self.clock_text)

    @locked
    def log_cleaner_metrics(self):
        """Each broker's log cleaner gauges, with Kafka's names (``kafka.log:type=LogCleaner``
        and ``LogCleanerManager``), as a DataFrame: one row per broker (``enabled`` False,
        gauges empty, with ``log.cleaner.enable=false``)."""
        import pandas as pd

        rows = []
        for b in self.brokers.values():
            cleaner = b.log_manager.cleaner
            rows.append({"broker": b.id, "alive": b.alive, "enabled": cleaner is not None,
                         **(cleaner.metrics() if cleaner is not None else {})})
        return pd.DataFrame(rows)

    @locked
    def describe_transactions(self):
        """``kafka-transactions.sh describe`` for every transactional id, as a DataFrame: its
        coordinator, producer id and epoch, state, timeout and partitions."""
        from .tables import transactions_frame

        return transactions_frame(self)

    @locked
    def transaction_coordinator_of(self, transactional_id: str) -> int:
        """The broker coordinating ``transactional_id`` now (FindCoordinator's answer), to
        kill or isolate it in a lab."""
        return self.transaction_coordinator.coordinator_of(transactional_id)

    @locked
    def describe_consumer_group(self, group_id: str):
        """``kafka-consumer-groups --describe --group G`` as a DataFrame (lag per partition)."""
        from .tables import consumer_group_frame

        return consumer_group_frame(self, group_id)

    @locked
    def snapshot(self) -> ClusterSnapshot:
        """The cluster as views show it, now: brokers, topics, the controller quorum, time."""
        topics = tuple(
            TopicSummary(t.name, len(t.partitions), t.replication_factor,
                         sum(p.view_log.log_end_offset - p.view_log.log_start_offset
                             for p in t.partitions))
            for t in sorted(self.topics.values(), key=lambda t: t.name))
        return ClusterSnapshot(
            tuple(BrokerSnapshot(b.id, b.address, b.alive) for b in self.brokers.values()),
            topics, tuple(self.controller.voters), self.controller.active_text(),
            self.controller.dedicated, self.clock_text(), self.seed)

    @locked
    def _repr_html_(self) -> str:
        return render_html(self.snapshot())

    def close(self) -> None:
        """Stop the cluster: its addresses are forgotten (a new client cannot reach it) and
        every client call waiting on it — now or later — raises ``KafkaConnectionError``."""
        registry.unregister(self)
        self.driver.close()

    def __repr__(self) -> str:
        return (f"Cluster(brokers={len(self.brokers)}, topics={sorted(self.topics)}, "
                f"now_ms={self.now_ms()}, bootstrap_servers={self.bootstrap_servers!r})")


# the first client with no cluster of its own gets a default Cluster() (see registry.resolve)
registry.set_default_factory(Cluster)
