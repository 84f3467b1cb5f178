"""Partition assignors, as kafka-python names them — kafka-python's own classes, re-exported.

The group leader (a consumer) runs one of these over every member's subscription, exactly as
a kafka-python consumer would, so a learner's custom ``AbstractPartitionAssignor`` works too.

* ``RangePartitionAssignor`` (``range``) — per topic, consecutive ranges of partitions;
* ``RoundRobinPartitionAssignor`` (``roundrobin``) — all partitions dealt out in turn;
* ``StickyPartitionAssignor`` (``sticky``) — balanced, and moves as few partitions as possible;
* ``CooperativeStickyAssignor`` (``cooperative-sticky``) — sticky, revoking only what moves,
  in two rebalances (KIP-429).
"""
from kafka.coordinator.assignors.abstract import (  # noqa: F401
    AbstractPartitionAssignor,
    RebalanceProtocol,
)
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

__all__ = ["AbstractPartitionAssignor", "CooperativeStickyAssignor", "RangePartitionAssignor",
           "RebalanceProtocol", "RoundRobinPartitionAssignor", "StickyPartitionAssignor"]
