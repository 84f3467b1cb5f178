"""Metadata (API key 3): which brokers there are, which topics, and who leads each partition.

Shaped as Kafka's ``MetadataRequest``/``MetadataResponse`` (v12, topic ids left out). Clients keep
what it answers in their metadata cache and ask again when a request fails because leadership
moved (``NOT_LEADER_OR_FOLLOWER``), a leader is missing, or the cache is older than
``metadata_max_age_ms``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..base import Request, Response


@dataclass(frozen=True)
class MetadataRequestTopic:
    name: str


@dataclass(frozen=True)
class MetadataRequest(Request):
    API_KEY = 3
    API_NAME = "Metadata"

    #: None asks for every topic; an empty list for brokers only
    topics: tuple[MetadataRequestTopic, ...] | None = None
    allow_auto_topic_creation: bool = True


@dataclass(frozen=True)
class MetadataResponseBroker:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True)
class MetadataResponsePartition:
    partition_index: int
    leader_id: int  # -1: no leader (offline)
    leader_epoch: int
    replica_nodes: tuple[int, ...]
    isr_nodes: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class MetadataResponseTopic:
    name: str
    is_internal: bool = False
    partitions: tuple[MetadataResponsePartition, ...] = ()
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class MetadataResponse(Response):
    API_KEY = 3
    API_NAME = "Metadata"

    brokers: tuple[MetadataResponseBroker, ...]
    cluster_id: str
    controller_id: int  # -1: no active controller
    topics: tuple[MetadataResponseTopic, ...] = field(default_factory=tuple)
    throttle_time_ms: int = 0
