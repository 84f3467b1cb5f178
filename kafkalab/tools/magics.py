"""Kafka's command-line tools as IPython magics, run against the in-kernel cluster.

``%load_ext kafkalab`` registers one line magic per tool, named as the tool::

    %kafka-topics --create --topic orders --partitions 3 --replication-factor 1 \\
        --bootstrap-server localhost:9092
    %kafka-topics --list --bootstrap-server localhost:9092
    %kafka-configs --bootstrap-server localhost:9092 --alter --entity-type topics \\
        --entity-name orders --add-config retention.ms=604800000
    %kafka-consumer-groups --bootstrap-server localhost:9092 --describe --group email-service
    %kafka-console-consumer --bootstrap-server localhost:9092 --topic orders --from-beginning

and ``kafka-console-producer`` also as a cell magic whose lines are the records (what the
console producer would read from the terminal)::

    %%kafka-console-producer --bootstrap-server localhost:9092 --topic orders \\
        --property parse.key=true --property key.separator=:
    user1:order created
    user2:order paid

The magics run the console scripts' code (:mod:`kafkalab.tools`) with the clients `from kafkalab
import ...` gives the notebook (kafkalab's own, unless :mod:`kafkalab.course.backend` switched
them to kafka-python's for a served or real cluster), so
``--bootstrap-server`` names a cluster of this kernel (``localhost:9092`` is the default one,
made on first use) and the output is Kafka's, printed into the cell. The line is split as a
shell would split it (quotes group words); IPython has already put in ``{python}`` and ``$name``
values. A tool that fails prints Kafka's message and the cell goes on — no exception, just as a
terminal shows the error and returns a prompt.
"""
from __future__ import annotations

import importlib
import io
import shlex
from typing import Any, Callable

from . import configs, console_consumer, console_producer, consumer_groups, topics

#: magic name -> the tool's ``main``
TOOLS: dict[str, Callable[..., int]] = {
    "kafka-topics": topics.main,
    "kafka-configs": configs.main,
    "kafka-consumer-groups": consumer_groups.main,
    "kafka-console-producer": console_producer.main,
    "kafka-console-consumer": console_consumer.main,
}


def _words(line: str) -> list[str]:
    # a backslash-newline (a shell's line continuation) joins lines, as in a terminal
    return shlex.split(line.replace("\\\n", " "))


def _clients() -> Any:
    """The client classes the notebook's own code gets from ``from kafkalab import ...`` now:
    kafkalab's (the in-kernel cluster), or the real kafka-python's when a lesson runs on
    ``kafkalab serve`` or a real cluster (:mod:`kafkalab.course.backend` switches them), so a
    magic always talks to the cluster the notebook's code talks to."""
    return importlib.import_module("kafkalab")


def line_magic(tool: Callable[..., int]) -> Callable[[str], None]:
    """A line magic that runs ``tool`` on the line's words against the notebook's clients."""
    def run(line: str) -> None:
        tool(_words(line), client=_clients())
    return run


def producer_magic(line: str, cell: str | None = None) -> None:
    """``%%kafka-console-producer ...``: the cell's lines are the records. As a line magic
    there is no terminal to read from, so it says where the records go."""
    if cell is None:
        print("kafka-console-producer reads records from the terminal, which a notebook does "
              "not have: write them as the lines of a cell that starts with "
              "%%kafka-console-producer " + line.strip())
        return
    console_producer.main(_words(line), client=_clients(), stdin=io.StringIO(cell))


def register(shell: Any) -> None:
    """Register every tool's magic on ``shell`` (an IPython InteractiveShell)."""
    for name, tool in TOOLS.items():
        if tool is console_producer.main:
            shell.register_magic_function(producer_magic, "line_cell", name)
        else:
            shell.register_magic_function(line_magic(tool), "line", name)


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext kafkalab.tools.magics`` (``%load_ext kafkalab`` calls this)."""
    register(shell)
