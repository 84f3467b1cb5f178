"""CreateTopics, DeleteTopics and CreatePartitions: a broker forwards them to the controller.

In KRaft the broker passes these requests on to the active controller, which validates each
topic, writes the metadata records and answers per topic. Here the handler calls the lab
facade's own operations (``create_topic``, ``delete_topic``, ``create_partitions``), which do
exactly that and emit the explained events — including an event for each refusal. Each topic is
answered on its own: a refused topic does not stop the others, and a name given twice in one
request is refused (INVALID_REQUEST) without touching that topic, as Kafka does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ...config import TopicConfig
from ...errors import InvalidRequestError, KafkaError
from ..base import error_fields
from ..messages.topics import (
    DEFAULT,
    CreatableTopic,
    CreatableTopicConfigs,
    CreatableTopicResult,
    CreatePartitionsRequest,
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
    CreateTopicsRequest,
    CreateTopicsResponse,
    DeletableTopicResult,
    DeleteTopicsRequest,
    DeleteTopicsResponse,
)
from ..registry import handles
from .configs import topic_config_sources

if TYPE_CHECKING:
    from ...cluster.context import TopicAdminContext


def _per_topic(names: list[str], result: Callable, run: Callable[[int], None]) -> tuple:
    """``result(name, **error_fields)`` for each topic after ``run(i)`` on the i-th; a name
    given more than once is refused for every entry and not run."""
    out = []
    for i, name in enumerate(names):
        try:
            if names.count(name) > 1:
                raise InvalidRequestError(f"Duplicate topic name {name!r} in one request: "
                                          f"name each topic once")
            run(i)
        except KafkaError as error:
            out.append(result(name, **error_fields(error)))
            continue
        out.append(result(name))
    return tuple(out)


# --- CreateTopics ----------------------------------------------------------------------------
def _created(cluster: TopicAdminContext, topic: CreatableTopic) -> CreatableTopicResult:
    """The answer for a topic created (or that would be, with validate_only): its partition
    count and replication factor — as given, as its assignment lists them, or the broker's
    defaults for -1 (KIP-464) — and its configs with their sources."""
    if topic.assignments:
        partitions = len(topic.assignments)
        replication_factor = len(topic.assignments[0].broker_ids)
    else:
        partitions = cluster.config["num.partitions"] if topic.num_partitions == DEFAULT \
            else topic.num_partitions
        replication_factor = cluster.config["default.replication.factor"] \
            if topic.replication_factor == DEFAULT else topic.replication_factor
    config = TopicConfig(cluster.config, {c.name: c.value for c in topic.configs})
    configs = []
    for name in sorted(config.as_dict()):
        _, value, source = topic_config_sources(config, name)[0]
        configs.append(CreatableTopicConfigs(name, value, False, source))
    return CreatableTopicResult(topic.name, num_partitions=partitions,
                                replication_factor=replication_factor, configs=tuple(configs))


@handles(CreateTopicsRequest)
def handle_create_topics(broker, request: CreateTopicsRequest, respond) -> None:
    cluster: TopicAdminContext = broker.cluster
    topics = request.topics
    created: dict[str, CreatableTopicResult] = {}

    def create(i: int) -> None:
        t = topics[i]
        cluster.create_topic(
            t.name, t.num_partitions, t.replication_factor,
            {c.name: c.value for c in t.configs},
            {a.partition_index: list(a.broker_ids) for a in t.assignments} or None,
            validate_only=request.validate_only)
        created[t.name] = _created(cluster, t)

    def result(name: str, **error) -> CreatableTopicResult:
        return CreatableTopicResult(name, **error) if error else created[name]

    respond(CreateTopicsResponse(_per_topic([t.name for t in topics], result, create)))


# --- DeleteTopics ----------------------------------------------------------------------------
@handles(DeleteTopicsRequest)
def handle_delete_topics(broker, request: DeleteTopicsRequest, respond) -> None:
    cluster: TopicAdminContext = broker.cluster
    names = list(request.topic_names)
    respond(DeleteTopicsResponse(_per_topic(
        names, DeletableTopicResult, lambda i: cluster.delete_topic(names[i]))))


# --- CreatePartitions ------------------------------------------------------------------------
@handles(CreatePartitionsRequest)
def handle_create_partitions(broker, request: CreatePartitionsRequest, respond) -> None:
    cluster: TopicAdminContext = broker.cluster
    topics = request.topics

    def grow(i: int) -> None:
        t = topics[i]
        assignment = None if t.assignments is None else [list(a.broker_ids)
                                                         for a in t.assignments]
        cluster.create_partitions(t.name, t.count, validate_only=request.validate_only,
                                  assignment=assignment)

    respond(CreatePartitionsResponse(_per_topic(
        [t.name for t in topics], CreatePartitionsTopicResult, grow)))
