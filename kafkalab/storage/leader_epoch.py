"""The leader-epoch cache of one replica (Kafka's LeaderEpochFileCache, KIP-101/KIP-279).

Each entry says "from ``start_offset`` on, records were written by the leader of ``epoch``".
A replica that comes back after a leader change asks the new leader where *its* last epoch
ended; the answer is where the two logs stop agreeing, so the replica truncates exactly there —
not at its high watermark, which can cut too much or too little.

Invariants: epochs and start offsets both strictly increase along the list.
"""
from __future__ import annotations


class LeaderEpochCache:
    def __init__(self):
        self.entries: list[tuple[int, int]] = []  # (epoch, start_offset)

    @property
    def latest_epoch(self) -> int:
        return self.entries[-1][0] if self.entries else -1

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (no-op if already known)."""
        if epoch < 0 or (self.entries and epoch <= self.latest_epoch):
            return
        while self.entries and self.entries[-1][1] >= start_offset:
            self.entries.pop()  # an epoch that wrote nothing
        self.entries.append((epoch, start_offset))

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        """Kafka's OffsetsForLeaderEpoch answer: the largest epoch <= ``epoch`` this replica
        knows, and the offset where it ended (the next epoch's start, or the log end).

        As Kafka's ``LeaderEpochFileCache.endOffsetFor``: asked for an epoch older than every
        epoch it knows, a replica answers with that same epoch ending where its oldest known
        epoch starts (nothing of that epoch is here); (-1, -1) when it knows no epoch at all.
        """
        if not self.entries:
            return -1, -1
        found = -1
        for i, (e, start) in enumerate(self.entries):
            if e > epoch:
                return (found, start) if found >= 0 else (epoch, start)
            found = e
        return found, log_end_offset

    def truncate_from_end(self, offset: int) -> None:
        """Forget epochs that start at or after ``offset`` (the log was cut there)."""
        while self.entries and self.entries[-1][1] >= offset:
            self.entries.pop()

    def truncate_from_start(self, offset: int) -> None:
        """The log now starts at ``offset`` (retention, DeleteRecords): the epoch in force
        there starts there, and the epochs that ended before it are forgotten (Kafka's
        ``truncateFromStart``)."""
        before = [i for i, (_, start) in enumerate(self.entries) if start <= offset]
        if before:
            last = before[-1]
            self.entries[:last + 1] = [(self.entries[last][0], offset)]

    def truncate_after_epoch(self, epoch: int) -> None:
        while self.entries and self.entries[-1][0] > epoch:
            self.entries.pop()
