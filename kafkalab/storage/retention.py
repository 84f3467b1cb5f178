"""Retention by time and by size (``cleanup.policy=delete``), as Kafka's log manager runs it.

Pure decisions over a log's segment snapshots; :meth:`PartitionLog.delete_oldest_segments`
carries them out. Time: a segment goes when its largest timestamp is older than
``retention.ms``. Size: the oldest segments go while the partition would still be at least
``retention.bytes`` without them. Whole segments only — which is why a topic keeps data past
``retention.ms`` until its segment rolls. Whatever the policy, segments wholly below the log
start offset (moved by DeleteRecords) go first (Kafka's ``deleteLogStartOffsetBreachedSegments``).
"""
from __future__ import annotations

from ..timefmt import duration_text
from .log import PartitionLog


def segments_below_log_start(log: PartitionLog) -> int:
    """Closed segments whose next segment starts at or below the log start offset."""
    segments = log.segments()
    count = 0
    while count + 1 < len(segments) and segments[count + 1].base_offset <= log.log_start_offset:
        count += 1
    return count


def segments_past_retention_ms(log: PartitionLog, now_ms: int) -> int:
    retention_ms = log.config["retention.ms"]
    if retention_ms < 0:
        return 0
    count = 0
    for segment in log.segments():
        if segment.empty or now_ms - segment.largest_timestamp <= retention_ms:
            break
        count += 1
    return count


def segments_past_retention_bytes(log: PartitionLog) -> int:
    retention_bytes = log.config["retention.bytes"]
    if retention_bytes < 0:
        return 0
    excess = log.size_bytes - retention_bytes
    count = 0
    for segment in log.segments():
        if excess - segment.size_bytes < 0:
            break
        excess -= segment.size_bytes
        count += 1
    return count


def enforce_retention(log: PartitionLog, now_ms: int) -> int:
    """Delete what retention allows; returns the number of records removed."""
    removed = 0
    below_start = segments_below_log_start(log)
    if below_start:
        removed += log.delete_oldest_segments(
            below_start, f"they hold only offsets below the log start offset "
                         f"{log.log_start_offset} (records deleted by DeleteRecords)")
    if "delete" not in log.config["cleanup.policy"]:
        return removed
    by_time = segments_past_retention_ms(log, now_ms)
    if by_time:
        return removed + log.delete_oldest_segments(
            by_time, f"their newest record is older than retention.ms="
                     f"{log.config['retention.ms']} ({duration_text(log.config['retention.ms'])})")
    by_size = segments_past_retention_bytes(log)
    if by_size:
        removed += log.delete_oldest_segments(
            by_size, f"the partition holds {log.size_bytes} bytes > "
                     f"retention.bytes={log.config['retention.bytes']}")
    return removed
