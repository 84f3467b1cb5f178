"""``kafka-configs``: Kafka's ConfigCommand for topics and brokers — ``--describe`` and
``--alter --add-config k=v[,k=v] --delete-config k[,k]``.

Checks, messages and output as Kafka 3.5's (Confluent Platform 7.5, the lesson's image):
``Completed updating config for topic orders.``; ``--describe`` prints ``Dynamic configs for
topic orders are:`` (``All configs`` with ``--all``) and one ``  name=value sensitive=false
synonyms={SOURCE:name=value, ...}`` line per config. Bad options are reported on stderr with
exit code 1; a refused change prints ``Error while executing config command with args '...'``
and the error, as Kafka prints its stack trace.

Kafka 3.5 also reaches ZooKeeper (``--zookeeper``), which is why a command without
``--bootstrap-server`` — as the lesson prints two of them — is refused with ``One of the required
--bootstrap-server or --zookeeper arguments must be specified``. Differs from Kafka: only the
``topics`` and ``brokers`` entity types are served (users, clients, ips and broker-loggers are
refused with a message saying so), and a broker's configs only by its id: the cluster-wide
broker defaults (``--entity-default``) cannot be addressed through kafka-python's admin client,
so ``--describe`` of all brokers lists each broker without Kafka's ``Default configs for
brokers in the cluster`` section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TextIO

import kafka.errors
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType

from .common import Console, client_configs, client_module, error_message, run_tool
from .options import (
    Option,
    OptionError,
    OptionParser,
    ParsedOptions,
    UsageError,
    check_invalid,
    load_properties,
)

HELP = ("This tool helps to manipulate and describe entity config for a topic, client, user, "
        "broker or ip")
#: ConfigCommand.BrokerSupportedConfigTypes (Kafka 3.5)
KAFKA_ENTITY_TYPES = ("topics", "brokers", "broker-loggers", "users", "clients", "ips")
SERVED_ENTITY_TYPES = ("topics", "brokers")
DYNAMIC_SOURCE = {"topics": "DYNAMIC_TOPIC_CONFIG", "brokers": "DYNAMIC_BROKER_CONFIG"}


class InvalidConfigurationError(OptionError):
    """Kafka's InvalidConfigurationException thrown by the command itself (stderr, exit 1)."""


