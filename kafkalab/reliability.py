"""The reliability checker: random broker faults against a producer, then count what was lost.

``run_fault_schedule(seed, ...)`` builds a cluster, writes numbered records while a seeded random
schedule kills, restarts, isolates and slows brokers, then heals everything, lets replication
settle, and reads every partition back. It reports which *acknowledged* records are missing and
whether all replicas ended identical, and which records are stored more than once. The lesson's
claims become checkable, as two properties:

* **no acknowledged record lost** — with ``acks='all'``, ``replication.factor=3``,
  ``min.insync.replicas=2`` and no unclean election; with ``acks=1`` or unclean election some
  schedules lose some;
* **exactly one copy** — with ``enable_idempotence`` (the default) no record is stored twice,
  however often its batch was retried; without it, a retry after a lost answer stores a second
  copy;
* **at least once in a consumer group** (``run_group_fault_schedule``) — a group of 2–4
  members, with any assignor, committing after processing, while brokers are killed, isolated
  and restarted and members crash or stall: every acknowledged record is processed at least
  once, committed offsets never go backwards, no partition has two owners in one generation,
  the group converges within a bounded time after the faults heal, and no call raises anything
  kafka-python would not raise; committing *before* processing, a crash skips records.

Every run is deterministic in its seed; ``Outcome.history`` holds the cluster's explained events
so a failing seed can be replayed and read.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from .client.producer import KafkaProducer
from .cluster import Cluster, registry

TOPIC = "numbers"


@dataclass
class Outcome:
    seed: int
    acks: str | int
    unclean: bool
    sent: int
    acknowledged: set[int] = field(default_factory=set)
    lost: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # records stored more than once
    replicas_identical: bool = True
    history: list[str] = field(default_factory=list)

    def explain(self, last: int = 40) -> str:
        return (f"seed={self.seed} acks={self.acks} unclean={self.unclean}: "
                f"{len(self.acknowledged)}/{self.sent} acknowledged, lost {self.lost[:20]}, "
                f"stored twice {self.duplicates[:20]}, replicas identical: {self.replicas_identical}\n"
                + "\n".join(self.history[-last:]))


def _fault(cluster: Cluster, rng: random.Random) -> None:
    """One random fault (or repair) from the lesson's list."""
    brokers = sorted(cluster.brokers)
    alive = [b for b in brokers if cluster.brokers[b].alive]
    dead = [b for b in brokers if not cluster.brokers[b].alive]
    roll = rng.random()
    if roll < 0.30 and len(alive) > 1:
        cluster.kill_broker(rng.choice(alive))
    elif roll < 0.50 and dead:
        cluster.restart_broker(rng.choice(dead))
    elif roll < 0.65 and alive:
        cluster.isolate_broker(rng.choice(alive), from_brokers=True,
                               from_clients=rng.random() < 0.5)
    elif roll < 0.78:
        cluster.heal()
    elif roll < 0.90 and alive:
        cluster.slow_follower(rng.choice(alive), rng.choice([50, 5_000, 40_000]))
    else:
        cluster.advance(ms=rng.randint(1_000, 40_000))


def run_fault_schedule(seed: int, acks: str | int = "all", replication_factor: int = 3,
                       min_insync_replicas: int = 2, unclean: bool = False, records: int = 60,
                       fault_every: int = 6, partitions: int = 1,
                       enable_idempotence: bool = True) -> Outcome:
    rng = random.Random(seed)
    cluster = Cluster(brokers=3, seed=seed, port=29092)
    cluster.create_topic(TOPIC, partitions=partitions, replication_factor=replication_factor,
                         config={"min.insync.replicas": min_insync_replicas,
                                 "unclean.leader.election.enable": unclean})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=acks,
                             linger_ms=0, request_timeout_ms=5_000,
                             delivery_timeout_ms=30_000, retry_backoff_ms=200,
                             # idempotence needs acks='all' (acks=1 turns it off)
                             enable_idempotence=enable_idempotence and acks in ("all", -1))
    outcome = Outcome(seed, acks, unclean, records)
    for i in range(records):
        future = producer.send(TOPIC, value=str(i).encode())
        future.add_callback(lambda _, i=i: outcome.acknowledged.add(i))
        if i % fault_every == fault_every - 1:
            _fault(cluster, rng)
        cluster.advance(ms=rng.randint(0, 3))
    _settle(cluster, producer)
    _read_back(cluster, outcome)
    outcome.history = [str(e) for e in cluster.events]
    cluster.close()
    registry.unregister(cluster)  # a notebook's own cluster stays reachable
    return outcome


