"""Helpers shared by the engine tests (imported as a plain module: tests/engine is on sys.path)."""
from __future__ import annotations

from kafkalab import Cluster


def stored_records(cluster: Cluster, topic: str
                   ) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(partition, offset, key, value) of every record stored in the leaders' logs."""
    out = []
    for p in cluster.topic(topic).partitions:
        for batch in p.leader_log.batches():
            for r in batch.records:
                out.append((p.index, batch.base_offset + r.offset_delta, r.key, r.value))
    return out


def snapshot(cluster: Cluster) -> dict:
    """Everything a refused request must leave untouched: topics, partitions, positions,
    records, configs."""
    return {
        name: {
            "partitions": [(p.index, tuple(p.replicas), p.leader, p.log_start_offset,
                            p.high_watermark, p.log_end_offset) for p in t.partitions],
            "records": stored_records(cluster, name),
            "overrides": dict(t.config.overrides),
        }
        for name, t in cluster.topics.items()
    }
