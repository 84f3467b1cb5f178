"""A client's ListOffsets: each partition asked of its leader, as the client's metadata cache
names it (kafka-python's ``Fetcher._send_list_offsets_requests``), one request per leader.

A partition whose leader is unknown, moved (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH ...)
or down comes back among the failed ones with its error, and the cache is asked to refresh, so
a caller that retries (the consumer) asks the right broker next time; any other error raises,
as in kafka-python.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..api.base import error_from
from ..api.messages.fetch import (
    READ_UNCOMMITTED,
    ListOffsetsPartition,
    ListOffsetsRequest,
    ListOffsetsTopic,
)
from ..errors import KafkaConnectionError, LeaderNotAvailableError
from ..structs import OffsetAndTimestamp, TopicPartition
from .metadata import ClusterMetadata


def group_by_leader(metadata: ClusterMetadata, partitions: Iterable[TopicPartition]
                    ) -> tuple[dict[int, list[TopicPartition]], dict[TopicPartition, Exception]]:
    """(``partitions`` by the broker that leads them in ``metadata``, the ones with no known
    leader and why); a partition without a leader asks for a refresh (the caller tries again
    after it)."""
    by_node: dict[int, list[TopicPartition]] = {}
    missing: dict[TopicPartition, Exception] = {}
    for tp in partitions:
        leader = metadata.leader_for_partition(tp)
        if leader is None or leader < 0:
            missing[tp] = metadata.topic_error(tp.topic) or LeaderNotAvailableError(
                f"no leader of {tp.topic}-{tp.partition} is known (the partition is offline, "
                "or new)")
            metadata.request_update()
        else:
            by_node.setdefault(leader, []).append(tp)
    return by_node, missing


def list_offsets(transport, metadata: ClusterMetadata, timestamps: Mapping[TopicPartition, int],
                 isolation_level: int = READ_UNCOMMITTED
                 ) -> tuple[dict[TopicPartition, OffsetAndTimestamp],
                            dict[TopicPartition, Exception]]:
    """One round of ListOffsets for ``timestamps`` ({tp: -2 earliest, -1 latest, or a time}),
    routed by ``metadata`` as it is (the caller refreshes it): ({tp: OffsetAndTimestamp}
    answered — offset -1 when no record is that new —, {tp: error} for the partitions to try
    again)."""
    by_node, failed = group_by_leader(metadata, timestamps)
    found: dict[TopicPartition, OffsetAndTimestamp] = {}
    for node, partitions in by_node.items():
        topics: dict[str, list[ListOffsetsPartition]] = {}
        for tp in partitions:
            known = metadata.partition_metadata(tp)
            topics.setdefault(tp.topic, []).append(ListOffsetsPartition(
                tp.partition, timestamps[tp], known.leader_epoch if known else -1))
        request = ListOffsetsRequest(tuple(ListOffsetsTopic(name, tuple(asked))
                                           for name, asked in topics.items()),
                                     isolation_level=isolation_level)
        try:
            response = transport.call(node, request)
        except KafkaConnectionError as error:
            metadata.request_update()
            failed.update((tp, error) for tp in partitions)
            continue
        for topic in response.topics:
            for answer in topic.partitions:
                tp = TopicPartition(topic.name, answer.partition_index)
                error = error_from(answer.error_code, answer.error_message)
                if error is None:
                    found[tp] = OffsetAndTimestamp(answer.offset, answer.timestamp,
                                                   answer.leader_epoch)
                elif error.retriable:
                    if error.invalid_metadata:
                        metadata.request_update()
                    failed[tp] = error
                else:
                    raise error
    return found, failed


def offset_for(transport, tp: TopicPartition, timestamp: int) -> OffsetAndTimestamp:
    """One partition's ListOffsets answer, asked once with fresh metadata (an admin request);
    raises the error when its leader cannot answer."""
    metadata = ClusterMetadata(transport, allow_auto_create_topics=False)
    metadata.update([tp.topic])
    found, failed = list_offsets(transport, metadata, {tp: timestamp})
    if tp in failed:
        raise failed[tp]
    return found[tp]
