"""The topic and config APIs of the broker's request layer, through a transport as a client
sends them: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
IncrementalAlterConfigs and DescribeCluster. Each topic or resource is answered on its own, with
Kafka's error codes; ``validate_only`` checks everything and changes nothing."""
from __future__ import annotations

import re

import pytest

from engine_helpers import snapshot
from kafkalab import Cluster
from kafkalab.api.messages.cluster import DescribeClusterRequest
from kafkalab.api.messages.configs import (
    CONFIG_SOURCES,
    OP_APPEND,
    OP_DELETE,
    OP_SET,
    OP_SUBTRACT,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    AlterableConfig,
    AlterConfigsRequest,
    AlterConfigsResource,
    DescribeConfigsRequest,
    DescribeConfigsResource,
    IncrementalAlterableConfig,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResource,
)
from kafkalab.api.messages.topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreatePartitionsAssignment,
    CreatePartitionsRequest,
    CreatePartitionsTopic,
    CreateTopicsRequest,
    DeleteTopicsRequest,
)
from kafkalab.client.transport import InProcessTransport
from kafkalab.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationAssignmentError,
    InvalidReplicationFactorError,
    InvalidRequestError,
    InvalidTopicError,
    MismatchedEndpointTypeError,
    TopicAlreadyExistsError,
    TopicDeletionDisabledError,
    UnknownTopicOrPartitionError,
)

DYNAMIC_TOPIC, STATIC_BROKER, DEFAULT = (CONFIG_SOURCES[s] for s in (
    "DYNAMIC_TOPIC_CONFIG", "STATIC_BROKER_CONFIG", "DEFAULT_CONFIG"))


def call(cluster: Cluster, request, node: int | None = None):
    return InProcessTransport(cluster).call(node, request)


def create(cluster: Cluster, *topics: CreatableTopic, validate_only: bool = False):
    return call(cluster, CreateTopicsRequest(topics, validate_only=validate_only)).topics


def codes(entries) -> dict[str, int]:
    return {e.name: e.error_code for e in entries}


# --- CreateTopics --------------------------------------------------------------------------------
def test_create_topics_answers_each_topic_with_what_it_got(cluster3):
    orders, clicks = create(cluster3, CreatableTopic(
        "orders", 3, 2, configs=(CreatableTopicConfig("retention.ms", "86400000"),)),
        CreatableTopic("clicks"))
    assert (orders.error_code, orders.error_message) == (0, None)
    assert (orders.num_partitions, orders.replication_factor) == (3, 2)
    configs = {c.name: c for c in orders.configs}
    assert (configs["retention.ms"].value, configs["retention.ms"].config_source) == (
        "86400000", DYNAMIC_TOPIC)
    assert (configs["segment.bytes"].value, configs["segment.bytes"].config_source) == (
        "1073741824", DEFAULT)
    assert (clicks.num_partitions, clicks.replication_factor) == (1, 1)   # the broker's defaults
    assert [len(cluster3.topic(t).partitions) for t in ("orders", "clicks")] == [3, 1]
    assert [e.data["topic"] for e in cluster3.events.of_kind("topic.created")] == [
        "orders", "clicks"]


def test_create_topics_with_a_replica_assignment(cluster3):
    [result] = create(cluster3, CreatableTopic("orders", assignments=(
        CreatableReplicaAssignment(0, (3, 1)), CreatableReplicaAssignment(1, (2, 3)))))
    assert (result.error_code, result.num_partitions, result.replication_factor) == (0, 2, 2)
    assert [p.replicas for p in cluster3.topic("orders").partitions] == [[3, 1], [2, 3]]


