"""The committed offsets of the groups of one ``__consumer_offsets`` partition (Kafka's
OffsetMetadataManager).

Filled only by :meth:`OffsetStore.replay` of the partition's ``OffsetCommit`` records — a
commit once the partition stored it, every record of the log when a coordinator loads the
partition — so it always equals a replay of the log. It also remembers when each offset was
last committed, which offsets retention of standalone groups needs.

Invariants: a group has an entry only while it has at least one committed offset; a tombstone
(offset None) removes exactly that partition's offset.
"""
from __future__ import annotations

from typing import Iterable

from ..structs import OffsetAndMetadata, TopicPartition
from . import offsets_topic as ot


class OffsetStore:
    """The offsets of one partition's groups, and when each was committed."""

    def __init__(self):
        self.offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = {}
        self._commit_ms: dict[str, dict[TopicPartition, int]] = {}

    def replay(self, record: ot.OffsetCommit) -> None:
        tp = TopicPartition(record.topic, record.partition)
        if record.offset is None:
            offsets = self.offsets.get(record.group, {})
            offsets.pop(tp, None)
            self._commit_ms.get(record.group, {}).pop(tp, None)
            if not offsets:
                self.offsets.pop(record.group, None)
                self._commit_ms.pop(record.group, None)
            return
        self.offsets.setdefault(record.group, {})[tp] = OffsetAndMetadata(
            record.offset, record.metadata, record.leader_epoch)
        self._commit_ms.setdefault(record.group, {})[tp] = record.commit_timestamp

    def fetch(self, group_id: str, partitions: Iterable[TopicPartition] | None = None
              ) -> dict[TopicPartition, OffsetAndMetadata]:
        """The group's committed offsets (of ``partitions`` only, if given)."""
        committed = self.offsets.get(group_id, {})
        if partitions is None:
            return dict(committed)
        return {tp: committed[tp] for tp in partitions if tp in committed}

    def committed_at(self, group_id: str, tp: TopicPartition) -> int | None:
        """When ``tp``'s offset of the group was last committed."""
        return self._commit_ms.get(group_id, {}).get(tp)

    def tombstones(self, group_id: str, partitions: Iterable[TopicPartition]
                   ) -> tuple[ot.OffsetCommit, ...]:
        """Records deleting those of ``partitions`` the group has an offset for."""
        committed = self.offsets.get(group_id, {})
        return tuple(ot.OffsetCommit(group_id, tp.topic, tp.partition, None)
                     for tp in partitions if tp in committed)
