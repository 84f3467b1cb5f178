"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs: a broker describes and changes
topic configs, and describes its own broker configs.

Topic config changes go to the lab facade's ``alter_topic_config`` (in KRaft the broker
forwards them to the controller), which validates all of a topic's changes before applying any
and emits the explained events. Broker configs are fixed when the ``Cluster`` is created, so
altering one is refused (INVALID_REQUEST). As in Kafka, a BROKER resource is named by the id of
the broker the request goes to ("" for the cluster-wide defaults), so clients send it there.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from ...config import BROKER_CONFIGS, TOPIC_CONFIGS, kafka_string
from ...errors import InvalidConfigurationError, InvalidRequestError, KafkaError
from ..base import error_fields
from ..messages.configs import (
    CONFIG_SOURCES,
    CONFIG_TYPES,
    OP_APPEND,
    OP_DELETE,
    OP_SET,
    OP_SUBTRACT,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    AlterConfigsRequest,
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
    DescribeConfigsRequest,
    DescribeConfigsResourceResult,
    DescribeConfigsResult,
    DescribeConfigsResponse,
    DescribeConfigsSynonym,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
)
from ..registry import handles

if TYPE_CHECKING:
    from ...cluster.context import TopicAdminContext
    from ...config import BrokerConfig, TopicConfig


# --- describing ------------------------------------------------------------------------------
def topic_config_sources(config: TopicConfig, name: str) -> list[tuple[str, str | None, int]]:
    """Where a topic config's value could come from, most specific first, as Kafka's synonyms:
    the topic's own override, the broker's (its ``log.*`` name), the default. The first is the
    effective value."""
    key = TOPIC_CONFIGS[name]
    chain = []
    if name in config.overrides:
        chain.append((name, kafka_string(config.overrides[name]),
                      CONFIG_SOURCES["DYNAMIC_TOPIC_CONFIG"]))
    if key.broker_name is None:
        chain.append((name, kafka_string(key.default), CONFIG_SOURCES["DEFAULT_CONFIG"]))
    else:
        chain += broker_config_sources(config.broker, key.broker_name)
    return chain


def broker_config_sources(config: BrokerConfig, name: str) -> list[tuple[str, str | None, int]]:
    """A broker config's synonyms: its static override (``Cluster(config=...)``), its default."""
    chain = []
    if name in config.overrides:
        chain.append((name, kafka_string(config.overrides[name]),
                      CONFIG_SOURCES["STATIC_BROKER_CONFIG"]))
    chain.append((name, kafka_string(BROKER_CONFIGS[name].default),
                  CONFIG_SOURCES["DEFAULT_CONFIG"]))
    return chain


def _entry(name: str, sources: list[tuple[str, str | None, int]], read_only: bool, key,
           request: DescribeConfigsRequest) -> DescribeConfigsResourceResult:
    _, value, source = sources[0]
    return DescribeConfigsResourceResult(
        name, value, read_only, source, False,
        tuple(DescribeConfigsSynonym(*s) for s in sources) if request.include_synonyms else (),
        CONFIG_TYPES[key.type], key.doc if request.include_documentation else None)


def _wanted(known: Iterable[str], keys: tuple[str, ...] | None) -> list[str]:
    """The configs asked for: all (None), else those named that exist, in the order named."""
    known = set(known)
    return sorted(known) if keys is None else [k for k in dict.fromkeys(keys) if k in known]


def _check_broker_name(broker_id: int, name: str) -> None:
    """A BROKER resource names the broker the request reached, or "" (cluster defaults)."""
    if name == "":
        return
    if not name.lstrip("-").isdigit():
        raise InvalidRequestError(f"Broker id must be an integer, but it is: {name!r}")
    if int(name) != broker_id:
        raise InvalidRequestError(
            f"Unexpected broker id, expected {broker_id} or empty string, but received {name}: "
            f"send a broker's configs request to that broker")


def _unsupported(resource_type: int) -> InvalidRequestError:
    return InvalidRequestError(
        f"kafkalab serves the configs of TOPIC ({RESOURCE_TOPIC}) and BROKER ({RESOURCE_BROKER}) "
        f"resources, not of resource type {resource_type}")


