"""kafka-python's public names, importable from kafkalab where kafka-python has them (DESIGN §3).

Code written for kafka-python changes only ``kafka`` -> ``kafkalab`` in its imports; errors and
value types are kafka-python's very objects, so ``except kafka.errors.X`` and ``isinstance`` agree.
"""
from __future__ import annotations

import inspect
import subprocess
import sys

import kafka
import kafka.admin
import kafka.consumer.fetcher
import kafka.errors
import kafka.structs
import pytest

import kafkalab
import kafkalab.admin
import kafkalab.errors
import kafkalab.structs

CLIENTS = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient"}


@pytest.mark.parametrize("name", kafka.__all__)
def test_every_top_level_name_of_kafka_is_in_kafkalab(name):
    ours = getattr(kafkalab, name)
    assert name in kafkalab.__all__
    if name in CLIENTS:
        assert ours is not getattr(kafka, name)  # kafkalab's own clients over the engine
        assert ours.__module__.startswith("kafkalab.")
    else:
        assert ours is getattr(kafka, name)


def test_the_names_the_lesson_imports():
    from kafkalab import (  # noqa: F401
        ConsumerRebalanceListener,
        KafkaConsumer,
        KafkaProducer,
        OffsetAndMetadata,
        TopicPartition,
    )
    from kafkalab.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic  # noqa
    from kafkalab.errors import KafkaError  # noqa: F401

    assert TopicPartition("orders", 0) == kafka.TopicPartition("orders", 0)
    assert ConsumerRebalanceListener is kafka.ConsumerRebalanceListener


def kafka_error_classes():
    return sorted(name for name, obj in vars(kafka.errors).items()
                  if inspect.isclass(obj) and issubclass(obj, BaseException)
                  and obj.__module__ == "kafka.errors")


@pytest.mark.parametrize("name", kafka_error_classes())
def test_every_kafka_error_is_the_same_class_in_kafkalab(name):
    assert getattr(kafkalab.errors, name) is getattr(kafka.errors, name)


def test_kafkalab_errors_catch_as_kafka_python_errors():
    assert kafkalab.errors.InvalidTopicError is kafka.errors.InvalidTopicError
    error = kafkalab.errors.RecordTooLargeError("too big")
    assert isinstance(error, kafka.errors.MessageSizeTooLargeError)
    assert isinstance(error, kafka.consumer.fetcher.RecordTooLargeError)
    assert error.errno == 10 and not error.retriable
    with pytest.raises(kafka.errors.KafkaError):
        raise error


@pytest.mark.parametrize("name", [n for n in dir(kafka.structs) if not n.startswith("_")
                                  and n != "namedtuple"])
def test_structs_are_kafka_pythons(name):
    assert getattr(kafkalab.structs, name) is getattr(kafka.structs, name)


def test_record_metadata_and_consumer_record_are_kafka_pythons():
    from kafka.producer.future import RecordMetadata

    assert kafkalab.structs.RecordMetadata is RecordMetadata
    assert kafkalab.structs.ConsumerRecord is kafka.consumer.fetcher.ConsumerRecord


@pytest.mark.parametrize("name", sorted(set(kafka.admin.__all__) | {
    "NewTopic", "NewPartitions", "ConfigResource", "ConfigResourceType", "ConfigFilterType"}))
def test_every_kafka_admin_name_is_in_kafkalab_admin(name):
    ours = getattr(kafkalab.admin, name)
    if name == "KafkaAdminClient":
        assert ours is kafkalab.KafkaAdminClient
    else:
        assert ours is getattr(kafka.admin, name)


@pytest.mark.parametrize("ours, theirs", [
    (kafkalab.KafkaProducer, kafka.KafkaProducer),
    (kafkalab.KafkaConsumer, kafka.KafkaConsumer),
    (kafkalab.KafkaAdminClient, kafka.KafkaAdminClient),
], ids=["producer", "consumer", "admin"])
def test_clients_take_kafka_pythons_config_keys_and_defaults(ours, theirs):
    # the one addition: buffer_memory (kafka-python 2's and Java's producer config)
    extra = {"buffer_memory"} if ours is kafkalab.KafkaProducer else set()
    assert set(ours.DEFAULT_CONFIG) == set(theirs.DEFAULT_CONFIG) | extra
    for key, value in theirs.DEFAULT_CONFIG.items():
        if not callable(value) and not isinstance(value, (list, tuple)):
            assert ours.DEFAULT_CONFIG[key] == value, key


# Methods kafka-python has that arrive with later lessons (groups, transactions, admin extras).
# When one is built, remove it here: the test then guards that it stays.
NOT_YET = {
    "KafkaProducer": {"DEPRECATED_CONFIGS", "bootstrap_connected", "max_usable_produce_magic"},
    "KafkaConsumer": {"DEFAULT_SESSION_TIMEOUT_MS_PRE_KIP_735", "bootstrap",
                      "bootstrap_connected"},
}


@pytest.mark.parametrize("name", ["KafkaProducer", "KafkaConsumer"])
def test_client_methods_match_kafka_python_except_later_lessons(name):
    theirs = {n for n in dir(getattr(kafka, name)) if not n.startswith("_")}
    ours = set(dir(getattr(kafkalab, name)))
    assert theirs - ours == NOT_YET[name]


def test_importing_kafkalab_has_no_side_effects():
    code = ("import kafkalab, kafkalab.admin, kafkalab.errors\n"
            "from kafkalab.cluster import registry\n"
            "assert registry._clusters == {}, registry._clusters\n"
            "import threading; assert threading.active_count() == 1\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_serve_is_kafkalabs_own_top_level_name():
    """``kafkalab.serve`` is not a kafka-python name: the wire server for the real clients."""
    import kafkalab.server

    assert "serve" not in kafka.__all__
    assert "serve" in kafkalab.__all__ and kafkalab.serve is kafkalab.server.serve
