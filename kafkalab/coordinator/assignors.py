"""Partition assignors, as kafka-python names them — kafka-python's own classes, re-exported.

The group leader (a consumer) runs one of these over every member's subscription, exactly as
a kafka-python consumer would, so a learner's custom ``AbstractPartitionAssignor`` works too.

* ``RangePartitionAssignor`` (``range``) — per topic, consecutive ranges of partitions;
* ``RoundRobinPartitionAssignor`` (``roundrobin``) — all partitions dealt out in turn;
* ``StickyPartitionAssignor`` (``sticky``) — balanced, and moves as few partitions as possible;
* ``CooperativeStickyAssignor`` (``cooperative-sticky``) — sticky, revoking only what moves,
  in two rebalances (KIP-429).

Differs from kafka-python 3.0.12 on purpose: ``range`` and ``roundrobin`` are subclasses that fix
two bugs of its ``assign`` — both order the members with ``itertools.groupby`` over unsorted
input, so in a group mixing static (``group_instance_id``) and dynamic members a member can be
dropped and get nothing; and ``roundrobin`` raises ``KeyError`` when members subscribe to
different topics. Consumers configured with kafka-python's classes get these (see
:func:`fixed`). Same names, same results otherwise.
"""
import collections
import itertools

from kafka.coordinator.assignors import range as _range
from kafka.coordinator.assignors import roundrobin as _roundrobin
from kafka.coordinator.assignors.abstract import (  # noqa: F401
    AbstractPartitionAssignor,
    RebalanceProtocol,
)
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment
from kafka.structs import TopicPartition

__all__ = ["AbstractPartitionAssignor", "CooperativeStickyAssignor", "RangePartitionAssignor",
           "RebalanceProtocol", "RoundRobinPartitionAssignor", "StickyPartitionAssignor",
           "fixed"]


def _member_order(ids):
    """Kafka's order: static members sorted by instance id first, then dynamic ones by
    member id. ``ids`` are (group_instance_id, member_id) pairs."""
    static = sorted(i for i in ids if i[0] is not None)
    dynamic = sorted((i for i in ids if i[0] is None), key=lambda i: i[1])
    return static + dynamic


class RangePartitionAssignor(_range.RangePartitionAssignor):
    __doc__ = _range.RangePartitionAssignor.__doc__

    @classmethod
    def assign(cls, cluster, members):
        consumers_per_topic = collections.defaultdict(list)
        for member in members:
            for topic in member.metadata.topics:
                consumers_per_topic[topic].append((member.group_instance_id, member.member_id))
        assignment = collections.defaultdict(dict)
        for topic, ids in consumers_per_topic.items():
            partitions = cluster.partitions_for_topic(topic)
            if partitions is None:
                continue
            partitions = sorted(partitions)
            consumers = _member_order(ids)
            per_consumer, extra = divmod(len(partitions), len(consumers))
            for i, (_, member_id) in enumerate(consumers):
                start = per_consumer * i + min(i, extra)
                length = per_consumer + (1 if i < extra else 0)
                assignment[member_id][topic] = partitions[start:start + length]
        return {m.member_id: ConsumerProtocolAssignment(
            cls.version, sorted(assignment[m.member_id].items()), b"") for m in members}


class RoundRobinPartitionAssignor(_roundrobin.RoundRobinPartitionAssignor):
    __doc__ = _roundrobin.RoundRobinPartitionAssignor.__doc__

    @classmethod
    def assign(cls, cluster, members):
        all_topics = set()
        for member in members:
            all_topics.update(member.metadata.topics)
        all_partitions = sorted(TopicPartition(t, p) for t in all_topics
                                for p in (cluster.partitions_for_topic(t) or ()))
        assignment = collections.defaultdict(lambda: collections.defaultdict(list))
        order = _member_order([(m.group_instance_id, m.member_id) for m in members])
        member_iter = itertools.cycle(member_id for _, member_id in order)
        member_topics = {m.member_id: set(m.metadata.topics) for m in members}
        for tp in all_partitions:
            member_id = next(member_iter)
            while tp.topic not in member_topics[member_id]:  # someone subscribes to it
                member_id = next(member_iter)
            assignment[member_id][tp.topic].append(tp.partition)
        return {m.member_id: ConsumerProtocolAssignment(
            cls.version, sorted(assignment[m.member_id].items()), b"") for m in members}


_FIXED = {_range.RangePartitionAssignor: RangePartitionAssignor,
          _roundrobin.RoundRobinPartitionAssignor: RoundRobinPartitionAssignor}


def fixed(strategy):
    """kafkalab's fixed class in place of kafka-python's range/roundrobin class; anything else
    (sticky, cooperative-sticky, a learner's own assignor, an instance) unchanged."""
    return _FIXED.get(strategy, strategy) if isinstance(strategy, type) else strategy