def _settle(cluster: Cluster, producer: KafkaProducer) -> None:
    """Heal everything and give the cluster time to elect, truncate and catch up."""
    cluster.heal()
    for broker_id, broker in cluster.brokers.items():
        if not broker.alive:
            cluster.restart_broker(broker_id)
    cluster.advance(seconds=40)      # sessions, elections, in-flight retries
    producer.flush(timeout=120)
    cluster.advance(seconds=40)      # the last fetches and ISR expansions


def _read_back(cluster: Cluster, outcome: Outcome) -> None:
    stored: list[int] = []
    for partition in cluster.topic(TOPIC).partitions:
        if partition.leader is None:
            outcome.replicas_identical = False
            continue
        hw = partition.high_watermark
        contents = {}
        for broker_id, log in partition.logs.items():
            contents[broker_id] = [(b.base_offset + r.offset_delta, r.value)
                                   for b in log.batches() for r in b.records
                                   if b.base_offset + r.offset_delta < hw]
            if broker_id == partition.leader:
                stored.extend(int(value) for _, value in contents[broker_id])
        if len({tuple(c) for c in contents.values()}) != 1:
            outcome.replicas_identical = False
    outcome.lost = sorted(outcome.acknowledged - set(stored))
    outcome.duplicates = sorted(n for n, copies in Counter(stored).items() if copies > 1)


# --- the consumer-group property ------------------------------------------------------------------
GROUP = "processors"
ASSIGNORS = ("range", "roundrobin", "sticky", "cooperative-sticky")
#: what a group consumer's poll() and commit() may raise in kafka-python under these faults
ALLOWED_ERRORS = ("CommitFailedError", "KafkaTimeoutError", "RebalanceInProgressError")


@dataclass
class GroupOutcome:
    """What a consumer group under faults did; ``violations`` lists every broken rule."""

    seed: int
    assignor: str
    members: int
    commit_before_processing: bool
    acknowledged: set[int] = field(default_factory=set)
    processed: set[int] = field(default_factory=set)
    unprocessed: list[int] = field(default_factory=list)  # acknowledged, never processed
    backwards: list[str] = field(default_factory=list)    # committed offsets that went back
    two_owners: list[str] = field(default_factory=list)   # a partition twice in a generation
    unexpected: list[str] = field(default_factory=list)   # errors kafka-python would not raise
    converged_after_ms: int | None = None                 # after the faults healed
    history: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        out = []
        if self.unprocessed:
            out.append(f"acknowledged but never processed: {self.unprocessed[:20]}")
        out += self.backwards[:5] + self.two_owners[:5] + self.unexpected[:5]
        if self.converged_after_ms is None:
            out.append("the group did not converge after the faults healed")
        return out

    def explain(self, last: int = 40) -> str:
        return (f"seed={self.seed} assignor={self.assignor} members={self.members} "
                f"commit_before_processing={self.commit_before_processing}: "
                f"{len(self.processed & self.acknowledged)}/{len(self.acknowledged)} acknowledged "
                f"processed; {self.violations}\n" + "\n".join(self.history[-last:]))


def _assignor_class(name: str):
    from .coordinator.assignors import (
        CooperativeStickyAssignor,
        RangePartitionAssignor,
        RoundRobinPartitionAssignor,
        StickyPartitionAssignor,
    )

    return {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
            "sticky": StickyPartitionAssignor,
            "cooperative-sticky": CooperativeStickyAssignor}[name]


