"""Topic and broker configuration: Kafka's names, defaults and validation rules (DESIGN §2.8).

A topic config is resolved in Kafka's order: the topic's own override, else the broker's
``log.*`` default, else Kafka's built-in default. Values arrive as Python values or as the
strings the admin API and ``kafka-configs`` use; both are parsed to one typed value.

Invariant: a :class:`TopicConfig` only ever holds values that passed validation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .errors import InvalidConfigurationError, InvalidTopicError

MAX_TOPIC_NAME_LENGTH = 249
#: Kafka's ``Topic.isValid`` characters; checked with ``fullmatch`` (``$`` would also match
#: before a final newline, letting ``"orders\n"`` through)
_LEGAL_TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]+")
#: Kafka's internal topics (``Topic.INTERNAL_TOPICS``): only these are internal; a user topic
#: whose name starts with ``__`` is an ordinary topic
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})

COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
CLEANUP_POLICIES = ("delete", "compact")
TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")


@dataclass(frozen=True)
class ConfigKey:
    """One config: its name, type, Kafka default, the broker-level name that sets the cluster-wide
    default (topic configs only), the rule for legal values, and a one-line doc."""

    name: str
    type: str  # "int", "bool", "string", "list", "double"
    default: Any
    doc: str
    broker_name: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    choices: tuple[str, ...] | None = None

    def parse(self, value: Any) -> Any:
        """Return the typed value, or raise InvalidConfigurationError saying what is allowed."""
        try:
            parsed = _PARSERS[self.type](value)
        except (TypeError, ValueError):
            raise InvalidConfigurationError(
                f"Invalid value {value!r} for configuration {self.name}: "
                f"expected {_TYPE_WORDS[self.type]}") from None
        self._check_range(parsed, value)
        return parsed

    def _check_range(self, parsed: Any, raw: Any) -> None:
        if self.at_least is not None and parsed < self.at_least:
            raise InvalidConfigurationError(
                f"Invalid value {raw!r} for configuration {self.name}: "
                f"Value must be at least {_num(self.at_least)}")
        if self.at_most is not None and parsed > self.at_most:
            raise InvalidConfigurationError(
                f"Invalid value {raw!r} for configuration {self.name}: "
                f"Value must be no more than {_num(self.at_most)}")
        if self.choices is not None:
            values = parsed if isinstance(parsed, list) else [parsed]
            bad = [v for v in values if v not in self.choices]
            if bad or not values:
                raise InvalidConfigurationError(
                    f"Invalid value {raw!r} for configuration {self.name}: "
                    f"String must be one of: {', '.join(self.choices)}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(value)


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)


def _parse_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value]
    raise ValueError(value)


def _parse_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    return value


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "int": _parse_int, "bool": _parse_bool, "string": _parse_string, "list": _parse_list,
    "double": float,
}
_TYPE_WORDS = {"int": "a whole number", "bool": "true or false", "string": "a string",
               "list": "a comma-separated list", "double": "a number"}

_DAY_MS = 24 * 3600 * 1000
_LONG_MAX = 2**63 - 1
_INT_MAX = 2**31 - 1

TOPIC_CONFIGS: dict[str, ConfigKey] = {k.name: k for k in [
    ConfigKey("cleanup.policy", "list", ["delete"],
              "delete old segments by time/size, compact to the last value per key, or both",
              "log.cleanup.policy", choices=CLEANUP_POLICIES),
    ConfigKey("retention.ms", "int", 7 * _DAY_MS,
              "how long a closed segment is kept (-1: forever)", "log.retention.ms", at_least=-1),
    ConfigKey("retention.bytes", "int", -1,
              "how many bytes a partition may keep before old segments go (-1: no limit)",
              "log.retention.bytes", at_least=-1),
    ConfigKey("segment.bytes", "int", 1024 * 1024 * 1024,
              "a segment is rolled when it would grow past this size", "log.segment.bytes",
              at_least=14, at_most=_INT_MAX),
    ConfigKey("segment.ms", "int", 7 * _DAY_MS,
              "a segment is rolled when its first batch is older than this", "log.roll.ms",
              at_least=1),
    ConfigKey("segment.jitter.ms", "int", 0,
              "a random amount, up to this, taken off segment.ms for each new segment (so "
              "partitions do not all roll at once)", "log.roll.jitter.ms", at_least=0),
    ConfigKey("segment.index.bytes", "int", 10 * 1024 * 1024,
              "a segment is rolled when its offset index (8 bytes an entry) would pass this "
              "size", "log.index.size.max.bytes", at_least=4, at_most=_INT_MAX),
    ConfigKey("index.interval.bytes", "int", 4096,
              "bytes appended between two entries of a segment's offset index",
              "log.index.interval.bytes", at_least=0, at_most=_INT_MAX),
    ConfigKey("max.message.bytes", "int", 1048588,
              "the largest record batch the topic accepts", "message.max.bytes", at_least=0,
              at_most=_INT_MAX),
    ConfigKey("message.timestamp.type", "string", "CreateTime",
              "CreateTime keeps the producer's timestamp, LogAppendTime stamps the broker's",
              "log.message.timestamp.type", choices=TIMESTAMP_TYPES),
    ConfigKey("min.insync.replicas", "int", 1,
              "with acks=all, how many in-sync replicas must have a write", "min.insync.replicas",
              at_least=1),
    ConfigKey("compression.type", "string", "producer",
              "codec the broker stores batches with ('producer': as sent)", "compression.type",
              choices=COMPRESSION_TYPES),
    ConfigKey("unclean.leader.election.enable", "bool", False,
              "may an out-of-sync replica become leader (and lose records)",
              "unclean.leader.election.enable"),
    ConfigKey("delete.retention.ms", "int", _DAY_MS,
              "how long compaction keeps a tombstone (null value)", "log.cleaner.delete.retention.ms",
              at_least=0),
    ConfigKey("min.compaction.lag.ms", "int", 0,
              "a record is not compacted until it is at least this old",
              "log.cleaner.min.compaction.lag.ms", at_least=0),
    ConfigKey("max.compaction.lag.ms", "int", _LONG_MAX,
              "a record stays uncompacted at most this long: its log is cleaned then, however "
              "clean the log is", "log.cleaner.max.compaction.lag.ms", at_least=1),
    ConfigKey("min.cleanable.dirty.ratio", "double", 0.5,
              "compact once this share of the log is uncompacted",
              "log.cleaner.min.cleanable.ratio", at_least=0, at_most=1),
]}

BROKER_CONFIGS: dict[str, ConfigKey] = {k.name: k for k in [
    ConfigKey("auto.create.topics.enable", "bool", True,
              "create a topic when a client first produces to or reads its metadata"),
    ConfigKey("num.partitions", "int", 1, "partitions of an auto-created topic", at_least=1),
    ConfigKey("default.replication.factor", "int", 1,
              "replication factor of an auto-created topic", at_least=1),
    ConfigKey("log.retention.check.interval.ms", "int", 300_000,
              "how often retention deletes old segments", at_least=1),
    ConfigKey("log.cleaner.enable", "bool", True,
              "run the log cleaner, which compacts topics with cleanup.policy=compact"),
    ConfigKey("log.cleaner.threads", "int", 1, "log cleaner threads per broker", at_least=0),
    ConfigKey("log.cleaner.backoff.ms", "int", 15_000,
              "how long the log cleaner sleeps when no log needs cleaning", at_least=0),
    ConfigKey("log.cleaner.dedupe.buffer.size", "int", 128 * 1024 * 1024,
              "memory of the cleaner's key -> offset map, over all cleaner threads (24 bytes "
              "an entry)", at_least=0),
    ConfigKey("log.cleaner.io.buffer.load.factor", "double", 0.9,
              "how full the cleaner's key -> offset map may get", at_least=0, at_most=1),
    ConfigKey("log.dirs", "string", "memory://",
              "where brokers keep their logs, as a storage URL (memory://: in the kernel)"),
    ConfigKey("replica.lag.time.max.ms", "int", 30_000,
              "a follower further behind than this leaves the ISR", at_least=0),
    ConfigKey("replica.fetch.wait.max.ms", "int", 500,
              "how long a follower fetch waits for data", at_least=0),
    ConfigKey("delete.topic.enable", "bool", True, "may topics be deleted"),
    ConfigKey("auto.leader.rebalance.enable", "bool", True,
              "move leadership back to preferred replicas when they are in sync again"),
    ConfigKey("leader.imbalance.check.interval.seconds", "int", 300,
              "how often preferred leaders are checked", at_least=1),
    ConfigKey("group.initial.rebalance.delay.ms", "int", 3000,
              "how long the first rebalance of an empty group waits for more members", at_least=0),
    ConfigKey("group.min.session.timeout.ms", "int", 6000,
              "the smallest session.timeout.ms a consumer may ask for", at_least=0),
    ConfigKey("group.max.session.timeout.ms", "int", 1_800_000,
              "the largest session.timeout.ms a consumer may ask for", at_least=0),
    ConfigKey("offsets.topic.num.partitions", "int", 50,
              "partitions of __consumer_offsets", at_least=1),
    ConfigKey("offsets.topic.replication.factor", "int", 3,
              "replication factor of __consumer_offsets (at most the broker count here)",
              at_least=1),
    ConfigKey("offsets.retention.minutes", "int", 10080,
              "committed offsets of a group that has been empty this long are deleted",
              at_least=1),
    ConfigKey("offsets.retention.check.interval.ms", "int", 600_000,
              "how often expired offsets are looked for", at_least=1),
    ConfigKey("offset.metadata.max.bytes", "int", 4096,
              "the largest metadata string a commit may carry", at_least=0),
    ConfigKey("transaction.state.log.num.partitions", "int", 50,
              "partitions of __transaction_state", at_least=1),
    ConfigKey("transaction.state.log.replication.factor", "int", 3,
              "replication factor of __transaction_state (at most the broker count here)",
              at_least=1),
    ConfigKey("transaction.state.log.min.isr", "int", 2,
              "min.insync.replicas of __transaction_state (at most its replication factor "
              "here)", at_least=1),
    ConfigKey("transaction.max.timeout.ms", "int", 900_000,
              "the largest transaction.timeout.ms a producer may ask for", at_least=1),
    ConfigKey("transaction.abort.timed.out.transaction.cleanup.interval.ms", "int", 10_000,
              "how often coordinators abort transactions open past their timeout", at_least=1),
    ConfigKey("transactional.id.expiration.ms", "int", 604_800_000,
              "a transactional id unused this long is forgotten", at_least=1),
    ConfigKey("transaction.remove.expired.transaction.cleanup.interval.ms", "int", 3_600_000,
              "how often expired transactional ids are looked for", at_least=1),
    ConfigKey("socket.request.max.bytes", "int", 104_857_600,
              "the largest request frame the wire server reads; a bigger one closes the "
              "connection", at_least=1),
    ConfigKey("max.connections", "int", 2_147_483_647,
              "connections the wire server accepts per listener; more are closed at once",
              at_least=0),
    ConfigKey("queued.max.requests", "int", 500,
              "requests the wire server holds read but not yet answered, over all connections; "
              "past it, it stops reading until answers go out", at_least=1),
]} | {k.broker_name: ConfigKey(k.broker_name, k.type, k.default, k.doc, None, k.at_least,
                                k.at_most, k.choices)
       for k in TOPIC_CONFIGS.values() if k.broker_name}


def parse_configs(keys: Mapping[str, ConfigKey], values: Mapping[str, Any] | None,
                  what: str) -> dict[str, Any]:
    """Validate a whole mapping at once; nothing is applied unless every entry is legal."""
    parsed = {}
    for name, value in (values or {}).items():
        key = keys.get(name)
        if key is None:
            raise InvalidConfigurationError(
                f"Unknown {what} config {name!r}. Known: {', '.join(sorted(keys))}")
        parsed[name] = key.parse(value)
    return parsed


class BrokerConfig:
    """The cluster-wide broker settings (one set for all brokers of a lab cluster)."""

    def __init__(self, overrides: Mapping[str, Any] | None = None):
        self.overrides = parse_configs(BROKER_CONFIGS, overrides, "broker")

    def __getitem__(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        return BROKER_CONFIGS[name].default


class TopicConfig:
    """A topic's effective configuration: its overrides over the broker's defaults.

    ``config["retention.ms"]`` gives the effective value; ``overrides`` only what was set on
    the topic. Invariants: overrides hold only validated, typed values; the effective values
    (read on every append, so kept in one dict) are recomputed whenever ``overrides`` is set.
    """

    def __init__(self, broker: BrokerConfig, overrides: Mapping[str, Any] | None = None):
        self.broker = broker
        self.overrides = parse_configs(TOPIC_CONFIGS, overrides, "topic")

    @property
    def overrides(self) -> dict[str, Any]:
        return self._overrides

    @overrides.setter
    def overrides(self, values: dict[str, Any]) -> None:
        self._overrides = values
        self._effective = {name: values[name] if name in values else
                           self.broker[key.broker_name] if key.broker_name else key.default
                           for name, key in TOPIC_CONFIGS.items()}

    def __getitem__(self, name: str) -> Any:
        return self._effective[name]

    def source(self, name: str) -> str:
        """Where the effective value comes from, in Kafka's words."""
        if name in self.overrides:
            return "DYNAMIC_TOPIC_CONFIG"
        key = TOPIC_CONFIGS[name]
        if key.broker_name and key.broker_name in self.broker.overrides:
            return "STATIC_BROKER_CONFIG"
        return "DEFAULT_CONFIG"

    def alter(self, set_values: Mapping[str, Any] | None = None,
              delete: Iterable[str] = ()) -> dict[str, tuple[Any, Any]]:
        """Apply changes atomically; returns {name: (old effective, new effective)}."""
        parsed = parse_configs(TOPIC_CONFIGS, set_values, "topic")
        for name in delete:
            if name not in TOPIC_CONFIGS:
                raise InvalidConfigurationError(f"Unknown topic config {name!r}")
        new = {k: v for k, v in self.overrides.items() if k not in set(delete)} | parsed
        before = {name: self[name] for name in TOPIC_CONFIGS}
        self.overrides = new
        return {name: (before[name], self[name]) for name in TOPIC_CONFIGS
                if before[name] != self[name]}

    def as_dict(self) -> dict[str, Any]:
        return {name: self[name] for name in TOPIC_CONFIGS}


def kafka_string(value: Any) -> str:
    """A config value as Kafka prints it (``describe_configs``, ``kafka-configs``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def validate_topic_name(name: Any) -> str:
    """Kafka's ``Topic.validate``: raise InvalidTopicError with the reason, or return the name."""
    if not isinstance(name, str):
        raise InvalidTopicError(f"Topic name must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidTopicError("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopicError(f"Topic name cannot be \"{name}\"")
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopicError(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, "
            f"topic name: {name[:30]}... ({len(name)} characters)")
    if not _LEGAL_TOPIC_CHARS.fullmatch(name):
        bad = sorted({c for c in name if not _LEGAL_TOPIC_CHARS.fullmatch(c)})
        raise InvalidTopicError(
            f"Topic name \"{name}\" is illegal, it contains a character other than ASCII "
            f"alphanumerics, '.', '_' and '-' (found: {' '.join(repr(c) for c in bad)})")
    return name


def collision_key(name: str) -> str:
    """Kafka forbids topics that differ only by '.' vs '_' (their metric names would collide)."""
    return name.replace(".", "_")
