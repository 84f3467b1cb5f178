"""KafkaAdminClient: the lesson's ``kafka-topics`` and ``kafka-configs`` commands, as kafka-python's
admin API calls, against the engine."""
from __future__ import annotations

import pytest

from engine_helpers import snapshot
from kafkalab import KafkaProducer
from kafkalab.admin import (
    AlterConfigOp,
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewPartitions,
    NewTopic,
)
from kafkalab.errors import (
    InvalidConfigurationError,
    KafkaConnectionError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    InvalidReplicationAssignmentError,
    InvalidRequestError,
    InvalidTopicError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)


@pytest.fixture
def admin(cluster3):
    return KafkaAdminClient(bootstrap_servers=cluster3.bootstrap_servers)


def topic_resource(name, configs=None):
    return ConfigResource(ConfigResourceType.TOPIC, name, configs)


# --- create_topics -------------------------------------------------------------------------------


def test_create_topics_with_new_topic_objects(admin, cluster3):
    """kafka-topics --create --topic orders --partitions 3 --replication-factor 1"""
    result = admin.create_topics([NewTopic("orders", num_partitions=3, replication_factor=1),
                                  NewTopic("critical-events", 6, 3,
                                           topic_configs={"min.insync.replicas": "2"})])
    assert result == {"topics": [
        {"name": "orders", "error_code": 0, "error_message": None},
        {"name": "critical-events", "error_code": 0, "error_message": None}]}
    assert len(cluster3.topic("orders").partitions) == 3
    assert cluster3.topic("orders").replication_factor == 1
    critical = cluster3.topic("critical-events")
    assert (len(critical.partitions), critical.replication_factor) == (6, 3)
    assert critical.config["min.insync.replicas"] == 2


def test_create_topics_with_names_and_a_dict(admin, cluster3):
    admin.create_topics(["clicks"])
    admin.create_topics({"payments": {"num_partitions": 2, "replication_factor": 3,
                                      "configs": {"retention.ms": "86400000"}},
                         "inventory": {}})
    assert len(cluster3.topic("clicks").partitions) == 1           # num.partitions
    assert cluster3.topic("payments").config["retention.ms"] == 86400000
    assert cluster3.topic("payments").replication_factor == 3
    assert "inventory" in cluster3.topics


def test_create_topics_with_a_replica_assignment(admin, cluster3):
    admin.create_topics([NewTopic("orders", -1, -1, replica_assignments={0: [3, 1], 1: [2, 3]})])
    assert [p.replicas for p in cluster3.topic("orders").partitions] == [[3, 1], [2, 3]]
    assert [p.leader for p in cluster3.topic("orders").partitions] == [3, 2]
    before = snapshot(cluster3)
    with pytest.raises(InvalidReplicationAssignmentError,
                       match=r"distinct known brokers \[1, 2, 3\]"):
        admin.create_topics([NewTopic("bad", replica_assignments={0: [1, 7]})])
    with pytest.raises(InvalidReplicationAssignmentError, match="without gaps, got \\[0, 2\\]"):
        admin.create_topics([NewTopic("bad", replica_assignments={0: [1], 2: [2]})])
    with pytest.raises(InvalidReplicationAssignmentError, match="same number of replicas"):
        admin.create_topics([NewTopic("bad", replica_assignments={0: [1, 2], 1: [3]})])
    with pytest.raises(InvalidRequestError, match="cannot be used at the same time"):
        admin.create_topics([NewTopic("bad", 2, 1, replica_assignments={0: [1], 1: [2]})])
    assert snapshot(cluster3) == before


def test_validate_only_checks_everything_and_creates_nothing(admin, cluster3):
    result = admin.create_topics([NewTopic("orders", 3, 3)], validate_only=True)
    assert result["topics"][0]["error_code"] == 0
    assert "orders" not in cluster3.topics
    with pytest.raises(InvalidReplicationFactorError):
        admin.create_topics([NewTopic("orders", 3, 4)], validate_only=True)


