"""What every tool shares: where it prints, which client library it drives, how it exits.

A tool is ``main(argv, client=None, out=None, err=None) -> exit code``:

* ``client`` is the *client module*: anything with kafka-python's ``KafkaAdminClient``,
  ``KafkaConsumer`` and ``KafkaProducer`` — the real ``kafka`` package (the default: the console
  scripts then speak Kafka's wire protocol to ``--bootstrap-server``) or kafkalab's clients (the
  notebook magics: the in-kernel cluster the bootstrap address names). The tools use nothing
  else of it: value types (``NewTopic``, ``ConfigResource``, ``OffsetSpec`` ...) are
  kafka-python's own, which kafkalab re-exports unchanged.
* ``out``/``err`` default to ``sys.stdout``/``sys.stderr`` *at call time* (so a notebook's or a
  test's redirection is honoured).
"""
from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from .options import OptionParser, ParsedOptions, UsageError


@dataclass
class Console:
    """A tool's two streams. Invariant: what Kafka prints with ``System.out`` goes to ``out``,
    ``System.err`` to ``err``."""

    out: TextIO
    err: TextIO

    def print(self, *parts: Any, end: str = "\n") -> None:
        print(*parts, end=end, file=self.out)

    def error(self, *parts: Any, end: str = "\n") -> None:
        print(*parts, end=end, file=self.err)


def client_module(client: Any = None) -> Any:
    """The client library a tool drives: ``client``, or the real ``kafka`` package."""
    return importlib.import_module("kafka") if client is None else client


def client_configs(properties: dict[str, str]) -> dict[str, Any]:
    """Java client properties as kafka-python keywords: ``linger.ms=5`` -> ``linger_ms=5``,
    ``enable.idempotence=true`` -> ``enable_idempotence=True``; other values stay strings
    (``acks=all``)."""
    out: dict[str, Any] = {}
    for key, value in properties.items():
        text = value.strip()
        parsed: Any = text
        if text.lower() in ("true", "false"):
            parsed = text.lower() == "true"
        elif re.fullmatch(r"-?\d+", text):
            parsed = int(text)
        out[key.replace(".", "_")] = parsed
    return out


def error_message(error: BaseException) -> str:
    """An error as Kafka's tools print ``e.getMessage()``: the broker's (or client's) reason
    without kafka-python's ``[Error 36] TopicAlreadyExistsError:`` prefix."""
    if error.args and isinstance(error.args[0], str) and error.args[0]:
        return error.args[0]
    return type(error).__name__


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return f"kafkalab {package_version('kafkalab')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "kafkalab"


def run_tool(parser: OptionParser, argv: list[str] | None, out: TextIO | None,
             err: TextIO | None, help_message: str,
             body: Callable[[ParsedOptions, Console], int | None],
             no_arguments_message: str | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]`` when None) and run ``body``; a :class:`UsageError`
    anywhere prints its message and the usage to stderr and exits 1, as Kafka's
    ``printUsageAndExit``. ``--help`` prints ``help_message`` and the usage, no arguments
    ``no_arguments_message`` (default: the same) — exit 1, as Kafka's
    ``maybePrintHelpOrVersion``; ``--version`` prints the version (exit 0)."""
    console = Console(out or sys.stdout, err or sys.stderr)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:
            raise UsageError(no_arguments_message or help_message)
        parsed = parser.parse(argv)
        if parsed.has(parser.help):
            raise UsageError(help_message)
        if parsed.has(parser.version):
            console.print(version())
            return 0
        return body(parsed, console) or 0
    except UsageError as error:
        console.error(error)
        console.error(parser.usage())
        return 1
