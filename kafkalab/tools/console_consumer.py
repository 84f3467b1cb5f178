"""``kafka-console-consumer``: Kafka's ConsoleConsumer — print a topic's records.

Each record is printed by Kafka's DefaultMessageFormatter: ``--property print.timestamp=true``
(``CreateTime:1700000000000``), ``print.partition`` (``Partition:0``), ``print.offset``
(``Offset:5``), ``print.key``, ``print.value`` (default true), separated by ``key.separator``
(default a tab), each record ended by ``line.separator``, a missing key or value printed as
``null.literal`` (``null``). At the end ``Processed a total of N messages`` goes to stderr.

It stops after ``--max-messages``, when no record came for ``--timeout-ms``, on Ctrl-C — and, on
kafkalab's simulated-time cluster, when the simulated world is idle (nothing left to read and
nothing scheduled), as every kafkalab consumer does.

Differs from Kafka: without ``--group`` the consumer reads the topic's partitions without a
group (Kafka makes up a group ``console-consumer-<random>`` that commits nothing), so runs are
repeatable and no stray group shows in ``kafka-consumer-groups --list``; the log lines Kafka's
log4j prints when ``--timeout-ms`` expires are not printed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TextIO

from kafka.structs import TopicPartition

from .common import Console, client_configs, client_module, error_message, run_tool
from .options import (
    Option,
    OptionParser,
    ParsedOptions,
    UsageError,
    check_required,
    key_values,
    load_properties,
)

HELP = "This tool helps to read data from Kafka topics and outputs it to standard output."
TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


@dataclass
class ConsumerOptions:
    """ConsoleConsumerOptions."""

    parser: OptionParser
    bootstrap_server: Option
    topic: Option
    partition: Option
    offset: Option
    group: Option
    from_beginning: Option
    max_messages: Option
    timeout_ms: Option
    property: Option
    consumer_property: Option
    consumer_config: Option
    isolation_level: Option
    skip_message_on_error: Option

    @classmethod
    def declare(cls) -> "ConsumerOptions":
        p = OptionParser()
        return cls(
            p,
            p.accepts("bootstrap-server", "REQUIRED: The server(s) to connect to.",
                      arg="required", metavar="server to connect to"),
            p.accepts("topic", "The topic to consume on.", arg="required", metavar="topic"),
            p.accepts("partition", "The partition to consume from. Consumption starts from the "
                      "end of the partition unless '--offset' is specified.", arg="required",
                      metavar="partition", type=int),
            p.accepts("offset", "The offset to consume from (a non-negative number), or "
                      "'earliest' which means from beginning, or 'latest' which means from end",
                      arg="required", metavar="consume offset", default="latest"),
            p.accepts("group", "The consumer group id of the consumer.", arg="required",
                      metavar="consumer group id"),
            p.accepts("from-beginning", "If the consumer does not already have an established "
                      "offset to consume from, start with the earliest message present in the "
                      "log rather than the latest message."),
            p.accepts("max-messages", "The maximum number of messages to consume before "
                      "exiting. If not set, consumption is continual.", arg="required",
                      metavar="num_messages", type=int),
            p.accepts("timeout-ms", "If specified, exit if no message is available for "
                      "consumption for the specified interval.", arg="required",
                      metavar="timeout_ms", type=int),
            p.accepts("property", "The properties to initialize the message formatter. Default "
                      "properties include:\n\tprint.timestamp=true|false\n\tprint.key=true|false"
                      "\n\tprint.offset=true|false\n\tprint.partition=true|false\n"
                      "\tprint.value=true|false\n\tkey.separator=<key.separator>\n"
                      "\tline.separator=<line.separator>\n\tnull.literal=<null.literal>",
                      arg="required", metavar="prop"),
            p.accepts("consumer-property", "A mechanism to pass user-defined properties in the "
                      "form key=value to the consumer.", arg="required", metavar="consumer_prop"),
            p.accepts("consumer.config", "Consumer config properties file. Note that "
                      "[consumer-property] takes precedence over this config.", arg="required",
                      metavar="config file"),
            p.accepts("isolation-level", "Set to read_committed in order to filter out "
                      "transactional messages which are not committed. Set to read_uncommitted "
                      "to read all messages.", arg="required", default="read_uncommitted"),
            p.accepts("skip-message-on-error", "If there is an error when processing a message, "
                      "skip it instead of halt."),
        )

    def check(self, parsed: ParsedOptions) -> None:
        """ConsoleConsumerOptions.checkRequiredArgs and the offset checks."""
        check_required(parsed, self.bootstrap_server)
        if not parsed.has(self.topic):
            raise UsageError("Exactly one of --include/--topic is required. ")
        if parsed.has(self.from_beginning) and parsed.has(self.offset):
            raise UsageError("Options from-beginning and offset cannot be specified together.")
        if parsed.has(self.offset) and not parsed.has(self.partition):
            raise UsageError("The partition is required when offset is specified.")
        if parsed.has(self.group) and parsed.has(self.partition):
            raise UsageError("Options group and partition cannot be specified together.")
        offset = parsed.value(self.offset)
        if offset not in ("earliest", "latest") and not (offset.isdigit()):
            raise UsageError(f"The provided offset value '{offset}' is incorrect. Valid values "
                             f"are 'earliest', 'latest', or a non-negative long.")


@dataclass
class MessageFormatter:
    """Kafka's DefaultMessageFormatter over kafka-python's ConsumerRecord."""

    print_timestamp: bool = False
    print_key: bool = False
    print_value: bool = True
    print_partition: bool = False
    print_offset: bool = False
    key_separator: str = "\t"
    line_separator: str = "\n"
    null_literal: str = "null"

    @classmethod
    def from_properties(cls, properties: dict[str, str]) -> "MessageFormatter":
        def flag(name: str, default: bool) -> bool:
            return properties.get(name, str(default)).strip().lower() == "true"

        return cls(flag("print.timestamp", False), flag("print.key", False),
                   flag("print.value", True), flag("print.partition", False),
                   flag("print.offset", False), properties.get("key.separator", "\t"),
                   properties.get("line.separator", "\n"), properties.get("null.literal", "null"))

    def _text(self, data: bytes | None) -> str:
        if data is None:
            return self.null_literal
        return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)

    def format(self, record: Any) -> str:
        fields = []
        if self.print_timestamp:
            kind = TIMESTAMP_TYPES.get(record.timestamp_type)
            fields.append(f"{kind}:{record.timestamp}" if kind and record.timestamp is not None
                          and record.timestamp >= 0 else "NO_TIMESTAMP")
        if self.print_partition:
            fields.append(f"Partition:{record.partition}")
        if self.print_offset:
            fields.append(f"Offset:{record.offset}")
        if self.print_key:
            fields.append(self._text(record.key))
        if self.print_value:
            fields.append(self._text(record.value))
        return self.key_separator.join(fields) + self.line_separator if fields else ""


def _consumer(module: Any, options: ConsumerOptions, parsed: ParsedOptions) -> Any:
    """The consumer, subscribed (``--group``) or assigned its partitions and positioned."""
    topic = parsed.value(options.topic)
    offset = parsed.value(options.offset) if parsed.has(options.offset) else (
        "earliest" if parsed.has(options.from_beginning) else "latest")
    configs: dict[str, Any] = {"client_id": "console-consumer",
                               "auto_offset_reset": "earliest" if offset == "earliest"
                               else "latest",
                               "isolation_level": parsed.value(options.isolation_level)}
    if parsed.has(options.timeout_ms):
        configs["consumer_timeout_ms"] = parsed.value(options.timeout_ms)
    if parsed.has(options.consumer_config):
        configs.update(client_configs(load_properties(parsed.value(options.consumer_config))))
    configs.update(client_configs(key_values(parsed.values(options.consumer_property))))
    configs["bootstrap_servers"] = parsed.value(options.bootstrap_server)
    if parsed.has(options.group):
        configs["group_id"] = parsed.value(options.group)
        consumer = module.KafkaConsumer(**configs)
        consumer.subscribe([topic])
        return consumer
    configs["group_id"] = None
    consumer = module.KafkaConsumer(**configs)
    if parsed.has(options.partition):
        partitions = [TopicPartition(topic, parsed.value(options.partition))]
    else:
        known = consumer.partitions_for_topic(topic)
        partitions = [TopicPartition(topic, p) for p in sorted(known or ())]
    consumer.assign(partitions)
    if offset == "earliest":
        consumer.seek_to_beginning(*partitions)
    elif offset == "latest":
        consumer.seek_to_end(*partitions)
    else:
        for tp in partitions:
            consumer.seek(tp, int(offset))
    return consumer


def main(argv: list[str] | None = None, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run ``kafka-console-consumer`` with ``argv``; the exit code."""
    options = ConsumerOptions.declare()

    def body(parsed: ParsedOptions, console: Console) -> int:
        options.check(parsed)
        formatter = MessageFormatter.from_properties(key_values(parsed.values(options.property)))
        limit = parsed.value(options.max_messages)
        count, code = 0, 0
        consumer = None
        try:
            consumer = _consumer(client_module(client), options, parsed)
            if limit is None or limit > 0:
                for record in consumer:
                    count += 1
                    console.print(formatter.format(record), end="")
                    if limit is not None and count >= limit:
                        break
        except KeyboardInterrupt:  # Ctrl-C: Kafka's shutdown hook wakes the consumer up
            pass
        except Exception as error:
            console.error(f"Error processing message, terminating consumer process: "
                          f"{type(error).__name__}: {error_message(error)}")
            code = 1
        finally:
            if consumer is not None:
                consumer.close()
            console.error(f"Processed a total of {count} messages")
        return code

    return run_tool(options.parser, argv, out, err, HELP, body)