@pytest.mark.parametrize("new_topic, error, reason", [
    (NewTopic("orders", 3, 1), TopicAlreadyExistsError, "already exists"),
    (NewTopic("bad name", 1, 1), InvalidTopicError, "illegal"),
    (NewTopic("zero", 0, 1), InvalidPartitionsError, "larger than 0"),
    (NewTopic("big", 1, 5), InvalidReplicationFactorError, "larger than available brokers: 3"),
    (NewTopic("conf", 1, 1, topic_configs={"cleanup.policy": "shred"}),
     InvalidConfigurationError, "String must be one of"),
])
def test_refused_creates_raise_kafkas_errors_and_change_nothing(admin, cluster3, new_topic,
                                                                error, reason):
    admin.create_topics([NewTopic("orders", 3, 1)])
    KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers).send(
        "orders", value=b"v").get(timeout=10)
    before = snapshot(cluster3)
    with pytest.raises(error, match=reason):
        admin.create_topics([new_topic])
    assert snapshot(cluster3) == before
    # without raise_errors the error comes back in the response, with Kafka's code
    result = admin.create_topics([new_topic], raise_errors=False)
    [entry] = result["topics"]
    assert entry["error_code"] == error.errno and reason in entry["error_message"]
    assert snapshot(cluster3) == before


def test_each_topic_in_a_list_is_created_or_refused_on_its_own(admin, cluster3):
    """As Kafka's CreateTopics: the refusal of one topic does not stop the others."""
    with pytest.raises(InvalidTopicError):
        admin.create_topics([NewTopic("a", 1, 1), NewTopic("b!", 1, 1), NewTopic("c", 1, 1)])
    assert sorted(cluster3.topics) == ["a", "c"]
    result = admin.create_topics([NewTopic("a", 1, 1), NewTopic("d", 1, 1)], raise_errors=False)
    assert [(t["name"], t["error_code"]) for t in result["topics"]] == [
        ("a", TopicAlreadyExistsError.errno), ("d", 0)]


# --- delete, list, describe -----------------------------------------------------------------------


def test_delete_topics(admin, cluster3):
    admin.create_topics(["orders", "payments"])
    assert admin.delete_topics(["orders"]) == {
        "topics": [{"name": "orders", "error_code": 0, "error_message": None}]}
    assert admin.list_topics() == ["payments"]
    with pytest.raises(UnknownTopicOrPartitionError, match="'orders' does not exist"):
        admin.delete_topics(["orders"])
    result = admin.delete_topics(["orders"], raise_errors=False)
    assert result["topics"][0]["error_code"] == UnknownTopicOrPartitionError.errno
    assert cluster3.events.of_kind("topic.deleted")[0].text.startswith("topic orders deleted")


def test_topic_deletion_can_be_disabled_on_the_brokers():
    from kafkalab import Cluster
    from kafkalab.errors import TopicDeletionDisabledError

    cluster = Cluster(config={"delete.topic.enable": "false"})
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.create_topics(["orders"])
    with pytest.raises(TopicDeletionDisabledError, match="delete.topic.enable=false"):
        admin.delete_topics(["orders"])
    assert admin.list_topics() == ["orders"]
    [refused] = cluster.events.of_kind("topic.delete_rejected")
    assert "refused to delete topic 'orders'" in refused.text


def test_list_topics_includes_internal_ones(admin, cluster3):
    admin.create_topics(["orders", "__consumer_offsets"])
    assert admin.list_topics() == ["__consumer_offsets", "orders"]


def test_describe_topics_like_kafka_topics_describe(admin, cluster3):
    admin.create_topics([NewTopic("critical-events", 2, 3)])
    [described] = admin.describe_topics(["critical-events"])
    assert described["name"] == "critical-events" and described["error_code"] == 0
    assert described["is_internal"] is False
    partitions = described["partitions"]
    assert [p["partition_index"] for p in partitions] == [0, 1]
    for p, real in zip(partitions, cluster3.topic("critical-events").partitions):
        assert p["leader_id"] == real.leader == p["replica_nodes"][0]
        assert sorted(p["replica_nodes"]) == [1, 2, 3]
        assert p["isr_nodes"] == p["replica_nodes"]
        assert p["offline_replicas"] == [] and p["leader_epoch"] == 0
    assert [t["name"] for t in admin.describe_topics()] == ["critical-events"]
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.describe_topics(["nope"])


