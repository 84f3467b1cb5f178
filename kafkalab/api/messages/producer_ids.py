"""InitProducerId (API key 22): a producer id and epoch for an idempotent producer.

Shaped as Kafka's ``InitProducerIdRequest``/``InitProducerIdResponse`` (v4). With
``producer_id``/``producer_epoch`` -1 the broker hands out a new id at epoch 0; given the current
id and epoch (KIP-360) it answers the same id with the next epoch, so the producer can number a
partition's batches from 0 again after a gap.

``reason`` is kafkalab's, not Kafka's: why the producer asks for a new epoch, for the event the
broker explains the bump with (a wire codec drops it; a wire client never sends one).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..base import Request, Response

#: what a producer without a transactional id sends (Java's producer: Integer.MAX_VALUE)
NO_TRANSACTION_TIMEOUT_MS = 2**31 - 1


@dataclass(frozen=True)
class InitProducerIdRequest(Request):
    API_KEY = 22
    API_NAME = "InitProducerId"

    transactional_id: str | None = None
    transaction_timeout_ms: int = NO_TRANSACTION_TIMEOUT_MS
    producer_id: int = -1
    producer_epoch: int = -1
    reason: str | None = None


@dataclass(frozen=True)
class InitProducerIdResponse(Response):
    API_KEY = 22
    API_NAME = "InitProducerId"

    throttle_time_ms: int = 0
    error_code: int = 0
    producer_id: int = -1
    producer_epoch: int = -1
    error_message: str | None = None
