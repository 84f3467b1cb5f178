"""Kafka's names, defaults and validation rules for topics and topic configs (DESIGN §2.8).

The scenarios follow the lesson's "Создание топика" and "Retention и Compaction" sections: a topic
is created with partitions and a replication factor, its configs are altered with the values
``kafka-configs --add-config`` sends (strings), and every refusal says why and changes nothing.
"""
from __future__ import annotations

import kafka.errors
import pytest

from engine_helpers import snapshot
from kafkalab import KafkaProducer
from kafkalab.config import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    BrokerConfig,
    TopicConfig,
    kafka_string,
    validate_topic_name,
)
from kafkalab.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    TopicAlreadyExistsError,
)

# --- topic names -------------------------------------------------------------------------------

LEGAL_NAMES = ["orders", "Orders-2024", "user_profiles", "page.views", "a", "-", "_", "...",
               "x" * 249, "0123456789"]


@pytest.mark.parametrize("name", LEGAL_NAMES)
def test_legal_topic_names_are_accepted(cluster, name):
    assert validate_topic_name(name) == name
    assert cluster.create_topic(name).name == name


@pytest.mark.parametrize("name, reason", [
    ("", "can't be empty"),
    (".", 'cannot be "."'),
    ("..", 'cannot be ".."'),
    ("x" * 250, "can't be longer than 249 characters"),
    ("orders!", "character other than ASCII alphanumerics"),
    ("my orders", "' '"),
    ("заказы", "character other than ASCII alphanumerics"),
    ("orders/2024", "'/'"),
    ("a:b", "':'"),
])
def test_illegal_topic_names_are_refused_with_the_reason(cluster, name, reason):
    before = snapshot(cluster)
    with pytest.raises(InvalidTopicError, match=reason.replace(".", r"\.").replace("(", r"\(")):
        cluster.create_topic(name)
    assert snapshot(cluster) == before
    assert name not in cluster.topics
    [refused] = cluster.events.of_kind("topic.create_rejected")
    assert refused.text.startswith(f"refused to create topic {name!r}: ") and reason in refused.text


def test_topic_name_must_be_a_string(cluster):
    with pytest.raises(InvalidTopicError, match="must be a string, not int"):
        cluster.create_topic(42)


def test_names_that_differ_only_by_dot_and_underscore_collide(cluster):
    cluster.create_topic("page.views")
    with pytest.raises(InvalidTopicError, match="'page_views' collides with existing topic "
                                                 "'page.views'"):
        cluster.create_topic("page_views")
    assert sorted(cluster.topics) == ["page.views"]


def test_creating_an_existing_topic_fails(cluster):
    cluster.create_topic("orders", partitions=3)
    before = snapshot(cluster)
    with pytest.raises(TopicAlreadyExistsError, match="'orders' already exists"):
        cluster.create_topic("orders", partitions=5)
    assert snapshot(cluster) == before


def test_error_classes_are_kafka_pythons_own():
    assert InvalidTopicError is kafka.errors.InvalidTopicError
    assert TopicAlreadyExistsError is kafka.errors.TopicAlreadyExistsError
    assert InvalidPartitionsError is kafka.errors.InvalidPartitionsError
    assert InvalidReplicationFactorError is kafka.errors.InvalidReplicationFactorError
    assert InvalidConfigurationError is kafka.errors.InvalidConfigurationError


# --- partitions and replication factor ---------------------------------------------------------


@pytest.mark.parametrize("partitions", [0, -2, -100])
def test_partition_count_must_be_positive(cluster, partitions):
    with pytest.raises(InvalidPartitionsError, match=f"larger than 0, got {partitions}"):
        cluster.create_topic("orders", partitions=partitions)
    assert "orders" not in cluster.topics


def test_minus_one_partitions_means_the_broker_default(cluster):
    assert len(cluster.create_topic("orders", partitions=-1).partitions) == 1


def test_replication_factor_cannot_exceed_the_brokers(cluster3):
    before = snapshot(cluster3)
    with pytest.raises(InvalidReplicationFactorError,
                       match="Replication factor: 4 larger than available brokers: 3"):
        cluster3.create_topic("critical-events", partitions=6, replication_factor=4)
    with pytest.raises(InvalidReplicationFactorError, match="larger than 0, got 0"):
        cluster3.create_topic("critical-events", partitions=6, replication_factor=0)
    assert snapshot(cluster3) == before