def test_describe_topics_shows_the_replicas_of_a_stopped_broker_offline(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 3)])
    cluster3.kill_broker(2)
    [partition] = admin.describe_topics(["orders"])[0]["partitions"]
    assert partition["offline_replicas"] == [2]


def test_the_admin_client_needs_a_broker_it_can_reach(admin, cluster3):
    for broker in (1, 2, 3):
        cluster3.kill_broker(broker)
    with pytest.raises(KafkaConnectionError, match="no broker can be reached"):
        admin.create_topics(["orders"])
    assert "orders" not in cluster3.topics


def test_describe_cluster(admin, cluster3):
    described = admin.describe_cluster()
    assert described["brokers"] == [   # kafka-python's DescribeCluster field names
        {"broker_id": 1, "host": "localhost", "port": 9092, "rack": None, "is_fenced": False},
        {"broker_id": 2, "host": "localhost", "port": 9093, "rack": None, "is_fenced": False},
        {"broker_id": 3, "host": "localhost", "port": 9094, "rack": None, "is_fenced": False}]
    assert described["controller_id"] in (1, 2, 3)
    assert described["cluster_id"]
    cluster3.brokers[1].alive = False
    described = admin.describe_cluster()
    assert [b["is_fenced"] for b in described["brokers"]] == [True, False, False]
    assert described["controller_id"] in (2, 3)


# --- create_partitions ----------------------------------------------------------------------------


def test_create_partitions_grows_a_topic(admin, cluster3):
    admin.create_topics([NewTopic("orders", 3, 2)])
    result = admin.create_partitions({"orders": NewPartitions(total_count=6)})
    assert result == {"results": [{"topic_name": "orders", "error_code": 0,
                                   "error_message": None}]}
    topic = cluster3.topic("orders")
    assert len(topic.partitions) == 6
    assert all(len(p.replicas) == 2 for p in topic.partitions)
    admin.create_partitions({"orders": 8})   # kafka-python 3 also takes a plain count
    assert len(topic.partitions) == 8


@pytest.mark.parametrize("validate_only", [False, True])
@pytest.mark.parametrize("count", [3, 2, 0, -1])
def test_create_partitions_refuses_to_shrink(admin, cluster3, count, validate_only):
    admin.create_topics([NewTopic("orders", 3, 1)])
    before = snapshot(cluster3)
    with pytest.raises(InvalidPartitionsError, match="has 3 partitions.*never remove"):
        admin.create_partitions({"orders": NewPartitions(count)}, validate_only=validate_only)
    result = admin.create_partitions({"orders": count}, raise_errors=False,
                                     validate_only=validate_only)
    assert result["results"][0]["error_code"] == InvalidPartitionsError.errno
    assert snapshot(cluster3) == before


def test_create_partitions_validate_only_adds_nothing(admin, cluster3):
    admin.create_topics([NewTopic("orders", 3, 1)])
    result = admin.create_partitions({"orders": 6}, validate_only=True)
    assert result["results"][0]["error_code"] == 0
    assert len(cluster3.topic("orders").partitions) == 3
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.create_partitions({"nope": 6}, validate_only=True)


def test_create_partitions_with_an_assignment(admin, cluster3):
    """kafka-topics --alter --partitions 4 --replica-assignment ...: the new ones placed by hand"""
    admin.create_topics([NewTopic("orders", 2, 2)])
    admin.create_partitions({"orders": {"count": 4, "assignments": [[3, 1], [1, 2]]}})
    assert [p.replicas for p in cluster3.topic("orders").partitions][2:] == [[3, 1], [1, 2]]
    with pytest.raises(InvalidReplicationAssignmentError, match="but 1 assignment"):
        admin.create_partitions({"orders": NewPartitions(6, [[1, 2]])})
    assert len(cluster3.topic("orders").partitions) == 4


