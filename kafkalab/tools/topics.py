"""``kafka-topics``: Kafka's TopicCommand — create, list, describe, alter and delete topics.

Options, checks, messages and output as Kafka 3.5's (Confluent Platform 7.5, the lesson's
image): ``Created topic orders.``; ``--describe`` prints per topic
``Topic: orders\\tTopicId: ...\\tPartitionCount: 3\\tReplicationFactor: 1\\tConfigs: ...`` and per
partition ``\\tTopic: orders\\tPartition: 0\\tLeader: 1\\tReplicas: 1\\tIsr: 1``; a failure prints
``Error while executing topic command : <reason>`` to stdout and exits 1.

Differs from Kafka: ``TopicId`` is printed only when the broker reports one (Kafka omits it for
the zero id too) — kafkalab's in-kernel brokers have no topic ids, so the magics leave it out;
the ``Configs`` of ``--describe`` are sorted by name (Kafka prints them in hash order).
"""
from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass
from typing import Any, TextIO

from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError

from .common import Console, client_configs, client_module, error_message, run_tool
from .options import (
    Option,
    OptionError,
    OptionParser,
    ParsedOptions,
    UsageError,
    check_invalid,
    check_required,
    load_properties,
)

HELP = "This tool helps to create, delete, describe, or change a topic."
NO_ARGUMENTS = "Create, delete, describe, or change a topic."
CONFIGS_HINT = " (To alter topic configurations, the kafka-configs tool can be used.)"
INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state")
MAX_REPLICATION_FACTOR = 32767  # Short.MAX_VALUE


