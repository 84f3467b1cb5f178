"""``kafkalab.admin``: the admin client and kafka-python's request value types."""
from kafka.admin import (  # noqa: F401
    ConfigResource,
    ConfigResourceType,
    NewPartitions,
    NewTopic,
)

from .client.admin import KafkaAdminClient  # noqa: E402,F401

__all__ = ["ConfigResource", "ConfigResourceType", "KafkaAdminClient", "NewPartitions",
           "NewTopic"]