# --- configs -------------------------------------------------------------------------------------


def test_describe_configs_shows_kafkas_defaults_as_strings(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 1)])
    result = admin.describe_configs([topic_resource("orders")], config_filter="all")
    configs = result["topic"]["orders"]
    assert {name: configs[name]["value"] for name in (
        "retention.ms", "segment.bytes", "max.message.bytes", "cleanup.policy",
        "min.insync.replicas", "message.timestamp.type", "retention.bytes")} == {
        "retention.ms": "604800000", "segment.bytes": "1073741824",
        "max.message.bytes": "1048588", "cleanup.policy": "delete",
        "min.insync.replicas": "1", "message.timestamp.type": "CreateTime",
        "retention.bytes": "-1"}
    assert configs["retention.ms"]["config_source"] == "DEFAULT_CONFIG"
    assert configs["retention.ms"]["config_type"] == "LONG"
    assert configs["cleanup.policy"]["config_type"] == "LIST"
    # the default filter shows only what was changed: nothing yet
    assert admin.describe_configs([topic_resource("orders")]) == {"topic": {"orders": {}}}


def test_describe_configs_of_named_keys(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 1)])
    result = admin.describe_configs([topic_resource("orders", ["retention.ms"])],
                                    config_filter="all")
    assert list(result["topic"]["orders"]) == ["retention.ms"]


def test_alter_configs_like_kafka_configs_add_config(admin, cluster3):
    """kafka-configs --alter --entity-name orders --add-config retention.ms=604800000 ..."""
    admin.create_topics([NewTopic("orders", 1, 1), NewTopic("user-profiles", 1, 1)])
    result = admin.alter_configs([
        topic_resource("orders", {"retention.ms": "86400000",
                                  "retention.bytes": "10737418240"}),
        topic_resource("user-profiles", {"cleanup.policy": "compact"})])
    assert result == {"topic": {"orders": "OK", "user-profiles": "OK"}}  # kafka-python's shape
    orders = cluster3.topic("orders").config
    assert (orders["retention.ms"], orders["retention.bytes"]) == (86400000, 10737418240)
    assert cluster3.topic("user-profiles").config["cleanup.policy"] == ["compact"]
    described = admin.describe_configs([topic_resource("orders")])["topic"]["orders"]
    assert {k: v["value"] for k, v in described.items()} == {
        "retention.ms": "86400000", "retention.bytes": "10737418240"}
    assert described["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"


def test_alter_configs_delete_restores_the_default(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 1, topic_configs={"retention.ms": "1000"})])
    admin.alter_configs([topic_resource("orders", {"retention.ms": (AlterConfigOp.DELETE,
                                                                    None)})])
    assert cluster3.topic("orders").config["retention.ms"] == 604800000
    admin.alter_configs([topic_resource("orders", {"retention.ms": ("SET", "5000")})])
    assert cluster3.topic("orders").config["retention.ms"] == 5000


@pytest.mark.parametrize("validate_only", [False, True])
def test_alter_configs_with_invalid_values_changes_nothing(admin, cluster3, validate_only):
    admin.create_topics([NewTopic("orders", 1, 1, topic_configs={"retention.ms": "86400000"})])
    KafkaProducer(bootstrap_servers=cluster3.bootstrap_servers).send(
        "orders", value=b"v").get(timeout=10)
    before = snapshot(cluster3)
    with pytest.raises(InvalidConfigurationError,
                       match="Invalid value 'forever' for configuration retention.ms"):
        admin.alter_configs([topic_resource("orders", {"min.insync.replicas": "2",
                                                       "retention.ms": "forever"})],
                            validate_only=validate_only)
    with pytest.raises(InvalidConfigurationError, match="Unknown topic config"):
        admin.alter_configs([topic_resource("orders", {"retention.days": "7"})],
                            validate_only=validate_only)
    assert snapshot(cluster3) == before


