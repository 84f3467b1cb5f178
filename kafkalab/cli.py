"""The ``kafkalab`` command: one subcommand per entry of ``SUBCOMMANDS``.

A subcommand is a function that adds its arguments to its subparser and returns the function
that runs it; the runner gets the parsed arguments and returns the exit code. Bad input is
reported as ``kafkalab <subcommand>: error: <message>`` with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from kafkalab.course import grade, make_exercises, paths, reset
from kafkalab.course.notebooks import CourseError
from kafkalab.server import command as serve_command

Runner = Callable[[argparse.Namespace], int]


def _grade(parser: argparse.ArgumentParser) -> Runner:
    parser.add_argument("path", type=Path, help="your exercise notebook, or a folder of them")
    parser.add_argument(
        "--pristine", type=Path, metavar="DIR",
        help=f"folder of the unmodified exercise notebooks (default: {paths.EXERCISES_DIR})",
    )  # fmt: skip
    return lambda args: grade.command(args.path, args.pristine)


def _make_exercises(parser: argparse.ArgumentParser) -> Runner:
    parser.add_argument("--solutions", type=Path, default=paths.SOLUTIONS_DIR, metavar="DIR")
    parser.add_argument("--exercises", type=Path, default=paths.EXERCISES_DIR, metavar="DIR")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    return lambda args: make_exercises.command(
        args.solutions, args.exercises, check_only=args.check
    )


def _serve(parser: argparse.ArgumentParser) -> Runner:
    parser.add_argument("--brokers", type=int, default=1, help="brokers (default 1)")
    parser.add_argument("--partitions", type=int, default=None,
                        help="num.partitions of auto-created topics (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="the cluster's random seed")
    parser.add_argument("--port", type=int, default=9092,
                        help="the first broker's port; broker N listens on port + N - 1")
    parser.add_argument("--config", action="append", default=[], metavar="NAME=VALUE",
                        help="a broker config, e.g. auto.create.topics.enable=false "
                             "(repeatable)")
    parser.add_argument("--sasl-user", action="append", default=[], metavar="USER:PASSWORD",
                        help="require SASL/PLAIN and accept this user (repeatable)")
    return lambda args: serve_command.command(args)


def _reset(parser: argparse.ArgumentParser) -> Runner:
    parser.add_argument(
        "paths", type=Path, nargs="*", metavar="PATH",
        help="notebooks/*.ipynb or exercises/*.ipynb, or one of those folders "
             "(default: every lesson notebook in notebooks/)",
    )  # fmt: skip
    return lambda args: reset.command(args.paths)


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Runner]]] = {
    "grade": ("grade exercise notebooks and print a score table", _grade),
    "make-exercises": ("generate exercises/ from solutions/", _make_exercises),
    "serve": ("run a Kafka-compatible cluster on 127.0.0.1 for real clients (Ctrl-C stops it)",
              _serve),
    "reset": ("put course notebooks back as the course ships them (a backup is kept)", _reset),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kafkalab", description="kafkalab course tools")
    subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    for name, (help_text, configure) in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        subparser.set_defaults(run=configure(subparser))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        print(f"kafkalab {args.subcommand}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
