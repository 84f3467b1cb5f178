"""The client contract with kafka-python 3.0.12 (DESIGN §3), where kafkalab used to differ.

Each scenario is what a learner's kafka-python code does, run against kafkalab through the
public API; the expected names, error classes and messages are kafka-python's (read from its
source where a test quotes them).
"""
from __future__ import annotations

import json
import warnings

import pytest
from kafka.partitioner import DefaultPartitioner
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.serializer import Deserializer, Serializer
from kafka.serializer.wrapper import DeserializeWrapper, SerializeWrapper

from engine_helpers import stored_records
from kafkalab import (
    Cluster,
    ConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    TopicPartition,
)
from kafkalab.admin import NewTopic
from kafkalab.errors import (
    IllegalStateError,
    InvalidTopicError,
    KafkaConfigurationError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
)

# kafka-python's SubscriptionState._SUBSCRIPTION_EXCEPTION_MESSAGE
ONE_WAY = ("You must choose only one way to configure your consumer: (1) subscribe to specific "
           "topics by name, (2) subscribe to topics matching a regex pattern, (3) assign itself "
           "specific topic-partitions.")


def producer_for(cluster: Cluster, **configs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)


def consumer_for(cluster: Cluster, *topics: str, **configs) -> KafkaConsumer:
    configs.setdefault("auto_offset_reset", "earliest")
    return KafkaConsumer(*topics, bootstrap_servers=cluster.bootstrap_servers, **configs)


def read_all(consumers, rounds: int = 60, timeout_ms: int = 100) -> dict:
    """Poll every consumer in turn; {consumer: [values read]}."""
    got = {c: [] for c in consumers}
    for _ in range(rounds):
        for c in consumers:
            for records in c.poll(timeout_ms=timeout_ms).values():
                got[c] += [r.value for r in records]
    return got


def no_warnings(action):
    """Run ``action`` and return the warnings it issued (none expected)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


# --- 1. subscribing to a topic that does not exist yet ---------------------------------------------
def test_a_group_subscribes_to_a_topic_created_later_and_reads_it(cluster):
    """kafka-python's SubscriptionState.subscribe only records the topic names: the group
    rebalances when the topic's metadata appears, and its members share its partitions."""
    members = [consumer_for(cluster, group_id="billing", allow_auto_create_topics=False,
                            client_id=f"billing-{i}") for i in range(2)]
    for c in members:
        c.subscribe(["payments"])                     # no such topic yet: no error
        assert c.subscription() == {"payments"}
    read_all(members, rounds=5)
    assert all(c.assignment() == set() for c in members)
    assert "payments" not in cluster.topics          # nor was it auto-created

    KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers).create_topics(
        [NewTopic("payments", num_partitions=2, replication_factor=1)])
    producer = producer_for(cluster)
    for i in range(6):
        producer.send("payments", value=f"p{i}".encode(), partition=i % 2)
    producer.flush()

    got = read_all(members)
    assert [c.assignment() for c in members] in (
        [{TopicPartition("payments", 0)}, {TopicPartition("payments", 1)}],
        [{TopicPartition("payments", 1)}, {TopicPartition("payments", 0)}])
    assert sorted(v for c in members for v in got[c]) == [f"p{i}".encode() for i in range(6)]
    assert all(got[c] for c in members)


def test_a_waiting_poll_notices_the_subscribed_topic_appear(cluster):
    consumer = consumer_for(cluster, group_id="billing", allow_auto_create_topics=False)
    consumer.subscribe(["payments"])
    assert consumer.poll(timeout_ms=5000) == {}          # joined, nothing to assign

    def payments_appear():
        cluster.create_topic("payments", partitions=2)
        producer_for(cluster).send("payments", value=b"first", partition=1)
    cluster.scheduler.call_later(2000, payments_appear)
    started = cluster.now_ms()
    records = consumer.poll(timeout_ms=60_000)
    assert [r.value for r in records[TopicPartition("payments", 1)]] == [b"first"]
    assert cluster.now_ms() - started < 5000            # the rebalance did not wait for 60 s
    assert consumer.assignment() == {TopicPartition("payments", 0),
                                     TopicPartition("payments", 1)}


