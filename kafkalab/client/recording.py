"""Recording the requests clients send: the Kafka protocol behind a few lines of client code.

``with kafkalab.record_requests() as requests:`` wraps the transport of every client created
inside the block in a :class:`RecordingTransport`, which notes each request — when, which
client, to which broker, which Kafka API — before passing it on unchanged. After the block,
``requests.names()`` is the scenario as the brokers saw it (``['Metadata', 'CreateTopics',
'Metadata', 'InitProducerId', 'Produce', 'FindCoordinator', 'JoinGroup', ...]``) and
``requests.frame()`` a table of it.

Invariants: a recording transport changes nothing about a request or its answer; every
request sent or called through it is recorded once, in the order sent.
"""
from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from typing import Callable, Iterator

from . import transport as transport_module

_client_numbers = itertools.count(1)


@dataclass(frozen=True)
class RequestRecord:
    time_ms: int
    client: str
    node: int | None  # None: any broker (FindCoordinator, Metadata)
    api: str


class RequestLog:
    """The requests recorded so far, oldest first."""

    def __init__(self):
        self.records: list[RequestRecord] = []

    def names(self, client: str | None = None) -> list[str]:
        """The Kafka API names of the requests (of one ``client`` only, if given)."""
        return [r.api for r in self.records if client in (None, r.client)]

    def frame(self):
        import pandas as pd

        """One row per request: ``after_ms`` since the first one, the client (numbered in the
        order the clients were made), the broker it went to (``<NA>``: any broker), the API."""
        start = self.records[0].time_ms if self.records else 0
        frame = pd.DataFrame([(r.time_ms - start, r.client, r.node, r.api) for r in self.records],
                             columns=["after_ms", "client", "node", "api"])
        frame["node"] = frame["node"].astype("Int64")
        return frame

    def __len__(self) -> int:
        return len(self.records)


class RecordingTransport:
    """Any transport, with each request noted in a :class:`RequestLog` on its way out."""

    def __init__(self, inner, log: RequestLog, client: str):
        self._inner = inner
        self._log = log
        self._client = client

    def _note(self, node: int | None, request) -> None:
        self._log.records.append(RequestRecord(self._inner.now_ms(), self._client, node,
                                               request.API_NAME))

    def send(self, node_id: int | None, request, on_response: Callable, *args, **kwargs) -> None:
        self._note(node_id, request)
        self._inner.send(node_id, request, on_response, *args, **kwargs)

    def call(self, node_id: int | None, request):
        self._note(node_id, request)
        return self._inner.call(node_id, request)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


@contextlib.contextmanager
def record_requests() -> Iterator[RequestLog]:
    """Record the requests of every client created inside the block (see the module)."""
    log = RequestLog()

    def wrap(inner):
        return RecordingTransport(inner, log, f"client-{next(_client_numbers)}")

    transport_module.wrappers.append(wrap)
    try:
        yield log
    finally:
        transport_module.wrappers.remove(wrap)
