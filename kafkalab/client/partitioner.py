"""Kafka's default partitioning: murmur2 for keyed records, sticky for records without a key.

``murmur2`` is Kafka's ``Utils.murmur2`` (seed 0x9747b28c); a key goes to
``(murmur2(key) & 0x7fffffff) % partitions`` — the same partition a Java or kafka-python producer
picks. Records without a key stick to one partition until a record needs a new batch there (the
old one was sent, or is full), then move on (KIP-480), so a burst fills one batch instead of
many small ones.
"""
from __future__ import annotations

import random
from functools import lru_cache

from kafka.partitioner.default import murmur2 as _murmur2


@lru_cache(maxsize=65536)
def murmur2(key: bytes) -> int:
    """Kafka's murmur2 hash of ``key`` (cached: hot keys repeat)."""
    return _murmur2(key)


def partition_for_key(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class StickyPartitioner:
    """Chooses partitions for records without a key (KIP-480).

    Invariant: the sticky choice for a topic changes only in :meth:`on_new_batch` (or when the
    partition count no longer covers it).
    """

    def __init__(self, rng: random.Random):
        self._rng = rng
        self._sticky: dict[str, int] = {}

    def partition(self, topic: str, partitions: int) -> int:
        current = self._sticky.get(topic)
        if current is None or current >= partitions:
            current = self._sticky[topic] = self._rng.randrange(partitions)
        return current

    def on_new_batch(self, topic: str, prev_partition: int, partitions: int) -> None:
        """A record for ``prev_partition`` needs a new batch: stick to another partition
        (kafka-python 3's ``StickyPartitioner.on_new_batch``; a stale call does nothing)."""
        if self._sticky.get(topic) == prev_partition and partitions > 1:
            choices = [p for p in range(partitions) if p != prev_partition]
            self._sticky[topic] = self._rng.choice(choices)