def test_a_consumer_without_group_is_assigned_a_topic_once_it_exists(cluster):
    """As kafka-python: the metadata is asked again for a missing subscribed topic every
    retry_backoff_ms (100 ms), and an idle poll looks again that often."""
    consumer = consumer_for(cluster, "later", allow_auto_create_topics=False)
    assert consumer.poll(timeout_ms=100) == {} and consumer.assignment() == set()
    cluster.create_topic("later", partitions=2)
    producer_for(cluster).send("later", value=b"hello", partition=1).get(timeout=10)
    started = cluster.now_ms()
    records = consumer.poll(timeout_ms=5000)
    assert [r.value for r in records[TopicPartition("later", 1)]] == [b"hello"]
    assert cluster.now_ms() - started <= 100
    assert consumer.assignment() == {TopicPartition("later", 0), TopicPartition("later", 1)}


# --- 2. a DefaultPartitioner subclass is a partitioner like any other ------------------------------
def test_a_subclass_of_default_partitioner_is_called(cluster):
    cluster.create_topic("orders", partitions=3)
    calls = []

    class LastPartition(DefaultPartitioner):
        def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
            calls.append(key)
            return max(cluster.partitions_for_topic(topic))

    producer = producer_for(cluster, partitioner=LastPartition())
    partitions = {producer.send("orders", key=k, value=b"v").get(timeout=10).partition
                  for k in (b"a", b"b", b"c", b"d")}
    assert partitions == {2} and calls == [b"a", b"b", b"c", b"d"]


# --- 3. poll() checks its arguments as kafka-python does -------------------------------------------
@pytest.mark.parametrize("kwargs, error, message", [
    ({"timeout_ms": -1}, ValueError, "Timeout must not be negative"),
    ({"max_records": 0}, ValueError, "max_records must be positive"),
    ({"max_records": -5}, ValueError, "max_records must be positive"),
    ({"max_records": 2.5}, TypeError, "max_records must be an integer"),
    ({"max_records": "10"}, TypeError, "max_records must be an integer"),
])
def test_poll_refuses_bad_arguments_like_kafka_python(cluster, kwargs, error, message):
    cluster.create_topic("orders")
    consumer = consumer_for(cluster, "orders")
    with pytest.raises(error, match=message):
        consumer.poll(**kwargs)


def test_poll_max_records_none_means_max_poll_records(cluster):
    cluster.create_topic("orders")
    producer = producer_for(cluster)
    for i in range(5):
        producer.send("orders", value=b"%d" % i)
    producer.flush()
    consumer = consumer_for(cluster, "orders", max_poll_records=3)
    assert len(consumer.poll(timeout_ms=100, max_records=None)[TopicPartition("orders", 0)]) == 3


# --- 4. topic names are checked character by character ---------------------------------------------
@pytest.mark.parametrize("name", ["x\n", "orders\n", "a b", "x\r", "тема"])
def test_a_topic_name_with_an_illegal_character_is_refused(cluster, name):
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    with pytest.raises(InvalidTopicError, match="contains a character other than ASCII "
                                                "alphanumerics, '.', '_' and '-'"):
        admin.create_topics([NewTopic(name, 1, 1)])
    with pytest.raises(InvalidTopicError, match="is illegal"):
        producer_for(cluster).send(name, value=b"v")           # auto-creation
    assert name not in cluster.topics


# --- 5. the record size check uses kafka-python's upper-bound estimate ----------------------------
def test_the_largest_record_accepted_is_the_one_kafka_python_accepts(cluster):
    cluster.create_topic("blobs")
    limit = 1000
    producer = producer_for(cluster, max_request_size=limit)
    headers = [("trace", b"abc")]
    largest = max(n for n in range(limit) if DefaultRecordBatchBuilder.estimate_size_in_bytes(
        b"k", b"x" * n, headers) <= limit)
    assert producer.send("blobs", key=b"k", value=b"x" * largest,
                         headers=headers).get(timeout=10).offset == 0
    too_big = DefaultRecordBatchBuilder.estimate_size_in_bytes(b"k", b"x" * (largest + 1),
                                                               headers)
    with pytest.raises(MessageSizeTooLargeError) as refused:
        producer.send("blobs", key=b"k", value=b"x" * (largest + 1), headers=headers)
    assert refused.value.args[0].startswith(
        f"The message is {too_big} bytes when serialized which is larger than the maximum "
        "request size you have configured with the max_request_size configuration")
    assert cluster.partition("blobs", 0).log_end_offset == 1


