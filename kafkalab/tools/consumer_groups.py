"""``kafka-consumer-groups``: Kafka's ConsumerGroupCommand — list, describe (offsets and lag,
members, state), reset offsets and delete consumer groups.

Checks, messages and tables as Kafka 3.5's: ``--describe`` prints the lesson's
``GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID`` table
(``-`` where there is no value, LAG = LOG-END-OFFSET - CURRENT-OFFSET), and ``Consumer group 'x'
has no active members.`` on stderr for an empty group; ``--reset-offsets`` prints its plan
(``GROUP TOPIC PARTITION NEW-OFFSET``) and changes nothing without ``--execute``.
As in Kafka, a failure while running is printed as ``Error: ...`` on stdout and the exit code
stays 0; bad options exit 1.

Differs from Kafka: rows are in partition order (Kafka prints them in hash-map order);
``--delete-offsets``, ``--from-file``, ``--export`` and ``--by-duration`` are not offered; the
coordinator ``--state`` shows is the leader of the group's ``__consumer_offsets`` partition,
found as the broker finds it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TextIO

from kafka.admin import OffsetSpec, OffsetTimestamp
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata, TopicPartition

from ..coordinator.offsets_topic import partition_for
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

HELP = ("This tool helps to list all consumer groups, describe a consumer group, delete consumer "
        "group info, or reset consumer group offsets.")
MISSING = "-"
REBALANCING = ("PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling")


@dataclass
class GroupOptions:
    """ConsumerGroupCommandOptions."""

    parser: OptionParser
    bootstrap_server: Option
    group: Option
    topic: Option
    all_topics: Option
    list: Option
    describe: Option
    all_groups: Option
    delete: Option
    timeout: Option
    command_config: Option
    reset_offsets: Option
    dry_run: Option
    execute: Option
    to_offset: Option
    to_datetime: Option
    to_earliest: Option
    to_latest: Option
    to_current: Option
    shift_by: Option
    members: Option
    verbose: Option
    offsets: Option
    state: Option

    @classmethod
    def declare(cls) -> "GroupOptions":
        p = OptionParser()
        return cls(
            p,
            p.accepts("bootstrap-server", "REQUIRED: The server(s) to connect to.",
                      arg="required", metavar="server to connect to"),
            p.accepts("group", "The consumer group we wish to act on.", arg="required",
                      metavar="consumer group"),
            p.accepts("topic", "The topic whose consumer group information should be deleted or "
                      "topic whose should be included in the reset offset process. In "
                      "`reset-offsets` case, partitions can be specified using this format: "
                      "`topic1:0,1,2`, where 0,1,2 are the partition to be included in the "
                      "process. Reset-offsets also supports multiple topic inputs.",
                      arg="required", metavar="topic"),
            p.accepts("all-topics", "Consider all topics assigned to a group in the "
                      "`reset-offsets` process."),
            p.accepts("list", "List all consumer groups."),
            p.accepts("describe", "Describe consumer group and list offset lag (number of "
                      "messages not yet processed) related to given group."),
            p.accepts("all-groups", "Apply to all consumer groups."),
            p.accepts("delete", "Pass in groups to delete topic partition offsets and ownership "
                      "information over the entire consumer group. For instance --group g1 "
                      "--group g2"),
            p.accepts("timeout", "The timeout that can be set for some use cases. For example, "
                      "it can be used when describing the group to specify the maximum amount of "
                      "time in milliseconds to wait before the group stabilizes (when the group "
                      "is just created, or is going through some changes).", arg="required",
                      metavar="timeout (ms)", type=int, default=5000, type_name="Long"),
            p.accepts("command-config", "Property file containing configs to be passed to Admin "
                      "Client and Consumer.", arg="required",
                      metavar="command config property file"),
            p.accepts("reset-offsets", "Reset offsets of consumer group. Supports one consumer "
                      "group at the time, and instances should be inactive\nHas 2 execution "
                      "options: --dry-run (the default) to plan which offsets to reset, and "
                      "--execute to update the offsets.\nYou must choose one of the following "
                      "reset specifications: --to-datetime, --to-earliest, --to-latest, "
                      "--shift-by, --to-current, --to-offset.\nTo define the scope use "
                      "--all-topics or --topic."),
            p.accepts("dry-run", "Only show results without executing changes on Consumer "
                      "Groups. Supported operations: reset-offsets."),
            p.accepts("execute", "Execute operation. Supported operations: reset-offsets."),
            p.accepts("to-offset", "Reset offsets to a specific offset.", arg="required",
                      metavar="offset", type=int, type_name="Long"),
            p.accepts("to-datetime", "Reset offsets to offset from datetime. Format: "
                      "'YYYY-MM-DDTHH:mm:SS.sss'", arg="required", metavar="datetime"),
            p.accepts("to-earliest", "Reset offsets to earliest offset."),
            p.accepts("to-latest", "Reset offsets to latest offset."),
            p.accepts("to-current", "Reset offsets to current offset."),
            p.accepts("shift-by", "Reset offsets shifting current offset by 'n', where 'n' can "
                      "be positive or negative.", arg="required", metavar="number-of-offsets",
                      type=int, type_name="Long"),
            p.accepts("members", "Describe members of the group. This option may be used with "
                      "'--describe' and '--bootstrap-server' options only.\nExample: "
                      "--bootstrap-server localhost:9092 --describe --group group1 --members"),
            p.accepts("verbose", "Provide additional information, if any, when describing the "
                      "group. This option may be used with '--offsets'/'--members'/'--state' and "
                      "'--bootstrap-server' options only.\nExample: --bootstrap-server "
                      "localhost:9092 --describe --group group1 --members --verbose"),
            p.accepts("offsets", "Describe the group and list all topic partitions in the group "
                      "along with their offset lag. This is the default sub-action of and may be "
                      "used with '--describe' and '--bootstrap-server' options only.\nExample: "
                      "--bootstrap-server localhost:9092 --describe --group group1 --offsets"),
            p.accepts("state", "When specified with '--describe', includes the state of the "
                      "group.\nExample: --bootstrap-server localhost:9092 --describe --group "
                      "group1 --state\nWhen specified with '--list', it displays the state of "
                      "all groups. It can also be used to list groups with specific states.\n"
                      "Example: --bootstrap-server localhost:9092 --list --state stable,empty\n"
                      "This option may be used with '--describe', '--list' and "
                      "'--bootstrap-server' options only.", arg="optional"),
        )

    @property
    def scenarios(self) -> list[Option]:
        return [self.to_offset, self.shift_by, self.to_datetime, self.to_earliest,
                self.to_latest, self.to_current]

    def check(self, parsed: ParsedOptions) -> None:
        """ConsumerGroupCommand's checks (main and checkArgs)."""
        actions = [self.list, self.describe, self.delete, self.reset_offsets]
        if sum(parsed.has(a) for a in actions) != 1:
            raise UsageError("Command must include exactly one action: --list, --describe, "
                             "--delete, --reset-offsets, --delete-offsets")
        check_required(parsed, self.bootstrap_server)
        scope = f"{self.group}, {self.all_groups}"
        for sub, allowed in ((self.members, [self.describe]), (self.offsets, [self.describe]),
                             (self.verbose, [self.describe]),
                             (self.state, [self.describe, self.list])):
            if parsed.has(sub) and not any(parsed.has(a) for a in allowed):
                raise UsageError(f"Option(s) {sub} are unavailable given other options on the "
                                 f"command line")  # jopt-simple's availableIf
        if parsed.has(self.describe):
            if not parsed.has(self.group) and not parsed.has(self.all_groups):
                raise UsageError(f"Option {self.describe} takes one of these options: {scope}")
            exclusive = [self.members, self.offsets, self.state]
            if sum(parsed.has(o) for o in exclusive) > 1:
                raise UsageError(f"Option {self.describe} takes at most one of these options: "
                                 + ", ".join(map(str, exclusive)))
            if parsed.has(self.state) and parsed.value(self.state) is not None:
                raise UsageError(f"Option {self.describe} does not take a value for "
                                 f"{self.state}")
        if parsed.has(self.delete):
            if not parsed.has(self.group) and not parsed.has(self.all_groups):
                raise UsageError(f"Option {self.delete} takes one of these options: {scope}")
            if parsed.has(self.topic):
                raise UsageError("The consumer does not support topic-specific offset deletion "
                                 "from a consumer group.")
        if parsed.has(self.reset_offsets):
            if parsed.has(self.dry_run) and parsed.has(self.execute):
                raise UsageError(f"Option {self.reset_offsets} only accepts one of "
                                 f"{self.execute} and {self.dry_run}")
            if not parsed.has(self.group) and not parsed.has(self.all_groups):
                raise UsageError(f"Option {self.reset_offsets} takes one of these options: "
                                 f"{scope}")
            for scenario in self.scenarios:
                check_invalid(parsed, scenario, [s for s in self.scenarios if s is not scenario])
        check_invalid(parsed, self.group, [self.all_groups])
        check_invalid(parsed, self.group, [self.list])
        check_invalid(parsed, self.topic, [self.list, self.describe])


