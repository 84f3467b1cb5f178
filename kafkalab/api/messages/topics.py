"""Topic administration: CreateTopics (API key 19), DeleteTopics (20), CreatePartitions (37).

Shaped as Kafka's ``CreateTopicsRequest``/``Response`` (v7, topic ids left out),
``DeleteTopicsRequest``/``Response`` (v5: topics by name, ``topic_names``) and
``CreatePartitionsRequest``/``Response`` (v3). Each topic is answered on its own, with its own
``error_code``/``error_message``: one refused topic does not stop the others. In KRaft the
broker forwards these requests to the active controller; ``validate_only`` runs every check and
changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

#: Kafka's "use the broker's default" for num_partitions and replication_factor (KIP-464)
DEFAULT = -1


# --- CreateTopics ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatableReplicaAssignment:
    partition_index: int
    broker_ids: tuple[int, ...]


@dataclass(frozen=True)
class CreatableTopicConfig:
    name: str
    value: str | None


@dataclass(frozen=True)
class CreatableTopic:
    name: str
    #: -1: the broker's num.partitions (or as many as ``assignments`` lists)
    num_partitions: int = DEFAULT
    #: -1: the broker's default.replication.factor (or as ``assignments`` gives)
    replication_factor: int = DEFAULT
    #: manual placement, partition by partition; then both counts above must be -1
    assignments: tuple[CreatableReplicaAssignment, ...] = ()
    configs: tuple[CreatableTopicConfig, ...] = ()


@dataclass(frozen=True)
class CreateTopicsRequest(Request):
    API_KEY = 19
    API_NAME = "CreateTopics"

    topics: tuple[CreatableTopic, ...]
    timeout_ms: int = 60000
    validate_only: bool = False


@dataclass(frozen=True)
class CreatableTopicConfigs:
    """One config of a created topic, as DescribeConfigs would describe it."""

    name: str
    value: str | None
    read_only: bool
    config_source: int  # Kafka's ConfigSource code (see messages.configs)
    is_sensitive: bool = False


@dataclass(frozen=True)
class CreatableTopicResult:
    name: str
    error_code: int = 0
    error_message: str | None = None
    topic_config_error_code: int = 0
    #: the topic as created (or as it would be, with validate_only); -1/None when refused
    num_partitions: int = DEFAULT
    replication_factor: int = DEFAULT
    configs: tuple[CreatableTopicConfigs, ...] | None = None


@dataclass(frozen=True)
class CreateTopicsResponse(Response):
    API_KEY = 19
    API_NAME = "CreateTopics"

    topics: tuple[CreatableTopicResult, ...]
    throttle_time_ms: int = 0


# --- DeleteTopics ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DeleteTopicsRequest(Request):
    API_KEY = 20
    API_NAME = "DeleteTopics"

    topic_names: tuple[str, ...]
    timeout_ms: int


@dataclass(frozen=True)
class DeletableTopicResult:
    name: str
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class DeleteTopicsResponse(Response):
    API_KEY = 20
    API_NAME = "DeleteTopics"

    responses: tuple[DeletableTopicResult, ...]
    throttle_time_ms: int = 0


# --- CreatePartitions -----------------------------------------------------------------------
@dataclass(frozen=True)
class CreatePartitionsAssignment:
    broker_ids: tuple[int, ...]


@dataclass(frozen=True)
class CreatePartitionsTopic:
    name: str
    #: the new total partition count
    count: int
    #: replicas of each new partition, in order; None: the broker places them
    assignments: tuple[CreatePartitionsAssignment, ...] | None = None


@dataclass(frozen=True)
class CreatePartitionsRequest(Request):
    API_KEY = 37
    API_NAME = "CreatePartitions"

    topics: tuple[CreatePartitionsTopic, ...]
    timeout_ms: int
    validate_only: bool = False


@dataclass(frozen=True)
class CreatePartitionsTopicResult:
    name: str
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class CreatePartitionsResponse(Response):
    API_KEY = 37
    API_NAME = "CreatePartitions"

    results: tuple[CreatePartitionsTopicResult, ...]
    throttle_time_ms: int = 0