# --- 6. an unknown topic: send() waits for its metadata up to max_block_ms -----------------------
def test_send_to_a_missing_topic_times_out_after_max_block_ms(cluster):
    producer = producer_for(cluster, allow_auto_create_topics=False, max_block_ms=2000)
    started = cluster.now_ms()
    with pytest.raises(KafkaTimeoutError) as refused:
        producer.send("nowhere", value=b"v")
    assert cluster.now_ms() - started == 2000          # simulated time ran while it waited
    message = refused.value.args[0]                     # (str() adds the class name)
    assert message.startswith("Failed to update metadata after 2.0 secs.")
    assert "'nowhere'" in message
    assert "nowhere" not in cluster.topics


def test_send_succeeds_when_the_topic_appears_while_it_waits(cluster):
    producer = producer_for(cluster, allow_auto_create_topics=False, max_block_ms=5000)
    started = cluster.now_ms()
    cluster.scheduler.call_later(1500, lambda: cluster.create_topic("late", partitions=2))
    metadata = producer.send("late", value=b"v", partition=1).get(timeout=10)
    assert (metadata.topic, metadata.partition, metadata.offset) == ("late", 1, 0)
    assert 1500 <= cluster.now_ms() - started < 5000


def test_partitions_for_waits_for_metadata_too(cluster):
    producer = producer_for(cluster, allow_auto_create_topics=False, max_block_ms=1000)
    with pytest.raises(KafkaTimeoutError, match=r"Failed to update metadata after 1\.0 secs\."):
        producer.partitions_for("nowhere")


# --- 7. only Kafka's internal topics are internal --------------------------------------------------
def test_a_user_topic_starting_with_two_underscores_is_an_ordinary_topic(cluster):
    cluster.create_topic("__mine", partitions=2)
    group_member = consumer_for(cluster, "__mine", group_id="g")
    group_member.poll(timeout_ms=100)                  # the group creates __consumer_offsets
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    internal = {t["name"]: t["is_internal"] for t in admin.describe_topics()}
    assert internal == {"__mine": False, "__consumer_offsets": True}
    assert set(admin.list_topics()) == {"__mine", "__consumer_offsets"}
    assert consumer_for(cluster).topics() == {"__mine"}    # exclude_internal_topics=True
    by_pattern = consumer_for(cluster)
    by_pattern.subscribe(pattern="^__.*")
    assert by_pattern.subscription() == {"__mine"}
    assert by_pattern.assignment() == {TopicPartition("__mine", 0), TopicPartition("__mine", 1)}


def test_a_client_cannot_append_to_an_internal_topic(cluster):
    """Kafka's ReplicaManager: only the coordinators write __consumer_offsets."""
    consumer_for(cluster, "orders", group_id="g").poll(timeout_ms=100)
    future = producer_for(cluster).send("__consumer_offsets", b"forged", partition=0)
    with pytest.raises(InvalidTopicError, match="Cannot append to internal topic __consumer_offsets"):
        future.get(timeout=10)


# --- 8. subscription modes, topic lists and headers as kafka-python checks them ------------------
def test_topics_then_pattern_or_pattern_then_topics_is_refused(cluster):
    cluster.create_topic("orders")
    consumer = consumer_for(cluster, group_id="g")
    consumer.subscribe(["orders"])
    with pytest.raises(IllegalStateError) as refused:
        consumer.subscribe(pattern="^ord.*")
    assert refused.value.args[0].startswith(ONE_WAY)
    consumer.unsubscribe()
    consumer.subscribe(pattern="^ord.*")
    with pytest.raises(IllegalStateError, match="only one way"):
        consumer.subscribe(["orders"])
    with pytest.raises(IllegalStateError, match="only one way"):
        consumer.assign([TopicPartition("orders", 0)])
    consumer.subscribe(pattern="^orders$")              # the same mode again is fine
    assert consumer.subscription() == {"orders"}


