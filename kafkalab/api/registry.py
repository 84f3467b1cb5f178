"""Which handler answers which request type: filled by the handler modules of :mod:`..api`.

A handler is ``handler(broker, request, respond)``: it runs on the broker the request reached,
under the cluster's lock, and calls ``respond(response)`` at most once — at once, or later for
what waits (acks=all, a long-poll fetch, a join round); never for a produce with acks=0 (Kafka
sends no answer), nor when the broker stops first.
"""
from __future__ import annotations

from typing import Any, Callable

from .base import Request

Handler = Callable[[Any, Request, Callable[[Any], None]], None]
HANDLERS: dict[type, Handler] = {}


def handles(request_type: type) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``request_type``."""
    def register(handler: Handler) -> Handler:
        if request_type in HANDLERS:
            raise RuntimeError(f"{request_type.__name__} already has a handler")
        HANDLERS[request_type] = handler
        return handler
    return register