@pytest.mark.parametrize("topic, error", [
    (CreatableTopic("orders", 1, 1), TopicAlreadyExistsError),
    (CreatableTopic("bad name", 1, 1), InvalidTopicError),
    (CreatableTopic("zero", 0, 1), InvalidPartitionsError),
    (CreatableTopic("big", 1, 4), InvalidReplicationFactorError),
    (CreatableTopic("conf", 1, 1, configs=(CreatableTopicConfig("cleanup.policy", "shred"),)),
     InvalidConfigurationError),
    (CreatableTopic("placed", assignments=(CreatableReplicaAssignment(0, (1, 7)),)),
     InvalidReplicationAssignmentError),
    (CreatableTopic("both", 1, 1, assignments=(CreatableReplicaAssignment(0, (1,)),)),
     InvalidRequestError),
], ids=lambda v: getattr(v, "name", None) or v.__name__)
def test_a_refused_topic_gets_kafkas_code_and_the_others_are_created(cluster3, topic, error):
    create(cluster3, CreatableTopic("orders", 1, 1))
    before = snapshot(cluster3)
    refused, fine = create(cluster3, topic, CreatableTopic("fine", 1, 1))
    assert refused.error_code == error.errno and refused.error_message
    assert (refused.num_partitions, refused.configs) == (-1, None)
    assert fine.error_code == 0
    del cluster3.topics["fine"]   # to compare the rest
    assert snapshot(cluster3) == before
    [rejected] = cluster3.events.of_kind("topic.create_rejected")
    assert rejected.data["topic"] == topic.name


def test_a_topic_named_twice_in_one_request_is_refused_both_times(cluster3):
    results = create(cluster3, CreatableTopic("orders", 1, 1), CreatableTopic("orders", 2, 1))
    assert [r.error_code for r in results] == [InvalidRequestError.errno] * 2
    assert "Duplicate topic name 'orders'" in results[0].error_message
    assert "orders" not in cluster3.topics


def test_validate_only_answers_as_a_create_would_and_creates_nothing():
    cluster = Cluster(brokers=3, config={"num.partitions": 4})
    rng_state = cluster.rng.getstate()
    [checked] = create(cluster, CreatableTopic("orders", replication_factor=2, configs=(
        CreatableTopicConfig("min.insync.replicas", "2"),)), validate_only=True)
    assert (checked.error_code, checked.num_partitions, checked.replication_factor) == (0, 4, 2)
    assert {c.name: c.value for c in checked.configs}["min.insync.replicas"] == "2"
    assert cluster.topics == {} and cluster.rng.getstate() == rng_state
    assert cluster.events.of_kind("topic.created") == []
    [refused] = create(cluster, CreatableTopic("orders", 1, 4), validate_only=True)
    assert refused.error_code == InvalidReplicationFactorError.errno


# --- DeleteTopics --------------------------------------------------------------------------------
def test_delete_topics_answers_each_name(cluster3):
    create(cluster3, CreatableTopic("orders"), CreatableTopic("payments"))
    response = call(cluster3, DeleteTopicsRequest(("orders", "nope", "orders"), 30000))
    assert [(r.name, r.error_code) for r in response.responses] == [
        ("orders", InvalidRequestError.errno), ("nope", UnknownTopicOrPartitionError.errno),
        ("orders", InvalidRequestError.errno)]
    assert "'nope' does not exist" in response.responses[1].error_message
    response = call(cluster3, DeleteTopicsRequest(("orders",), 30000))
    assert codes(response.responses) == {"orders": 0}
    assert sorted(cluster3.topics) == ["payments"]
    assert cluster3.events.of_kind("topic.deleted")[0].text.startswith("topic orders deleted")


def test_delete_topics_refused_while_deletion_is_disabled():
    cluster = Cluster(config={"delete.topic.enable": "false"})
    create(cluster, CreatableTopic("orders"))
    [result] = call(cluster, DeleteTopicsRequest(("orders",), 30000)).responses
    assert result.error_code == TopicDeletionDisabledError.errno
    assert "delete.topic.enable=false" in result.error_message
    assert "orders" in cluster.topics


# --- CreatePartitions ----------------------------------------------------------------------------
def grow(cluster, *topics, validate_only=False):
    return call(cluster, CreatePartitionsRequest(topics, 30000, validate_only)).results