def test_topics_and_pattern_together_or_neither_are_refused(cluster):
    consumer = consumer_for(cluster)
    with pytest.raises(IllegalStateError) as refused:
        consumer.subscribe(["orders"], pattern="^ord")
    assert refused.value.args[0].startswith(ONE_WAY)
    with pytest.raises(ValueError, match="Must provide topics or pattern"):
        consumer.subscribe()
    assert consumer.subscription() is None


def test_a_bare_string_is_not_a_topic_list(cluster):
    cluster.create_topic("orders")
    consumer = consumer_for(cluster)
    with pytest.raises(TypeError, match=r"Topics must be a list \(or non-str sequence\)"):
        consumer.subscribe("orders")
    assert consumer.subscription() is None
    with pytest.raises(ValueError, match="illegal"):
        consumer.subscribe(["orders\n"])


@pytest.mark.parametrize("headers, message", [
    ({"trace": b"1"}, "headers must be list-type"),
    ((("trace", b"1"),), "headers must be list-type"),
    ([("trace", 1)], r"All headers items must be \(str, bytes\) tuples"),
    ([["trace", b"1"]], r"All headers items must be \(str, bytes\) tuples"),
])
def test_headers_must_be_a_list_of_str_bytes_tuples(cluster, headers, message):
    cluster.create_topic("orders")
    producer = producer_for(cluster)
    with pytest.raises(TypeError, match=message):
        producer.send("orders", value=b"v", headers=headers)
    producer.flush()
    assert cluster.partition("orders", 0).log_end_offset == 0


# --- 9. unknown configs -------------------------------------------------------------------------------
def test_an_unknown_producer_config_raises_value_error_as_kafka_python(cluster):
    with pytest.raises(ValueError) as refused:
        producer_for(cluster, lingr_ms=5)
    assert str(refused.value).startswith("Unrecognized configs: {'lingr_ms': 5}")
    assert "linger_ms" in str(refused.value)          # and says what is allowed


def test_unknown_consumer_and_admin_configs_raise_configuration_errors(cluster):
    with pytest.raises(KafkaConfigurationError) as refused:
        consumer_for(cluster, grup_id="g")
    assert refused.value.args[0].startswith("Unrecognized configs: {'grup_id'}")
    with pytest.raises(KafkaConfigurationError) as refused:
        KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers, x=1)
    assert refused.value.args[0].startswith("Unrecognized configs: {'x'}")


# --- 10. configs accepted but not built yet say so ---------------------------------------------------
def test_a_transactional_producer_must_be_idempotent(cluster):
    with pytest.raises(KafkaConfigurationError, match="transactional_id requires "
                                                      "enable_idempotence=True"):
        producer_for(cluster, transactional_id="my-transactional-id", enable_idempotence=False)
    assert no_warnings(lambda: producer_for(cluster, transactional_id="my-tx")) == []


def test_both_isolation_levels_are_accepted_without_a_warning(cluster):
    assert no_warnings(lambda: consumer_for(cluster, isolation_level="read_committed")) == []
    assert no_warnings(lambda: consumer_for(cluster, isolation_level="read_uncommitted")) == []
    with pytest.raises(KafkaConfigurationError, match="isolation_level"):
        consumer_for(cluster, isolation_level="read_everything")


@pytest.mark.parametrize("config", [{"fetch_min_bytes": 1024}, {"fetch_max_wait_ms": 100},
                                    {"client_rack": "eu-1a"}])
def test_fetch_configs_without_effect_warn_once(cluster, config):
    [name] = config
    with pytest.warns(UserWarning, match=f"{name}="):
        consumer_for(cluster, **config)
    assert no_warnings(lambda: consumer_for(cluster, **config)) == []


