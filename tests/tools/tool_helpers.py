"""Running a tool the way a shell would, against the in-kernel cluster (kafkalab's clients)."""
from __future__ import annotations

import io
from dataclasses import dataclass

import kafkalab

BOOTSTRAP = "localhost:9092"


@dataclass
class Result:
    """What a tool run left behind: its exit code and both streams."""

    code: int
    out: str
    err: str


def run_tool(main, command: str | list[str], stdin: str | None = None) -> Result:
    """Run a tool's ``main`` on ``command`` (a string is split on whitespace) with kafkalab's
    clients; ``stdin`` feeds the console producer."""
    argv = command.split() if isinstance(command, str) else command
    out, err = io.StringIO(), io.StringIO()
    kwargs = {} if stdin is None else {"stdin": io.StringIO(stdin)}
    code = main(argv, client=kafkalab.client, out=out, err=err, **kwargs)
    return Result(code, out.getvalue(), err.getvalue())
