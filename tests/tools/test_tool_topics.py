"""kafka-topics against the in-kernel cluster: every action and flag, the lesson's commands from
"Создание топика" and "Репликация", and Kafka's errors."""
from __future__ import annotations

import pytest
from tool_helpers import run_tool

from kafkalab import KafkaAdminClient
from kafkalab.tools import topics

CREATE_ORDERS = ("--create --bootstrap-server localhost:9092 --topic orders --partitions 3 "
                 "--replication-factor 1")


def test_the_lessons_create_list_and_describe(cluster):
    created = run_tool(topics.main, CREATE_ORDERS)
    assert (created.code, created.out, created.err) == (0, "Created topic orders.\n", "")
    listed = run_tool(topics.main, "--list --bootstrap-server localhost:9092")
    assert (listed.code, listed.out) == (0, "orders\n")
    described = run_tool(topics.main, "--describe --topic orders --bootstrap-server "
                                      "localhost:9092")
    assert described.code == 0
    assert described.out == (
        "Topic: orders\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: \n"
        "\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n"
        "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\n"
        "\tTopic: orders\tPartition: 2\tLeader: 1\tReplicas: 1\tIsr: 1\n")
    assert cluster.describe_topic("orders") is not None


def test_the_lessons_replicated_topic_shows_leaders_replicas_and_isr(cluster3):
    created = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic "
                                    "critical-events --partitions 6 --replication-factor 3")
    assert created.out == "Created topic critical-events.\n"
    lines = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 --topic "
                                  "critical-events").out.splitlines()
    assert lines[0].startswith("Topic: critical-events\tPartitionCount: 6\tReplicationFactor: 3")
    assert len(lines) == 7
    for partition, line in enumerate(lines[1:]):
        fields = dict(f.split(": ") for f in line.strip("\t").split("\t"))
        replicas = fields["Replicas"].split(",")
        assert fields["Partition"] == str(partition)
        assert fields["Leader"] == replicas[0] and len(set(replicas)) == 3
        assert sorted(fields["Isr"].split(",")) == sorted(replicas)
    assert len({line.split("\tLeader: ")[1][0] for line in lines[1:]}) == 3  # spread


def test_create_with_configs_and_the_collision_warning(cluster):
    result = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic "
                                   "user.profiles --config cleanup.policy=compact --config "
                                   "retention.ms=1000")
    assert result.out == ("WARNING: Due to limitations in metric names, topics with a period "
                          "('.') or underscore ('_') could collide. To avoid issues it is best "
                          "to use either, but not both.\nCreated topic user.profiles.\n")
    first = run_tool(topics.main, "--describe --bootstrap-server localhost:9092").out
    assert first.splitlines()[0] == ("Topic: user.profiles\tPartitionCount: 1\t"
                                     "ReplicationFactor: 1\tConfigs: cleanup.policy=compact,"
                                     "retention.ms=1000")


def test_create_refusals_are_reported_as_kafka_reports_them(cluster):
    run_tool(topics.main, CREATE_ORDERS)
    again = run_tool(topics.main, CREATE_ORDERS)
    assert (again.code, again.out) == (
        1, "Error while executing topic command : Topic 'orders' already exists.\n")
    quiet = run_tool(topics.main, CREATE_ORDERS + " --if-not-exists")
    assert (quiet.code, quiet.out) == (0, "")
    too_many = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic t "
                                     "--replication-factor 3")
    assert too_many.code == 1
    assert too_many.out.startswith("Error while executing topic command : Replication factor: "
                                   "3 larger than available brokers: 1")
    zero = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic t "
                                 "--partitions 0")
    assert zero.out == "Error while executing topic command : The partitions must be greater " \
                       "than 0\n"
    bad_config = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic t "
                                       "--config retention.ms")
    assert bad_config.out == ('Error while executing topic command : requirement failed: Invalid '
                              'topic config: all configs to be added must be in the format '
                              '"key=val".\n')


def test_create_with_a_replica_assignment(cluster3):
    result = run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic pinned "
                                   "--replica-assignment 3:1,2:3")
    assert result.code == 0
    lines = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 --topic "
                                  "pinned").out.splitlines()
    assert [line.split("\tReplicas: ")[1].split("\t")[0] for line in lines[1:]] == ["3,1", "2,3"]


def test_list_shows_internal_topics_unless_excluded_and_filters_by_regex(cluster):
    for name in ("orders", "orders-dlq", "payments"):
        run_tool(topics.main, f"--create --bootstrap-server localhost:9092 --topic {name}")
    KafkaAdminClient(bootstrap_servers="localhost:9092").list_group_offsets({"g": None})
    everything = run_tool(topics.main, "--list --bootstrap-server localhost:9092").out
    assert everything == "__consumer_offsets\norders\norders-dlq\npayments\n"
    external = run_tool(topics.main, "--list --bootstrap-server localhost:9092 "
                                     "--exclude-internal").out
    assert external == "orders\norders-dlq\npayments\n"
    matched = run_tool(topics.main, ["--list", "--bootstrap-server", "localhost:9092",
                                     "--topic", "orders.*"]).out
    assert matched == "orders\norders-dlq\n"


def test_list_of_an_empty_cluster_prints_an_empty_line(cluster):
    assert run_tool(topics.main, "--list --bootstrap-server localhost:9092").out == "\n"