def run_group_fault_schedule(seed: int, assignor: str = "range", members: int | None = None,
                             commit_before_processing: bool = False, steps: int = 40,
                             fault_every: int = 5, partitions: int = 4,
                             converge_within_ms: int = 120_000) -> GroupOutcome:
    """A group of 2–4 members (``members``, default drawn from the seed) reads a topic a
    producer keeps writing to, processing each record and then committing (or, with
    ``commit_before_processing``, committing first), while a seeded random schedule kills,
    isolates and restarts brokers, crashes members (between poll and processing) and stalls
    them (no poll for longer than ``max_poll_interval_ms``). Then everything heals, the group
    must converge within ``converge_within_ms`` of simulated time and read to the end."""
    from .client.consumer import KafkaConsumer
    from .errors import KafkaError
    from .structs import MemberState

    rng = random.Random(seed)
    members = members or rng.randint(2, 4)
    cluster = Cluster(brokers=3, seed=seed, port=29192, config={"min.insync.replicas": 2})
    cluster.create_topic(TOPIC, partitions=partitions, replication_factor=3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                             linger_ms=0, request_timeout_ms=5_000,
                             delivery_timeout_ms=30_000, retry_backoff_ms=200)
    outcome = GroupOutcome(seed, assignor, members, commit_before_processing)
    strategy = _assignor_class(assignor)
    made = [0]

    def new_member() -> KafkaConsumer:
        made[0] += 1
        return KafkaConsumer(TOPIC, bootstrap_servers=cluster.bootstrap_servers,
                             group_id=GROUP, client_id=f"m{made[0]}",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             partition_assignment_strategy=[strategy], max_poll_records=5,
                             session_timeout_ms=6_000, heartbeat_interval_ms=2_000,
                             max_poll_interval_ms=20_000, request_timeout_ms=8_000,
                             retry_backoff_ms=100)

    group = [new_member() for _ in range(members)]
    stalled_until = {c: 0 for c in group}
    owners: dict[tuple[int, int], str] = {}    # (generation, partition) -> member id
    high: dict[int, int] = {}                   # highest committed offset seen, per partition

    def call(what: str, fn):
        try:
            return fn()
        except KafkaError as error:
            if type(error).__name__ not in ALLOWED_ERRORS:
                outcome.unexpected.append(f"{what}: {type(error).__name__}: {error}")
        except Exception as error:  # an engine error kafka-python would never raise
            outcome.unexpected.append(f"{what}: {type(error).__name__}: {error}")
        return None

    def observe() -> None:
        for c in group:
            meta = c.group_metadata()
            g = c._group
            if c._closed or g.state != MemberState.STABLE or g._joining or g.need_rejoin:
                continue
            for tp in c.assignment():
                key = (meta.generation_id, tp.partition)
                if owners.setdefault(key, meta.member_id) != meta.member_id:
                    outcome.two_owners.append(f"generation {key[0]}: partition {key[1]} owned "
                                              f"by {owners[key]} and {meta.member_id}")
        for tp, om in cluster.group_coordinator.fetch_offsets(GROUP).items():
            if om.offset < high.get(tp.partition, -1):
                outcome.backwards.append(f"committed offset of partition {tp.partition} went "
                                         f"back {high[tp.partition]} -> {om.offset}")
            high[tp.partition] = max(high.get(tp.partition, -1), om.offset)

    def step(c: KafkaConsumer, crash: bool = False, timeout_ms: int = 50) -> None:
        got = call("poll()", lambda: c.poll(timeout_ms=timeout_ms)) or {}
        values = [int(r.value) for rs in got.values() for r in rs]
        if commit_before_processing and values:
            call("commit()", c.commit)
        if crash:  # dies after poll, before processing
            cluster.faults.crash_consumer(c)
            return
        outcome.processed.update(values)
        if not commit_before_processing and values:
            call("commit()", c.commit)

    sent = 0
    for i in range(steps):
        for _ in range(2):
            future = producer.send(TOPIC, value=str(sent).encode())
            future.add_callback(lambda _, n=sent: outcome.acknowledged.add(n))
            sent += 1
        crash_now = None
        if i % fault_every == fault_every - 1:
            roll = rng.random()
            if roll < 0.2:
                crash_now = rng.choice([c for c in group if not c._closed])
            elif roll < 0.35:
                stalled = rng.choice(group)
                stalled_until[stalled] = cluster.now_ms() + rng.choice([5_000, 25_000])
            else:
                _fault(cluster, rng)
        for c in list(group):
            if c._closed or cluster.now_ms() < stalled_until[c]:
                continue
            step(c, crash=c is crash_now)
            if c._closed:  # crashed: a replacement starts
                group[group.index(c)] = replacement = new_member()
                stalled_until[replacement] = 0
        observe()
        cluster.advance(ms=rng.randint(0, 500))

    # heal, then the group must converge and read everything
    cluster.heal()
    for broker_id, broker in cluster.brokers.items():
        if not broker.alive:
            cluster.restart_broker(broker_id)
    healed = cluster.now_ms()
    call("flush()", lambda: producer.flush(timeout=60))
    while cluster.now_ms() - healed <= converge_within_ms:
        for c in group:
            step(c, timeout_ms=250)
        observe()
        if _converged(cluster, group) and outcome.acknowledged <= outcome.processed:
            outcome.converged_after_ms = cluster.now_ms() - healed
            break
    outcome.unprocessed = sorted(outcome.acknowledged - outcome.processed)
    outcome.history = [str(e) for e in cluster.events]
    for c in group:
        c._crash()
    producer.close(timeout=0)
    cluster.close()
    registry.unregister(cluster)
    return outcome


def _converged(cluster: Cluster, group) -> bool:
    """Stable, every live member in the current generation, every partition owned once."""
    g = cluster.group_coordinator.groups.get(GROUP)
    if g is None or g.state.value != "Stable":
        return False
    owned = []
    for c in group:
        meta = c.group_metadata()
        if (meta.member_id not in g.members or meta.generation_id != g.generation
                or c._group.need_rejoin or c._group._joining):
            return False
        owned += sorted(c.assignment())
    return len(owned) == len(set(owned)) == len(cluster.topic(TOPIC).partitions)
