"""KafkaApis: a broker's one entry point for requests (Kafka's ``KafkaApis.handle``).

Every request a client — an in-process transport today, the wire server later — sends a broker
arrives here, is dispatched on its type to the handler that :mod:`.registry` names for it, and
is answered through ``respond``. The handler modules register themselves when imported below.

Invariants: each request is answered at most once; errors of a request go back in its response
as Kafka's error codes, never raised out of ``handle``. A request type with no handler raises
``UnsupportedVersionError``: that is a caller's bug (the wire server answers
``UNSUPPORTED_VERSION`` before it gets here).
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import UnsupportedVersionError
from . import handlers  # noqa: F401  (registers every handler)
from .base import Request
from .registry import HANDLERS


class KafkaApis:
    """The request entry point of one broker: dispatch on the request's type (see the module
    for its invariants)."""

    def __init__(self, broker: Any):
        self.broker = broker

    def handle(self, request: Request, respond: Callable[[Any], None]) -> None:
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise UnsupportedVersionError(
                f"broker {self.broker.id} does not serve {type(request).__name__}")
        handler(self.broker, request, respond)
