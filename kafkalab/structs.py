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


def serialized_header_size(headers) -> int:
    """kafka-python's ``serialized_header_size``: the UTF-8 bytes of the header keys plus the
    value bytes, or -1 when there are no headers."""
    if not headers:
        return -1
    return sum(len(k.encode("utf-8")) + (len(v) if v is not None else 0) for k, v in headers)
