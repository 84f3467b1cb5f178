"""InitProducerId: the broker hands an idempotent producer its id, or the next epoch of it
(KIP-360), from the cluster's producer id allocator (``Cluster.init_producer_id``, which explains
each id and each bump in an event).

A request naming a ``transactional_id`` goes to this broker's transaction coordinator
(:mod:`.transactions`): the id's producer id, its epoch bumped (which fences older instances).
"""
from __future__ import annotations

from ..messages.producer_ids import InitProducerIdRequest, InitProducerIdResponse
from ..registry import handles
from .transactions import handle_transactional_init


@handles(InitProducerIdRequest)
def handle_init_producer_id(broker, request: InitProducerIdRequest, respond) -> None:
    if request.transactional_id is not None:
        handle_transactional_init(broker, request, respond)
        return
    producer_id, epoch = broker.cluster.init_producer_id(
        request.producer_id, request.producer_epoch, request.reason or "")
    respond(InitProducerIdResponse(producer_id=producer_id, producer_epoch=epoch))