def _describe(broker_id: int, cluster: TopicAdminContext, resource,
              request: DescribeConfigsRequest) -> DescribeConfigsResult:
    kind, name = resource.resource_type, resource.resource_name
    try:
        if kind == RESOURCE_TOPIC:
            config = cluster.topic(name).config
            entries = [_entry(n, topic_config_sources(config, n), False, TOPIC_CONFIGS[n],
                              request)
                       for n in _wanted(TOPIC_CONFIGS, resource.configuration_keys)]
        elif kind == RESOURCE_BROKER:
            _check_broker_name(broker_id, name)
            entries = [_entry(n, broker_config_sources(cluster.config, n), True,
                              BROKER_CONFIGS[n], request)
                       for n in _wanted(BROKER_CONFIGS, resource.configuration_keys)]
        else:
            raise _unsupported(kind)
    except KafkaError as error:
        return DescribeConfigsResult(kind, name, **error_fields(error))
    return DescribeConfigsResult(kind, name, tuple(entries))


@handles(DescribeConfigsRequest)
def handle_describe_configs(broker, request: DescribeConfigsRequest, respond) -> None:
    respond(DescribeConfigsResponse(tuple(
        _describe(broker.id, broker.cluster, r, request) for r in request.resources)))


# --- altering --------------------------------------------------------------------------------
Changes = tuple[dict[str, str | None], list[str]]  # (configs to set, configs to delete)


def _no_duplicates(names: list[str]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidRequestError(f"Error due to duplicate config keys: {', '.join(repeated)} "
                                  f"given more than once; name each config once")


def _replace_all(config: TopicConfig, entries) -> Changes:
    """AlterConfigs: the given configs become the topic's overrides; every other override is
    removed (back to its default)."""
    _no_duplicates([e.name for e in entries])
    to_set = {e.name: e.value for e in entries}
    return to_set, [n for n in config.overrides if n not in to_set]


def _incremental(config: TopicConfig, entries) -> Changes:
    """IncrementalAlterConfigs: each named config by its operation. APPEND and SUBTRACT add
    values to or remove them from a list config's current value, as Kafka does."""
    _no_duplicates([e.name for e in entries])
    to_set, to_delete = {}, []
    for e in entries:
        op, key = e.config_operation, TOPIC_CONFIGS.get(e.name)
        if op == OP_SET or (op in (OP_APPEND, OP_SUBTRACT) and key is None):
            to_set[e.name] = e.value  # an unknown name is refused, with the known ones
        elif op == OP_DELETE:
            to_delete.append(e.name)
        elif op in (OP_APPEND, OP_SUBTRACT):
            verb = "append" if op == OP_APPEND else "subtract"
            if key.type != "list":
                lists = ", ".join(sorted(n for n, k in TOPIC_CONFIGS.items() if k.type == "list"))
                raise InvalidConfigurationError(
                    f"Config value {verb} is not allowed for config key: {e.name}: only list "
                    f"configs ({lists}) take APPEND and SUBTRACT; use SET")
            current = list(config[e.name])
            values = [v.strip() for v in (e.value or "").split(",") if v.strip()]
            new = (current + [v for v in values if v not in current] if op == OP_APPEND
                   else [v for v in current if v not in values])
            to_set[e.name] = ",".join(new)
        else:
            raise InvalidRequestError(
                f"Unknown config operation {op} for {e.name}: use SET ({OP_SET}), DELETE "
                f"({OP_DELETE}), APPEND ({OP_APPEND}) or SUBTRACT ({OP_SUBTRACT})")
    return to_set, to_delete


def _alter(broker_id: int, cluster: TopicAdminContext, resource,
           changes: Callable[[TopicConfig, tuple], Changes],
           validate_only: bool) -> AlterConfigsResourceResponse:
    kind, name = resource.resource_type, resource.resource_name
    try:
        if kind == RESOURCE_TOPIC:
            to_set, to_delete = changes(cluster.topic(name).config, resource.configs)
            cluster.alter_topic_config(name, to_set, to_delete, validate_only=validate_only)
        elif kind == RESOURCE_BROKER:
            _check_broker_name(broker_id, name)
            raise InvalidRequestError(
                "broker configs are fixed when the Cluster is created "
                "(Cluster(config={...})); alter the configs of TOPIC resources")
        else:
            raise _unsupported(kind)
    except KafkaError as error:
        return AlterConfigsResourceResponse(kind, name, **error_fields(error))
    return AlterConfigsResourceResponse(kind, name)


@handles(AlterConfigsRequest)
def handle_alter_configs(broker, request: AlterConfigsRequest, respond) -> None:
    respond(AlterConfigsResponse(tuple(
        _alter(broker.id, broker.cluster, r, _replace_all, request.validate_only)
        for r in request.resources)))


@handles(IncrementalAlterConfigsRequest)
def handle_incremental_alter_configs(broker, request: IncrementalAlterConfigsRequest,
                                     respond) -> None:
    respond(IncrementalAlterConfigsResponse(tuple(
        _alter(broker.id, broker.cluster, r, _incremental, request.validate_only)
        for r in request.resources)))