@dataclass
class ConfigOptions:
    """ConfigCommandOptions (the options for topics and brokers)."""

    parser: OptionParser
    bootstrap_server: Option
    command_config: Option
    alter: Option
    describe: Option
    all: Option
    entity_type: Option
    entity_name: Option
    entity_default: Option
    add_config: Option
    add_config_file: Option
    delete_config: Option
    force: Option
    topic: Option
    broker: Option
    broker_defaults: Option

    @classmethod
    def declare(cls) -> "ConfigOptions":
        p = OptionParser()
        return cls(
            p,
            p.accepts("bootstrap-server", "The Kafka server to connect to. This is required for "
                      "describing and altering broker configs.", arg="required",
                      metavar="server to connect to"),
            p.accepts("command-config", "Property file containing configs to be passed to Admin "
                      "Client. This is used only with --bootstrap-server option for describing "
                      "and altering broker configs.", arg="required",
                      metavar="command config property file"),
            p.accepts("alter", "Alter the configuration for the entity."),
            p.accepts("describe", "List configs for the given entity."),
            p.accepts("all", "List all configs for the given topic, broker, or broker-logger "
                      "entity (includes static configuration when the entity type is brokers)"),
            p.accepts("entity-type", "Type of entity (topics/clients/users/brokers/"
                      "broker-loggers/ips)", arg="required"),
            p.accepts("entity-name", "Name of entity (topic name/client id/user principal name/"
                      "broker id/ip)", arg="required"),
            p.accepts("entity-default", "Default entity name for clients/users/brokers/ips "
                      "(applies to corresponding entity type in command line)"),
            p.accepts("add-config", "Key Value pairs of configs to add. Square brackets can be "
                      "used to group values which contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.",
                      arg="required"),
            p.accepts("add-config-file", "Path to a properties file with configs to add. See "
                      "add-config for a list of valid configurations.", arg="required"),
            p.accepts("delete-config", "config keys to remove 'k1,k2'", arg="required"),
            p.accepts("force", "Suppress console prompts"),
            p.accepts("topic", "The topic's name.", arg="required", metavar="topic"),
            p.accepts("broker", "The broker's ID.", arg="required", metavar="broker-id"),
            p.accepts("broker-defaults", "The config defaults for all brokers."),
        )

    def entities(self, parsed: ParsedOptions) -> list[tuple[str, str]]:
        """(entity type, name) pairs; the default broker entity has the name ``""``."""
        if parsed.has(self.entity_type):
            types = parsed.values(self.entity_type)
            names = list(parsed.values(self.entity_name))
            if parsed.has(self.entity_default):
                names.append("")
        else:
            types, names = [], []
            for flag, kind in ((self.topic, "topics"), (self.broker, "brokers")):
                if parsed.has(flag):
                    types.append(kind)
                    names += parsed.values(flag)
            if parsed.has(self.broker_defaults):
                types.append("brokers")
                names.append("")
        if len(names) > len(types):
            raise OptionError("More entity names specified than entity types")
        return [(t, names[i] if i < len(names) else None) for i, t in enumerate(types)]

    def check(self, parsed: ParsedOptions) -> None:
        """ConfigCommandOptions.checkArgs (Kafka 3.5)."""
        if sum(parsed.has(a) for a in (self.alter, self.describe)) != 1:
            raise UsageError("Command must include exactly one action: --describe, --alter")
        check_invalid(parsed, self.alter, [self.describe])
        check_invalid(parsed, self.describe, [self.alter, self.add_config, self.delete_config])
        types = [t for t, _ in self.entities(parsed)]
        if len(types) != len(set(types)):
            duplicates = sorted({t for t in types if types.count(t) > 1})
            raise OptionError(f"Duplicate entity type(s) specified: {','.join(duplicates)}")
        if parsed.has(self.bootstrap_server):
            allowed, connect = KAFKA_ENTITY_TYPES, "--bootstrap-server"
        else:  # Kafka 3.5's ConfigType.all, reachable through ZooKeeper
            allowed, connect = ("topics", "clients", "users", "brokers", "ips"), "--zookeeper"
        for kind in types:
            if kind not in allowed:
                raise OptionError(f"Invalid entity type {kind}, the entity type must be one of "
                                  f"{', '.join(allowed)} with a {connect} argument")
        if not types:
            raise OptionError("At least one entity type must be specified")
        if len(types) > 1 and set(types) != {"users", "clients"}:
            raise OptionError("Only 'users' and 'clients' entity types may be specified together")
        specific = (self.topic, self.broker, self.broker_defaults)
        if any(parsed.has(o) for o in (self.entity_name, self.entity_type, self.entity_default)) \
                and any(parsed.has(o) for o in specific):
            raise OptionError("--entity-{type,name,default} should not be used in conjunction "
                              "with specific entity flags")
        if not parsed.has(self.bootstrap_server):
            raise OptionError("One of the required --bootstrap-server or --zookeeper arguments "
                              "must be specified")
        for kind in types:
            if kind not in SERVED_ENTITY_TYPES:
                raise OptionError(f"kafkalab's kafka-configs serves --entity-type "
                                  f"{' and '.join(SERVED_ENTITY_TYPES)} only, not {kind}")
        [(kind, name)] = self.entities(parsed)
        if kind == "brokers" and name == "":
            raise OptionError("kafkalab's kafka-configs cannot reach the cluster-wide broker "
                              "defaults (kafka-python sends a broker's configs to the broker "
                              "it names): name a broker with --entity-name <id>")
        if kind == "brokers" and name:
            try:
                int(name)
            except ValueError:
                raise OptionError(f"The entity name for {kind} must be a valid integer broker "
                                  f"id, but it is: {name}") from None
        if parsed.has(self.describe) and kind == "topics" and name == "":
            raise OptionError(f"--entity-default must not be specified with --describe of "
                              f"{kind}")
        if parsed.has(self.alter):
            if name is None:
                if kind == "brokers":
                    raise OptionError("An entity-name or default entity must be specified with "
                                      "--alter of users, clients, brokers or ips")
                raise OptionError(f"An entity name must be specified with --alter of {kind}")
            if parsed.has(self.add_config) and parsed.has(self.add_config_file):
                raise OptionError("Only one of --add-config or --add-config-file must be "
                                  "specified")
            if not any(parsed.has(o) for o in (self.add_config, self.add_config_file,
                                                self.delete_config)):
                raise OptionError("At least one of --add-config, --add-config-file, or "
                                  "--delete-config must be specified with --alter")


def parse_add_config(text: str) -> dict[str, str]:
    """``k1=v1,k2=[v1,v2],k3=v3`` -> ``{k1: v1, k2: "v1,v2", k3: v3}`` (ConfigCommand
    .parseConfigsToBeAdded: commas inside square brackets group a list value)."""
    pairs = [p for p in re.split(r",(?=[^\]]*(?:\[|$))", text) if p]
    configs = {}
    for pair in pairs:
        parts = re.split(r"\s*=\s*", pair, maxsplit=1)
        if len(parts) != 2:
            raise OptionError('requirement failed: Invalid entity config: all configs to be '
                              'added must be in the format "key=val".')
        configs[parts[0].strip()] = re.sub(r"^\[|\]$", "", parts[1]).strip()
    return configs


