"""kafkalab: a Kafka broker engine inside the notebook kernel, with kafka-python's client API.

Replace ``from kafka import ...`` with ``from kafkalab import ...`` and the lesson's code runs
against an in-process cluster in simulated time. Explicit re-exports only; importing has no
side effects (the default cluster is created by the first client that needs it).
"""
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from .admin import KafkaAdminClient
from .client.consumer import KafkaConsumer
from .client.producer import KafkaProducer
from .clock import SimClock, WallClock
from .cluster import Cluster
from .structs import OffsetAndMetadata, TopicPartition

__version__ = "0.1.0"

__all__ = [
    "Cluster",
    "ConsumerRebalanceListener",
    "KafkaAdminClient",
    "KafkaConsumer",
    "KafkaProducer",
    "OffsetAndMetadata",
    "SimClock",
    "TopicPartition",
    "WallClock",
]
