"""Field-by-field translation between kafka-python's protocol messages and the request layer's.

kafkalab's requests and responses (:mod:`kafkalab.api.messages`) are named after Kafka's message
schemas, field for field, as kafka-python's generated classes are; so one translation serves
every API: a field is carried across under its own name (or the one :data:`WIRE_ALIASES` gives),
lists become tuples and back, nested structs recurse.

* :func:`to_engine` reads a decoded request at its version: a field the version has is copied
  (a null where the schema allows none is refused, as Kafka refuses it); one it lacks takes the
  engine message's default (Kafka's default: the engine's messages declare them), else the
  schema's.
* :func:`from_engine` builds a response at a version: only the fields that version has are set,
  so a newer field (``error_message``, a tagged field) is dropped for an older client, as Kafka
  drops it.

A response's record field (Fetch) is its batches' own bytes, concatenated, never re-encoded;
requests that carry records (Produce) are checked and translated by :mod:`.exchanges`.

Invariants: translation never reads a field outside the message's version; a plan (which field
goes where) is computed once per (class, schema, version) and cached; kafka-python's schema
objects live as long as the process, so their ids are stable keys.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any

from kafka.protocol.schemas.fields.codecs.types import BitField

#: kafka-python's field name -> the engine's, where the two differ (used only where the engine
#: message lacks the wire name itself)
WIRE_ALIASES: dict[str, str] = {
    "v3_and_below_transactional_id": "transactional_id",
    "v3_and_below_producer_id": "producer_id",
    "v3_and_below_producer_epoch": "producer_epoch",
    "v3_and_below_topics": "topics",
    "results_by_topic_v3_and_below": "results",
    "results_by_partition": "results",
    "partition_error_code": "error_code",
    "partitions": "results",
    "authorized_operations": "cluster_authorized_operations",
}


def _pairs(engine_cls: type, struct: Any) -> dict[str, str]:
    """wire field name -> engine field name, for the fields both have."""
    names = {f.name for f in dataclasses.fields(engine_cls)}
    pairs = {}
    for wire_name in struct.fields:
        name = wire_name if wire_name in names else WIRE_ALIASES.get(wire_name)
        if name in names and name not in pairs.values():
            pairs[wire_name] = name
    return pairs


_MISSING = dataclasses.MISSING
_OMITTED = -2**31  # an authorized-operations field's "not asked for"


def _element_type(hint: Any) -> type | None:
    """The dataclass a field's hint holds (``tuple[X, ...] | None`` -> X), if any."""
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg):
            return arg
        found = _element_type(arg)
        if found is not None:
            return found
    return hint if dataclasses.is_dataclass(hint) else None


_plans: dict[tuple, tuple] = {}


def _inbound_plan(engine_cls: type, struct: Any, version: int) -> tuple:
    """(engine field, kafka-python field name or None, nested engine class, default) per field."""
    key = (engine_cls, id(struct), version)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _make_inbound_plan(engine_cls, struct, version)
    return plan


def _make_inbound_plan(engine_cls: type, struct: Any, version: int) -> tuple:
    hints = typing.get_type_hints(engine_cls)
    wire_names = {engine: wire for wire, engine in _pairs(engine_cls, struct).items()}
    plan = []
    for field in dataclasses.fields(engine_cls):
        name = wire_names.get(field.name)
        wire = struct.fields.get(name) if name else None
        default = field.default if field.default is not _MISSING else (
            field.default_factory() if field.default_factory is not _MISSING else _MISSING)
        if wire is None or not wire.for_version_q(version):
            if default is _MISSING:
                default = wire.default if wire is not None else None
            plan.append((field.name, None, None, default))
            continue
        nested = _element_type(hints[field.name]) if (
            wire.is_struct() or wire.is_struct_array()) else None
        plan.append((field.name, name, (nested, wire), default))
    return tuple(plan)


def to_engine(message: Any, engine_cls: type, version: int, **extra: Any) -> Any:
    """The engine's ``engine_cls`` for a decoded kafka-python message at ``version``;
    ``extra`` sets fields the wire message does not carry (e.g. the header's client id)."""
    values = {}
    for name, wire_name, nested, default in _inbound_plan(engine_cls, message._struct, version):
        if wire_name is None:
            values[name] = extra.get(name, default)
            continue
        value = getattr(message, wire_name)
        nested_cls, wire = nested
        if value is None and not wire.nullable_for_version_q(version):
            raise ValueError(f"non-nullable field {wire_name} was serialized as null")
        if nested_cls is not None and value is not None:
            if wire.is_struct_array():
                value = tuple(to_engine(item, nested_cls, version) for item in value)
            else:
                value = to_engine(value, nested_cls, version)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return engine_cls(**values)


def _outbound_plan(engine_cls: type, struct: Any, version: int) -> tuple:
    """(kafka-python field name, engine attribute, field) for the fields the version has and
    the engine message holds."""
    key = (engine_cls, id(struct), version, "out")
    plan = _plans.get(key)
    if plan is None:
        sources = _pairs(engine_cls, struct)
        plan = _plans[key] = tuple((name, sources[name], field)
                                   for name, field in struct.fields.items()
                                   if name in sources and field.for_version_q(version))
    return plan


def from_engine(response: Any, wire_cls: Any, version: int) -> Any:
    """kafka-python's ``wire_cls`` (a message or a nested struct class) at ``version``, from
    the engine's ``response``."""
    values = {}
    for name, source, field in _outbound_plan(type(response), wire_cls._struct, version):
        value = getattr(response, source)
        if field.type_str == "records":  # the engine's batches, as their own bytes
            value = b"".join([batch.raw for batch in value]) if value else b""
        elif field.type_str == "bitfield":  # authorized operations: a set of bits, or None
            value = None if value == _OMITTED else BitField.from_32_bit_field(value)
        elif value is not None and (field.is_struct_array() or field.is_struct()):
            if field.is_struct_array():
                value = [from_engine(item, field.data_class, version) for item in value]
            else:
                value = from_engine(value, field.data_class, version)
        elif isinstance(value, tuple):
            value = list(value)
        values[name] = value
    return wire_cls(version=version, **values)
