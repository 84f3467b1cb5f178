"""DataFrames a learner would want: a topic's partitions, a partition's records, a group's lag,
a replica's segments.

Tables are data, not views: the engine builds them from its rows (pandas is a plain dependency),
and ``Cluster.describe_topic`` / ``records`` / ``describe_consumer_group`` /
``describe_segments`` return them.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from ..coordinator import transaction_log as tl
from ..record.control import marker_of
from ..storage import CleanerState, PartitionLog, SegmentInfo
from ..timefmt import age_text
from .partition import Partition
from .topic import Topic

DESCRIBE_COLUMNS = ["topic", "partition", "leader", "leader_epoch", "replicas", "isr",
                    "offline_replicas", "log_start_offset", "high_watermark", "log_end_offset",
                    "replica_log_end_offsets", "replica_high_watermarks", "records",
                    "size_bytes", "segments"]
RECORD_COLUMNS = ["partition", "offset", "timestamp", "key", "value", "headers",
                  "batch_base_offset", "transaction"]


def describe_topic_frame(topic: Topic, broker_alive=lambda broker_id: True) -> pd.DataFrame:
    """One row per partition, like ``kafka-topics --describe`` plus the log's positions."""
    rows = []
    for p in topic.partitions:
        log = p.view_log
        rows.append({"topic": topic.name, "partition": p.index, "leader": p.leader,
                     "leader_epoch": p.leader_epoch, "replicas": list(p.replicas),
                     "isr": list(p.isr),
                     "offline_replicas": [b for b in p.replicas if not broker_alive(b)],
                     "log_start_offset": log.log_start_offset,
                     "high_watermark": log.high_watermark, "log_end_offset": log.log_end_offset,
                     "replica_log_end_offsets": {b: l.log_end_offset for b, l in p.logs.items()},
                     "replica_high_watermarks": {b: l.high_watermark for b, l in p.logs.items()},
                     "records": log.record_count, "size_bytes": log.size_bytes,
                     "segments": len(log.segments())})
    return pd.DataFrame(rows, columns=DESCRIBE_COLUMNS)


