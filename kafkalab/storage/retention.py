"""Retention by time and by size (``cleanup.policy=delete``), as Kafka's log manager runs it.

Pure decisions over a log's segments; :meth:`PartitionLog.delete_oldest_segments` carries them
out. Time: a segment goes when its largest timestamp is older than ``retention.ms``. Size: the
oldest segments go while the partition would still be at least ``retention.bytes`` without them.
Whole segments only — which is why a topic keeps data past ``retention.ms`` until its segment
rolls.
"""
from __future__ import annotations

from ..timefmt import duration_text
from .log import PartitionLog


def segments_past_retention_ms(log: PartitionLog, now_ms: int) -> int:
    retention_ms = log.config["retention.ms"]
    if retention_ms < 0:
        return 0
    count = 0
    for segment in log.segments:
        if not segment.batches or now_ms - segment.largest_timestamp <= retention_ms:
            break
        count += 1
    return count


def segments_past_retention_bytes(log: PartitionLog) -> int:
    retention_bytes = log.config["retention.bytes"]
    if retention_bytes < 0:
        return 0
    excess = log.size_bytes - retention_bytes
    count = 0
    for segment in log.segments:
        if excess - segment.size_bytes < 0:
            break
        excess -= segment.size_bytes
        count += 1
    return count


def enforce_retention(log: PartitionLog, now_ms: int) -> int:
    """Delete what retention allows; returns the number of records removed."""
    if "delete" not in log.config["cleanup.policy"]:
        return 0
    by_time = segments_past_retention_ms(log, now_ms)
    if by_time:
        return log.delete_oldest_segments(
            by_time, f"their newest record is older than retention.ms="
                     f"{log.config['retention.ms']} ({duration_text(log.config['retention.ms'])})")
    by_size = segments_past_retention_bytes(log)
    if by_size:
        return log.delete_oldest_segments(
            by_size, f"the partition holds {log.size_bytes} bytes > "
                     f"retention.bytes={log.config['retention.bytes']}")
    return 0