@dataclass
class TopicOptions:
    """TopicCommandOptions: the parser and each of its options."""

    parser: OptionParser
    bootstrap_server: Option
    command_config: Option
    list: Option
    create: Option
    delete: Option
    alter: Option
    describe: Option
    topic: Option
    config: Option
    partitions: Option
    replication_factor: Option
    replica_assignment: Option
    under_replicated: Option
    unavailable: Option
    under_min_isr: Option
    at_min_isr: Option
    with_overrides: Option
    if_exists: Option
    if_not_exists: Option
    exclude_internal: Option

    @classmethod
    def declare(cls) -> "TopicOptions":
        p = OptionParser()
        return cls(
            p,
            p.accepts("bootstrap-server", "REQUIRED: The Kafka server to connect to.",
                      arg="required", metavar="server to connect to"),
            p.accepts("command-config", "Property file containing configs to be passed to "
                      "Admin Client.", arg="required", metavar="command config property file"),
            p.accepts("list", "List all available topics."),
            p.accepts("create", "Create a new topic."),
            p.accepts("delete", "Delete a topic."),
            p.accepts("alter", "Alter the number of partitions and replica assignment."
                      + CONFIGS_HINT),
            p.accepts("describe", "List details for the given topics."),
            p.accepts("topic", "The topic to create, alter, describe or delete. It also accepts "
                      "a regular expression, except for --create option. Put topic name in "
                      "double quotes and use the '\\' prefix to escape regular expression "
                      "symbols; e.g. \"test\\.topic\".", arg="required", metavar="topic"),
            p.accepts("config", "A topic configuration override for the topic being created. "
                      "See the Kafka documentation for full details on the topic configs. It is "
                      "supported only in combination with --create." + CONFIGS_HINT,
                      arg="required", metavar="name=value"),
            p.accepts("partitions", "The number of partitions for the topic being created or "
                      "altered. If not supplied with --create, the topic uses the cluster "
                      "default. (WARNING: If partitions are increased for a topic that has a "
                      "key, the partition logic or ordering of the messages will be affected).",
                      arg="required", metavar="# of partitions", type=int),
            p.accepts("replication-factor", "The replication factor for each partition in the "
                      "topic being created. If not supplied, the topic uses the cluster default.",
                      arg="required", metavar="replication factor", type=int),
            p.accepts("replica-assignment", "A list of manual partition-to-broker assignments "
                      "for the topic being created or altered.", arg="required",
                      metavar="broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
                              "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ..."),
            p.accepts("under-replicated-partitions", "If set when describing topics, only show "
                      "under-replicated partitions."),
            p.accepts("unavailable-partitions", "If set when describing topics, only show "
                      "partitions whose leader is not available."),
            p.accepts("under-min-isr-partitions", "If set when describing topics, only show "
                      "partitions whose isr count is less than the configured minimum."),
            p.accepts("at-min-isr-partitions", "If set when describing topics, only show "
                      "partitions whose isr count is equal to the configured minimum."),
            p.accepts("topics-with-overrides", "If set when describing topics, only show topics "
                      "that have overridden configs."),
            p.accepts("if-exists", "If set when altering or deleting or describing topics, the "
                      "action will only execute if the topic exists."),
            p.accepts("if-not-exists", "If set when creating topics, the action will only "
                      "execute if the topic does not already exist."),
            p.accepts("exclude-internal", "Exclude internal topics when listing or describing "
                      "topics. By default, the internal topics are included."),
        )

    @property
    def actions(self) -> list[Option]:
        return [self.alter, self.create, self.describe, self.list, self.delete]

    @property
    def reports(self) -> list[Option]:
        return [self.under_replicated, self.under_min_isr, self.at_min_isr, self.unavailable]

    def check(self, parsed: ParsedOptions) -> None:
        """TopicCommandOptions.checkArgs."""
        if sum(parsed.has(a) for a in self.actions) != 1:
            raise UsageError("Command must include exactly one action: --list, --describe, "
                             "--create, --alter or --delete")
        if not parsed.has(self.bootstrap_server):
            raise OptionError("--bootstrap-server must be specified")
        if parsed.has(self.describe) and parsed.has(self.if_exists) \
                and not parsed.has(self.topic):
            raise UsageError("--topic or --topic-id is required to describe a topic")
        if not parsed.has(self.list) and not parsed.has(self.describe):
            check_required(parsed, self.topic)
        if parsed.has(self.alter):
            if parsed.has(self.config):
                raise UsageError(f'Option combination "[{self.bootstrap_server.name}, '
                                 f'{self.config.name}]" can\'t be used with option '
                                 f'"{self.alter}"{CONFIGS_HINT}')
            check_required(parsed, self.partitions)

        def others(*allowed: Option, extra: tuple[Option, ...] = ()) -> list[Option]:
            return [a for a in self.actions if a not in allowed] + list(extra)

        check_invalid(parsed, self.config, others(self.alter, self.create))
        check_invalid(parsed, self.partitions, others(self.alter, self.create))
        check_invalid(parsed, self.replication_factor, others(self.create))
        check_invalid(parsed, self.replica_assignment, others(self.alter, self.create))
        if parsed.has(self.create):
            check_invalid(parsed, self.replica_assignment,
                          [self.partitions, self.replication_factor])
        for report in self.reports:
            check_invalid(parsed, report, others(self.describe, extra=(self.with_overrides,)))
        check_invalid(parsed, self.with_overrides, others(self.describe, extra=tuple(
            self.reports)))
        check_invalid(parsed, self.if_exists, others(self.alter, self.delete, self.describe))
        check_invalid(parsed, self.if_not_exists, others(self.create))
        check_invalid(parsed, self.exclude_internal, others(self.list, self.describe))


def parse_replica_assignment(text: str) -> dict[int, list[int]]:
    """``1:2,2:3`` -> ``{0: [1, 2], 1: [2, 3]}`` (TopicCommand.parseReplicaAssignment)."""
    out: dict[int, list[int]] = {}
    for partition, brokers in enumerate(text.split(",")):
        try:
            ids = [int(b.strip()) for b in brokers.split(":") if b.strip()]
        except ValueError:
            raise OptionError(f"For input string: \"{brokers.strip()}\"") from None
        if len(set(ids)) != len(ids):
            raise OptionError(f"Partition replica lists may not contain duplicate entries: "
                              f"{','.join(str(i) for i in ids)}")
        out[partition] = ids
        if len(ids) != len(out[0]):
            raise OptionError(f"Partition {partition} has different replication factor: {ids}")
    return out


