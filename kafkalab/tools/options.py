"""Command-line options the way Kafka's tools read them (jopt-simple, Kafka's CommandLineUtils).

Kafka's tools declare their options with jopt-simple and check them with ``CommandLineUtils``;
this module mirrors both, so a wrong command gets Kafka's own words:

* ``--name value`` or ``--name=value``; a unique prefix of a long name is that option
  (``--bootstrap`` is ``--bootstrap-server``), as jopt-simple allows abbreviations;
* ``x is not a recognized option``, ``Option ['topic'] requires an argument``, ``Cannot parse
  argument 'x' of option partitions`` (jopt-simple's messages);
* ``Missing required argument "[bootstrap-server]"``, ``Option "[config]" can't be used with
  option "[list]"`` (``CommandLineUtils``), each printed to stderr followed by the usage table,
  exit code 1 — :class:`UsageError`.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

#: jopt-simple's type names in the usage table
_TYPE_NAMES = {str: "String", int: "Integer"}


class UsageError(Exception):
    """Kafka's ``printUsageAndExit``: the message, then the usage, to stderr; exit code 1."""


class OptionError(Exception):
    """What Kafka's tools report as an ``IllegalArgumentException``: the message alone."""


@dataclass(eq=False)
class Option:
    """One declared option. Invariant: ``arg`` is None (a flag), ``"required"`` or
    ``"optional"``; a flag has no type, metavar or default."""

    name: str
    help: str
    arg: str | None = None
    metavar: str | None = None
    type: Callable[[str], Any] = str
    default: Any = None
    type_name: str | None = None

    def __str__(self) -> str:  # jopt-simple's OptionSpec.toString(), as Kafka prints it
        return f"[{self.name}]"

    def usage_cell(self) -> str:
        if self.arg is None:
            return f"--{self.name}"
        label = self.type_name or _TYPE_NAMES.get(self.type, "String")
        label = f"{label}: {self.metavar}" if self.metavar else label
        return f"--{self.name} <{label}>" if self.arg == "required" else f"--{self.name} [{label}]"


@dataclass
class ParsedOptions:
    """The options given, in order; ``values`` of an option are the arguments given for it
    (its default when it was not given)."""

    given: dict[Option, list[Any]] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)  # words that are no option's

    def has(self, option: Option) -> bool:
        return option in self.given

    def values(self, option: Option) -> list[Any]:
        if option in self.given:
            return [v for v in self.given[option] if v is not None]
        return [] if option.default is None else [option.default]

    def value(self, option: Option) -> Any:
        """The option's (first) argument, its default when it was not given."""
        values = self.values(option)
        return values[0] if values else None


class OptionParser:
    """A tool's options: declare with :meth:`accepts`, read argv with :meth:`parse`.

    Invariant: option names are unique; ``--help`` and ``--version`` are always declared (Kafka's
    ``CommandDefaultOptions``).
    """

    def __init__(self) -> None:
        self.options: dict[str, Option] = {}
        self.help = self.accepts("help", "Print usage information.")
        self.version = self.accepts("version", "Display Kafka version.")

    def accepts(self, name: str, help: str, *, arg: str | None = None, metavar: str | None = None,
                type: Callable[[str], Any] = str, default: Any = None,
                type_name: str | None = None) -> Option:
        if name in self.options:
            raise ValueError(f"option --{name} is declared twice")
        if arg not in (None, "required", "optional"):
            raise ValueError(f"arg of --{name} must be None, 'required' or 'optional', not {arg!r}")
        option = Option(name, help, arg, metavar, type, default, type_name)
        self.options[name] = option
        return option

    def _find(self, name: str) -> Option:
        if name in self.options:
            return self.options[name]
        matches = [o for n, o in self.options.items() if n.startswith(name)]
        if len(matches) == 1 and name:
            return matches[0]
        raise UsageError(f"{name} is not a recognized option")

    def parse(self, argv: Iterable[str]) -> ParsedOptions:
        """jopt-simple's parse: raises :class:`UsageError` with its message."""
        parsed = ParsedOptions()
        words = list(argv)
        i = 0
        while i < len(words):
            word = words[i]
            i += 1
            if word == "--":
                parsed.arguments.extend(words[i:])
                break
            if not word.startswith("-") or word == "-":
                parsed.arguments.append(word)
                continue
            name, has_inline, inline = word.lstrip("-").partition("=")
            option = self._find(name)
            raw: str | None = None
            if option.arg is None:
                if has_inline:
                    raise UsageError(f"Option {option} does not take an argument")
            elif has_inline:
                raw = inline
            elif option.arg == "required":
                if i >= len(words):
                    raise UsageError(f"Option ['{option.name}'] requires an argument")
                raw = words[i]
                i += 1
            elif i < len(words) and not words[i].startswith("-"):
                raw = words[i]
                i += 1
            value = None
            if raw is not None:
                try:
                    value = option.type(raw)
                except ValueError:
                    raise UsageError(f"Cannot parse argument '{raw}' of option {option.name}") \
                        from None
            parsed.given.setdefault(option, []).append(value)
        return parsed

    def usage(self) -> str:
        """jopt-simple's help table: options sorted by name, descriptions wrapped."""
        left, right = 41, 39
        lines = [f"{'Option':<{left}}Description", f"{'------':<{left}}-----------"]
        for name in sorted(self.options):
            option = self.options[name]
            help_text = option.help
            if option.default is not None:
                help_text += f" (default: {option.default})"
            cells = textwrap.wrap(option.usage_cell(), left - 2, subsequent_indent="  ") or [""]
            text: list[str] = []
            for k, paragraph in enumerate(help_text.split("\n")):
                text += textwrap.wrap(paragraph, right, initial_indent="  " if k else "",
                                      subsequent_indent="  ") or [""]
            for n in range(max(len(cells), len(text))):
                cell = cells[n] if n < len(cells) else ""
                desc = text[n] if n < len(text) else ""
                lines.append(f"{cell:<{left}}{desc}".rstrip())
        return "\n".join(lines)


# --- Kafka's CommandLineUtils -----------------------------------------------------------------
def check_required(parsed: ParsedOptions, *options: Option) -> None:
    for option in options:
        if not parsed.has(option):
            raise UsageError(f'Missing required argument "{option}"')


def check_invalid(parsed: ParsedOptions, used: Option, invalid: Iterable[Option]) -> None:
    if parsed.has(used):
        for option in invalid:
            if parsed.has(option):
                raise UsageError(f'Option "{used}" can\'t be used with option "{option}"')


def key_values(pairs: Iterable[str]) -> dict[str, str]:
    """Kafka's ``parseKeyValueArgs``: ``key=value`` (the value may hold ``=``; a missing value
    is empty)."""
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def load_properties(path: str) -> dict[str, str]:
    """A Java properties file (``key=value`` or ``key: value`` lines, ``#``/``!`` comments), as
    ``--command-config`` and ``--producer.config`` read it."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise OptionError(f"{path} (No such file or directory)" if isinstance(
            error, FileNotFoundError) else str(error)) from None
    out = {}
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        separator = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        key, value = (line, "") if separator < 0 else (line[:separator], line[separator + 1:])
        out[key.strip()] = value.strip()
    return out
