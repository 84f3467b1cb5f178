"""DescribeCluster: the broker answers from its own metadata image (the controller's
registrations as this broker has applied them, :mod:`...cluster.metadata_image`).

A broker is listed as fenced while it is stopped or the controller has fenced it (it may not
lead or host new replicas); fenced brokers are listed only when the request asks for them
(``include_fenced_brokers``, as kafka-python's admin does). ``controller_id`` is the lowest
live, unfenced broker: KRaft brokers answer with a broker that forwards controller requests,
since clients cannot reach the controller quorum. (Whether a broker is stopped is read from the
cluster, not the image: Kafka would list a crashed broker unfenced until its session expires.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import MismatchedEndpointTypeError
from ..base import error_fields
from ..messages.cluster import (
    DescribeClusterBroker,
    DescribeClusterRequest,
    DescribeClusterResponse,
)
from ..registry import handles

if TYPE_CHECKING:
    from ...cluster.context import ClusterDescriptionContext

BROKERS_ENDPOINT = 1


@handles(DescribeClusterRequest)
def handle_describe_cluster(broker, request: DescribeClusterRequest, respond) -> None:
    cluster: ClusterDescriptionContext = broker.cluster
    if request.endpoint_type != BROKERS_ENDPOINT:
        respond(DescribeClusterResponse(cluster.cluster_id, -1, (), **error_fields(
            MismatchedEndpointTypeError(
                f"broker {broker.id} is a broker endpoint (type {BROKERS_ENDPOINT}); it "
                f"cannot describe endpoints of type {request.endpoint_type}: clients reach "
                f"the controllers only through the brokers"))))
        return
    brokers = [DescribeClusterBroker(b.id, b.host, b.port, None,
                                     b.fenced or not cluster.brokers[b.id].alive)
               for b in broker.metadata_image.registered_brokers()]
    serving = [b.broker_id for b in brokers if not b.is_fenced]
    respond(DescribeClusterResponse(
        cluster.cluster_id, min(serving) if serving else -1,
        tuple(b for b in brokers if request.include_fenced_brokers or not b.is_fenced)))