def test_create_partitions_grows_each_topic_or_says_why_not(cluster3):
    create(cluster3, CreatableTopic("orders", 3, 2), CreatableTopic("clicks", 2, 1))
    results = grow(cluster3, CreatePartitionsTopic("orders", 5), CreatePartitionsTopic("clicks", 2),
                   CreatePartitionsTopic("nope", 4))
    assert codes(results) == {"orders": 0, "clicks": InvalidPartitionsError.errno,
                              "nope": UnknownTopicOrPartitionError.errno}
    assert "never remove" in results[1].error_message
    assert [len(cluster3.topic(t).partitions) for t in ("orders", "clicks")] == [5, 2]
    assert all(len(p.replicas) == 2 for p in cluster3.topic("orders").partitions)


def test_create_partitions_validate_only_adds_nothing(cluster3):
    create(cluster3, CreatableTopic("orders", 3, 1))
    before = snapshot(cluster3)
    [result] = grow(cluster3, CreatePartitionsTopic("orders", 6), validate_only=True)
    assert result.error_code == 0
    assert snapshot(cluster3) == before
    assert cluster3.events.of_kind("topic.partitions_added") == []


def test_create_partitions_with_a_manual_assignment(cluster3):
    create(cluster3, CreatableTopic("orders", 2, 2))
    [result] = grow(cluster3, CreatePartitionsTopic("orders", 4, (
        CreatePartitionsAssignment((3, 1)), CreatePartitionsAssignment((1, 2)))))
    assert result.error_code == 0
    assert [p.replicas for p in cluster3.topic("orders").partitions][2:] == [[3, 1], [1, 2]]


@pytest.mark.parametrize("assignments, reason", [
    (((1, 2),), "2 additional partition\\(s\\), but 1 assignment"),
    (((1, 2), (1, 7)), "partition 3 \\[1, 7\\] must list distinct known brokers"),
    (((1, 1), (1, 2)), "partition 2 \\[1, 1\\] must list distinct"),
    (((1,), (2,)), "gives 1 replica\\(s\\) per partition, but the partitions of orders have 2"),
])
def test_a_manual_assignment_of_new_partitions_is_checked(cluster3, assignments, reason):
    create(cluster3, CreatableTopic("orders", 2, 2))
    before = snapshot(cluster3)
    [result] = grow(cluster3, CreatePartitionsTopic("orders", 4, tuple(
        CreatePartitionsAssignment(a) for a in assignments)))
    assert result.error_code == InvalidReplicationAssignmentError.errno
    assert re.search(reason, result.error_message)
    assert snapshot(cluster3) == before


# --- DescribeConfigs -----------------------------------------------------------------------------
def describe(cluster, *resources, node=None, **options):
    return call(cluster, DescribeConfigsRequest(resources, **options), node).results


def test_describe_configs_of_a_topic_says_where_each_value_comes_from():
    cluster = Cluster(config={"log.retention.ms": "3600000"})
    create(cluster, CreatableTopic("orders", configs=(
        CreatableTopicConfig("segment.bytes", "1048576"),)))
    [result] = describe(cluster, DescribeConfigsResource(RESOURCE_TOPIC, "orders"))
    assert (result.error_code, result.resource_name) == (0, "orders")
    configs = {c.name: c for c in result.configs}
    assert [c.name for c in result.configs] == sorted(configs)
    assert (configs["segment.bytes"].value, configs["segment.bytes"].config_source) == (
        "1048576", DYNAMIC_TOPIC)
    assert (configs["retention.ms"].value, configs["retention.ms"].config_source) == (
        "3600000", STATIC_BROKER)
    assert configs["cleanup.policy"].config_source == DEFAULT
    assert configs["retention.ms"].config_type == 5 and configs["cleanup.policy"].config_type == 7
    assert not configs["retention.ms"].read_only
    # synonyms and documentation only when asked for
    assert configs["retention.ms"].synonyms == () and configs["retention.ms"].documentation is None
    wanted = ("retention.ms", "no.such", "segment.bytes")
    [result] = describe(cluster, DescribeConfigsResource(RESOURCE_TOPIC, "orders", wanted),
                        include_synonyms=True, include_documentation=True)
    assert [c.name for c in result.configs] == ["retention.ms", "segment.bytes"]
    retention, segment = result.configs
    assert [(s.name, s.value, s.source) for s in retention.synonyms] == [
        ("log.retention.ms", "3600000", STATIC_BROKER),
        ("log.retention.ms", "604800000", DEFAULT)]
    assert [(s.name, s.source) for s in segment.synonyms] == [
        ("segment.bytes", DYNAMIC_TOPIC), ("log.segment.bytes", DEFAULT)]
    assert retention.documentation