def test_commit_async_without_callback_calls_default_offset_commit_callback(cluster):
    cluster.create_topic("orders")
    producer_for(cluster).send("orders", value=b"v").get(timeout=10)
    called = []
    consumer = consumer_for(cluster, "orders", group_id="g", enable_auto_commit=False,
                            default_offset_commit_callback=lambda o, r: called.append((o, r)))
    consumer.poll(timeout_ms=5000)      # joins (group.initial.rebalance.delay.ms) and reads
    consumer.commit_async()
    consumer.poll(timeout_ms=10)
    [(offsets, outcome)] = called
    assert offsets[TopicPartition("orders", 0)].offset == 1 and outcome is None


def test_fetch_max_bytes_bounds_a_fetch_like_max_partition_fetch_bytes(cluster):
    cluster.create_topic("orders")
    producer = producer_for(cluster, linger_ms=0)
    for i in range(3):
        producer.send("orders", value=b"x" * 100).get(timeout=10)   # three batches
    consumer = consumer_for(cluster, "orders", fetch_max_bytes=10)   # at least one batch
    assert len(consumer.poll(timeout_ms=100)[TopicPartition("orders", 0)]) == 1


def test_compacted_topics_are_created_without_a_warning_now_that_the_cleaner_runs():
    cluster = Cluster(seed=1)
    assert no_warnings(lambda: cluster.create_topic(
        "profiles", config={"cleanup.policy": "compact"})) == []
    member = consumer_for(cluster, "profiles", group_id="g")
    assert no_warnings(lambda: member.poll(timeout_ms=100)) == []   # __consumer_offsets
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    assert no_warnings(lambda: admin.create_topics([NewTopic("profiles2", 1, 1, topic_configs={
        "cleanup.policy": "compact,delete"})])) == []


# --- 11. where kafka-python and Java differ, kafkalab follows kafka-python 3 ---------------------
def test_seek_on_an_unassigned_partition_raises_value_error(cluster):
    cluster.create_topic("orders", partitions=2)
    consumer = consumer_for(cluster)
    consumer.assign([TopicPartition("orders", 0)])
    with pytest.raises(ValueError, match="^Unassigned partition"):
        consumer.seek(TopicPartition("orders", 1), 0)
    with pytest.raises(TypeError, match="partition must be a TopicPartition namedtuple"):
        consumer.seek(("orders", 0), 0)


def test_the_first_eager_rebalance_revokes_an_empty_set(cluster):
    cluster.create_topic("orders", partitions=2)
    calls = []

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            calls.append(("revoked", set(revoked)))

        def on_partitions_assigned(self, assigned):
            calls.append(("assigned", set(assigned)))

    consumer = consumer_for(cluster, group_id="g")
    consumer.subscribe(["orders"], listener=Listener())
    consumer.poll(timeout_ms=5000)
    assert calls == [("revoked", set()),
                     ("assigned", {TopicPartition("orders", 0), TopicPartition("orders", 1)})]


# --- 12. a configured (de)serializer gets None too (a missing key, a tombstone) ----------------
NONE_SAFE_JSON = lambda v: None if v is None else json.dumps(v).encode()  # noqa: E731
NONE_SAFE_LOADS = lambda b: None if b is None else json.loads(b)  # noqa: E731


@pytest.mark.parametrize("serializer", [lambda v: json.dumps(v).encode(), NONE_SAFE_JSON],
                         ids=["json", "none-safe-json"])
def test_a_value_serializer_gets_a_tombstone_as_in_kafka_python(cluster, serializer):
    """kafka-python wraps a plain function in SerializeWrapper, which calls it with None:
    a JSON serializer stores b"null" (a value, not a tombstone), a None-safe one a null."""
    expected = SerializeWrapper(serializer).serialize("orders", [], None)
    cluster.create_topic("orders")
    producer = producer_for(cluster, value_serializer=serializer)
    metadata = producer.send("orders", key=b"k", value=None).get(timeout=10)
    assert metadata.serialized_value_size == (-1 if expected is None else len(expected))
    assert stored_records(cluster, "orders") == [(0, 0, b"k", expected)]


