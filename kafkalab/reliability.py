"""The reliability checker: random broker faults against a producer, then count what was lost.

``run_fault_schedule(seed, ...)`` builds a cluster, writes numbered records while a seeded random
schedule kills, restarts, isolates and slows brokers, then heals everything, lets replication
settle, and reads every partition back. It reports which *acknowledged* records are missing and
whether all replicas ended identical, and which records are stored more than once. The lesson's
claims become checkable, as properties:

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
  kafka-python would not raise; committing *before* processing, a crash skips records;
* **exactly once through a pipeline** (``run_exactly_once_schedule``) — a consume-transform-
  produce pipeline that commits its output and its consumed offsets in one transaction
  (``send_offsets_to_transaction``), while worker instances crash or stall mid-transaction
  (a new instance with the same ``transactional_id`` fences the old one, whose commit then
  fails), the transaction and group coordinators' brokers die mid-commit and transactions time
  out: a read_committed reader of the output sees every input exactly once (a
  read_uncommitted one also sees the aborted attempts); committing offsets after producing,
  without a transaction, the same crashes write some inputs twice.

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


# --- the exactly-once property -------------------------------------------------------------------
INPUT, OUTPUT, PIPELINE_GROUP = "input", "output", "pipeline"
#: what a pipeline's poll(), send(), send_offsets_to_transaction(), commit and abort may raise in
#: kafka-python under these faults (anything else is reported in ``unexpected``)
PIPELINE_ERRORS = ("ProducerFencedError", "KafkaError", "CommitFailedError",
                   "KafkaTimeoutError", "RebalanceInProgressError")


@dataclass
class ExactlyOnceOutcome:
    """What a consume-transform-produce pipeline under crashes wrote; ``violations`` lists every
    broken rule (for ``transactional=False`` they are the expected at-least-once failures)."""

    seed: int
    transactional: bool
    records: int
    workers: int
    output: list[int] = field(default_factory=list)        # read_committed, in read order
    lost: list[int] = field(default_factory=list)          # inputs missing from the output
    duplicates: list[int] = field(default_factory=list)    # inputs written more than once
    uncommitted_duplicates: list[int] = field(default_factory=list)  # seen by read_uncommitted
    uncommitted_output: int = 0                            # records read_uncommitted sees
    zombie_commits: list[str] = field(default_factory=list)  # a fenced instance committed
    unexpected: list[str] = field(default_factory=list)    # errors kafka-python would not raise
    errors: Counter = field(default_factory=Counter)       # what the pipeline handled
    restarts: int = 0                                      # worker instances replaced
    finished: bool = False                                 # all input committed in time
    history: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        out = []
        if self.lost:
            out.append(f"inputs never in the committed output: {self.lost[:20]}")
        if self.duplicates:
            out.append(f"inputs in the committed output more than once: {self.duplicates[:20]}")
        out += self.zombie_commits[:5] + self.unexpected[:5]
        if not self.finished:
            out.append("the pipeline did not finish after the faults healed")
        return out

    def explain(self, last: int = 40) -> str:
        return (f"seed={self.seed} transactional={self.transactional} workers={self.workers}: "
                f"{len(set(self.output))}/{self.records} inputs in the output "
                f"({len(self.output)} records; read_uncommitted sees {self.uncommitted_output}), "
                f"{self.restarts} restarts, handled {dict(self.errors)}; {self.violations}\n"
                + "\n".join(self.history[-last:]))


def run_exactly_once_schedule(seed: int, transactional: bool = True, records: int = 40,
                              workers: int | None = None, steps: int = 30,
                              fault_rate: float = 0.5, finish_within_ms: int = 300_000
                              ) -> ExactlyOnceOutcome:
    """A consume-transform-produce pipeline — 1–2 workers (``workers``, default drawn from the
    seed), each a read_committed consumer in one group plus a producer with the stable
    ``transactional_id`` ``pipeline-{k}`` — turns ``records`` numbered inputs into ``out-{n}``
    records, one transaction per poll (records and consumed offsets committed together), while
    a seeded random schedule crashes or abandons worker instances mid-transaction (a new
    instance's init_transactions fences the old one, whose later commit must fail), kills and
    restarts the transaction coordinator's broker and others (at most one down at a time) and
    lets transactions and sessions time out. Then everything heals, the pipeline must finish
    within ``finish_within_ms``, and a fresh read_committed consumer must see every input
    exactly once. With ``transactional=False`` the same workers use an idempotent producer and
    commit offsets after the records are acknowledged: at least once, so crashes between the
    two duplicate records."""
    from .client.consumer import KafkaConsumer
    from .errors import KafkaError, ProducerFencedError
    from .structs import OffsetAndMetadata

    rng = random.Random(seed)
    workers = workers or rng.randint(1, 2)
    # few partitions in the internal topics: quicker to make, same protocol
    cluster = Cluster(brokers=3, seed=seed, port=29292,
                      config={"offsets.topic.num.partitions": 5,
                              "transaction.state.log.num.partitions": 5})
    for topic in (INPUT, OUTPUT):
        cluster.create_topic(topic, partitions=3, replication_factor=3,
                             config={"min.insync.replicas": 2})
    outcome = ExactlyOnceOutcome(seed, transactional, records, workers)
    feeder = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, linger_ms=0)
    for n in range(records):
        feeder.send(INPUT, key=str(n).encode(), value=str(n).encode())
    feeder.flush()
    feeder.close()
    made = [0]

    def new_consumer(name: str) -> KafkaConsumer:
        return KafkaConsumer(
            INPUT, bootstrap_servers=cluster.bootstrap_servers, group_id=PIPELINE_GROUP,
            client_id=name, auto_offset_reset="earliest", enable_auto_commit=False,
            isolation_level="read_committed", max_poll_records=3, session_timeout_ms=6_000,
            heartbeat_interval_ms=2_000, max_poll_interval_ms=10_000, request_timeout_ms=8_000,
            retry_backoff_ms=100)

    class Worker:
        """One instance of pipeline worker ``k``: a consumer and a producer."""

        def __init__(self, k: int):
            made[0] += 1
            self.k, self.name = k, f"w{k}.{made[0]}"
            self.producer = self.consumer = None
            self.dead = False
            self.open = False  # a transaction begun and not yet ended
            self.committed = 0  # transactions this instance committed
            self.pending: dict = {}  # offsets polled but not yet committed
            self.offsets_sent = False  # this step's offsets joined its transaction

        def start(self) -> bool:
            try:
                if transactional:
                    self.producer = KafkaProducer(
                        bootstrap_servers=cluster.bootstrap_servers, client_id=self.name,
                        transactional_id=f"pipeline-{self.k}", transaction_timeout_ms=20_000,
                        linger_ms=0, request_timeout_ms=5_000, delivery_timeout_ms=30_000,
                        retry_backoff_ms=100, max_block_ms=30_000)
                    self.producer.init_transactions()
                else:
                    self.producer = KafkaProducer(
                        bootstrap_servers=cluster.bootstrap_servers, client_id=self.name,
                        linger_ms=0, request_timeout_ms=5_000, delivery_timeout_ms=30_000,
                        retry_backoff_ms=100)
            except KafkaError as error:
                self.handled("init_transactions()", error)
                return False
            self.consumer = new_consumer(self.name)
            return True

        def handled(self, what: str, error: Exception) -> None:
            name = type(error).__name__
            outcome.errors[name] += 1
            if not isinstance(error, KafkaError) or name not in PIPELINE_ERRORS:
                outcome.unexpected.append(f"{self.name} {what}: {name}: {error}")

        def call(self, what: str, fn):
            """Run ``fn``; a KafkaError is handled (returned), anything else is unexpected."""
            try:
                fn()
            except KafkaError as error:
                self.handled(what, error)
                return error
            except Exception as error:  # an engine error kafka-python would never raise
                self.handled(what, error)
                return error
            return None

        def rewind(self) -> None:
            """After an abort: read again from the committed offsets."""
            for tp in list(self.consumer.assignment()):
                try:
                    committed = self.consumer.committed(tp)
                except KafkaError as error:
                    self.handled("committed()", error)
                    committed = None
                    self.restart_consumer()
                    return
                if committed is None:
                    self.consumer.seek_to_beginning(tp)
                else:
                    self.consumer.seek(tp, committed)

        def restart_consumer(self) -> None:
            self.consumer.close(autocommit=False)
            self.consumer = new_consumer(self.name)

        def poll_and_send(self, timeout_ms: int = 100) -> bool:
            """Poll and send the transformed records (in a transaction): True if some were."""
            got: dict = {}
            self.offsets_sent = False
            error = self.call("poll()", lambda: got.update(self.consumer.poll(timeout_ms)))
            if error is not None or not got:
                return False
            if transactional:
                if self.call("begin_transaction()", self.producer.begin_transaction):
                    self.dead = True
                    return False
                self.open = True
            for tp, rs in got.items():
                for r in rs:
                    n = int(r.value)
                    error = self.call("send()", lambda n=n: self.producer.send(
                        OUTPUT, key=str(n).encode(), value=f"out-{n}".encode()))
                    if error is not None:
                        break
                self.pending[tp] = OffsetAndMetadata(rs[-1].offset + 1, "", -1)
            return True

        def send_offsets(self) -> bool:
            """The consumed offsets join the transaction (at least once: the records are
            flushed). False if the step failed (and was handled)."""
            if not transactional:
                if self.call("flush()", lambda: self.producer.flush(timeout=30)) is None:
                    return True
                self.pending = {}
                self.rewind()
                return False
            error = self.call("send_offsets_to_transaction()", lambda:
                              self.producer.send_offsets_to_transaction(
                                  dict(self.pending), self.consumer.group_metadata()))
            if error is not None:
                self.after_error(error)
            self.offsets_sent = error is None
            return error is None

        def commit(self) -> None:
            """End the step: commit the transaction (at least once: commit the offsets)."""
            offsets, self.pending = self.pending, {}
            if not transactional:
                if self.call("commit()", lambda: self.consumer.commit(offsets)) is not None:
                    self.rewind()  # read again from the committed offsets: at least once
                return
            error = self.call("commit_transaction()", self.producer.commit_transaction)
            if error is None:
                self.open, self.committed = False, self.committed + 1
            else:
                self.after_error(error)

        def after_error(self, error: Exception) -> None:
            """As an application does: fenced (a fatal error) — this instance is done, a new
            one takes over; abortable — abort, and read again from the committed offsets."""
            self.pending = {}
            if isinstance(error, ProducerFencedError) or \
                    self.call("abort_transaction()", self.producer.abort_transaction):
                self.dead = True  # (an abort refused: the producer is in a fatal state)
                return
            self.open = False
            self.rewind()

        def crash(self) -> None:
            if self.producer is not None:
                cluster.faults.crash_producer(self.producer)
            if self.consumer is not None:
                cluster.faults.crash_consumer(self.consumer)
            self.dead = True

    def replace(k: int) -> Worker:
        outcome.restarts += 1
        w = Worker(k)
        while not w.start():
            cluster.advance(ms=1_000)
        return w

    def broker_fault() -> None:
        brokers = sorted(cluster.brokers)
        dead = [b for b in brokers if not cluster.brokers[b].alive]
        roll = rng.random()
        if dead:  # at most one broker down at a time: RF 3, min.insync.replicas 2
            if roll < 0.6:
                cluster.restart_broker(rng.choice(dead))
            else:
                cluster.advance(ms=rng.randint(1_000, 8_000))
        elif roll < 0.5:
            tid = f"pipeline-{rng.randrange(workers)}"
            cluster.kill_broker(cluster.transaction_coordinator_of(tid))
        elif roll < 0.8:
            cluster.kill_broker(rng.choice(brokers))
        else:
            cluster.advance(ms=rng.randint(1_000, 25_000))

    def inject(k: int, w: Worker, point: str) -> bool:
        """One random fault mid-transaction; True if worker ``k``'s step ends here."""
        roll = rng.random()
        if roll < 0.2:      # dies mid-transaction, a new instance takes over
            w.crash()
        elif roll < 0.32:   # stalls mid-transaction; a new instance fences it
            w.dead = True
            zombies.append(w)
        elif roll < 0.4:    # stalls past transaction.timeout.ms: the coordinator aborts
            w.dead = True
            zombies.append(w)
            cluster.advance(ms=rng.randint(20_000, 40_000))
        elif roll < 0.55 and point == "offsets":
            # stalls past max.poll.interval.ms (not transaction.timeout.ms) with its offsets
            # pending: the group gives its partitions to another worker; then it commits
            stalled[k] = cluster.now_ms() + rng.randint(11_000, 18_000)
            return True
        else:
            broker_fault()
            return False
        pool[k] = replace(k)
        return True

    def turn(k: int, faults: bool, timeout_ms: int = 100) -> None:
        """Worker ``k``'s step: poll, transform and send, offsets, commit."""
        w = pool[k]
        if k in stalled:
            if cluster.now_ms() < stalled[k]:
                return
            del stalled[k]
            w.commit()  # wakes up and finishes its transaction
            return
        if w.dead:
            pool[k] = w = replace(k)
        if not w.poll_and_send(timeout_ms):
            return
        point = rng.choice(("sent", "offsets", "commit")) \
            if faults and rng.random() < fault_rate else None
        cluster.advance(ms=rng.randint(0, 30))  # the records reach the brokers
        if point == "sent" and inject(k, w, point):
            return
        if not w.send_offsets():
            return
        if point == "offsets" and inject(k, w, point):
            return
        if point == "commit":
            for broker_id, broker in sorted(cluster.brokers.items()):
                if not broker.alive:
                    cluster.restart_broker(broker_id)
            # the transaction coordinator's (or the group coordinator's) broker dies while
            # the commit is under way: between PrepareCommit, the markers, CompleteCommit
            coordinator = cluster.transaction_coordinator_of(f"pipeline-{k}") \
                if rng.random() < 0.7 else cluster.group_coordinator.coordinator_of(
                    PIPELINE_GROUP)
            cluster.scheduler.call_later(rng.randint(0, 25), lambda: cluster.kill_broker(
                coordinator) if all(b.alive for b in cluster.brokers.values()) else None)
        w.commit()

    pool = [replace(k) for k in range(workers)]
    outcome.restarts = 0
    zombies: list[Worker] = []
    stalled: dict[int, int] = {}  # worker -> when it wakes up
    for _ in range(steps):
        for k in range(workers):
            turn(k, faults=True)
        for z in zombies:   # a zombie wakes up and tries to commit: it must be fenced
            z.dead, before = False, z.committed
            if z.offsets_sent or z.send_offsets():
                z.commit()
            if transactional and z.committed > before:
                outcome.zombie_commits.append(f"the zombie {z.name} committed its transaction")
            z.dead = True
            cluster.faults.crash_consumer(z.consumer)
        zombies.clear()
        if not stalled and _pipeline_done(cluster, records):
            break  # nothing left to crash in the middle of
        cluster.advance(ms=1_000 if stalled else rng.randint(0, 300))

    # heal, then the pipeline must finish: every input committed through
    cluster.heal()
    for broker_id, broker in cluster.brokers.items():
        if not broker.alive:
            cluster.restart_broker(broker_id)
    healed = cluster.now_ms()
    while cluster.now_ms() - healed <= finish_within_ms:
        for k in range(workers):
            turn(k, faults=False, timeout_ms=200)
        if not stalled and _pipeline_done(cluster, records):
            outcome.finished = True
            break
        if stalled:
            cluster.advance(ms=500)
    _read_output(cluster, outcome)
    outcome.history = [str(e) for e in cluster.events]
    for w in pool:
        for client in (w.producer, w.consumer):
            if client is not None:
                client._crash()
    cluster.close()
    registry.unregister(cluster)
    return outcome


def _pipeline_done(cluster: Cluster, records: int) -> bool:
    """Every input partition's committed offset (no transaction pending) is at its end."""
    from .structs import TopicPartition

    committed = cluster.group_coordinator.fetch_offsets(PIPELINE_GROUP)
    total = 0
    for partition in cluster.topic(INPUT).partitions:
        om = committed.get(TopicPartition(INPUT, partition.index))
        end = partition.high_watermark
        if om is None or om.offset < end:
            return False
        total += end
    return total == records


def _read_output(cluster: Cluster, outcome: ExactlyOnceOutcome) -> None:
    from .client.consumer import KafkaConsumer
    from .structs import TopicPartition

    for isolation in ("read_committed", "read_uncommitted"):
        reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                               isolation_level=isolation, auto_offset_reset="earliest",
                               enable_auto_commit=False)
        tps = [TopicPartition(OUTPUT, p.index) for p in cluster.topic(OUTPUT).partitions]
        reader.assign(tps)
        values: list[int] = []
        quiet = 0
        while quiet < 3:
            got = reader.poll(timeout_ms=500)
            quiet = 0 if got else quiet + 1
            values += [int(r.value.decode().removeprefix("out-")) for rs in got.values()
                       for r in rs]
        reader.close()
        twice = sorted(n for n, c in Counter(values).items() if c > 1)
        if isolation == "read_committed":
            outcome.output = values
            outcome.duplicates = twice
            outcome.lost = sorted(set(range(outcome.records)) - set(values))
        else:
            outcome.uncommitted_output = len(values)
            outcome.uncommitted_duplicates = twice
