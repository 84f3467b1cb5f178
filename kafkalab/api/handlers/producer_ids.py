"""InitProducerId: the broker hands an idempotent producer its id, or the next epoch of it
(KIP-360), from the cluster's producer id allocator (``Cluster.init_producer_id``, which explains
each id and each bump in an event).

Transactions arrive with lesson 02b-transactions: a request naming a ``transactional_id`` is
refused with INVALID_REQUEST until a transaction coordinator exists.
"""
from __future__ import annotations

from ...errors import InvalidRequestError
from ..base import error_fields
from ..messages.producer_ids import InitProducerIdRequest, InitProducerIdResponse
from ..registry import handles


@handles(InitProducerIdRequest)
def handle_init_producer_id(broker, request: InitProducerIdRequest, respond) -> None:
    if request.transactional_id is not None:
        respond(InitProducerIdResponse(**error_fields(InvalidRequestError(
            f"transactional_id={request.transactional_id!r}: broker {broker.id} has no "
            "transaction coordinator yet (transactions arrive with lesson 02b-transactions); "
            "an idempotent producer sends transactional_id=None"))))
        return
    producer_id, epoch = broker.cluster.init_producer_id(
        request.producer_id, request.producer_epoch, request.reason or "")
    respond(InitProducerIdResponse(producer_id=producer_id, producer_epoch=epoch))
