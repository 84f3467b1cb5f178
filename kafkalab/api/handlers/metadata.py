"""Metadata: the broker answers from the cluster's metadata (the controller's image, which
every broker applies at once here), auto-creating a topic a client names when
``auto.create.topics.enable`` and the request allow it."""
from __future__ import annotations

from ...errors import InvalidTopicError, UnknownTopicOrPartitionError
from ..base import error_fields
from ..messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from ..registry import handles


def topic_metadata(topic, broker_alive) -> MetadataResponseTopic:
    """One topic's entry: each partition's leader (-1 while offline), epoch, replicas, ISR,
    and its offline replicas (those whose broker is down)."""
    return MetadataResponseTopic(
        topic.name, topic.internal, tuple(
            MetadataResponsePartition(
                p.index, -1 if p.leader is None else p.leader, p.leader_epoch,
                tuple(p.replicas), tuple(p.isr),
                tuple(b for b in p.replicas if not broker_alive(b)))
            for p in topic.partitions))


@handles(MetadataRequest)
def handle_metadata(broker, request: MetadataRequest, respond) -> None:
    cluster = broker.cluster
    if request.topics is None:
        names = sorted(cluster.topics)
    else:
        names = [t.name for t in request.topics]
    topics = []
    for name in names:
        try:
            topic = cluster.topic_for_client(name, request.allow_auto_topic_creation)
        except (UnknownTopicOrPartitionError, InvalidTopicError) as error:
            topics.append(MetadataResponseTopic(name, **error_fields(error)))
            continue
        topics.append(topic_metadata(topic, lambda b: cluster.brokers[b].alive))
    active = cluster.controller.active
    respond(MetadataResponse(
        tuple(MetadataResponseBroker(b.id, b.host, b.port) for b in cluster.brokers.values()
              if b.id not in cluster.controller.fenced),
        cluster.cluster_id, -1 if active is None else active, tuple(topics)))
