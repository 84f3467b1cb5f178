"""ListOffsets and OffsetForLeaderEpoch: where a partition's offsets are, answered by its leader.

ListOffsets (Kafka's ``Partition.fetchOffsetForTimestamp``) gives per partition, by the asked
``timestamp``:

* -2 (earliest): the log start offset, with the leader epoch that wrote it;
* -1 (latest): the last fetchable offset — the high watermark (read_committed: the last stable
  offset, the same until transactions exist) — with the current leader epoch;
* -3 (max timestamp, KIP-734): the first record with the largest timestamp below the high
  watermark, with that timestamp;
* any other value: the first record below the high watermark whose timestamp is at or after
  it, with its timestamp — or offset and timestamp -1 when no record is that new.

OffsetForLeaderEpoch (KIP-101/KIP-279) gives, from the leader's leader-epoch cache, the largest
epoch at most the asked one and the offset where it ended (the log end offset for the current
epoch): a replica or consumer that read up to an epoch learns where its log and the leader's
stop agreeing.

Errors go back per partition as :mod:`.leader` checks them.
"""
from __future__ import annotations

import sys

from ...errors import KafkaError
from ..base import error_fields
from ..messages.fetch import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
    EpochEndOffset,
    ListOffsetsPartitionResponse,
    ListOffsetsRequest,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
    OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)
from ..registry import handles
from .leader import epoch_at, last_fetchable_offset, led_partition


def offset_for(partition, timestamp: int, isolation_level: int) -> tuple[int, int, int]:
    """(offset, timestamp, leader epoch) ListOffsets answers for ``timestamp``; (-1, -1, -1)
    when no record is that new."""
    log = partition.leader_log
    upper = last_fetchable_offset(log, isolation_level)
    if timestamp == EARLIEST_TIMESTAMP:
        return log.log_start_offset, -1, epoch_at(log, log.log_start_offset)
    if timestamp == LATEST_TIMESTAMP:
        return upper, -1, partition.leader_epoch
    if timestamp == MAX_TIMESTAMP:
        return _max_timestamp(log, upper)
    found = log.offset_for_timestamp(timestamp)
    if found is None:  # (it looks below the high watermark only)
        return -1, -1, -1
    offset, found_timestamp = found
    return offset, found_timestamp, epoch_at(log, offset)


def _max_timestamp(log, upper: int) -> tuple[int, int, int]:
    """The first record with the largest timestamp below ``upper``: the batch is chosen by its
    ``max_timestamp`` and only that batch is decoded."""
    best = None
    for batch in log.read(log.log_start_offset, sys.maxsize, upper):
        if best is None or batch.max_timestamp > best.max_timestamp:
            best = batch
    if best is None:
        return -1, -1, -1
    for delta, timestamp, *_ in best.record_tuples:
        if timestamp == best.max_timestamp:
            offset = best.base_offset + delta
            if offset >= log.log_start_offset:
                return offset, timestamp, best.partition_leader_epoch
    return best.base_offset, best.max_timestamp, best.partition_leader_epoch


@handles(ListOffsetsRequest)
def handle_list_offsets(broker, request: ListOffsetsRequest, respond) -> None:
    topics = []
    for topic in request.topics:
        partitions = []
        for asked in topic.partitions:
            try:
                p = led_partition(broker, topic.name, asked.partition_index,
                                  asked.current_leader_epoch)
                offset, timestamp, epoch = offset_for(p, asked.timestamp,
                                                      request.isolation_level)
            except KafkaError as error:
                partitions.append(ListOffsetsPartitionResponse(asked.partition_index,
                                                               **error_fields(error)))
                continue
            partitions.append(ListOffsetsPartitionResponse(
                asked.partition_index, timestamp=timestamp, offset=offset, leader_epoch=epoch))
        topics.append(ListOffsetsTopicResponse(topic.name, tuple(partitions)))
    respond(ListOffsetsResponse(tuple(topics)))


@handles(OffsetForLeaderEpochRequest)
def handle_offset_for_leader_epoch(broker, request: OffsetForLeaderEpochRequest,
                                   respond) -> None:
    topics = []
    for topic in request.topics:
        partitions = []
        for asked in topic.partitions:
            try:
                log = led_partition(broker, topic.topic, asked.partition,
                                    asked.current_leader_epoch).leader_log
            except KafkaError as error:
                partitions.append(EpochEndOffset(asked.partition, **error_fields(error)))
                continue
            epoch, end_offset = log.epochs.end_offset_for(asked.leader_epoch,
                                                          log.log_end_offset)
            partitions.append(EpochEndOffset(asked.partition, leader_epoch=epoch,
                                             end_offset=end_offset))
        topics.append(OffsetForLeaderTopicResult(topic.topic, tuple(partitions)))
    respond(OffsetForLeaderEpochResponse(tuple(topics)))
