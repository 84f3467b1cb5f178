"""The partition a read request names, as its leader on this broker (Kafka's
``ReplicaManager.getPartitionOrException`` + ``Partition.localLogWithEpochOrThrow``).

Fetch, ListOffsets and OffsetForLeaderEpoch are answered only by a partition's leader, and only
for a client whose idea of the leader epoch is not out of date. The checks run in Kafka's order:
the topic and partition exist (UNKNOWN_TOPIC_OR_PARTITION), this broker holds a replica of it
(else NOT_LEADER_OR_FOLLOWER), the client's ``current_leader_epoch`` — unless -1 — is the
partition's (older: FENCED_LEADER_EPOCH, newer: UNKNOWN_LEADER_EPOCH), and this broker leads it
(NOT_LEADER_OR_FOLLOWER). Every broker applies the controller's leader and epoch at once here, so
a former leader knows the new epoch as soon as the new leader does.
"""
from __future__ import annotations

from ...errors import FencedLeaderEpochError, NotLeaderForPartitionError, UnknownLeaderEpochError
from ..messages.fetch import READ_COMMITTED


def led_partition(broker, topic: str, partition: int, current_leader_epoch: int = -1):
    """The partition if ``broker`` leads it in ``current_leader_epoch`` (-1: any epoch); else
    raises the error the request is answered with."""
    p = broker.cluster.partition(topic, partition)  # UnknownTopicOrPartitionError
    if broker.id not in p.replicas:
        raise NotLeaderForPartitionError(
            f"Broker {broker.id} holds no replica of {p.name} (replicas {p.replicas}, leader: "
            f"{p.leader})")
    if current_leader_epoch >= 0 and current_leader_epoch != p.leader_epoch:
        error = FencedLeaderEpochError if current_leader_epoch < p.leader_epoch \
            else UnknownLeaderEpochError
        raise error(f"The request for {p.name} carries leader epoch {current_leader_epoch}, "
                    f"but the partition is in leader epoch {p.leader_epoch} (leader: "
                    f"{p.leader}); refresh the metadata and retry")
    if p.leader != broker.id:
        raise NotLeaderForPartitionError(
            f"Broker {broker.id} is not the leader of {p.name} (leader: {p.leader})")
    return p


def last_fetchable_offset(log, isolation_level: int) -> int:
    """Where a consumer's reads stop (Kafka's ``lastFetchableOffset``): the high watermark for
    read_uncommitted (0), the last stable offset for read_committed (1)."""
    return log.last_stable_offset if isolation_level == READ_COMMITTED else log.high_watermark


def epoch_at(log, offset: int) -> int:
    """The leader epoch that wrote ``offset`` by the log's leader-epoch cache (-1: unknown)."""
    found = -1
    for epoch, start_offset in log.epochs.entries:
        if start_offset > offset:
            break
        found = epoch
    return found
