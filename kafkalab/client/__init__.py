"""kafka-python-compatible clients over the transport seam."""
from .admin import KafkaAdminClient
from .consumer import KafkaConsumer
from .producer import KafkaProducer

__all__ = ["KafkaAdminClient", "KafkaConsumer", "KafkaProducer"]
