"""Retention by time and by size (``cleanup.policy=delete``), as Kafka's
``UnifiedLog.deleteOldSegments``.

Pure decisions over a log's segment snapshots; :meth:`PartitionLog.delete_oldest_segments`
carries them out (whole segments only, never anything at or above the high watermark, never an
empty active segment). Each check runs Kafka's three passes in Kafka's order, each over what
the pass before left:

1. whatever the policy, segments wholly below the log start offset (moved by DeleteRecords)
   go (``deleteLogStartOffsetBreachedSegments``);
2. size, only with ``delete`` in ``cleanup.policy``: the oldest segments go while the partition
   would still hold at least ``retention.bytes`` without them (``-1``: no limit);
3. time, only with ``delete``: the oldest segments go while their largest timestamp is more than
   ``retention.ms`` before now (``-1``: no limit) — which is why a record outlives
   ``retention.ms`` until its segment rolls and its segment's newest record is old enough.

A compact-only topic keeps everything (the log cleaner owns it); ``compact,delete`` gets both.
"""
from __future__ import annotations

from ..timefmt import duration_text
from .log import PartitionLog
from .protocol import SegmentInfo


def segments_below_log_start(log: PartitionLog) -> int:
    """Leading segments whose next segment starts at or below the log start offset."""
    segments = log.segments()
    count = 0
    while count + 1 < len(segments) and segments[count + 1].base_offset <= log.log_start_offset:
        count += 1
    return count


def largest_timestamp(segment: SegmentInfo) -> int:
    """Kafka's ``LogSegment.largestTimestamp``: its newest record's timestamp, or — empty —
    when it was last written (Kafka: the file's last-modified time; here when it was made)."""
    return segment.largest_timestamp if segment.largest_timestamp >= 0 else segment.created_ms


def segments_past_retention_ms(log: PartitionLog, now_ms: int) -> int:
    """Leading segments whose largest timestamp is more than ``retention.ms`` before now."""
    retention_ms = log.config["retention.ms"]
    if retention_ms < 0:
        return 0
    count = 0
    for segment in log.segments():
        if now_ms - largest_timestamp(segment) <= retention_ms:
            break
        count += 1
    return count


def segments_past_retention_bytes(log: PartitionLog) -> int:
    """Leading segments the partition can lose and still hold ``retention.bytes``."""
    retention_bytes = log.config["retention.bytes"]
    if retention_bytes < 0 or log.size_bytes < retention_bytes:
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
    """One retention check of ``log`` (Kafka's ``deleteOldSegments``); returns the number of
    records removed."""
    removed = 0
    below_start = segments_below_log_start(log)
    if below_start:
        removed += log.delete_oldest_segments(
            below_start, f"they hold only offsets below the log start offset "
                         f"{log.log_start_offset} (records deleted by DeleteRecords)")
    if "delete" not in log.config["cleanup.policy"]:
        return removed
    by_size = segments_past_retention_bytes(log)
    if by_size:
        removed += log.delete_oldest_segments(
            by_size, f"the partition holds {log.size_bytes} bytes > "
                     f"retention.bytes={log.config['retention.bytes']}")
    by_time = segments_past_retention_ms(log, now_ms)
    if by_time:
        removed += log.delete_oldest_segments(
            by_time, f"their newest record is older than retention.ms="
                     f"{log.config['retention.ms']} ({duration_text(log.config['retention.ms'])})")
    return removed
