"""kafka-python's error classes, re-exported unchanged (DESIGN §2.8, §3).

kafkalab raises the very classes of ``kafka.errors`` so that code written for kafka-python —
``except kafka.errors.KafkaError`` or ``except kafkalab.errors.KafkaError`` — catches them
either way. kafkalab only adds a message that says what was wrong and what is allowed.
"""
from kafka.errors import *  # noqa: F401,F403
from kafka.errors import (  # noqa: F401  (names used inside kafkalab)
    BrokerResponseError,
    IllegalStateError,
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    InvalidTimestampError,
    InvalidTopicError,
    KafkaConfigurationError,
    KafkaError,
    KafkaTimeoutError,
    KafkaConnectionError,
    MessageSizeTooLargeError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
    UnsupportedCodecError,
)

from kafka.consumer.fetcher import RecordTooLargeError as _FetcherRecordTooLargeError
from kafka.errors import MessageSizeTooLargeError as _MessageSizeTooLargeError


class RecordTooLargeError(_MessageSizeTooLargeError, _FetcherRecordTooLargeError):
    """A record (or batch) is larger than ``max.message.bytes`` allows: Kafka's MESSAGE_TOO_LARGE
    (errno 10), which the Java client raises as ``RecordTooLargeException``.

    kafka-python has no broker-side class of this name; this one is both a
    ``kafka.errors.MessageSizeTooLargeError`` and kafka-python's consumer ``RecordTooLargeError``,
    so either ``except`` catches it.
    """
