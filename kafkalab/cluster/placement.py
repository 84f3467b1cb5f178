"""Replica placement without racks, exactly as Kafka's ``assignReplicasToBrokers`` does it.

The first replica of partition ``p`` goes to broker ``(start + p) % n``; followers are shifted
by an offset that grows by one every ``n`` partitions, so leaders spread evenly and followers
do not all pair up the same way. ``start`` and the shift come from the cluster's seeded RNG
(Kafka draws them at random), so placement is deterministic per seed. New partitions of an
existing topic use a fixed start instead — the index of partition 0's first replica, for both
start and shift, as Kafka's ``addPartitions`` — so the leaders' round robin simply continues.
"""
from __future__ import annotations

import random

from ..errors import InvalidPartitionsError, InvalidReplicationFactorError


def _replica_index(first: int, shift: int, j: int, n: int) -> int:
    step = 1 + (shift + j) % (n - 1)
    return (first + step) % n


def assign_replicas(broker_ids: list[int], partitions: int, replication_factor: int,
                    rng: random.Random | None, first_partition: int = 0,
                    fixed_start: int = -1) -> list[list[int]]:
    """Replica lists (preferred leader first) for partitions first_partition.. onward.

    ``fixed_start >= 0`` is Kafka's ``fixedStartIndex``: used as start and shift, no draws."""
    if partitions <= 0:
        raise InvalidPartitionsError(
            f"Number of partitions must be larger than 0, got {partitions}")
    if replication_factor <= 0:
        raise InvalidReplicationFactorError(
            f"Replication factor must be larger than 0, got {replication_factor}")
    n = len(broker_ids)
    if replication_factor > n:
        raise InvalidReplicationFactorError(
            f"Replication factor: {replication_factor} larger than available brokers: {n}. "
            f"Each replica needs its own broker; use at most {n} or add brokers")
    brokers = sorted(broker_ids)
    if fixed_start >= 0:
        start = shift = fixed_start
    else:
        start = rng.randrange(n)
        shift = rng.randrange(n)
    out = []
    for p in range(first_partition, first_partition + partitions):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start) % n
        replicas = [brokers[first]]
        replicas += [brokers[_replica_index(first, shift, j, n)]
                     for j in range(replication_factor - 1)]
        out.append(replicas)
    return out