def raise_refusal(result: Any) -> None:
    """kafka-python answers a refused change with the error's text (``[Error 40]
    InvalidConfigurationError: <reason>``) instead of ``"OK"``: raise that error."""
    if result in (None, "OK"):
        return
    text = re.sub(r"^\[Error -?\d+\] ", "", str(result))
    name, _, reason = text.partition(": ")
    error_class = getattr(kafka.errors, name, None)
    if not (isinstance(error_class, type) and issubclass(error_class, Exception)):
        error_class, reason = kafka.errors.KafkaError, text
    raise error_class(reason)


class ConfigService:
    """ConfigCommand's describe and alter over one admin client; prints what Kafka prints."""

    def __init__(self, admin: Any, options: ConfigOptions, parsed: ParsedOptions,
                 console: Console):
        self.admin, self.o, self.parsed, self.console = admin, options, parsed, console

    def _resource(self, kind: str, name: str):
        resource_type = ConfigResourceType.TOPIC if kind == "topics" else \
            ConfigResourceType.BROKER
        return ConfigResource(resource_type, name)

    def configs(self, kind: str, name: str, all_configs: bool) -> list[tuple[str, dict]]:
        """getResourceConfig: the entity's configs sorted by name, only the dynamic ones
        unless ``all_configs``."""
        described = self.admin.describe_configs([self._resource(kind, name)],
                                                include_synonyms=True, config_filter="all")
        entries = next(iter(described.get("topic" if kind == "topics" else "broker", {})
                            .values()), {})
        return sorted((n, c) for n, c in entries.items()
                      if all_configs or c["config_source"] == DYNAMIC_SOURCE[kind])

    def describe(self, kind: str, name: str | None) -> None:
        all_configs = self.parsed.has(self.o.all)
        if name is not None:
            names = [name]
        elif kind == "topics":
            names = sorted(self.admin.list_topics())
        else:
            names = [str(b.get("broker_id", b.get("node_id")))
                     for b in self.admin.describe_cluster()["brokers"]]
        for entity in names:
            self.console.print(f"{'All' if all_configs else 'Dynamic'} configs for "
                               f"{kind[:-1]} {entity} are:")
            for config_name, c in self.configs(kind, entity, all_configs):
                synonyms = ", ".join(f"{s['source']}:{s['name']}={s['value']}"
                                     for s in c.get("synonyms") or [])
                value = "null" if c["value"] is None else c["value"]
                sensitive = str(bool(c.get("is_sensitive"))).lower()
                self.console.print(f"  {config_name}={value} sensitive={sensitive} "
                                   f"synonyms={{{synonyms}}}")

    def alter(self, kind: str, name: str) -> None:
        if self.parsed.has(self.o.add_config_file):
            added = load_properties(self.parsed.value(self.o.add_config_file))
        else:
            added = parse_add_config(self.parsed.value(self.o.add_config) or "")
        deleted = [k.strip() for v in self.parsed.values(self.o.delete_config)
                   for k in v.split(",") if k.strip()]
        current = dict(self.configs(kind, name, all_configs=False))
        invalid = [k for k in deleted if k not in current]
        if invalid:
            raise InvalidConfigurationError(f"Invalid config(s): {','.join(invalid)}")
        resource = self._resource(kind, name)
        resource.configs = {**added, **{k: (AlterConfigOp.DELETE, None) for k in deleted}}
        results = self.admin.alter_configs([resource], raise_on_unknown=False)
        for by_name in results.values():
            for result in by_name.values():
                raise_refusal(result)
        self.console.print(f"Completed updating config for {kind[:-1]} {name}.")


def main(argv: list[str] | None = None, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run ``kafka-configs`` with ``argv``; the exit code (0 done, 1 refused or failed)."""
    options = ConfigOptions.declare()
    words = list(argv) if argv is not None else None

    def body(parsed: ParsedOptions, console: Console) -> int:
        try:
            options.check(parsed)
            configs = {}
            if parsed.has(options.command_config):
                configs = client_configs(load_properties(parsed.value(options.command_config)))
            admin = client_module(client).KafkaAdminClient(
                bootstrap_servers=parsed.value(options.bootstrap_server), **configs)
            try:
                [(kind, name)] = options.entities(parsed)
                service = ConfigService(admin, options, parsed, console)
                if parsed.has(options.alter):
                    service.alter(kind, name)
                else:
                    service.describe(kind, name)
            finally:
                admin.close()
        except OptionError as error:  # IllegalArgumentException, InvalidConfigurationException
            console.error(error)
            return 1
        except UsageError:
            raise
        except Exception as error:
            import sys

            shown = " ".join(words if words is not None else sys.argv[1:])
            console.error(f"Error while executing config command with args '{shown}'")
            console.error(f"{type(error).__name__}: {error_message(error)}")
            return 1
        return 0

    return run_tool(options.parser, argv, out, err, HELP, body)