def test_describe_configs_of_a_broker_goes_to_that_broker(cluster3):
    [result] = describe(cluster3, DescribeConfigsResource(RESOURCE_BROKER, "2",
                                                          ("num.partitions",)), node=2)
    [entry] = result.configs
    assert (entry.name, entry.value, entry.read_only, entry.config_source) == (
        "num.partitions", "1", True, DEFAULT)
    [cluster_wide] = describe(cluster3, DescribeConfigsResource(RESOURCE_BROKER, ""), node=2)
    assert cluster_wide.error_code == 0 and cluster_wide.configs
    [elsewhere] = describe(cluster3, DescribeConfigsResource(RESOURCE_BROKER, "2"), node=1)
    assert elsewhere.error_code == InvalidRequestError.errno
    assert "expected 1 or empty string, but received 2" in elsewhere.error_message


def test_describe_configs_answers_a_refused_resource_on_its_own(cluster3):
    create(cluster3, CreatableTopic("orders"))
    missing, logger, orders = describe(
        cluster3, DescribeConfigsResource(RESOURCE_TOPIC, "nope"),
        DescribeConfigsResource(8, "1"), DescribeConfigsResource(RESOURCE_TOPIC, "orders"))
    assert (missing.error_code, missing.configs) == (UnknownTopicOrPartitionError.errno, ())
    assert logger.error_code == InvalidRequestError.errno
    assert "TOPIC (2) and BROKER (4)" in logger.error_message
    assert orders.error_code == 0 and orders.configs


# --- IncrementalAlterConfigs and AlterConfigs ----------------------------------------------------
def alter(cluster, *resources, validate_only=False, node=None):
    return call(cluster, IncrementalAlterConfigsRequest(resources, validate_only), node).responses


def topic_ops(name, *ops):
    return IncrementalAlterConfigsResource(RESOURCE_TOPIC, name, tuple(
        IncrementalAlterableConfig(*op) for op in ops))


def test_incremental_alter_configs_sets_and_deletes(cluster3):
    create(cluster3, CreatableTopic("orders", configs=(CreatableTopicConfig("retention.ms",
                                                                            "1000"),)))
    [response] = alter(cluster3, topic_ops("orders", ("retention.ms", OP_DELETE, None),
                                           ("min.insync.replicas", OP_SET, "2")))
    assert (response.resource_type, response.resource_name, response.error_code) == (
        RESOURCE_TOPIC, "orders", 0)
    config = cluster3.topic("orders").config
    assert (config["retention.ms"], config["min.insync.replicas"]) == (604800000, 2)
    changed = [e.text for e in cluster3.events.of_kind("topic.config_changed")]
    assert sorted(changed) == ["topic orders: min.insync.replicas 1 -> 2",
                               "topic orders: retention.ms 1000 -> 604800000"]


def test_append_and_subtract_change_a_list_config(cluster3):
    create(cluster3, CreatableTopic("profiles"))
    alter(cluster3, topic_ops("profiles", ("cleanup.policy", OP_APPEND, "compact")))
    assert cluster3.topic("profiles").config["cleanup.policy"] == ["delete", "compact"]
    alter(cluster3, topic_ops("profiles", ("cleanup.policy", OP_SUBTRACT, "delete")))
    assert cluster3.topic("profiles").config["cleanup.policy"] == ["compact"]
    [response] = alter(cluster3, topic_ops("profiles", ("retention.ms", OP_APPEND, "5")))
    assert response.error_code == InvalidConfigurationError.errno
    assert "append is not allowed for config key: retention.ms" in response.error_message


