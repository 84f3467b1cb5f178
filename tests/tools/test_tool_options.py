"""Kafka's argument parsing and messages (jopt-simple and CommandLineUtils), shared by all the
tools: exercised through the tools' ``main``."""
from __future__ import annotations

import pytest
from tool_helpers import run_tool

from kafkalab.tools import configs, console_consumer, consumer_groups, topics
from kafkalab.tools.options import OptionParser, UsageError, key_values


def test_an_unknown_option_is_refused_with_jopt_simples_words_and_the_usage(cluster):
    result = run_tool(topics.main, "--list --bootstrap-server localhost:9092 --zookeeper x")
    assert result.code == 1
    assert result.err.startswith("zookeeper is not a recognized option\n")
    assert "Option                                   Description" in result.err
    assert "--bootstrap-server <String: server to" in result.err
    assert result.out == ""


def test_a_missing_argument_and_a_bad_number_are_refused(cluster):
    missing = run_tool(topics.main, "--list --bootstrap-server")
    assert (missing.code, missing.err.splitlines()[0]) == (
        1, "Option ['bootstrap-server'] requires an argument")
    bad = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic t "
                                "--partitions three")
    assert (bad.code, bad.err.splitlines()[0]) == (
        1, "Cannot parse argument 'three' of option partitions")


def test_no_arguments_and_help_print_the_usage_and_exit_1_as_kafka_does():
    empty = run_tool(topics.main, [])
    assert (empty.code, empty.err.splitlines()[0]) == (
        1, "Create, delete, describe, or change a topic.")
    helped = run_tool(consumer_groups.main, "--help")
    assert helped.code == 1
    assert helped.err.startswith("This tool helps to list all consumer groups")
    lines = helped.err.splitlines()
    options = [line.split()[0] for line in lines[3:] if line.startswith("--")]
    assert options == sorted(options)  # jopt-simple sorts the usage table


def test_version_prints_and_exits_0():
    result = run_tool(configs.main, "--version")
    assert result.code == 0 and result.out.startswith("kafkalab")


def test_long_options_may_be_abbreviated_when_the_prefix_is_unique(cluster):
    result = run_tool(topics.main, "--create --bootstrap localhost:9092 --topic orders "
                                   "--partitions=2")
    assert (result.code, result.out) == (0, "Created topic orders.\n")
    ambiguous = run_tool(topics.main, "--list --bootstrap-server localhost:9092 --exclude")
    assert ambiguous.code == 0  # --exclude-internal is the only option starting so
    refused = run_tool(topics.main, "--li --bootstrap-server localhost:9092 --a")
    assert refused.err.startswith("a is not a recognized option")  # --alter, --at-min-...


def test_missing_required_arguments_use_commandlineutils_words(cluster):
    result = run_tool(console_consumer.main, "--topic orders")
    assert (result.code, result.err.splitlines()[0]) == (
        1, 'Missing required argument "[bootstrap-server]"')


def test_the_parser_keeps_repeated_values_and_defaults():
    parser = OptionParser()
    config = parser.accepts("config", "c", arg="required")
    timeout = parser.accepts("timeout", "t", arg="required", type=int, default=5000)
    parsed = parser.parse(["--config", "a=1", "--config=b=2"])
    assert parsed.values(config) == ["a=1", "b=2"]
    assert parsed.value(timeout) == 5000 and not parsed.has(timeout)
    assert key_values(parsed.values(config)) == {"a": "1", "b": "2"}
    with pytest.raises(ValueError, match="declared twice"):
        parser.accepts("config", "again")
    with pytest.raises(UsageError, match="does not take an argument"):
        parser.parse(["--help=yes"])