def test_lesson_topic_with_replication_factor_3(cluster3):
    """kafka-topics --create --topic critical-events --partitions 6 --replication-factor 3"""
    topic = cluster3.create_topic("critical-events", partitions=6, replication_factor=3)
    assert len(topic.partitions) == 6
    for p in topic.partitions:
        assert sorted(p.replicas) == [1, 2, 3]
        assert p.leader == p.replicas[0] and p.isr == p.replicas
    # leaders are spread: each broker leads two of the six partitions
    leaders = [p.leader for p in topic.partitions]
    assert sorted(leaders.count(b) for b in (1, 2, 3)) == [2, 2, 2]


def test_create_partitions_only_grows_a_topic(cluster):
    cluster.create_topic("orders", partitions=3)
    before = snapshot(cluster)
    for total in (3, 2, 0, -1):
        with pytest.raises(InvalidPartitionsError, match="never remove"):
            cluster.create_partitions("orders", total)
    assert snapshot(cluster) == before
    assert len(cluster.events.of_kind("topic.partitions_rejected")) == 4
    cluster.create_partitions("orders", 5)
    assert [p.index for p in cluster.topic("orders").partitions] == [0, 1, 2, 3, 4]
    added = cluster.events.of_kind("topic.partitions_added")
    assert "from 3 to 5 partitions" in added[-1].text


# --- topic configs: names and defaults ---------------------------------------------------------


def test_topic_config_defaults_are_kafkas():
    config = TopicConfig(BrokerConfig())
    assert config["retention.ms"] == 604800000
    assert config["retention.bytes"] == -1
    assert config["segment.bytes"] == 1073741824
    assert config["segment.ms"] == 604800000
    assert config["max.message.bytes"] == 1048588
    assert config["cleanup.policy"] == ["delete"]
    assert config["min.insync.replicas"] == 1
    assert config["message.timestamp.type"] == "CreateTime"
    assert config["compression.type"] == "producer"
    assert config["unclean.leader.election.enable"] is False
    assert config.source("retention.ms") == "DEFAULT_CONFIG"


def test_broker_config_defaults_are_kafkas():
    broker = BrokerConfig()
    assert broker["auto.create.topics.enable"] is True
    assert broker["num.partitions"] == 1
    assert broker["default.replication.factor"] == 1
    assert broker["log.retention.check.interval.ms"] == 300000
    assert broker["log.retention.ms"] == 604800000
    assert broker["message.max.bytes"] == 1048588
    assert "log.segment.bytes" in BROKER_CONFIGS and "segment.bytes" not in BROKER_CONFIGS


def test_a_broker_log_setting_is_every_topics_default_until_the_topic_overrides_it():
    broker = BrokerConfig({"log.retention.ms": "3600000"})
    config = TopicConfig(broker)
    assert config["retention.ms"] == 3600000
    assert config.source("retention.ms") == "STATIC_BROKER_CONFIG"
    config.alter({"retention.ms": 60000})
    assert config["retention.ms"] == 60000
    assert config.source("retention.ms") == "DYNAMIC_TOPIC_CONFIG"
    config.alter(delete=["retention.ms"])
    assert config["retention.ms"] == 3600000


# --- values as the admin API sends them ----------------------------------------------------------


@pytest.mark.parametrize("name, raw, parsed", [
    ("retention.ms", "86400000", 86400000),
    ("retention.ms", 86400000, 86400000),
    ("retention.ms", "-1", -1),
    ("retention.bytes", "10737418240", 10737418240),
    ("unclean.leader.election.enable", "true", True),
    ("unclean.leader.election.enable", "FALSE", False),
    ("unclean.leader.election.enable", True, True),
    ("cleanup.policy", "compact,delete", ["compact", "delete"]),
    ("cleanup.policy", "compact", ["compact"]),
    ("cleanup.policy", ["delete"], ["delete"]),
    ("min.cleanable.dirty.ratio", "0.1", 0.1),
    ("message.timestamp.type", "LogAppendTime", "LogAppendTime"),
    ("min.insync.replicas", "2", 2),
])
def test_string_values_are_parsed_to_typed_values(name, raw, parsed):
    config = TopicConfig(BrokerConfig(), {name: raw})
    assert config[name] == parsed
    assert config.overrides[name] == parsed


@pytest.mark.parametrize("value, printed", [
    (True, "true"), (False, "false"), (["compact", "delete"], "compact,delete"),
    (604800000, "604800000"), ("CreateTime", "CreateTime"), (0.5, "0.5")])
def test_values_print_as_kafka_prints_them(value, printed):
    assert kafka_string(value) == printed


