"""kafkalab: a Kafka broker engine inside the notebook kernel, with kafka-python's client API.

Replace ``from kafka import ...`` with ``from kafkalab import ...`` and the lesson's code runs
against an in-process cluster in simulated time; ``serve()`` puts a wall-clock cluster behind
Kafka's wire protocol for the real clients. Explicit re-exports only; importing has no
side effects (the default cluster is created by the first client that needs it) except one:
the engine's objects are told to show themselves with the HTML views of ``kafkalab.viz.html``
(the engine hands views snapshots and never imports them, DESIGN §1).

Every name ``kafka`` exports at top level is exported here too (kafka-python's own objects for
the value types, serializers and listener interfaces; kafkalab's clients).
"""
from kafka import IsolationLevel, OffsetSpec
from kafka.consumer.subscription_state import (
    AsyncConsumerRebalanceListener,
    ConsumerRebalanceListener,
)
from kafka.serializer import DefaultSerializer, Deserializer, JsonSerializer, Serializer

from .admin import KafkaAdminClient
from .client.consumer import KafkaConsumer
from .client.producer import KafkaProducer
from .client.recording import record_requests
from .clock import SimClock, WallClock
from .cluster import Cluster
from .server import serve
from .structs import (
    ConsumerGroupMetadata,
    OffsetAndMetadata,
    TopicPartition,
    TopicPartitionReplica,
)
from .viz import html as _html_views

_html_views.register()

__version__ = "0.1.0"


def load_ipython_extension(shell) -> None:
    """``%load_ext kafkalab``: Kafka's command-line tools as magics on the in-kernel cluster
    (``%kafka-topics``, ``%kafka-configs``, ``%kafka-consumer-groups``,
    ``%kafka-console-consumer``, ``%%kafka-console-producer``; see
    :mod:`kafkalab.tools.magics`)."""
    from .tools.magics import register

    register(shell)


__all__ = [
    "AsyncConsumerRebalanceListener",
    "Cluster",
    "ConsumerGroupMetadata",
    "ConsumerRebalanceListener",
    "DefaultSerializer",
    "Deserializer",
    "IsolationLevel",
    "JsonSerializer",
    "KafkaAdminClient",
    "KafkaConsumer",
    "KafkaProducer",
    "OffsetAndMetadata",
    "OffsetSpec",
    "Serializer",
    "SimClock",
    "TopicPartition",
    "TopicPartitionReplica",
    "WallClock",
    "record_requests",
    "serve",
]
