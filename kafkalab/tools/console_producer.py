"""``kafka-console-producer``: Kafka's ConsoleProducer — one record per line of input.

Each line is a record's value; with ``--property parse.key=true`` the text before
``key.separator`` (default a tab) is its key. ``--producer-property k=v`` and
``--producer.config FILE`` pass producer configs by their Java names (``linger.ms``,
``compression.type`` ...); the tool's own defaults are Kafka's: ``acks=-1`` (all),
``linger.ms`` 1000 (``--timeout``), ``request.timeout.ms`` 1500, ``retries`` 3, client id
``console-producer``. A line without the key separator stops the tool with Kafka's
``No key separator found on line number N: '...'`` (exit 1) unless
``--property ignore.error=true``. A record the broker refuses is reported as Kafka's
``ErrorLoggingCallback`` reports it. As Kafka, ``>`` is printed before each line only when the
input is a terminal.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

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

HELP = "This tool helps to read data from standard input and publish it to Kafka."
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


class LineError(Exception):
    """A line the reader cannot parse (Kafka's KafkaException from LineMessageReader)."""


@dataclass
class ProducerOptions:
    """ConsoleProducer's ProducerConfig options."""

    parser: OptionParser
    bootstrap_server: Option
    topic: Option
    sync: Option
    compression_codec: Option
    batch_size: Option
    retries: Option
    timeout: Option
    acks: Option
    request_timeout_ms: Option
    property: Option
    producer_property: Option
    producer_config: Option

    @classmethod
    def declare(cls) -> "ProducerOptions":
        p = OptionParser()
        return cls(
            p,
            p.accepts("bootstrap-server", "REQUIRED unless --broker-list(deprecated) is "
                      "specified. The server(s) to connect to. The broker list string in the "
                      "form HOST1:PORT1,HOST2:PORT2.", arg="required",
                      metavar="server to connect to"),
            p.accepts("topic", "REQUIRED: The topic id to produce messages to.", arg="required",
                      metavar="topic"),
            p.accepts("sync", "If set message send requests to the brokers are synchronously, "
                      "one at a time as they arrive."),
            p.accepts("compression-codec", "The compression codec: either 'none', 'gzip', "
                      "'snappy', 'lz4', or 'zstd'.If specified without value, then it defaults "
                      "to 'gzip'", arg="optional", metavar="compression-codec"),
            p.accepts("batch-size", "Number of messages to send in a single batch if they are "
                      "not being sent synchronously. please note that this option will be "
                      "replaced if max-partition-memory-bytes is also set", arg="required",
                      metavar="size", type=int, default=16384),
            p.accepts("message-send-max-retries", "Brokers can fail receiving the message for "
                      "multiple reasons, and being unavailable transiently is just one of them. "
                      "This property specifies the number of retries before the producer give "
                      "up and drop this message.", arg="required", type=int, default=3),
            p.accepts("timeout", "If set and the producer is running in asynchronous mode, this "
                      "gives the maximum amount of time a message will queue awaiting "
                      "sufficient batch size. The value is given in ms. This is the option to "
                      "control `linger.ms` in producer configs.", arg="required",
                      metavar="timeout_ms", type=int, default=1000),
            p.accepts("request-required-acks", "The required `acks` of the producer requests",
                      arg="required", metavar="request required acks", default="-1"),
            p.accepts("request-timeout-ms", "The ack timeout of the producer requests. Value "
                      "must be non-negative and non-zero.", arg="required",
                      metavar="request timeout ms", type=int, default=1500),
            p.accepts("property", "A mechanism to pass user-defined properties in the form "
                      "key=value to the message reader. This allows custom configuration for a "
                      "user-defined message reader.\nDefault properties include:\n"
                      "\tparse.key=false\n\tkey.separator=\\t\n\tignore.error=false\n"
                      "\tnull.marker=<null>", arg="required", metavar="prop"),
            p.accepts("producer-property", "A mechanism to pass user-defined properties in the "
                      "form key=value to the producer. ", arg="required",
                      metavar="producer_prop"),
            p.accepts("producer.config", "Producer config properties file. Note that "
                      "[producer-property] takes precedence over this config.", arg="required",
                      metavar="config file"),
        )

    def producer_configs(self, parsed: ParsedOptions) -> dict[str, Any]:
        """The producer's kafka-python configs: the tool's defaults, then ``--producer.config``,
        then ``--producer-property`` (Kafka's precedence)."""
        codec = parsed.value(self.compression_codec) if parsed.has(self.compression_codec) \
            else "none"
        codec = codec or "gzip"
        if codec not in CODECS:
            raise UsageError(f"Unknown compression codec: {codec}; use one of "
                             f"{', '.join(CODECS)}")
        acks_text = parsed.value(self.acks)
        acks: Any = "all" if acks_text in ("-1", "all") else int(acks_text) \
            if acks_text.lstrip("-").isdigit() else acks_text
        configs: dict[str, Any] = {
            "client_id": "console-producer", "acks": acks,
            "linger_ms": parsed.value(self.timeout),
            "request_timeout_ms": parsed.value(self.request_timeout_ms),
            "retries": parsed.value(self.retries), "batch_size": parsed.value(self.batch_size),
            "compression_type": None if codec == "none" else codec,
        }
        if parsed.has(self.producer_config):
            configs.update(client_configs(load_properties(parsed.value(self.producer_config))))
        configs.update(client_configs(key_values(parsed.values(self.producer_property))))
        configs["bootstrap_servers"] = parsed.value(self.bootstrap_server)
        return configs


@dataclass
class LineReader:
    """Kafka's LineMessageReader: a line -> (key, value) as bytes (None for ``null.marker``)."""

    parse_key: bool = False
    key_separator: str = "\t"
    ignore_error: bool = False
    null_marker: str | None = None

    @classmethod
    def from_properties(cls, properties: dict[str, str]) -> "LineReader":
        def flag(name: str) -> bool:
            return properties.get(name, "false").strip().lower() == "true"

        reader = cls(flag("parse.key"), properties.get("key.separator", "\t"),
                     flag("ignore.error"), properties.get("null.marker"))
        if reader.null_marker is not None and reader.null_marker == reader.key_separator:
            raise LineError("null.marker and key.separator may not be equal")
        return reader

    def _bytes(self, text: str | None) -> bytes | None:
        return None if text is None or text == self.null_marker else text.encode()

    def record(self, line: str, number: int) -> tuple[bytes | None, bytes | None]:
        if not self.parse_key:
            return None, self._bytes(line)
        key, found, value = line.partition(self.key_separator)
        if not found:
            if self.ignore_error:
                return None, self._bytes(line)
            raise LineError(f"No key separator found on line number {number}: '{line}'")
        return self._bytes(key), self._bytes(value)


def main(argv: list[str] | None = None, client: Any = None, out: TextIO | None = None,
         err: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Run ``kafka-console-producer`` with ``argv``, reading records from ``stdin`` (default
    ``sys.stdin``); the exit code."""
    options = ProducerOptions.declare()

    def body(parsed: ParsedOptions, console: Console) -> int:
        check_required(parsed, options.topic)
        if not parsed.has(options.bootstrap_server):
            raise UsageError('Missing required argument "[bootstrap-server]"')
        topic = parsed.value(options.topic)
        source = stdin if stdin is not None else sys.stdin
        prompt = source.isatty() if hasattr(source, "isatty") else False
        configs = options.producer_configs(parsed)
        producer = None
        try:
            reader = LineReader.from_properties(key_values(parsed.values(options.property)))
            producer = client_module(client).KafkaProducer(**configs)
            for number, line in enumerate(_lines(source, console, prompt), start=1):
                key, value = reader.record(line, number)
                future = producer.send(topic, key=key, value=value)
                future.add_errback(_log_error(console, topic, key, value))
                if parsed.has(options.sync):
                    future.get()
            producer.flush()
        except LineError as error:
            console.error(f"org.apache.kafka.common.KafkaException: {error}")
            return 1
        except KeyboardInterrupt:  # Ctrl-C: Kafka's shutdown hook closes the producer
            pass
        except Exception as error:
            console.error(f"{type(error).__name__}: {error_message(error)}")
            return 1
        finally:
            if producer is not None:
                producer.close()
        return 0

    return run_tool(options.parser, argv, out, err, HELP, body)


def _lines(source: TextIO, console: Console, prompt: bool):
    """The input's lines without their line ends; ``>`` before each when interactive."""
    while True:
        if prompt:
            console.print(">", end="")
            console.out.flush()
        line = source.readline()
        if not line:
            return
        yield line.rstrip("\r\n")


def _log_error(console: Console, topic: str, key: bytes | None, value: bytes | None):
    """Kafka's ErrorLoggingCallback for a refused record."""
    def on_error(error: BaseException) -> None:
        console.error(f"Error when sending message to topic {topic} with key: "
                      f"{'null' if key is None else f'{len(key)} bytes'}, value: "
                      f"{'null' if value is None else f'{len(value)} bytes'} with error: "
                      f"{error_message(error)}")
    return on_error