def parse_configs(pairs: list[str]) -> dict[str, str]:
    """``--config k=v`` (repeatable) as TopicCommand reads them."""
    configs = {}
    for pair in pairs:
        parts = re.split(r"\s*=\s*", pair)
        if len(parts) != 2:
            raise OptionError('requirement failed: Invalid topic config: all configs to be added '
                              'must be in the format "key=val".')
        configs[parts[0].strip()] = parts[1].strip()
    return configs


def topic_id_text(topic_id: Any) -> str | None:
    """A topic id as Kafka prints ``Uuid``: URL-safe base64 of its 16 bytes, unpadded; None for
    a missing or zero id."""
    if not topic_id:
        return None
    value = topic_id if isinstance(topic_id, uuid.UUID) else uuid.UUID(str(topic_id))
    if value.int == 0:
        return None
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


class TopicService:
    """TopicCommand.TopicService over one admin client. Invariant: prints only what Kafka
    prints; raises the admin client's errors (the caller reports them)."""

    def __init__(self, admin: Any, options: TopicOptions, parsed: ParsedOptions,
                 console: Console):
        self.admin, self.o, self.parsed, self.console = admin, options, parsed, console

    def topics(self) -> list[str]:
        """The topics ``--topic`` (a regular expression, commas for alternatives) names —
        all when absent — sorted, without internal ones under ``--exclude-internal``."""
        exclude_internal = self.parsed.has(self.o.exclude_internal)
        names = sorted(self.admin.list_topics())
        pattern = self.parsed.value(self.o.topic)
        if pattern is not None:
            regex = re.compile(pattern.strip().replace(",", "|").strip("\"'"))
            names = [n for n in names if regex.fullmatch(n)]
        return [n for n in names if not (exclude_internal and n in INTERNAL_TOPICS)]

    def ensure_exists(self, found: list[str]) -> None:
        topic = self.parsed.value(self.o.topic)
        if topic and not self.parsed.has(self.o.if_exists) and not found:
            raise OptionError(f"Topic '{topic}' does not exist as expected")

    def create(self) -> None:
        name = self.parsed.value(self.o.topic)
        partitions = self.parsed.value(self.o.partitions)
        replication_factor = self.parsed.value(self.o.replication_factor)
        assignment_text = self.parsed.value(self.o.replica_assignment)
        assignment = parse_replica_assignment(assignment_text) if assignment_text else {}
        configs = parse_configs(self.parsed.values(self.o.config))
        if "." in name or "_" in name:
            self.console.print("WARNING: Due to limitations in metric names, topics with a period "
                               "('.') or underscore ('_') could collide. To avoid issues it is "
                               "best to use either, but not both.")
        if replication_factor is not None and not 1 <= replication_factor \
                <= MAX_REPLICATION_FACTOR:
            raise OptionError(f"The replication factor must be between 1 and "
                              f"{MAX_REPLICATION_FACTOR} inclusive")
        if partitions is not None and partitions < 1:
            raise OptionError("The partitions must be greater than 0")
        spec: dict[str, Any] = {"configs": configs}
        if assignment:
            spec["assignments"] = assignment
        else:
            spec["num_partitions"] = -1 if partitions is None else partitions
            spec["replication_factor"] = -1 if replication_factor is None else replication_factor
        try:
            self.admin.create_topics({name: spec})
        except TopicAlreadyExistsError:
            if not self.parsed.has(self.o.if_not_exists):
                raise
            return
        self.console.print(f"Created topic {name}.")

    def list(self) -> None:
        self.console.print("\n".join(self.topics()))

    def alter(self) -> None:
        topics = self.topics()
        self.ensure_exists(topics)
        if not topics:
            return
        count = self.parsed.value(self.o.partitions)
        assignment_text = self.parsed.value(self.o.replica_assignment)
        specs: dict[str, Any] = {}
        for described in self.admin.describe_topics(topics):
            if assignment_text:
                assignment = parse_replica_assignment(assignment_text)
                start = len(described["partitions"])
                specs[described["name"]] = {"count": count, "assignments": [
                    brokers for p, brokers in sorted(assignment.items()) if p >= start]}
            else:
                specs[described["name"]] = count
        self.admin.create_partitions(specs)

    def delete(self) -> None:
        topics = self.topics()
        self.ensure_exists(topics)
        if topics:
            self.admin.delete_topics(topics)

    def describe(self) -> None:
        topics = self.topics()
        self.ensure_exists(topics)
        if not topics:
            return
        described = sorted(self.admin.describe_topics(topics), key=lambda t: t["name"])
        configs = self.admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics],
            config_filter="all").get("topic", {})
        live = {b.get("broker_id", b.get("node_id"))
                for b in self.admin.describe_cluster()["brokers"] if not b.get("is_fenced")}
        p = self.parsed
        report_configs = not any(p.has(r) for r in self.o.reports)
        report_partitions = not p.has(self.o.with_overrides)
        for topic in described:
            name = topic["name"]
            overrides = {k: c["value"] for k, c in sorted(configs.get(name, {}).items())
                         if c["config_source"] != "DEFAULT_CONFIG"}
            min_isr = int(configs.get(name, {}).get("min.insync.replicas", {}).get("value") or 1)
            partitions = sorted(topic["partitions"], key=lambda q: q["partition_index"])
            if report_configs and (not p.has(self.o.with_overrides) or overrides):
                line = f"Topic: {name}"
                topic_id = topic_id_text(topic.get("topic_id"))
                if topic_id:
                    line += f"\tTopicId: {topic_id}"
                line += (f"\tPartitionCount: {len(partitions)}"
                         f"\tReplicationFactor: {len(partitions[0]['replica_nodes'])}"
                         f"\tConfigs: {','.join(f'{k}={v}' for k, v in overrides.items())}")
                self.console.print(line)
            if not report_partitions:
                continue
            for partition in partitions:
                if report_configs or self._reported(partition, live, min_isr):
                    self.console.print(self._partition_line(name, partition))

    def _reported(self, partition: dict, live: set[int], min_isr: int) -> bool:
        p, o = self.parsed, self.o
        leader = partition["leader_id"]
        isr, replicas = partition["isr_nodes"], partition["replica_nodes"]
        return (p.has(o.under_replicated) and len(replicas) > len(isr)
                or p.has(o.unavailable) and (leader < 0 or leader not in live)
                or p.has(o.under_min_isr) and (leader < 0 or len(isr) < min_isr)
                or p.has(o.at_min_isr) and len(isr) == min_isr)

    @staticmethod
    def _partition_line(name: str, partition: dict) -> str:
        leader = partition["leader_id"]
        return (f"\tTopic: {name}\tPartition: {partition['partition_index']}"
                f"\tLeader: {leader if leader >= 0 else 'none'}"
                f"\tReplicas: {','.join(str(r) for r in partition['replica_nodes'])}"
                f"\tIsr: {','.join(str(r) for r in partition['isr_nodes'])}")


def main(argv: list[str] | None = None, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run ``kafka-topics`` with ``argv``; the exit code (0 done, 1 refused or failed)."""
    options = TopicOptions.declare()

    def body(parsed: ParsedOptions, console: Console) -> int:
        try:
            options.check(parsed)
        except OptionError as error:  # thrown before the admin client exists: stderr
            console.error(error)
            return 1
        configs = {}
        if parsed.has(options.command_config):
            configs = client_configs(load_properties(parsed.value(options.command_config)))
        action = next(a for a in options.actions if parsed.has(a))
        admin = None
        try:
            admin = client_module(client).KafkaAdminClient(
                bootstrap_servers=parsed.value(options.bootstrap_server), **configs)
            getattr(TopicService(admin, options, parsed, console), action.name)()
        except Exception as error:  # Kafka: any failure of the command
            console.print(f"Error while executing topic command : {error_message(error)}")
            return 1
        finally:
            if admin is not None:
                admin.close()
        return 0

    return run_tool(options.parser, argv, out, err, HELP, body, NO_ARGUMENTS)
