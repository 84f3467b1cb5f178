"""What one decoded wire request becomes in the request layer, and how its answer goes back.

Most APIs are one engine request and one engine response translated field by field
(:mod:`.convert`). A few differ, as Kafka's own ``KafkaApis`` treats them:

* **Produce** carries record bytes: each partition's are checked (:mod:`.records`) and go to the
  engine as a batch; a partition that fails the check is answered with its error without
  reaching the engine, the others are appended. With ``acks=0`` nothing is answered.
* **Fetch** answers with the fetched batches' bytes, concatenated per partition, never
  re-encoded. It opens no fetch session (``session_id`` 0), so clients send full fetches.
* **FindCoordinator v4** and **OffsetFetch v8** batch several keys or groups in one request:
  one engine request per key or group, answered together.
* **JoinGroup** takes the client id from the request header, and from v4 on asks a new member
  to join again with the id it is given (MEMBER_ID_REQUIRED, KIP-394), as Kafka does; v0 has
  no rebalance timeout, so the session timeout serves as one (Kafka's rule).
* **Older shapes** of a request become the engine's one: LeaveGroup v0-2 names one member
  (its error is the response's), DeleteTopics v6 lists topics as structs, ListOffsets v0
  answers with a list of offsets.

Invariants: an :class:`Exchange` with ``respond is None`` expects no answer; otherwise
``respond`` is called with exactly one engine response per engine request, in their order.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, NamedTuple

from ..api.base import error_fields
from ..api.messages.fetch import ListOffsetsResponse
from ..api.messages.groups import (
    FindCoordinatorRequest, LeaveGroupRequest, MemberIdentity, OffsetFetchRequest,
)
from ..api.messages.topics import DeleteTopicsRequest
from ..api.messages.produce import (
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceData, TopicProduceResponse,
)
from ..api.registry import HANDLERS
from ..errors import CorruptRecordError, InvalidRecordError
from .convert import from_engine, to_engine
from .records import wire_batch
from .versions import SERVED


class Exchange(NamedTuple):
    """Engine requests for one wire request, and ``respond(engine responses) -> the wire
    response`` (None: the client expects no answer)."""

    requests: tuple
    respond: Callable[[list], Any] | None


#: API key -> the engine's request class (every API the request layer has a handler for)
ENGINE_REQUESTS: dict[int, type] = {cls.API_KEY: cls for cls in HANDLERS}


def _generic(message: Any, version: int, header: Any) -> Exchange:
    return _one(message, version, to_engine(message, ENGINE_REQUESTS[message.API_KEY], version))


def _one(message: Any, version: int, request: Any) -> Exchange:
    """One engine request, its answer translated back field by field."""
    response_cls = SERVED[message.API_KEY].response
    return Exchange((request,), lambda answers: from_engine(answers[0], response_cls, version))


def _join_group(message: Any, version: int, header: Any) -> Exchange:
    extra = {"rebalance_timeout_ms": message.session_timeout_ms} if version == 0 else {}
    return _one(message, version, to_engine(
        message, ENGINE_REQUESTS[message.API_KEY], version, client_id=header.client_id or "",
        require_known_member_id=version >= 4, **extra))


def _leave_group(message: Any, version: int, header: Any) -> Exchange:
    if version >= 3:
        return _generic(message, version, header)
    request = LeaveGroupRequest(message.group_id, (MemberIdentity(message.member_id),))
    response_cls = SERVED[message.API_KEY].response

    def respond(answers: list) -> Any:
        answer = answers[0]
        code = answer.error_code or next((m.error_code for m in answer.members), 0)
        return response_cls(version=version, error_code=code)

    return Exchange((request,), respond)


def _delete_topics(message: Any, version: int, header: Any) -> Exchange:
    if version < 6:
        return _generic(message, version, header)
    # kafkalab's topics have no ids: a topic named only by its id is unknown (an empty name)
    names = tuple(topic.name or "" for topic in message.topics)
    return _one(message, version, DeleteTopicsRequest(names, message.timeout_ms))


def _list_offsets(message: Any, version: int, header: Any) -> Exchange:
    if version > 0:
        return _generic(message, version, header)
    response_cls = SERVED[message.API_KEY].response

    def respond(answers: list) -> Any:
        response = from_engine(answers[0], response_cls, version)
        engine: ListOffsetsResponse = answers[0]
        for topic, answered in zip(response.topics, engine.topics):
            for partition, found in zip(topic.partitions, answered.partitions):
                partition.old_style_offsets = [found.offset] if found.offset >= 0 else []
        return response

    return Exchange((to_engine(message, ENGINE_REQUESTS[message.API_KEY], version),), respond)


def _produce(message: Any, version: int, header: Any) -> Exchange:
    refused: dict[str, list[PartitionProduceResponse]] = {}
    topics = []
    for topic in message.topic_data:
        partitions = []
        for data in topic.partition_data:
            try:
                partitions.append(PartitionProduceData(data.index, wire_batch(data.records)))
            except (CorruptRecordError, InvalidRecordError) as error:
                refused.setdefault(topic.name, []).append(
                    PartitionProduceResponse(data.index, **error_fields(error)))
        if partitions:
            topics.append(TopicProduceData(topic.name, tuple(partitions)))
    requests = (ProduceRequest(message.transactional_id, message.acks, message.timeout_ms,
                               tuple(topics)),) if topics else ()
    if message.acks == 0:
        return Exchange(requests, None)

    def respond(answers: list) -> Any:
        responses = list(answers[0].responses) if answers else []
        for name, partitions in refused.items():
            responses.append(TopicProduceResponse(name, tuple(partitions)))
        engine = answers[0] if answers else ProduceResponse(())
        return from_engine(replace(engine, responses=tuple(responses)),
                           SERVED[message.API_KEY].response, version)

    return Exchange(requests, respond)


def _find_coordinator(message: Any, version: int, header: Any) -> Exchange:
    if version < 4:
        return _generic(message, version, header)
    keys = tuple(message.coordinator_keys)
    response_cls = SERVED[message.API_KEY].response
    coordinator_cls = response_cls._struct.fields["coordinators"].data_class

    def respond(answers: list) -> Any:
        coordinators = []
        for key, answer in zip(keys, answers):
            coordinator = from_engine(answer, coordinator_cls, version)
            coordinator.key = key
            coordinators.append(coordinator)
        return response_cls(version=version, coordinators=coordinators)

    return Exchange(tuple(FindCoordinatorRequest(key, message.key_type) for key in keys),
                    respond)


def _offset_fetch(message: Any, version: int, header: Any) -> Exchange:
    if version < 8:
        return _generic(message, version, header)
    response_cls = SERVED[message.API_KEY].response
    group_cls = response_cls._struct.fields["groups"].data_class
    requests = tuple(to_engine(group, OffsetFetchRequest, version,
                               require_stable=message.require_stable)
                     for group in message.groups)

    def respond(answers: list) -> Any:
        groups = []
        for request, answer in zip(requests, answers):
            group = from_engine(answer, group_cls, version)
            group.group_id = request.group_id
            groups.append(group)
        return response_cls(version=version, groups=groups)

    return Exchange(requests, respond)


_SPECIAL: dict[int, Callable[[Any, int, Any], Exchange]] = {
    0: _produce,
    2: _list_offsets,
    9: _offset_fetch,
    10: _find_coordinator,
    11: _join_group,
    13: _leave_group,
    20: _delete_topics,
}


def exchange_for(message: Any, version: int, header: Any) -> Exchange:
    """The engine requests a decoded wire request becomes (see the module)."""
    return _SPECIAL.get(message.API_KEY, _generic)(message, version, header)
