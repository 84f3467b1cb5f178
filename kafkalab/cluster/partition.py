"""Partition: a replica set with a leader — the shape every partition has, even at RF=1.

Each replica is a :class:`PartitionLog` on one broker, created and owned by that broker's
:class:`~..storage.LogManager`; ``logs`` maps broker ids to them for reading. The leader takes
appends; followers copy its batches (see :mod:`.replication`). The leader's high watermark is
the smallest log end offset over the in-sync replicas (ISR): a record is *committed* — visible
to consumers and acknowledged to ``acks='all'`` producers — once every in-sync replica has it.
Its low watermark is the smallest log start offset over the replicas on live brokers: records
below it are deleted everywhere (DeleteRecords waits for it).

Invariants: ``leader`` is in ``isr`` (or None when offline); ``isr`` is a subset of
``replicas``; the leader's high watermark never decreases while it leads and never passes a
log end offset the leader has not seen an ISR member reach. Leader and ISR change only
through the controller (:mod:`.controller`).
"""
from __future__ import annotations

from typing import Callable, Mapping

from ..config import TopicConfig
from ..storage import LogManager, PartitionLog
from ..structs import TopicPartition
from .snapshots import PartitionSnapshot, render_html


class Partition:
    """``log_managers``: the log manager of each replica's broker (by broker id)."""

    def __init__(self, topic: str, index: int, replicas: list[int], config: TopicConfig,
                 now_ms: Callable[[], int], log_managers: Mapping[int, LogManager]):
        self.topic = topic
        self.index = index
        self.replicas = list(replicas)
        self.leader: int | None = replicas[0]
        self.leader_epoch = 0
        self.isr = list(replicas)
        self._log_managers = {b: log_managers[b] for b in replicas}
        # the preferred replica reports rolls and retention; the others repeat them quietly
        self.logs: dict[int, PartitionLog] = {
            b: manager.get_or_create_log(topic, index, config, quiet=b != replicas[0])
            for b, manager in self._log_managers.items()}
        # what the leader knows of its followers (learned from their fetches)
        now = now_ms()
        self.follower_leo: dict[int, int] = {b: 0 for b in replicas}
        self.follower_log_start: dict[int, int] = {b: 0 for b in replicas}
        self.last_caught_up_ms: dict[int, int] = {b: now for b in replicas}
        # the leader epoch each replica last reconciled its log with (KIP-101 truncation)
        self.synced_epoch: dict[int, int] = {b: 0 for b in replicas}

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.index)

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.index}"

    @property
    def preferred_leader(self) -> int:
        return self.replicas[0]

    @property
    def leader_log(self) -> PartitionLog:
        if self.leader is None:
            raise RuntimeError(f"{self.name} has no leader")
        return self.logs[self.leader]

    @property
    def view_log(self) -> PartitionLog:
        """The log views show: the leader's, or the preferred replica's while offline."""
        return self.logs[self.leader if self.leader is not None else self.replicas[0]]

    # Kafka's names for the leader's positions, so views and tests read naturally.
    @property
    def log_start_offset(self) -> int:
        return self.leader_log.log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.leader_log.log_end_offset

    @property
    def high_watermark(self) -> int:
        return self.leader_log.high_watermark

    @property
    def offline(self) -> bool:
        return self.leader is None

    def low_watermark(self, alive: Callable[[int], bool]) -> int:
        """Kafka's ``lowWatermarkIfLeader``: the smallest log start offset over the leader and
        the followers on live brokers (``alive(broker_id)``), as the leader knows them from
        their fetches."""
        low = self.leader_log.log_start_offset
        for b in self.replicas:
            if b != self.leader and alive(b):
                low = min(low, self.follower_log_start.get(b, -1))
        return low

    def delete_logs(self) -> None:
        """The topic was deleted: each replica's broker deletes its log."""
        for manager in self._log_managers.values():
            manager.delete_log(self.topic, self.index)

    def known_leo(self, broker: int) -> int:
        """A replica's log end offset as the leader knows it (-1: not heard from yet)."""
        if broker == self.leader:
            return self.leader_log.log_end_offset
        return self.follower_leo.get(broker, -1)

    def maybe_advance_high_watermark(self) -> bool:
        """Move the leader's HW to the smallest known LEO over the ISR; True if it moved."""
        if self.leader is None:
            return False
        log = self.leader_log
        new_hw = min(self.known_leo(b) for b in self.isr)
        if new_hw > log.high_watermark:
            log.high_watermark = new_hw
            return True
        return False

    def snapshot(self) -> PartitionSnapshot:
        """The partition as views show it, now (positions and records of :attr:`view_log`;
        transaction markers are not records a consumer sees, so they are left out)."""
        log = self.view_log
        return PartitionSnapshot(
            self.topic, self.index, self.leader, self.leader_epoch, tuple(self.replicas),
            tuple(self.isr), log.log_start_offset, log.high_watermark, log.log_end_offset,
            tuple((batch.base_offset + r[0], r[2]) for batch in log.batches()
                  if not batch.is_control for r in batch.record_tuples
                  if batch.base_offset + r[0] >= log.log_start_offset))

    def _repr_html_(self) -> str:
        return render_html(self.snapshot())

    def __repr__(self) -> str:
        return (f"Partition({self.name}, leader={self.leader}, epoch={self.leader_epoch}, "
                f"replicas={self.replicas}, isr={self.isr}, hw={self.high_watermark}, "
                f"leo={self.log_end_offset})")

