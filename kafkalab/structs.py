"""Value types shared by engine and clients: kafka-python's own namedtuples, re-exported.

Using kafka-python's types (not look-alikes) means records and metadata from kafkalab compare,
pickle and print exactly like kafka-python's.
"""
from kafka.consumer.fetcher import ConsumerRecord  # noqa: F401
from kafka.producer.future import RecordMetadata  # noqa: F401
from kafka.structs import (  # noqa: F401
    ConsumerGroupMetadata,
    MemberState,
    OffsetAndMetadata,
    OffsetAndTimestamp,
    TopicPartition,
    TopicPartitionReplica,
)

#: ConsumerRecord.timestamp_type values.
CREATE_TIME = 0
LOG_APPEND_TIME = 1