@pytest.mark.parametrize("ops, error, reason", [
    ((("retention.ms", OP_SET, "forever"),), InvalidConfigurationError, "Invalid value 'forever'"),
    ((("retention.days", OP_SET, "7"),), InvalidConfigurationError, "Unknown topic config"),
    ((("retention.ms", OP_SET, "1"), ("retention.ms", OP_DELETE, None)), InvalidRequestError,
     "duplicate config keys: retention.ms"),
    ((("retention.ms", 9, "1"),), InvalidRequestError, "Unknown config operation 9"),
])
def test_a_refused_alter_changes_nothing_of_that_topic(cluster3, ops, error, reason):
    create(cluster3, CreatableTopic("orders"), CreatableTopic("clicks"))
    before = snapshot(cluster3)
    refused, fine = alter(cluster3, topic_ops("orders", ("min.insync.replicas", OP_SET, "2"), *ops),
                          topic_ops("clicks", ("retention.ms", OP_SET, "1000")))
    assert refused.error_code == error.errno and reason in refused.error_message
    assert fine.error_code == 0
    assert cluster3.topic("clicks").config["retention.ms"] == 1000
    cluster3.topic("clicks").config.overrides.clear()
    assert snapshot(cluster3) == before


def test_alter_validate_only_changes_nothing(cluster3):
    create(cluster3, CreatableTopic("orders"))
    [ok, bad] = alter(cluster3, topic_ops("orders", ("retention.ms", OP_SET, "1000")),
                      topic_ops("nope", ("retention.ms", OP_SET, "1000")), validate_only=True)
    assert (ok.error_code, bad.error_code) == (0, UnknownTopicOrPartitionError.errno)
    assert cluster3.topic("orders").config.overrides == {}
    assert cluster3.events.of_kind("topic.config_changed") == []


def test_broker_configs_cannot_be_altered(cluster3):
    [response] = alter(cluster3, IncrementalAlterConfigsResource(RESOURCE_BROKER, "1", (
        IncrementalAlterableConfig("num.partitions", OP_SET, "3"),)), node=1)
    assert response.error_code == InvalidRequestError.errno
    assert "broker configs are fixed when the Cluster is created" in response.error_message


def test_alter_configs_replaces_every_config_of_the_topic(cluster3):
    create(cluster3, CreatableTopic("orders", configs=(
        CreatableTopicConfig("retention.ms", "1000"), CreatableTopicConfig("segment.bytes",
                                                                           "1048576"))))
    request = AlterConfigsRequest((AlterConfigsResource(RESOURCE_TOPIC, "orders", (
        AlterableConfig("retention.ms", "2000"), AlterableConfig("min.insync.replicas", "2"))),))
    [response] = call(cluster3, request).responses
    assert response.error_code == 0
    assert cluster3.topic("orders").config.overrides == {"retention.ms": 2000,
                                                         "min.insync.replicas": 2}


# --- DescribeCluster -----------------------------------------------------------------------------
def test_describe_cluster_lists_fenced_brokers_only_when_asked(cluster3):
    cluster3.kill_broker(1)
    response = call(cluster3, DescribeClusterRequest())
    assert [b.broker_id for b in response.brokers] == [2, 3]
    assert (response.controller_id, response.cluster_id) == (2, cluster3.cluster_id)
    response = call(cluster3, DescribeClusterRequest(include_fenced_brokers=True))
    assert [(b.broker_id, b.is_fenced) for b in response.brokers] == [
        (1, True), (2, False), (3, False)]
    refused = call(cluster3, DescribeClusterRequest(endpoint_type=2))
    assert refused.error_code == MismatchedEndpointTypeError.errno
