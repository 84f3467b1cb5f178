"""kafka-consumer-groups against the in-kernel cluster: the lesson's lag table ("Consumer Lag"),
list, describe (offsets, members, state), reset-offsets and delete, and Kafka's errors."""
from __future__ import annotations

import pytest
from tool_helpers import run_tool

from kafkalab import (
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)
from kafkalab.admin import OffsetSpec
from kafkalab.tools import consumer_groups

DESCRIBE = "--bootstrap-server localhost:9092 --group email-service --describe"
LESSON = {0: (1000, 1500), 1: (2000, 2000), 2: (1500, 2500)}  # committed, log end


@pytest.fixture
def lagging(cluster):
    """The lesson's example: email-service 500, 0 and 1000 records behind on orders 0-2."""
    cluster.create_topic("orders", partitions=3)
    producer = KafkaProducer(bootstrap_servers="localhost:9092")
    for partition, (_, end) in LESSON.items():
        for _ in range(end):
            producer.send("orders", b"order", partition=partition)
    producer.flush()
    KafkaAdminClient(bootstrap_servers="localhost:9092").alter_group_offsets("email-service", {
        TopicPartition("orders", p): OffsetAndMetadata(committed, "", -1)
        for p, (committed, _) in LESSON.items()})
    return cluster


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line]


def test_the_lessons_lag_table_for_a_group_without_members(lagging):
    result = run_tool(consumer_groups.main, DESCRIBE)
    assert result.code == 0
    assert result.err == "\nConsumer group 'email-service' has no active members.\n"
    header = "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG" \
             "             CONSUMER-ID     HOST            CLIENT-ID"
    assert result.out.splitlines()[:2] == ["", header]
    assert rows(result.out)[1:] == [
        ["email-service", "orders", "0", "1000", "1500", "500", "-", "-", "-"],
        ["email-service", "orders", "1", "2000", "2000", "0", "-", "-", "-"],
        ["email-service", "orders", "2", "1500", "2500", "1000", "-", "-", "-"]]


def test_an_active_group_shows_its_members_and_lag(lagging):
    consumer = KafkaConsumer("orders", bootstrap_servers="localhost:9092",
                             group_id="email-service", client_id="email-1",
                             enable_auto_commit=False)
    consumer.poll(timeout_ms=10_000, max_records=1)
    assert consumer.assignment()
    result = run_tool(consumer_groups.main, DESCRIBE)
    assert result.err == ""
    table = rows(result.out)
    assert table[0] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                        "CONSUMER-ID", "HOST", "CLIENT-ID"]
    assert [r[2:6] for r in table[1:]] == [["0", "1000", "1500", "500"],
                                           ["1", "2000", "2000", "0"],
                                           ["2", "1500", "2500", "1000"]]
    assert {r[-1] for r in table[1:]} == {"email-1"}
    assert len({r[-3] for r in table[1:]}) == 1 and table[1][-3] != "-"  # one member id

    members = run_tool(consumer_groups.main, DESCRIBE + " --members --verbose")
    assert rows(members.out)[0] == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS",
                                    "ASSIGNMENT"]
    assert rows(members.out)[1][-2:] == ["3", "orders(0,1,2)"]
    state = run_tool(consumer_groups.main, DESCRIBE + " --state")
    assert rows(state.out) == [["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE",
                                "#MEMBERS"],
                               ["email-service", "localhost:9092", "(1)", "range", "Stable",
                                "1"]]
    refused = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                             "email-service --reset-offsets --to-earliest "
                                             "--all-topics --execute")
    assert "\nError: Assignments can only be reset if the group 'email-service' is inactive, " \
           "but the current state is Stable.\n" in refused.out
    consumer.close()


def test_list_and_list_with_states(lagging):
    run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group billing "
                                   "--reset-offsets --to-latest --topic orders --execute")
    listed = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --list")
    assert listed.out == "billing\nemail-service\n"
    states = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --list --state")
    assert rows(states.out) == [["GROUP", "STATE"], ["billing", "Empty"],
                                ["email-service", "Empty"]]
    stable = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --list --state "
                                            "stable")
    assert rows(stable.out) == [["GROUP", "STATE"]]


def test_describe_all_groups_and_a_missing_group(lagging):
    missing = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group nope "
                                             "--describe")
    assert (missing.code, missing.out) == (0, "\nError: Consumer group 'nope' does not exist.\n")
    every = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --all-groups "
                                           "--describe --offsets")
    assert len(rows(every.out)) == 4


def test_reset_offsets_is_a_dry_run_unless_executed(lagging):
    admin = KafkaAdminClient(bootstrap_servers="localhost:9092")
    plan = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                          "email-service --reset-offsets --to-earliest "
                                          "--topic orders")
    assert plan.err.startswith("WARN: No action will be performed as the --execute option is "
                               "missing.")
    assert plan.out.splitlines()[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert rows(plan.out)[1:] == [["email-service", "orders", str(p), "0"] for p in range(3)]
    committed = admin.list_group_offsets("email-service")["email-service"]
    assert {tp.partition: om.offset for tp, om in committed.items()} == {0: 1000, 1: 2000,
                                                                          2: 1500}
    done = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                          "email-service --reset-offsets --shift-by -100 "
                                          "--topic orders:0,2 --execute")
    assert (done.code, done.err) == (0, "")
    assert rows(done.out)[1:] == [["email-service", "orders", "0", "900"],
                                  ["email-service", "orders", "2", "1400"]]
    committed = admin.list_group_offsets("email-service")["email-service"]
    assert {tp.partition: om.offset for tp, om in committed.items()} == {0: 900, 1: 2000,
                                                                          2: 1400}


