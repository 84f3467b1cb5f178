"""Metadata: the broker answers from its own metadata image — the controller's metadata log as
this broker has applied it (:mod:`...cluster.metadata_image`, Kafka's KRaftMetadataCache) —
auto-creating a topic a client names when ``auto.create.topics.enable`` and the request allow it.

Brokers listed: the registered brokers the controller has not fenced (a crashed broker stays
listed until its session expires and it is fenced). ``offline_replicas``: the replicas whose
broker is down now (where Kafka lists the replicas on fenced brokers or failed log dirs). A topic
the image does not have goes through the cluster's create path (``topic_for_client``: auto-create
or UNKNOWN_TOPIC_OR_PARTITION); the controller's records of a new topic reach every running
broker's image at once, so the answer then comes from the image too. ``controller_id`` is the
lowest live listed broker, as KRaft brokers name a broker (which forwards controller requests),
or -1 while the broker's image knows no active controller.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ...errors import InvalidTopicError, LeaderNotAvailableError, UnknownTopicOrPartitionError
from ..base import error_fields
from ..messages.metadata import (
    MetadataRequest,
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)
from ..registry import handles

if TYPE_CHECKING:
    from ...cluster.context import MetadataHandlerContext
    from ...cluster.metadata_image import TopicImage


def topic_metadata(topic: "TopicImage", broker_alive: Callable[[int], bool]
                   ) -> MetadataResponseTopic:
    """One topic's entry: each partition's leader (-1 while offline), epoch, replicas, ISR,
    and its offline replicas (those whose broker is down)."""
    return MetadataResponseTopic(
        topic.name, topic.internal, tuple(
            MetadataResponsePartition(
                p.index, -1 if p.leader is None else p.leader, p.leader_epoch,
                tuple(p.replicas), tuple(p.isr),
                tuple(b for b in p.replicas if not broker_alive(b)))
            for p in topic.partition_list()))


@handles(MetadataRequest)
def handle_metadata(broker, request: MetadataRequest, respond) -> None:
    cluster: MetadataHandlerContext = broker.cluster
    image = broker.metadata_image
    if request.topics is None:
        names = image.topic_names()
    else:
        names = [t.name for t in request.topics]
    topics = []
    for name in names:
        topic = image.topic(name)
        if topic is None:
            try:
                cluster.topic_for_client(name, request.allow_auto_topic_creation)
            except (UnknownTopicOrPartitionError, InvalidTopicError) as error:
                topics.append(MetadataResponseTopic(name, **error_fields(error)))
                continue
            topic = image.topic(name)
        if topic is None:  # created, but not yet in this broker's image
            topics.append(MetadataResponseTopic(name, **error_fields(LeaderNotAvailableError(
                f"topic {name} exists, but broker {broker.id} has not applied its metadata "
                f"records yet (its image is at offset {image.applied_offset})"))))
            continue
        topics.append(topic_metadata(topic, lambda b: cluster.brokers[b].alive))
    brokers = tuple(MetadataResponseBroker(b.id, b.host, b.port)
                    for b in image.unfenced_brokers())
    # as a KRaft broker answers (KafkaApis): while its image knows an active controller, a live
    # broker, which forwards controller requests (clients cannot reach the quorum) — the lowest
    # one here, as DescribeCluster says too; -1 while it knows none
    serving = [b.node_id for b in brokers if cluster.brokers[b.node_id].alive]
    controller = min(serving) if serving and image.controller_id is not None else -1
    respond(MetadataResponse(brokers, cluster.cluster_id, controller, tuple(topics)))