def test_alter_configs_validate_only_applies_nothing(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 1)])
    assert admin.alter_configs([topic_resource("orders", {"retention.ms": "1000"})],
                               validate_only=True) == {"topic": {"orders": "OK"}}
    assert cluster3.topic("orders").config["retention.ms"] == 604800000


def test_broker_configs_are_described_but_not_altered(admin, cluster3):
    result = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")],
                                    config_filter="all")
    broker = result["broker"]["1"]
    assert broker["num.partitions"]["value"] == "1"
    assert broker["auto.create.topics.enable"]["value"] == "true"
    assert broker["log.retention.ms"]["value"] == "604800000"
    with pytest.raises(InvalidRequestError, match="broker configs are fixed"):
        admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "1",
                                            {"num.partitions": "3"})])


def test_describe_configs_filters_as_kafka_python_does():
    from kafkalab import Cluster

    cluster = Cluster(brokers=2, config={"log.retention.ms": "3600000"})
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    admin.create_topics([NewTopic("orders", 1, 1, topic_configs={"segment.bytes": 1048576})])
    orders = topic_resource("orders")
    # a value from the brokers' static config is not "modified" (kafka-python's filter)
    assert list(admin.describe_configs([orders])["topic"]["orders"]) == ["segment.bytes"]
    static = admin.describe_configs([orders], config_filter="static")["topic"]["orders"]
    assert list(static) == ["retention.ms"]
    # broker configs are read-only here, so none of them is "dynamic"
    broker = ConfigResource(ConfigResourceType.BROKER, "2")
    assert admin.describe_configs([broker], config_filter="dynamic") == {"broker": {"2": {}}}
    assert list(admin.describe_configs([broker])["broker"]["2"]) == []
    with pytest.raises(ValueError, match="Unrecognized ConfigFilterType: changed"):
        admin.describe_configs([orders], config_filter="changed")


def test_describe_configs_with_synonyms(admin, cluster3):
    admin.create_topics([NewTopic("orders", 1, 1, topic_configs={"retention.ms": "1000"})])
    described = admin.describe_configs([topic_resource("orders", ["retention.ms"])],
                                       include_synonyms=True)
    assert described["topic"]["orders"]["retention.ms"]["synonyms"] == [
        {"name": "retention.ms", "value": "1000", "source": "DYNAMIC_TOPIC_CONFIG"},
        {"name": "log.retention.ms", "value": "604800000", "source": "DEFAULT_CONFIG"}]


def test_alter_configs_appends_to_and_subtracts_from_a_list(admin, cluster3):
    admin.create_topics(["profiles"])
    admin.alter_configs([topic_resource("profiles", {
        "cleanup.policy": (AlterConfigOp.APPEND, "compact")})])
    assert cluster3.topic("profiles").config["cleanup.policy"] == ["delete", "compact"]
    admin.alter_configs([topic_resource("profiles", {"cleanup.policy": ("SUBTRACT", "delete")})])
    assert cluster3.topic("profiles").config["cleanup.policy"] == ["compact"]


def test_alter_configs_not_incremental_keeps_the_other_changed_configs(admin, cluster3):
    """AlterConfigs replaces all of a topic's configs; kafka-python first adds the ones that
    were changed before, so only the named config changes."""
    admin.create_topics([NewTopic("orders", 1, 1, topic_configs={"retention.ms": "1000"})])
    assert admin.alter_configs([topic_resource("orders", {"segment.bytes": "1048576"})],
                               incremental=False) == {"topic": {"orders": "OK"}}
    assert cluster3.topic("orders").config.overrides == {"retention.ms": 1000,
                                                         "segment.bytes": 1048576}
    with pytest.raises(ValueError, match="does not support operation DELETE"):
        admin.alter_configs([topic_resource("orders", {"retention.ms": ("DELETE", None)})],
                            incremental=False)
