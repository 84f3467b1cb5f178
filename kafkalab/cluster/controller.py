"""The controller: cluster metadata as an ordered log, KRaft style.

A quorum of dedicated controller nodes (*voters*, ids 1000, 1001, 1002 — KRaft's
``process.roles=controller``) elects an *active controller*; it needs a majority of voters
alive, and brokers must reach it. Every metadata change is a
record appended to the metadata log and then applied: brokers registering, being fenced and
unfenced, topics and partitions created, and partition changes (new leader, new leader epoch,
new ISR). Brokers heartbeat to the active controller; one silent for
``broker.session.timeout.ms`` is fenced and loses its leaderships to in-sync replicas. A
partition with no in-sync replica left goes offline — unless ``unclean.leader.election.enable``
lets an out-of-sync replica lead, losing what it never copied.

Invariants: the metadata log only grows, with consecutive offsets; a leader is always taken
from the ISR (except an unclean election, which is recorded as such); every leader change
bumps the partition's leader epoch; no record is appended without an active controller.

Brokers do not read the controller's state: each applies the log's records to a metadata image
of its own (:mod:`.metadata_image`) and answers Metadata requests from it. In KRaft brokers fetch
the log from the active controller; here publication is immediate — every appended record is
applied at once by every running broker, and each learns at once when the quorum loses its
leader. A stopped broker applies nothing and replays what it missed when it starts again.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import KafkaTimeoutError
from .metadata_image import MetadataRecord

if TYPE_CHECKING:
    from .context import ControllerContext
    from .partition import Partition

HEARTBEAT_INTERVAL_MS = 2000      # broker.heartbeat.interval.ms
SESSION_TIMEOUT_MS = 9000         # broker.session.timeout.ms
ELECTION_TIMEOUT_MS = 1000        # controller.quorum.election.timeout.ms


class Controller:
    def __init__(self, cluster: "ControllerContext", voters: int = 3):
        self.cluster = cluster
        self.voters = [1000 + i for i in range(voters)]
        self.alive_voters = set(self.voters)
        self.active: int | None = None
        self._last_active: int | None = None  # the active controller before this one
        self.epoch = 0
        self.log: list[MetadataRecord] = []
        self.fenced: set[int] = set()
        self._sessions: dict[int, Any] = {}  # broker -> pending fence (session expiry)
        self._registered_ms: dict[int, int] = {}
        self._restarted: set[int] = set()  # brokers that started again and must register
        self._election = None

    # --- the quorum ----------------------------------------------------------------------------
    @property
    def dedicated(self) -> bool:
        """True when the voters are controller-only nodes (``process.roles=controller``), not
        brokers: then the active controller has an id of its own (1000, ...), which clients
        never see (DescribeCluster and Metadata answer them with a live broker's id)."""
        return not set(self.voters) & set(self.cluster.brokers)

    def active_text(self) -> str:
        """The active controller as views name it: ``controller 1000`` for a dedicated quorum,
        ``broker 2`` when a broker is also a voter (combined mode), or ``none``."""
        if self.active is None:
            return "none"
        return f"broker {self.active}" if self.active in self.cluster.brokers else \
            f"controller {self.active}"

    @property
    def majority(self) -> int:
        return len(self.voters) // 2 + 1

    def elect(self) -> None:
        """Choose the active controller: the lowest-id live voter, if a majority lives."""
        if self.active is not None:
            self._last_active = self.active
        previous = self._last_active
        self._election = None
        alive = sorted(self.alive_voters)
        self.active = alive[0] if len(alive) >= self.majority else None
        if self.active is None:
            self.publish()  # the brokers learn the quorum has no leader
            self._emit("controller.unavailable", f"no active controller: only {len(alive)} of "
                       f"the {len(self.voters)} controller voters {self.voters} are up, "
                       f"{self.majority} are needed; leaders and ISRs cannot change until then")
            return
        self.epoch += 1
        self.append("LeaderChange", leader=self.active, voters=list(self.voters))
        before = "the first election" if previous is None else f"before: {previous}"
        self._emit("controller.elected", f"controller {self.active} is the active controller "
                   f"(epoch {self.epoch}; {before})", controller=self.active)
        now = self.cluster.now_ms()
        for session in self._sessions.values():  # a new controller gives every broker a
            session.cancel()                     # fresh session
        self._sessions.clear()
        self._registered_ms = {b: now for b in self._registered_ms}
        self.check_sessions()
        self.register_returning()

    def register_returning(self) -> None:
        """Brokers that are alive and reachable again — fenced ones, and restarted ones (a
        restart always registers anew, as a new incarnation) — register and are unfenced;
        partitions left without a leader get one as soon as an in-sync replica is usable."""
        if self.active is None:
            return
        for broker_id in sorted(self.fenced | self._restarted):
            if self.reaches(broker_id):
                self.register(broker_id)
        for partition in self._partitions():
            if partition.leader is None and self._electable(partition):
                self.elect_leader(partition, partition.isr, "an in-sync replica is available")
        self.cluster.replicas.resync()

    def note_restart(self, broker_id: int) -> None:
        self._restarted.add(broker_id)

    def _electable(self, partition: "Partition") -> bool:
        """Could an election give this partition a leader now?"""
        if any(self.usable(b) for b in partition.isr):
            return True
        unclean = partition.logs[partition.replicas[0]].config["unclean.leader.election.enable"]
        return unclean and any(self.usable(b) for b in partition.replicas)

    def reaches(self, broker_id: int) -> bool:
        """Can this broker talk to the active controller?"""
        return self.active is not None and self.cluster.network.reaches_controller(broker_id)

    def kill_voter(self, voter: int) -> None:
        self._check_voter(voter)
        self.alive_voters.discard(voter)
        self._emit("controller.killed", f"controller {voter} crashed", controller=voter)
        self.maybe_reelect()

    def restart_voter(self, voter: int) -> None:
        self._check_voter(voter)
        self.alive_voters.add(voter)
        self._emit("controller.restarted", f"controller {voter} started again",
                   controller=voter)
        self.maybe_reelect()

    def _check_voter(self, voter: int) -> None:
        if voter not in self.voters:
            raise ValueError(f"there is no controller {voter!r}; controllers are {self.voters}")

    def maybe_reelect(self) -> None:
        """After a fault: if the active controller is gone, elect again after a timeout."""
        healthy = self.active in self.alive_voters and len(self.alive_voters) >= self.majority
        wanted = not healthy and (self.active is not None or
                                  len(self.alive_voters) >= self.majority)
        if wanted and self._election is None:
            self._election = self.cluster.scheduler.call_later(ELECTION_TIMEOUT_MS, self.elect)
        if not healthy and self.active is not None and self.active not in self.alive_voters:
            self._last_active, self.active = self.active, None  # nobody leads until elected
            self.publish()
        self.check_sessions()

    def append(self, type: str, **fields: Any) -> MetadataRecord:
        if self.active is None:
            raise KafkaTimeoutError(f"cannot record {type}: there is no active controller "
                                    f"(voters {self.voters})")
        record = MetadataRecord(len(self.log), self.epoch, type, fields)
        self.log.append(record)
        self.publish()
        return record

    def publish(self) -> None:
        """Every running broker applies the records it has not applied yet and learns the
        quorum's current leader (KRaft brokers fetch the metadata log from the active controller;
        here at once). A stopped broker applies nothing: it catches up when it starts again."""
        for broker in self.cluster.brokers.values():
            if broker.alive:
                broker.catch_up_metadata(self)

    def _emit(self, kind: str, text: str, **data) -> None:
        self.cluster.events.emit(kind, text, **data)

    # --- broker liveness -----------------------------------------------------------------------
    def register(self, broker_id: int) -> None:
        broker = self.cluster.brokers[broker_id]
        self.append("RegisterBroker", broker_id=broker_id, host=broker.host, port=broker.port)
        self._registered_ms[broker_id] = self.cluster.now_ms()
        self._restarted.discard(broker_id)
        if broker_id in self.fenced:
            self.fenced.discard(broker_id)
            self.append("UnfenceBroker", broker_id=broker_id)
            self._emit("broker.unfenced", f"broker {broker_id} registered again and is "
                       "unfenced: its replicas catch up and rejoin the ISR", broker=broker_id)
            for partition in self._partitions():
                if partition.leader is None and broker_id in partition.replicas:
                    self.elect_leader(partition, partition.isr,
                                      f"broker {broker_id} is back")

    def check_sessions(self) -> None:
        """Brokers heartbeat every broker.heartbeat.interval.ms; a broker that can no longer
        reach the active controller is fenced broker.session.timeout.ms after its last
        heartbeat got through. (Heartbeats are not simulated one by one: only their effect.)"""
        now = self.cluster.now_ms()
        if self.active is None:
            return  # no controller, nobody to fence anyone
        for broker_id in self.cluster.brokers:
            reachable = self.reaches(broker_id)
            pending = self._sessions.get(broker_id)
            if reachable and pending is not None:
                pending.cancel()
                del self._sessions[broker_id]
            elif not reachable and pending is None and broker_id not in self.fenced:
                since = now - self._registered_ms.get(broker_id, now)
                last_heartbeat_ms = now - since % HEARTBEAT_INTERVAL_MS
                delay = max(last_heartbeat_ms + SESSION_TIMEOUT_MS - now, 0)
                self._sessions[broker_id] = self.cluster.scheduler.call_later(
                    delay, lambda b=broker_id: self._session_expired(b))

    def _session_expired(self, broker_id: int) -> None:
        self._sessions.pop(broker_id, None)
        self.fence(broker_id, f"no heartbeat for {SESSION_TIMEOUT_MS} ms "
                              "(broker.session.timeout.ms)")

    def fence(self, broker_id: int, why: str) -> None:
        """Fence a broker: it leaves every ISR and its leaderships move to in-sync replicas."""
        if broker_id in self.fenced or self.active is None:
            return
        self.fenced.add(broker_id)
        session = self._sessions.pop(broker_id, None)
        if session is not None:
            session.cancel()
        self.append("FenceBroker", broker_id=broker_id)
        self._emit("broker.fenced", f"controller fenced broker {broker_id}: {why}",
                   broker=broker_id)
        for partition in self._partitions():
            if broker_id in partition.isr or partition.leader == broker_id:
                self._move_off(partition, broker_id, why=f"broker {broker_id} was fenced")

    def _move_off(self, partition: "Partition", broker_id: int, why: str) -> None:
        # the ISR never becomes empty: its last member stays the only clean leader candidate
        isr = [b for b in partition.isr if b != broker_id] or list(partition.isr)
        if partition.leader == broker_id:
            self.elect_leader(partition, isr, why)
        elif isr != partition.isr:
            self.change_partition(partition, partition.leader, isr, why)

    def usable(self, broker_id: int) -> bool:
        return self.cluster.brokers[broker_id].alive and broker_id not in self.fenced

    def _partitions(self):
        for topic in list(self.cluster.topics.values()):
            yield from topic.partitions

    # --- partition leadership and ISR ----------------------------------------------------------
    def elect_leader(self, partition: "Partition", isr: list[int], why: str,
                     preferred: int | None = None) -> None:
        """Leader from the (new) ISR — the preferred one if given and in sync; else unclean
        election if the topic allows it; else the partition goes offline."""
        candidates = [b for b in partition.replicas if b in isr and self.usable(b)]
        if preferred is not None and preferred in candidates:
            candidates.remove(preferred)
            candidates.insert(0, preferred)
        if candidates:
            self.change_partition(partition, candidates[0], [b for b in isr if b in
                                                              partition.replicas], why)
            return
        # the topic's setting, which falls back to the broker's
        unclean = partition.logs[partition.replicas[0]].config["unclean.leader.election.enable"]
        outside = [b for b in partition.replicas if self.usable(b)]
        if unclean and outside:
            new = outside[0]
            old_leo = max(log.log_end_offset for log in partition.logs.values())
            self.change_partition(partition, new, [new], why, unclean=True)
            self._emit("partition.unclean_election", f"UNCLEAN leader election: broker {new} "
                       f"leads {partition.name} although it was not in sync (its log ends at "
                       f"{partition.logs[new].log_end_offset}, the longest replica had "
                       f"{old_leo}); records it never copied are lost",
                       topic=partition.topic, partition=partition.index, leader=new)
            return
        was_online = partition.leader is not None
        self.change_partition(partition, None, isr or partition.isr, why)
        rule = ("no replica at all is up, so even unclean.leader.election.enable=true cannot "
                "help" if unclean else "unclean.leader.election.enable=false keeps it offline "
                "rather than lose acknowledged records")
        if was_online:
            self._emit("partition.offline", f"{partition.name} is offline: no in-sync replica "
                       f"is available ({why}); {rule}",
                       topic=partition.topic, partition=partition.index, isr=list(partition.isr))
        else:
            self._emit("partition.still_offline", f"{partition.name} stays offline ({why}): "
                       f"its in-sync replicas {partition.isr} are down; {rule}",
                       topic=partition.topic, partition=partition.index, isr=list(partition.isr))

    def change_partition(self, partition: "Partition", leader: int | None, isr: list[int],
                         why: str, unclean: bool = False) -> None:
        """Append a PartitionChange record and apply it (nothing, if nothing changes)."""
        leader_changed = leader != partition.leader
        if not leader_changed and list(isr) == partition.isr and not unclean:
            return
        epoch = partition.leader_epoch + 1 if leader_changed else partition.leader_epoch
        self.append("PartitionChange", topic=partition.topic, partition=partition.index,
                    leader=leader if leader is not None else -1, leader_epoch=epoch,
                    isr=list(isr), unclean=unclean)
        old_leader, old_isr = partition.leader, list(partition.isr)
        partition.leader, partition.isr = leader, list(isr)
        if leader_changed:
            partition.leader_epoch = epoch
            self.cluster.replicas.on_leader_change(partition, old_leader)
            if leader is not None:
                self._emit("partition.leader_changed", f"{partition.name}: leader "
                           f"{old_leader} -> {leader} (leader epoch {epoch}), ISR {isr}: {why}",
                           topic=partition.topic, partition=partition.index, leader=leader,
                           leader_epoch=epoch)
        elif isr != old_isr:
            grew = set(isr) - set(old_isr)
            verb = "expanded" if grew else "shrank"
            self._emit(f"isr.{'expanded' if grew else 'shrunk'}",
                       f"ISR of {partition.name} {verb}: {old_isr} -> {isr}: {why}",
                       topic=partition.topic, partition=partition.index, isr=list(isr))
            if leader is not None:
                self.cluster.metrics_isr_change(grew=bool(grew), broker=leader)
            self.cluster.replicas.maybe_complete(partition)

    def alter_isr(self, partition: "Partition", leader: int, isr: list[int], why: str) -> bool:
        """A leader asks to change its ISR (Kafka's AlterPartition); refused when the leader
        cannot reach the controller or is no longer the leader."""
        if partition.leader != leader or not self.reaches(leader):
            return False
        self.change_partition(partition, leader, isr, why)
        return True
