"""Config administration: DescribeConfigs (API key 32), AlterConfigs (33) and
IncrementalAlterConfigs (44).

Shaped as Kafka's ``DescribeConfigsRequest``/``Response`` (v4), ``AlterConfigsRequest``/
``Response`` (v2) and ``IncrementalAlterConfigsRequest``/``Response`` (v1). A resource is a
``(resource_type, resource_name)``: a topic by name, or a broker by its id as a string. Each
resource is answered on its own, with its own ``error_code``/``error_message``. AlterConfigs
replaces *all* of a resource's dynamic configs with the ones given (an omitted one returns to
its default); IncrementalAlterConfigs changes only the ones named, each by an operation.

The codes below are Kafka's (``ConfigResource.Type``, ``ConfigEntry.ConfigSource``,
``ConfigDef.Type`` as DescribeConfigs v3 numbers it, ``AlterConfigOp.OpType``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

# ConfigResource.Type
RESOURCE_UNKNOWN = 0
RESOURCE_TOPIC = 2
RESOURCE_BROKER = 4

#: ConfigEntry.ConfigSource, by the names kafkalab's config module uses
CONFIG_SOURCES = {
    "UNKNOWN": 0,
    "DYNAMIC_TOPIC_CONFIG": 1,
    "DYNAMIC_BROKER_CONFIG": 2,
    "DYNAMIC_DEFAULT_BROKER_CONFIG": 3,
    "STATIC_BROKER_CONFIG": 4,
    "DEFAULT_CONFIG": 5,
}

#: DescribeConfigs' ConfigType, by the types of kafkalab's config keys
CONFIG_TYPES = {"bool": 1, "string": 2, "int": 5, "double": 6, "list": 7}  # int: LONG

# AlterConfigOp.OpType
OP_SET = 0
OP_DELETE = 1
OP_APPEND = 2
OP_SUBTRACT = 3


# --- DescribeConfigs ------------------------------------------------------------------------
@dataclass(frozen=True)
class DescribeConfigsResource:
    resource_type: int
    resource_name: str
    #: None: every config; a list: only these (names the resource does not have are skipped)
    configuration_keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DescribeConfigsRequest(Request):
    API_KEY = 32
    API_NAME = "DescribeConfigs"

    resources: tuple[DescribeConfigsResource, ...]
    include_synonyms: bool = False
    include_documentation: bool = False


@dataclass(frozen=True)
class DescribeConfigsSynonym:
    """One place a value could come from, most specific first (topic override, broker
    override, default)."""

    name: str
    value: str | None
    source: int


@dataclass(frozen=True)
class DescribeConfigsResourceResult:
    name: str
    value: str | None
    read_only: bool
    config_source: int = -1
    is_sensitive: bool = False
    synonyms: tuple[DescribeConfigsSynonym, ...] = ()
    config_type: int = 0
    documentation: str | None = None


@dataclass(frozen=True)
class DescribeConfigsResult:
    resource_type: int
    resource_name: str
    configs: tuple[DescribeConfigsResourceResult, ...] = ()
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class DescribeConfigsResponse(Response):
    API_KEY = 32
    API_NAME = "DescribeConfigs"

    results: tuple[DescribeConfigsResult, ...]
    throttle_time_ms: int = 0


# --- AlterConfigs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AlterableConfig:
    name: str
    value: str | None


@dataclass(frozen=True)
class AlterConfigsResource:
    resource_type: int
    resource_name: str
    configs: tuple[AlterableConfig, ...]


@dataclass(frozen=True)
class AlterConfigsRequest(Request):
    API_KEY = 33
    API_NAME = "AlterConfigs"

    resources: tuple[AlterConfigsResource, ...]
    validate_only: bool = False


@dataclass(frozen=True)
class AlterConfigsResourceResponse:
    resource_type: int
    resource_name: str
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True)
class AlterConfigsResponse(Response):
    API_KEY = 33
    API_NAME = "AlterConfigs"

    responses: tuple[AlterConfigsResourceResponse, ...]
    throttle_time_ms: int = 0


# --- IncrementalAlterConfigs ----------------------------------------------------------------
@dataclass(frozen=True)
class IncrementalAlterableConfig:
    name: str
    config_operation: int  # OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT
    value: str | None


@dataclass(frozen=True)
class IncrementalAlterConfigsResource:
    resource_type: int
    resource_name: str
    configs: tuple[IncrementalAlterableConfig, ...]


@dataclass(frozen=True)
class IncrementalAlterConfigsRequest(Request):
    API_KEY = 44
    API_NAME = "IncrementalAlterConfigs"

    resources: tuple[IncrementalAlterConfigsResource, ...]
    validate_only: bool = False


@dataclass(frozen=True)
class IncrementalAlterConfigsResponse(Response):
    API_KEY = 44
    API_NAME = "IncrementalAlterConfigs"

    responses: tuple[AlterConfigsResourceResponse, ...]
    throttle_time_ms: int = 0
