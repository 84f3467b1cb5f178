"""DescribeCluster (API key 60): the cluster's id, its brokers and which of them are fenced.

Shaped as Kafka's ``DescribeClusterRequest``/``Response`` (v2, endpoint type 1: brokers). As in
KRaft, ``controller_id`` is a live broker's id, not the active controller's: clients cannot reach
the controller quorum, so a broker names a broker that forwards controller requests for them
(Kafka picks one at random; kafkalab the lowest id, so runs are repeatable), or -1 if none is up.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

#: ClusterAuthorizedOperations when they were not asked for (Kafka's Integer.MIN_VALUE)
AUTHORIZED_OPERATIONS_OMITTED = -2147483648


@dataclass(frozen=True)
class DescribeClusterRequest(Request):
    API_KEY = 60
    API_NAME = "DescribeCluster"

    include_cluster_authorized_operations: bool = False
    endpoint_type: int = 1
    include_fenced_brokers: bool = False


@dataclass(frozen=True)
class DescribeClusterBroker:
    broker_id: int
    host: str
    port: int
    rack: str | None = None
    is_fenced: bool = False


@dataclass(frozen=True)
class DescribeClusterResponse(Response):
    API_KEY = 60
    API_NAME = "DescribeCluster"

    cluster_id: str
    controller_id: int  # -1: no live broker
    brokers: tuple[DescribeClusterBroker, ...]
    endpoint_type: int = 1
    cluster_authorized_operations: int = AUTHORIZED_OPERATIONS_OMITTED
    error_code: int = 0
    error_message: str | None = None
    throttle_time_ms: int = 0
