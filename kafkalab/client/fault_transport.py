"""FaultInjectingTransport: the fault lab's rules, applied on the network between client and broker.

It wraps any transport (in-process today, the wire client later) and has the same interface:
everything passes through unchanged except produce requests, which meet the rules of
``cluster.faults`` (:class:`~kafkalab.cluster.faults.FaultInjector`, the lab API that adds them
and explains each firing in an event) on their way:

* ``delay`` — the request and its answer each take the rule's time longer;
* ``fail_produce_requests`` — a partition's batch fails with the rule's error before it reaches
  the broker: it is taken out of the request (which goes on, perhaps empty), and its error comes
  back in the response with the broker's answers for the others;
* ``drop_produce_responses`` — the broker's answer is lost on its way back: the producer hears
  nothing and times out. A request with acks=0 gets no answer, so it has none to lose.

The transport it wraps decides nothing: only this wrapper applies rules, and only the rules.
A request meets the rules there are when it is sent (with none, it passes straight through).

Invariant: with no rules left, it behaves exactly as the transport it wraps.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..api.base import error_fields, error_from
from ..api.messages.produce import (
    PartitionProduceResponse,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
    TopicProduceResponse,
)

if TYPE_CHECKING:
    from ..cluster.faults import FaultInjector


class FaultInjectingTransport:
    """A transport with the fault lab's rules on its produce requests (see the module).

    Invariant: it forwards every request to the transport it wraps and every answer back,
    except what a rule drops, fails or delays — each firing explained by an event."""

    def __init__(self, transport: Any, faults: "FaultInjector"):
        self._transport = transport
        self._faults = faults
        # read by a producer's sender on every run: bound once instead of looked up each time
        self.now_ms, self.call_later = transport.now_ms, transport.call_later

    def __getattr__(self, name: str) -> Any:
        """Everything but :meth:`send` is the wrapped transport's own (``call``, time, the
        lab's services to a client ...)."""
        return getattr(self._transport, name)

    def send(self, node_id: int | None, request, on_response: Callable[[object], None],
             extra_delay_ms: int = 0) -> None:
        """As the wrapped transport's ``send``, with the fault rules applied to a produce
        request."""
        transport, faults = self._transport, self._faults
        if type(request) is not ProduceRequest or not faults.armed:
            transport.send(node_id, request, on_response, extra_delay_ms)
            return
        extra_delay_ms += faults.extra_delay_ms(request.topic_data[0].name)
        failed: dict[tuple[str, int], Exception] = {}
        for topic in request.topic_data:
            for data in topic.partition_data:
                error = faults.request_error(topic.name, data.index)
                if error is not None:
                    failed[(topic.name, data.index)] = error

        def answered(response) -> None:
            if isinstance(response, ProduceResponse):  # (else: the broker could not be reached)
                if failed:
                    response = _with_failures(request, response, failed)
                if self._drops(response):
                    return
            on_response(response)

        transport.send(node_id, _without(request, failed) if failed else request, answered,
                       extra_delay_ms)

    def _drops(self, response: ProduceResponse) -> bool:
        """Does a drop rule lose this answer? (Each partition's answer, in order, may use one.)"""
        return any(self._faults.should_drop_response(
            topic.name, p.index, error_from(p.error_code, p.error_message))
            for topic in response.responses for p in topic.partition_responses)


def _without(request: ProduceRequest, failed: dict[tuple[str, int], Exception]
             ) -> ProduceRequest:
    """``request`` without the ``failed`` partitions (perhaps with none left)."""
    topics = (TopicProduceData(topic.name, tuple(
        data for data in topic.partition_data if (topic.name, data.index) not in failed))
        for topic in request.topic_data)
    return ProduceRequest(request.transactional_id, request.acks, request.timeout_ms,
                          tuple(topic for topic in topics if topic.partition_data))


def _with_failures(request: ProduceRequest, response: ProduceResponse,
                   failed: dict[tuple[str, int], Exception]) -> ProduceResponse:
    """The broker's ``response`` to what reached it, plus the ``failed`` partitions' errors, in
    the order of the request."""
    answers = {(topic.name, p.index): p for topic in response.responses
               for p in topic.partition_responses}
    return ProduceResponse(tuple(
        TopicProduceResponse(topic.name, tuple(
            PartitionProduceResponse(data.index, **error_fields(failed[(topic.name, data.index)]))
            if (topic.name, data.index) in failed else answers[(topic.name, data.index)]
            for data in topic.partition_data))
        for topic in request.topic_data), response.throttle_time_ms)
