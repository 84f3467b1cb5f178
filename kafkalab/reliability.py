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
  copy.

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
