"""What every request and response of the broker's request layer shares (Kafka's protocol).

A request is a dataclass named as in Kafka's message schemas (``ProduceRequest``,
``JoinGroupRequest`` ...) with the schema's field names; its class attributes ``API_KEY`` and
``API_NAME`` are Kafka's (``0``/``"Produce"``), so a wire codec maps one onto the other one to one
and a recording transport names what a client sent. A response carries errors as Kafka does: an
``error_code`` (kafka-python's ``errno``) wherever the schema has one — per partition where Kafka
answers per partition — plus an ``error_message`` with kafkalab's explanation (Kafka's schemas
carry one in the newer versions; a wire codec drops it where the version has none).

Invariants: a request or response holds plain values and records only (no engine objects), so
it may cross a thread or a socket; ``error_code == 0`` means no error and then ``error_message``
is None.
"""
from __future__ import annotations

from typing import ClassVar

from .. import errors
from ..errors import BrokerResponseError, KafkaError

NONE = 0
UNKNOWN_SERVER_ERROR = -1


class Request:
    """A request to a broker. Subclasses are dataclasses; ``API_KEY``/``API_NAME`` as Kafka's."""

    API_KEY: ClassVar[int]
    API_NAME: ClassVar[str]


class Response:
    """A broker's answer to one request."""

    API_KEY: ClassVar[int]
    API_NAME: ClassVar[str]


def error_code(error: BaseException | None) -> int:
    """Kafka's error code of ``error`` (0 for none; -1, UNKNOWN_SERVER_ERROR, for an error
    that is not a broker error)."""
    if error is None:
        return NONE
    code = getattr(error, "errno", None)
    return code if isinstance(code, int) else UNKNOWN_SERVER_ERROR


def error_message(error: BaseException | None) -> str | None:
    """The explanation a response carries next to the code (None for no error)."""
    if error is None:
        return None
    return " ".join(str(a) for a in error.args) or type(error).__name__


def error_fields(error: BaseException | None) -> dict:
    """``error_code``/``error_message`` keyword arguments for a response (or one entry)."""
    return {"error_code": error_code(error), "error_message": error_message(error)}


def error_from(code: int, message: str | None = None) -> KafkaError | None:
    """The kafka-python exception for a response's ``error_code`` (None for 0), as
    kafka-python raises it; MESSAGE_TOO_LARGE is kafkalab's RecordTooLargeError, which is both
    of kafka-python's classes of that name."""
    if code == NONE:
        return None
    cls = errors.RecordTooLargeError if code == errors.MessageSizeTooLargeError.errno \
        else errors.for_code(code)
    if cls is errors.UnknownError and code != UNKNOWN_SERVER_ERROR:
        cls = BrokerResponseError
    return cls(message) if message else cls()
