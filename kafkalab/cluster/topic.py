"""Topic: a named, configured list of partitions.

Invariants: partitions are numbered 0..n-1 without gaps; the count only grows; every partition
shares the topic's one :class:`TopicConfig`.
"""
from __future__ import annotations

from ..config import TopicConfig
from .partition import Partition
from .snapshots import TopicSnapshot, render_html


class Topic:
    def __init__(self, name: str, config: TopicConfig, internal: bool = False):
        self.name = name
        self.config = config
        self.internal = internal
        self.partitions: list[Partition] = []

    @property
    def replication_factor(self) -> int:
        return len(self.partitions[0].replicas) if self.partitions else 0

    def partition(self, index: int) -> Partition:
        return self.partitions[index]

    def __len__(self) -> int:
        return len(self.partitions)

    def snapshot(self) -> TopicSnapshot:
        return TopicSnapshot(self.name, self.internal, self.replication_factor,
                             tuple(p.snapshot() for p in self.partitions))

    def _repr_html_(self) -> str:
        return render_html(self.snapshot())

    def __repr__(self) -> str:
        return (f"Topic({self.name!r}, partitions={len(self.partitions)}, "
                f"replication_factor={self.replication_factor})")