@pytest.mark.parametrize("name, value, explanation", [
    ("retention.ms", "-2", "Value must be at least -1"),
    ("retention.ms", "a week", "expected a whole number"),
    ("retention.ms", 1.5, "expected a whole number"),
    ("retention.ms", True, "expected a whole number"),
    ("segment.bytes", 10, "Value must be at least 14"),
    ("segment.bytes", 2**31, "Value must be no more than 2147483647"),
    ("min.insync.replicas", "0", "Value must be at least 1"),
    ("cleanup.policy", "compacted", "String must be one of: delete, compact"),
    ("cleanup.policy", "delete,forever", "String must be one of: delete, compact"),
    ("message.timestamp.type", "BrokerTime", "String must be one of: CreateTime, LogAppendTime"),
    ("compression.type", "brotli", "String must be one of: uncompressed, zstd, lz4, snappy"),
    ("unclean.leader.election.enable", "yes", "expected true or false"),
    ("min.cleanable.dirty.ratio", "1.5", "Value must be no more than 1"),
    ("retention.hours", "168", "Unknown topic config 'retention.hours'. Known: "),
])
def test_invalid_values_are_refused_with_what_is_allowed(name, value, explanation):
    with pytest.raises(InvalidConfigurationError) as info:
        TopicConfig(BrokerConfig(), {name: value})
    message = str(info.value)
    assert explanation in message
    assert name in message


def test_unknown_config_error_lists_the_known_names():
    with pytest.raises(InvalidConfigurationError) as info:
        TopicConfig(BrokerConfig(), {"retention.hours": 1})
    for known in TOPIC_CONFIGS:
        assert known in str(info.value)


def test_invalid_broker_config_is_refused_too():
    with pytest.raises(InvalidConfigurationError, match="num.partitions.*at least 1"):
        BrokerConfig({"num.partitions": 0})
    with pytest.raises(InvalidConfigurationError, match="Unknown broker config 'num_partitions'"):
        BrokerConfig({"num_partitions": 3})


def test_create_topic_with_an_invalid_config_creates_nothing(cluster):
    with pytest.raises(InvalidConfigurationError, match="retention.ms"):
        cluster.create_topic("orders", partitions=3, config={"cleanup.policy": "compact",
                                                             "retention.ms": "-5"})
    assert "orders" not in cluster.topics
    assert not cluster.events.of_kind("topic.created")


def test_an_invalid_alter_changes_nothing_not_even_the_valid_part(cluster):
    cluster.create_topic("orders", partitions=2, config={"retention.ms": "86400000"})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(5):
        producer.send("orders", key=b"k%d" % i, value=b"v")
    producer.flush()
    before = snapshot(cluster)
    events_before = len(cluster.events)
    with pytest.raises(InvalidConfigurationError, match="min.insync.replicas"):
        cluster.alter_topic_config("orders", {"retention.ms": "1000",
                                              "min.insync.replicas": "0"})
    with pytest.raises(InvalidConfigurationError, match="Unknown topic config 'retention'"):
        cluster.alter_topic_config("orders", delete=["retention"])
    assert snapshot(cluster) == before
    assert cluster.topic("orders").config["retention.ms"] == 86400000
    # nothing changed, and the event log says why (DESIGN §2.7)
    refusals = cluster.events[events_before:]
    assert [e.kind for e in refusals] == ["topic.config_rejected"] * 2
    assert "refused to change the configs of topic 'orders'" in refusals[0].text
    assert "min.insync.replicas: Value must be at least 1" in refusals[0].text
    assert refusals[1].data == {"topic": "orders", "error": "InvalidConfigurationError"}


def test_alter_reports_what_changed_and_explains_it(cluster):
    """kafka-configs --alter --entity-name orders --add-config retention.ms=604800000"""
    cluster.create_topic("orders", config={"retention.ms": "86400000"})
    changed = cluster.alter_topic_config("orders", {"retention.ms": "604800000",
                                                    "cleanup.policy": "compact,delete"})
    assert changed == {"retention.ms": (86400000, 604800000),
                       "cleanup.policy": (["delete"], ["compact", "delete"])}
    texts = [e.text for e in cluster.events.of_kind("topic.config_changed")]
    assert "topic orders: retention.ms 86400000 -> 604800000" in texts
    assert "topic orders: cleanup.policy delete -> compact,delete" in texts
    # setting a value to what it already is changes nothing and says nothing
    assert cluster.alter_topic_config("orders", {"retention.ms": 604800000}) == {}
    assert len(cluster.events.of_kind("topic.config_changed")) == 2
