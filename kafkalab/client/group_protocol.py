"""What a consumer carries inside the classic group protocol (the "consumer" protocol type).

kafka-python's ConsumerCoordinator half that is about partitions, not membership: the
subscription each member offers in JoinGroup (one protocol per configured assignor), the
assignment the elected leader computes (kafka-python's ``_perform_assignment``), and the
partitions each member reads out of its SyncGroup answer. kafka-python's range and roundrobin
classes are replaced by kafkalab's fixed subclasses (see :mod:`kafkalab.coordinator.assignors`).
"""
from __future__ import annotations

from kafka.coordinator.assignors.abstract import RebalanceProtocol
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from ..api.messages.groups import JoinGroupRequestProtocol
from ..coordinator.assignors import fixed
from ..errors import KafkaConfigurationError
from ..structs import TopicPartition
from .metadata import ClusterMetadata


class _JoinedMember:
    """What an assignor needs of each member (kafka-python's JoinGroupResponseMember)."""

    __slots__ = ("member_id", "group_instance_id", "metadata")

    def __init__(self, member_id, group_instance_id, metadata):
        self.member_id = member_id
        self.group_instance_id = group_instance_id
        self.metadata = metadata


class ConsumerGroupProtocol:
    """A consumer's assignors (``partition_assignment_strategy``) and the bytes they exchange.

    Invariants: at least one assignor, all eager or all cooperative (``cooperative``), offered
    in the configured order; a member's subscription bytes depend only on its topics and (for
    cooperative assignors) its owned partitions, both sorted: the same bytes every run."""

    def __init__(self, strategies):
        # kafka-python's range/roundrobin classes -> kafkalab's fixed subclasses (see assignors)
        assignors = [fixed(s)() if isinstance(s, type) else s for s in strategies]
        if not assignors:
            raise KafkaConfigurationError(
                "partition_assignment_strategy needs at least one assignor")
        protocols = {RebalanceProtocol.COOPERATIVE in a.supported_protocols() and
                     RebalanceProtocol.EAGER not in a.supported_protocols() for a in assignors}
        if len(protocols) > 1:
            raise KafkaConfigurationError(
                "partition_assignment_strategy mixes eager and cooperative assignors "
                f"({[a.name for a in assignors]}); use all eager or all cooperative")
        self.assignors = assignors
        self.cooperative = RebalanceProtocol.EAGER not in assignors[0].supported_protocols()

    def _assignor(self, name: str):
        return next(a for a in self.assignors if a.name == name)

    def subscriptions(self, topics: set[str], owned: set[TopicPartition]
                      ) -> tuple[JoinGroupRequestProtocol, ...]:
        """The protocols a JoinGroup offers: each assignor's subscription to ``topics`` (with
        the partitions the member ``owned``, for cooperative assignors)."""
        protocols = []
        for assignor in self.assignors:
            if self.cooperative:
                assignor.member_assignment = sorted(owned)
            metadata = assignor.metadata(sorted(topics))  # sorted: the same bytes every run
            protocols.append(JoinGroupRequestProtocol(
                assignor.name, ConsumerProtocolSubscription.encode(metadata)))
        return tuple(protocols)

    def assign(self, protocol: str, members, metadata: ClusterMetadata) -> dict[str, bytes]:
        """The leader's assignment (kafka-python's _perform_assignment): every member's topics
        are looked up in the metadata first, then the assignor runs over it."""
        assignor = self._assignor(protocol)
        joined = [_JoinedMember(m.member_id, m.group_instance_id,
                                ConsumerProtocolSubscription.decode(m.metadata))
                  for m in members]
        unknown = {t for m in joined for t in m.metadata.topics
                   if metadata.partitions_for_topic(t) is None}
        if unknown:
            for topic in sorted(unknown):
                metadata.add_topic(topic)
            metadata.update()
        result = assignor.assign(metadata, joined)
        return {mid: ConsumerProtocolAssignment.encode(a) for mid, a in result.items()}

    def assigned(self, protocol: str | None, data: bytes, generation: int
                 ) -> set[TopicPartition]:
        """The partitions a SyncGroup answer's assignment ``data`` gives this member (none
        for empty data); the assignor of ``protocol`` hears of them (``on_assignment``)."""
        assignment = ConsumerProtocolAssignment.decode(data) if data else None
        tps = set()
        for item in (assignment.assigned_partitions if assignment else ()):
            tps.update(TopicPartition(item.topic, p) for p in item.partitions)
        if assignment is not None:
            self._assignor(protocol).on_assignment(assignment, generation)
        return tps