def test_describe_all_topics_sorted_and_the_partition_reports(cluster3):
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic b "
                          "--partitions 2 --replication-factor 3 --config min.insync.replicas=2")
    run_tool(topics.main, "--create --bootstrap-server localhost:9092 --topic a "
                          "--replication-factor 1")
    described = run_tool(topics.main, "--describe --bootstrap-server localhost:9092").out
    heads = [line for line in described.splitlines() if line.startswith("Topic:")]
    assert [h.split("\t")[0] for h in heads] == ["Topic: a", "Topic: b"]
    assert heads[1].endswith("Configs: min.insync.replicas=2")
    healthy = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                    "--under-replicated-partitions")
    assert (healthy.code, healthy.out) == (0, "")
    overrides = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                      "--topics-with-overrides").out
    assert overrides.startswith("Topic: b\t") and overrides.count("\n") == 1

    leader_of_a = int(run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                            "--topic a").out.split("Leader: ")[1][0])
    cluster3.kill_broker(leader_of_a)
    cluster3.advance(ms=30_000)
    unavailable = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                        "--unavailable-partitions").out
    assert unavailable.startswith("\tTopic: a\tPartition: 0\tLeader: none\t")
    under = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                  "--under-replicated-partitions --topic b").out.splitlines()
    assert len(under) == 2 and all(str(leader_of_a) not in line.split("Isr: ")[1]
                                   for line in under)
    at_min = run_tool(topics.main, "--describe --bootstrap-server localhost:9092 "
                                   "--at-min-isr-partitions --topic b").out.splitlines()
    assert len(at_min) == 2


def test_alter_adds_partitions_and_refuses_configs(cluster):
    run_tool(topics.main, CREATE_ORDERS)
    altered = run_tool(topics.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                    "--partitions 5")
    assert (altered.code, altered.out) == (0, "")
    assert "PartitionCount: 5" in run_tool(topics.main, "--describe --bootstrap-server "
                                                        "localhost:9092 --topic orders").out
    shrink = run_tool(topics.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                   "--partitions 2")
    assert shrink.code == 1 and shrink.out.startswith("Error while executing topic command : ")
    configs = run_tool(topics.main, "--alter --bootstrap-server localhost:9092 --topic orders "
                                    "--partitions 6 --config retention.ms=1")
    assert configs.err.splitlines()[0] == (
        'Option combination "[bootstrap-server, config]" can\'t be used with option "[alter]" '
        "(To alter topic configurations, the kafka-configs tool can be used.)")
    missing = run_tool(topics.main, "--alter --bootstrap-server localhost:9092 --topic nope "
                                    "--partitions 6")
    assert missing.out == ("Error while executing topic command : Topic 'nope' does not exist "
                           "as expected\n")
    assert run_tool(topics.main, "--alter --bootstrap-server localhost:9092 --topic nope "
                                 "--partitions 6 --if-exists").code == 0


def test_delete_a_topic_and_a_missing_one(cluster):
    run_tool(topics.main, CREATE_ORDERS)
    assert run_tool(topics.main, "--delete --bootstrap-server localhost:9092 --topic "
                                 "orders").out == ""
    assert run_tool(topics.main, "--list --bootstrap-server localhost:9092").out == "\n"
    missing = run_tool(topics.main, "--delete --bootstrap-server localhost:9092 --topic orders")
    assert missing.code == 1 and "Topic 'orders' does not exist as expected" in missing.out
    assert run_tool(topics.main, "--delete --bootstrap-server localhost:9092 --topic orders "
                                 "--if-exists").code == 0


@pytest.mark.parametrize("command, message", [
    ("--list --describe --bootstrap-server localhost:9092",
     "Command must include exactly one action: --list, --describe, --create, --alter or "
     "--delete"),
    ("--create --bootstrap-server localhost:9092", 'Missing required argument "[topic]"'),
    ("--alter --bootstrap-server localhost:9092 --topic t", 'Missing required argument '
                                                            '"[partitions]"'),
    ("--list --bootstrap-server localhost:9092 --partitions 3",
     'Option "[partitions]" can\'t be used with option "[list]"'),
    ("--describe --bootstrap-server localhost:9092 --if-not-exists",
     'Option "[if-not-exists]" can\'t be used with option "[describe]"'),
    ("--describe --bootstrap-server localhost:9092 --if-exists",
     "--topic or --topic-id is required to describe a topic"),
])
def test_wrong_combinations_get_kafkas_messages_and_the_usage(command, message, cluster):
    result = run_tool(topics.main, command)
    assert result.code == 1
    assert result.err.splitlines()[0] == message
    assert "Option                                   Description" in result.err


def test_bootstrap_server_is_required(cluster):
    result = run_tool(topics.main, "--list")
    assert (result.code, result.err) == (1, "--bootstrap-server must be specified\n")


def test_topic_ids_print_as_kafka_prints_uuids():
    from kafkalab.tools.topics import topic_id_text

    assert topic_id_text("00000000-0000-0000-0000-000000000000") is None
    assert topic_id_text(None) is None
    assert topic_id_text("7c9f0447-8557-43a5-97cd-0a75991da94d") == "fJ8ER4VXQ6WXzQp1mR2pTQ"
