"""kafka-configs against the in-kernel cluster: the lesson's commands from "Репликация" and
"Retention и Compaction", describe, delete, and Kafka's errors."""
from __future__ import annotations

import pytest
from tool_helpers import run_tool

from kafkalab.tools import configs, topics


@pytest.fixture
def orders(cluster):
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic orders "
                          "--partitions 3")
    return cluster


def topic_configs(cluster, name: str) -> dict:
    from kafkalab import KafkaAdminClient
    from kafkalab.admin import ConfigResource, ConfigResourceType

    described = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers).describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name)])
    return {k: c["value"] for k, c in described["topic"][name].items()}


def test_the_lessons_min_insync_replicas_command(cluster3):
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic critical-events "
                          "--partitions 6 --replication-factor 3")
    result = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --entity-type "
                                    "topics --entity-name critical-events --add-config "
                                    "min.insync.replicas=2")
    assert (result.code, result.out, result.err) == (
        0, "Completed updating config for topic critical-events.\n", "")
    assert topic_configs(cluster3, "critical-events") == {"min.insync.replicas": "2"}


def test_the_lessons_retention_commands(orders):
    week = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --entity-type "
                                  "topics --entity-name orders --add-config "
                                  "retention.ms=604800000")
    assert week.out == "Completed updating config for topic orders.\n"
    # the lesson's next two commands have no --bootstrap-server: Kafka 3.5 refuses them
    for command in ("--alter --entity-type topics --entity-name orders --add-config "
                    "retention.bytes=10737418240",
                    "--alter --entity-type topics --entity-name user-profiles --add-config "
                    "cleanup.policy=compact"):
        refused = run_tool(configs.main, command)
        assert (refused.code, refused.out, refused.err) == (
            1, "", "One of the required --bootstrap-server or --zookeeper arguments must be "
                   "specified\n")
    assert topic_configs(orders, "orders") == {"retention.ms": "604800000"}
    fixed = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --entity-type "
                                   "topics --entity-name orders --add-config "
                                   "retention.bytes=10737418240")
    assert fixed.code == 0
    assert topic_configs(orders, "orders") == {"retention.ms": "604800000",
                                               "retention.bytes": "10737418240"}


def test_describe_prints_dynamic_configs_with_their_synonyms(orders):
    run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                           "--add-config retention.ms=604800000,cleanup.policy=[compact,delete]")
    described = run_tool(configs.main, "--describe --bootstrap-server localhost:9092 "
                                       "--entity-type topics --entity-name orders")
    assert described.out == (
        "Dynamic configs for topic orders are:\n"
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:"
        "cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n"
        "  retention.ms=604800000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:"
        "retention.ms=604800000, DEFAULT_CONFIG:log.retention.ms=604800000}\n")
    every = run_tool(configs.main, "--describe --bootstrap-server localhost:9092 --topic "
                                   "orders --all").out.splitlines()
    assert every[0] == "All configs for topic orders are:"
    assert "  segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:"\
           "log.segment.bytes=1073741824}" in every
    assert [line.split("=")[0] for line in every[1:]] == sorted(line.split("=")[0]
                                                                for line in every[1:])


def test_describe_every_topic_and_a_broker(orders):
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic audit")
    every = run_tool(configs.main, "--describe --bootstrap-server localhost:9092 "
                                   "--entity-type topics").out
    assert every == ("Dynamic configs for topic audit are:\n"
                     "Dynamic configs for topic orders are:\n")
    broker = run_tool(configs.main, "--describe --bootstrap-server localhost:9092 "
                                    "--entity-type brokers --entity-name 1")
    assert broker.out == "Dynamic configs for broker 1 are:\n"
    static = run_tool(configs.main, "--describe --bootstrap-server localhost:9092 "
                                    "--broker 1 --all").out.splitlines()
    assert static[0] == "All configs for broker 1 are:" and len(static) > 5


def test_delete_config_returns_a_topic_to_the_default(orders):
    run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                           "--add-config retention.ms=1000,segment.ms=1000")
    missing = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                     "--delete-config retention.ms,max.message.bytes")
    assert (missing.code, missing.err) == (1, "Invalid config(s): max.message.bytes\n")
    assert topic_configs(orders, "orders") == {"retention.ms": "1000", "segment.ms": "1000"}
    deleted = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                     "--delete-config retention.ms")
    assert deleted.out == "Completed updating config for topic orders.\n"
    assert topic_configs(orders, "orders") == {"segment.ms": "1000"}


def test_a_refused_change_reports_the_brokers_reason(orders):
    command = ("--alter --bootstrap-server localhost:9092 --entity-type topics --entity-name "
               "orders --add-config retention.ms=-5")
    result = run_tool(configs.main, command)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"Error while executing config command with args '{command}'",
        "InvalidConfigurationError: Invalid value '-5' for configuration retention.ms: Value "
        "must be at least -1"]
    unknown = run_tool(configs.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                     "--add-config no.such.config=1")
    assert unknown.code == 1 and "no.such.config" in unknown.err
    assert topic_configs(orders, "orders") == {}


@pytest.mark.parametrize("command, message", [
    ("--alter --bootstrap-server localhost:9092 --entity-type topics --add-config a=b",
     "An entity name must be specified with --alter of topics"),
    ("--alter --bootstrap-server localhost:9092 --topic orders",
     "At least one of --add-config, --add-config-file, or --delete-config must be specified "
     "with --alter"),
    ("--describe --bootstrap-server localhost:9092 --entity-type things",
     "Invalid entity type things, the entity type must be one of topics, brokers, "
     "broker-loggers, users, clients, ips with a --bootstrap-server argument"),
    ("--describe --bootstrap-server localhost:9092",
     "At least one entity type must be specified"),
    ("--describe --bootstrap-server localhost:9092 --entity-type topics --topic orders",
     "--entity-{type,name,default} should not be used in conjunction with specific entity "
     "flags"),
    ("--describe --bootstrap-server localhost:9092 --entity-type brokers --entity-name one",
     "The entity name for brokers must be a valid integer broker id, but it is: one"),
    ("--alter --bootstrap-server localhost:9092 --topic orders --add-config retention.ms",
     'requirement failed: Invalid entity config: all configs to be added must be in the format '
     '"key=val".'),
    ("--describe --bootstrap-server localhost:9092 --entity-type users --entity-name u",
     "kafkalab's kafka-configs serves --entity-type topics and brokers only, not users"),
])
def test_bad_commands_get_kafkas_messages(command, message, orders):
    result = run_tool(configs.main, command)
    assert (result.code, result.out, result.err) == (1, "", message + "\n")


def test_exactly_one_action_prints_the_usage(orders):
    result = run_tool(configs.main, "--bootstrap-server localhost:9092 --topic orders")
    assert result.code == 1
    assert result.err.startswith("Command must include exactly one action: --describe, --alter\n")
    assert "--add-config <String>" in result.err