def decoded_text(data: bytes | None):
    """A key or value as text where it is UTF-8, else the bytes (None stays None)."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def records_frame(partitions: list[Partition]) -> pd.DataFrame:
    """Every kept record of the partitions (leader's log: from its log start offset), keys and
    values decoded as text where they are UTF-8. ``transaction`` says what a record of a
    transactional producer is: ``committed``, ``aborted``, ``open`` (not decided yet), or
    the ``COMMIT marker`` / ``ABORT marker`` closing its transaction (a control record: no
    consumer ever gets it); empty for other records."""
    rows = []
    for p in partitions:
        log = p.view_log
        start = log.log_start_offset
        for batch in log.batches():
            status = transaction_status(log, batch)
            for r in batch.records:
                if batch.base_offset + r.offset_delta < start:
                    continue  # in a batch that straddles the log start offset (DeleteRecords)
                control = batch.is_control
                rows.append({"partition": p.index, "offset": batch.base_offset + r.offset_delta,
                             "timestamp": r.timestamp,
                             "key": None if control else decoded_text(r.key),
                             "value": None if control else decoded_text(r.value),
                             "headers": list(r.headers), "batch_base_offset": batch.base_offset,
                             "transaction": status})
    return pd.DataFrame(rows, columns=RECORD_COLUMNS)


def transaction_status(log: PartitionLog, batch) -> str:
    """What ``batch`` is to transactions (see :func:`records_frame`)."""
    if not batch.is_transactional:
        return ""
    if batch.is_control:
        return f"{marker_of(batch).type.name} marker"
    state = log.producer_state
    if state.is_aborted(batch.producer_id, batch.base_offset):
        return "aborted"
    first = state.ongoing.get(batch.producer_id)
    return "open" if first is not None and batch.base_offset >= first else "committed"


GROUP_COLUMNS = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                 "CONSUMER-ID", "HOST", "CLIENT-ID"]


def consumer_group_frame(cluster, group_id: str) -> pd.DataFrame:
    """``kafka-consumer-groups --describe --group G``: per partition the committed offset, the
    log end (high watermark), the lag between them, and which member owns it."""
    from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

    coordinator = cluster.group_coordinator
    group = coordinator.groups.get(group_id)
    owners = {}
    for member in (group.members.values() if group else ()):
        if member.assignment:
            assignment = ConsumerProtocolAssignment.decode(member.assignment)
            for item in assignment.assigned_partitions:
                for p in item.partitions:
                    owners[(item.topic, p)] = member
    committed = coordinator.fetch_offsets(group_id)
    keys = sorted(set(owners) | {(tp.topic, tp.partition) for tp in committed})
    rows = []
    for topic, index in keys:
        if topic not in cluster.topics or index >= len(cluster.topics[topic].partitions):
            continue
        end = cluster.topics[topic].partitions[index].high_watermark
        om = next((o for tp, o in committed.items() if (tp.topic, tp.partition) == (topic, index)),
                  None)
        member = owners.get((topic, index))
        rows.append({"GROUP": group_id, "TOPIC": topic, "PARTITION": index,
                     "CURRENT-OFFSET": om.offset if om else "-", "LOG-END-OFFSET": end,
                     "LAG": end - om.offset if om else "-",
                     "CONSUMER-ID": member.member_id if member else "-",
                     "HOST": member.client_host if member else "-",
                     "CLIENT-ID": member.client_id if member else "-"})
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


SEGMENT_COLUMNS = ["base_offset", "next_offset", "records", "size_bytes", "created", "age",
                   "largest_timestamp", "active", "section"]


def segment_section(segment: SegmentInfo, active: bool, state: CleanerState | None) -> str:
    """Where a segment lies as the cleaner sees it: "active"; for a compacted log "clean"
    (wholly below the first dirty offset), "dirty" (holds cleanable offsets) or "uncleanable"
    (at or past the first uncleanable offset); for any other log "closed"."""
    if active:
        return "active"
    if state is None:
        return "closed"
    if segment.base_offset >= state.first_uncleanable_offset:
        return "uncleanable"
    return "dirty" if segment.next_offset > state.first_dirty_offset else "clean"


def segments_frame(log: PartitionLog, state: CleanerState | None, now_ms: int,
                   clock_text: Callable[[int], str]) -> pd.DataFrame:
    """One row per segment of ``log``, oldest first: offsets, records, size, when it was
    created (``clock_text``) and how old it is, its largest record timestamp (ms, as Kafka
    shows it; -1 while empty), whether it is the active one, and its section (``state``: the
    cleaner's view of a compacted log, None for a delete-only one)."""
    segments = log.segments()
    rows = []
    for i, s in enumerate(segments):
        active = i == len(segments) - 1
        rows.append({"base_offset": s.base_offset, "next_offset": s.next_offset,
                     "records": s.record_count, "size_bytes": s.size_bytes,
                     "created": clock_text(s.created_ms), "age": age_text(now_ms - s.created_ms),
                     "largest_timestamp": s.largest_timestamp, "active": active,
                     "section": segment_section(s, active, state)})
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def transactions_frame(cluster) -> pd.DataFrame:
    """One row per transactional id, as ``kafka-transactions.sh describe`` shows it."""
    topic = cluster.topics.get(tl.TOPIC)
    rows = []
    for tid, meta in cluster.transaction_coordinator.transactions.items():
        p = topic.partitions[tl.partition_for(tid, len(topic.partitions))]
        rows.append({
            "transactional_id": tid, "coordinator": p.leader,
            "producer_id": meta.producer_id, "producer_epoch": meta.producer_epoch,
            "state": meta.state.value, "timeout_ms": meta.timeout_ms,
            "partitions": ", ".join(f"{t}-{i}" for t, i in sorted(meta.partitions)),
            "open_for": (age_text(cluster.now_ms() - meta.start_ms)
                         if meta.state.value == "Ongoing" else "")})
    return pd.DataFrame(rows, columns=[
        "transactional_id", "coordinator", "producer_id", "producer_epoch", "state",
        "timeout_ms", "partitions", "open_for"])