def test_a_serializer_that_fails_on_none_raises_a_type_error_that_says_why(cluster):
    with pytest.raises(TypeError):  # kafka-python fails too
        SerializeWrapper(str.encode).serialize("orders", [], None)
    cluster.create_topic("orders")
    producer = producer_for(cluster, key_serializer=str.encode, value_serializer=str.encode)
    with pytest.raises(TypeError, match=r"^value_serializer failed on value=None \(a tombstone\)"
                                        r".*kafka-python hands None to the serializer too.*"
                                        r"None-safe serializer") as failed:
        producer.send("orders", key="k", value=None)
    assert isinstance(failed.value.__cause__, TypeError)
    with pytest.raises(TypeError, match=r"^key_serializer failed on key=None: "):
        producer.send("orders", value="v")
    with pytest.raises(AttributeError, match=r"^key_serializer failed on key=None: .*None-safe"):
        producer_for(cluster, key_serializer=lambda k: k.encode()).send("orders", value=b"v")
    # a serializer that returns a str for None: the record must still be bytes
    with pytest.raises(TypeError, match="value must be bytes after serialization, got str"):
        producer_for(cluster, value_serializer=json.dumps).send("orders", key=b"k", value=None)
    producer.flush()
    assert stored_records(cluster, "orders") == []


def test_a_serializer_object_gets_none_and_no_serializer_passes_none_through(cluster):
    calls = []

    class Recording(Serializer):
        def serialize(self, topic, headers, data):
            calls.append((topic, headers, data))
            return None if data is None else data.encode()

    cluster.create_topic("orders")
    producer_for(cluster, key_serializer=Recording()).send("orders", value=b"v").get(timeout=10)
    assert calls == [("orders", [], None)]
    metadata = producer_for(cluster).send("orders", key=b"k", value=None).get(timeout=10)
    assert metadata.serialized_value_size == -1


def test_a_deserializer_gets_a_tombstone_as_in_kafka_python(cluster):
    cluster.create_topic("orders")
    producer = producer_for(cluster)
    producer.send("orders", key=b"k", value=b'{"v": 1}')
    producer.send("orders", key=b"k", value=None)   # a tombstone
    producer.send("orders", value=b'{"v": 2}')      # no key
    producer.flush()
    with pytest.raises(TypeError):  # kafka-python fails on the tombstone
        DeserializeWrapper(json.loads).deserialize("orders", [], None)
    with pytest.raises(TypeError, match=r"^value_deserializer failed on value=None \(a tombstone\)"
                                        r" at orders-0 offset 1: .*kafka-python hands None to the "
                                        r"deserializer too.*None-safe deserializer") as failed:
        list(consumer_for(cluster, "orders", value_deserializer=json.loads,
                          consumer_timeout_ms=100))
    assert isinstance(failed.value.__cause__, TypeError)
    with pytest.raises(AttributeError, match=r"^value_deserializer failed on value=None"):
        list(consumer_for(cluster, "orders", value_deserializer=lambda b: json.loads(b.decode()),
                          consumer_timeout_ms=100))
    with pytest.raises(TypeError, match=r"^key_deserializer failed on key=None at orders-0 "
                                        r"offset 2: "):
        list(consumer_for(cluster, "orders", key_deserializer=bytes.decode,
                          value_deserializer=NONE_SAFE_LOADS, consumer_timeout_ms=100))
    assert DeserializeWrapper(NONE_SAFE_LOADS).deserialize("orders", [], None) is None
    records = list(consumer_for(cluster, "orders", value_deserializer=NONE_SAFE_LOADS,
                                consumer_timeout_ms=100))
    assert [(r.key, r.value, r.serialized_value_size) for r in records] == [
        (b"k", {"v": 1}, 8), (b"k", None, -1), (None, {"v": 2}, 8)]


def test_a_deserializer_object_gets_none_too(cluster):
    calls = []

    class Recording(Deserializer):
        def deserialize(self, topic, headers, data):
            calls.append((topic, headers, data))
            return data

    cluster.create_topic("orders")
    producer_for(cluster).send("orders", value=None, key=b"k").get(timeout=10)
    [record] = list(consumer_for(cluster, "orders", key_deserializer=Recording(),
                                 value_deserializer=Recording(), consumer_timeout_ms=100))
    assert calls == [("orders", [], b"k"), ("orders", [], None)] and record.value is None