@pytest.mark.parametrize("scenario, offsets", [
    ("--to-latest", [1500, 2000, 2500]),
    ("--to-offset 1800", [1500, 1800, 1800]),  # clamped to each partition's log end
    ("--shift-by 600", [1500, 2000, 2100]),
    ("--to-current", [1000, 2000, 1500]),
    ("--to-datetime 2100-01-01T00:00:00.000Z", [1500, 2000, 2500]),
    ("--to-datetime 2000-01-01T00:00:00.000Z", [0, 0, 0]),
])
def test_reset_scenarios(lagging, scenario, offsets):
    result = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                            f"email-service --reset-offsets {scenario} "
                                            "--all-topics --dry-run")
    assert [int(r[3]) for r in rows(result.out)[1:] if r[0] == "email-service"] == offsets
    if "2100" in scenario:
        assert "\nWarn: Partition 0 from topic orders is empty. Falling back to latest known " \
               "offset.\n" in result.out


def test_shift_without_a_committed_offset_is_refused(lagging):
    result = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group fresh "
                                            "--reset-offsets --shift-by 1 --topic orders:1 "
                                            "--execute")
    assert result.code == 1
    assert result.err.splitlines()[0] == ("Cannot shift offset for partition orders-1 since "
                                          "there is no current committed offset")


def test_delete_a_group_and_a_missing_one(lagging):
    deleted = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                             "email-service --delete")
    assert deleted.out == "Deletion of requested consumer groups ('email-service') was " \
                          "successful.\n"
    assert run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --list").out == ""
    again = run_tool(consumer_groups.main, "--bootstrap-server localhost:9092 --group "
                                           "email-service --delete")
    assert again.out.startswith("\nError: Deletion of some consumer groups failed:\n"
                                "* Group 'email-service' could not be deleted due to: "
                                "GroupIdNotFoundError")


@pytest.mark.parametrize("command, message", [
    ("--bootstrap-server localhost:9092 --describe",
     "Option [describe] takes one of these options: [group], [all-groups]"),
    ("--group g --describe", 'Missing required argument "[bootstrap-server]"'),
    ("--bootstrap-server localhost:9092 --group g",
     "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, "
     "--delete-offsets"),
    ("--bootstrap-server localhost:9092 --group g --describe --members --state",
     "Option [describe] takes at most one of these options: [members], [offsets], [state]"),
    ("--bootstrap-server localhost:9092 --group g --reset-offsets --to-earliest --to-latest "
     "--all-topics", 'Option "[to-earliest]" can\'t be used with option "[to-latest]"'),
    ("--bootstrap-server localhost:9092 --group g --reset-offsets --all-topics",
     "Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], "
     "[shift-by], [to-datetime], [to-earliest], [to-latest], [to-current]]"),
    ("--bootstrap-server localhost:9092 --group g --reset-offsets --to-earliest",
     "One of the reset scopes should be defined: --all-topics, --topic."),
    ("--bootstrap-server localhost:9092 --group g --reset-offsets --to-earliest --all-topics "
     "--dry-run --execute", "Option [reset-offsets] only accepts one of [execute] and "
                            "[dry-run]"),
    ("--bootstrap-server localhost:9092 --list --members",
     "Option(s) [members] are unavailable given other options on the command line"),
    ("--bootstrap-server localhost:9092 --group g --delete --topic t",
     "The consumer does not support topic-specific offset deletion from a consumer group."),
])
def test_bad_commands_get_kafkas_messages_and_the_usage(command, message, cluster):
    result = run_tool(consumer_groups.main, command)
    assert result.code == 1
    assert message in result.err.splitlines()
    assert "--reset-offsets" in result.err  # the usage table follows


def test_the_admin_client_lists_partition_offsets_as_kafka_python(lagging):
    admin = KafkaAdminClient(bootstrap_servers="localhost:9092")
    tps = [TopicPartition("orders", p) for p in range(3)]
    latest = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
    assert [latest[tp].offset for tp in tps] == [1500, 2000, 2500]
    earliest = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
    assert [earliest[tp].offset for tp in tps] == [0, 0, 0]
    with pytest.raises(TypeError, match="expected int or OffsetSpec"):
        admin.list_partition_offsets({tps[0]: "latest"})
    from kafkalab.errors import UnknownTopicOrPartitionError
    with pytest.raises(UnknownTopicOrPartitionError, match="ListOffsetsRequest failed for"):
        admin.list_partition_offsets({TopicPartition("nope", 0): OffsetSpec.LATEST})