@dataclass
class Row:
    """One row of the offsets table (PartitionAssignmentState); None prints as ``-``."""

    group: str
    topic: str | None
    partition: int | None
    offset: int | None
    log_end_offset: int | None
    consumer_id: str
    host: str
    client_id: str

    @property
    def lag(self) -> int | None:
        if self.offset is None or self.offset == -1 or self.log_end_offset is None:
            return None
        return self.log_end_offset - self.offset


def _text(value: Any) -> str:
    return MISSING if value is None else str(value)


def assigned_partitions(member: dict) -> list:
    """A member's assigned partitions from kafka-python's ``describe_groups``: the decoded
    ConsumerProtocolAssignment (kafkalab), or its dict form (kafka-python's ``to_dict``)."""
    assignment = member.get("member_assignment")
    if not assignment:
        return []
    if isinstance(assignment, dict):
        return [TopicPartition(t["topic"], p) for t in assignment.get("assigned_partitions") or []
                for p in t["partitions"]]
    return list(assignment.partitions())


def parse_datetime(text: str) -> int:
    """Kafka's ``Utils.getDateTime``: ``YYYY-MM-DDTHH:mm:SS[.sss][zone]`` -> epoch ms; a time
    without a zone is local time."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise OptionError(f"Unparseable date: \"{text}\" (expected "
                          f"'YYYY-MM-DDTHH:mm:SS.sss', optionally with a zone like Z or "
                          f"+01:00)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


class GroupService:
    """ConsumerGroupCommand.ConsumerGroupService over one admin client."""

    def __init__(self, admin: Any, options: GroupOptions, parsed: ParsedOptions,
                 console: Console):
        self.admin, self.o, self.parsed, self.console = admin, options, parsed, console

    # --- reading the cluster --------------------------------------------------------------------
    def group_ids(self) -> list[str]:
        if self.parsed.has(self.o.all_groups):
            return self.consumer_groups()
        return self.parsed.values(self.o.group)

    def consumer_groups(self) -> list[str]:
        return sorted(g["group_id"] for g in self.admin.list_groups()
                      if g.get("protocol_type") in ("consumer", ""))

    def describe_group(self, group: str) -> dict:
        return self.admin.describe_groups([group])[group]

    def committed(self, group: str) -> dict:
        return self.admin.list_group_offsets({group: None})[group]

    def log_offsets(self, partitions, spec) -> dict:
        """{tp: offset} from ListOffsets (``spec``: an OffsetSpec or OffsetTimestamp)."""
        if not partitions:
            return {}
        found = self.admin.list_partition_offsets({tp: spec for tp in partitions})
        return {tp: found[tp].offset for tp in partitions if tp in found}

    # --- printing ------------------------------------------------------------------------------
    def error(self, message: str) -> None:
        self.console.print(f"\nError: {message}")

    def should_print_member_state(self, group: str, state: str, rows: int) -> bool:
        if state == "Dead":
            self.error(f"Consumer group '{group}' does not exist.")
        elif state == "Empty":
            self.console.error(f"\nConsumer group '{group}' has no active members.")
        elif state in REBALANCING:
            self.console.error(f"\nWarning: Consumer group '{group}' is rebalancing.")
        return state != "Dead" and rows > 0

    # --- actions -------------------------------------------------------------------------------
    def list(self) -> None:
        if not self.parsed.has(self.o.state):
            for group in self.consumer_groups():
                self.console.print(group)
            return
        wanted = self.parsed.value(self.o.state)
        states = {s.strip().lower() for s in wanted.split(",")} if wanted else None
        listed = sorted((g["group_id"], g.get("group_state") or "Unknown")
                        for g in self.admin.list_groups()
                        if g.get("protocol_type") in ("consumer", ""))
        listed = [(g, s) for g, s in listed if states is None or s.lower() in states]
        width = max([15] + [len(g) for g, _ in listed]) + 10
        self.console.print(f"{'GROUP':<{width}} {'STATE':<20}")
        for group, state in listed:
            self.console.print(f"{group:<{width}} {state:<20}")

    def describe(self) -> None:
        p, o = self.parsed, self.o
        for group in sorted(self.group_ids()):
            if p.has(o.members):
                self.print_members(group)
            elif p.has(o.state):
                self.print_state(group)
            else:
                self.print_offsets(group)

    def offset_rows(self, group: str, description: dict) -> list[Row]:
        committed = self.committed(group)
        members = sorted((m for m in description["members"] if assigned_partitions(m)),
                         key=lambda m: -len(assigned_partitions(m)))
        wanted = [tp for m in members for tp in assigned_partitions(m)]
        unassigned = sorted((tp for tp in committed if tp not in wanted),
                            key=lambda tp: (tp.partition, tp.topic))

        ends = self.log_offsets(wanted + unassigned, OffsetSpec.LATEST)

        def rows(partitions, member: dict | None) -> list[Row]:
            return [Row(group, tp.topic, tp.partition,
                        committed[tp].offset if tp in committed else None, ends.get(tp),
                        member["member_id"] if member else MISSING,
                        member["client_host"] if member else MISSING,
                        member["client_id"] if member else MISSING)
                    for tp in sorted(partitions, key=lambda tp: (tp.partition, tp.topic))]

        out = []
        for member in members:
            out += rows(assigned_partitions(member), member)
        return out + rows(unassigned, None)

    def print_offsets(self, group: str) -> None:
        description = self.describe_group(group)
        state = description["group_state"]
        rows = [] if state == "Dead" else self.offset_rows(group, description)
        if not self.should_print_member_state(group, state, len(rows)):
            return
        widths = [max([15] + [len(_text(getattr(r, f))) for r in rows])
                  for f in ("group", "topic", "consumer_id", "host")]
        line = (f"{{:<{widths[0]}}} {{:<{widths[1]}}} {{:<10}} {{:<15}} {{:<15}} {{:<15}} "
                f"{{:<{widths[2]}}} {{:<{widths[3]}}} {{}}")
        text = "\n" + line.format("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                  "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
        for r in rows:
            text += "\n" + line.format(r.group, _text(r.topic), _text(r.partition),
                                       _text(r.offset), _text(r.log_end_offset), _text(r.lag),
                                       r.consumer_id, r.host, r.client_id)
        self.console.print(text)

    def print_members(self, group: str) -> None:
        description = self.describe_group(group)
        state, members = description["group_state"], description["members"]
        verbose = self.parsed.has(self.o.verbose)
        widths = {"group": 15, "consumer": 15, "instance": 17, "host": 15, "client": 15}
        with_instance = False
        if self.should_print_member_state(group, state, len(members)):
            for m in members:
                widths["group"] = max(widths["group"], len(group))
                widths["consumer"] = max(widths["consumer"], len(m["member_id"]))
                widths["instance"] = max(widths["instance"], len(m.get("group_instance_id") or ""))
                widths["host"] = max(widths["host"], len(m["client_host"]))
                widths["client"] = max(widths["client"], len(m["client_id"]))
                with_instance = with_instance or bool(m.get("group_instance_id"))
        columns = ["group", "consumer"] + (["instance"] if with_instance else []) + \
            ["host", "client"]
        line = " ".join(f"{{:<{widths[c]}}}" for c in columns) + " {:<15} "
        header = ["GROUP", "CONSUMER-ID"] + (["GROUP-INSTANCE-ID"] if with_instance else []) + \
            ["HOST", "CLIENT-ID", "#PARTITIONS"]
        text = "\n" + line.format(*header) + ("ASSIGNMENT" if verbose else "")
        for m in members:
            partitions = assigned_partitions(m)
            cells = [group, m["member_id"]] + ([m.get("group_instance_id") or ""]
                                               if with_instance else []) + \
                [m["client_host"], m["client_id"], len(partitions)]
            text += "\n" + line.format(*cells)
            if verbose:
                by_topic: dict[str, list[int]] = {}
                for tp in partitions:
                    by_topic.setdefault(tp.topic, []).append(tp.partition)
                text += ", ".join(sorted(
                    f"{topic}({','.join(sorted(str(p) for p in ps))})"
                    for topic, ps in by_topic.items())) or MISSING
        self.console.print(text)

    def coordinator(self, group: str) -> str:
        """``host:port  (id)`` of the group's coordinator: the leader of the group's
        ``__consumer_offsets`` partition."""
        [offsets_topic] = self.admin.describe_topics(["__consumer_offsets"])
        partition = partition_for(group, len(offsets_topic["partitions"]))
        leader = next(p["leader_id"] for p in offsets_topic["partitions"]
                      if p["partition_index"] == partition)
        broker = next(b for b in self.admin.describe_cluster()["brokers"]
                      if b.get("broker_id", b.get("node_id")) == leader)
        return f"{broker['host']}:{broker['port']}  ({leader})"

    def print_state(self, group: str) -> None:
        description = self.describe_group(group)
        state = description["group_state"]
        if not self.should_print_member_state(group, state, 1):
            return
        coordinator = self.coordinator(group)
        width = max(25, len(coordinator))
        line = f"{{:<{width}}} {{:<25}} {{:<20}} {{:<15}} {{}}"
        self.console.print("\n" + line.format("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
                                              "STATE", "#MEMBERS")
                           + "\n" + line.format(group, coordinator,
                                                description.get("protocol_data") or "", state,
                                                len(description["members"])))

    def partitions_to_reset(self, group: str) -> list:
        if self.parsed.has(self.o.all_topics):
            return sorted(self.committed(group))
        if not self.parsed.has(self.o.topic):
            raise UsageError("One of the reset scopes should be defined: --all-topics, --topic.")
        partitions, whole = [], []
        for arg in self.parsed.values(self.o.topic):
            if ":" not in arg:
                whole.append(arg)
                continue
            topic, *rest = arg.split(":")
            if len(rest) != 1:
                raise OptionError(f"Invalid topic arg '{arg}', expected topic name and "
                                  f"partitions")
            for text in rest[0].split(","):
                try:
                    partitions.append(TopicPartition(topic, int(text)))
                except ValueError:
                    raise OptionError(f"Invalid partition '{text}' specified in topic arg "
                                      f"'{arg}''") from None
        if whole:
            for topic in self.admin.describe_topics(whole):
                partitions += [TopicPartition(topic["name"], p["partition_index"])
                               for p in topic["partitions"]]
        return partitions

    def clamp(self, requested: dict) -> dict:
        """checkOffsetsRange: each offset within [log start, log end]."""
        starts = self.log_offsets(list(requested), OffsetSpec.EARLIEST)
        ends = self.log_offsets(list(requested), OffsetSpec.LATEST)
        return {tp: min(max(offset, starts[tp]), ends[tp]) for tp, offset in requested.items()}

    def prepare(self, group: str, partitions: list) -> dict:
        """prepareOffsetsToReset: {tp: new offset} for the chosen scenario."""
        p, o = self.parsed, self.o
        if p.has(o.to_offset):
            return self.clamp({tp: p.value(o.to_offset) for tp in partitions})
        if p.has(o.to_earliest):
            return self.log_offsets(partitions, OffsetSpec.EARLIEST)
        if p.has(o.to_latest):
            return self.log_offsets(partitions, OffsetSpec.LATEST)
        if p.has(o.shift_by):
            committed = self.committed(group)
            missing = [tp for tp in partitions if tp not in committed]
            if missing:
                tp = missing[0]
                raise OptionError(f"Cannot shift offset for partition {tp.topic}-{tp.partition} "
                                  f"since there is no current committed offset")
            return self.clamp({tp: committed[tp].offset + p.value(o.shift_by)
                               for tp in partitions})
        if p.has(o.to_datetime):
            timestamp = parse_datetime(p.value(o.to_datetime))
            found = self.log_offsets(partitions, OffsetTimestamp(timestamp))
            empty = [tp for tp in partitions if found.get(tp, -1) == -1]
            for tp in empty:
                self.console.print(f"\nWarn: Partition {tp.partition} from topic {tp.topic} is "
                                   f"empty. Falling back to latest known offset.")
            return {**found, **self.log_offsets(empty, OffsetSpec.LATEST)}
        if p.has(o.to_current):
            committed = self.committed(group)
            ends = self.log_offsets([tp for tp in partitions if tp not in committed],
                                    OffsetSpec.LATEST)
            return {tp: committed[tp].offset if tp in committed else ends[tp]
                    for tp in partitions}
        raise UsageError(f"Option '{o.reset_offsets}' requires one of the following scenarios: "
                         + "[" + ", ".join(str(s) for s in o.scenarios) + "]")

    def reset_offsets(self) -> None:
        plan: dict[str, dict] = {}
        execute = self.parsed.has(self.o.execute)
        for group in self.group_ids():
            state = self.describe_group(group)["group_state"]
            if state not in ("Empty", "Dead"):
                self.error(f"Assignments can only be reset if the group '{group}' is inactive, "
                           f"but the current state is {state}.")
                plan[group] = {}
                continue
            offsets = self.prepare(group, self.partitions_to_reset(group))
            if execute:
                results = self.admin.alter_group_offsets(group, {
                    tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
                for tp, result in (results or {}).items():
                    if result not in (None, NoError) and not isinstance(result, OffsetAndMetadata):
                        raise result() if isinstance(result, type) else result
            plan[group] = offsets
        line = "\n{:<30} {:<30} {:<10} {:<15}"
        text = line.format("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET") if plan else ""
        for group, offsets in plan.items():
            for tp in sorted(offsets, key=lambda tp: (tp.topic, tp.partition)):
                text += line.format(group, tp.topic, tp.partition, offsets[tp])
        self.console.print(text)

    def delete(self) -> None:
        groups = self.group_ids()
        results = self.admin.delete_groups(groups)
        failed = {g: r for g, r in results.items() if r not in (None, "OK")}
        succeeded = [g for g in groups if g not in failed]
        if not failed:
            self.console.print(f"Deletion of requested consumer groups ('{', '.join(succeeded)}')"
                               f" was successful.")
            return
        self.error("Deletion of some consumer groups failed:")
        for group, error in failed.items():
            reason = f"{type(error).__name__}: {error_message(error)}" \
                if isinstance(error, BaseException) else str(error)
            self.console.print(f"* Group '{group}' could not be deleted due to: {reason}")
        if succeeded:
            self.console.print(f"\nThese consumer groups were deleted successfully: "
                               f"'{chr(39).join(succeeded)}', '")


def main(argv: list[str] | None = None, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run ``kafka-consumer-groups`` with ``argv``; the exit code (1 for bad options)."""
    options = GroupOptions.declare()

    def body(parsed: ParsedOptions, console: Console) -> int:
        options.check(parsed)
        if parsed.has(options.reset_offsets) and not parsed.has(options.dry_run) \
                and not parsed.has(options.execute):
            console.error("WARN: No action will be performed as the --execute option is "
                          "missing.In a future major release, the default behavior of this "
                          "command will be to prompt the user before executing the reset rather "
                          "than doing a dry run. You should add the --dry-run option explicitly "
                          "if you are scripting this command and want to keep the current "
                          "default behavior without prompting.")
        configs = {"request_timeout_ms": parsed.value(options.timeout)}
        if parsed.has(options.command_config):
            configs.update(client_configs(load_properties(parsed.value(
                options.command_config))))
        action = next(a for a in (options.list, options.describe, options.delete,
                                  options.reset_offsets) if parsed.has(a))
        admin = None
        try:
            admin = client_module(client).KafkaAdminClient(
                bootstrap_servers=parsed.value(options.bootstrap_server), **configs)
            service = GroupService(admin, options, parsed, console)
            getattr(service, action.name.replace("-", "_"))()
        except OptionError as error:  # IllegalArgumentException: the message and the usage
            raise UsageError(str(error)) from None
        except UsageError:
            raise
        except Exception as error:  # Kafka prints it and exits normally
            console.print(f"\nError: Executing consumer group command failed due to "
                          f"{error_message(error)}")
        finally:
            if admin is not None:
                admin.close()
        return 0

    return run_tool(options.parser, argv, out, err, HELP, body)
