"""Malformed and hostile frames against a live server: it answers, or closes that connection,
and keeps serving everyone — never crashes, never stops answering.

Two kinds of input. Broken frames: every served request at every served version (its default
values), mutated by hypothesis — bytes flipped, cut short, grown, the header pointed at another
API or version, the size field lied about — or plain random bytes. Well-formed requests with odd
values: every served API at a random served version, each field drawn from its schema type
(names from a few real and unreal topics, negative and huge numbers, empty and null arrays,
records that are a valid batch or noise), which reach the engine's request layer.
"""
from __future__ import annotations

import socket
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka.protocol.metadata import ApiVersionsRequest

from kafkalab.record import RecordBatch
from kafkalab.server.versions import SERVED

from wire_helpers import RawClient, first_port


def _corpus() -> list[bytes]:
    frames = []
    for api in SERVED.values():
        for version in range(api.min_version, api.max_version + 1):
            message = api.request(version=version)
            message.with_header(correlation_id=7, client_id="fuzz")
            frames.append(message.encode(header=True))
    return frames


CORPUS = _corpus()
VALID_BATCH = RecordBatch([(0, 0, b"k", b"v", ())]).raw


@st.composite
def frames(draw) -> bytes:
    kind = draw(st.sampled_from(["mutated", "retargeted", "random", "resized"]))
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=300))
    body = bytearray(draw(st.sampled_from(CORPUS)))
    if kind == "retargeted" and len(body) >= 4:
        key = draw(st.sampled_from(sorted(SERVED)))
        api = SERVED[key]
        struct.pack_into(">hh", body, 0, key,
                         draw(st.integers(api.min_version, api.max_version)))
    elif kind == "mutated" and body:
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(body) - 1))
            body[index] = draw(st.integers(0, 255))
        body = body[:draw(st.integers(0, len(body)))] + draw(st.binary(max_size=64))
    elif kind == "resized" and len(body) > 8:
        return struct.pack(">i", draw(st.integers(-2**31, 2**31 - 1))) + bytes(body)
    return struct.pack(">i", len(body)) + bytes(body)


TOPICS = ["orders", "missing", "", "__consumer_offsets", "a" * 300]
INTS = st.one_of(st.integers(-3, 5), st.sampled_from([-2**31, 2**31 - 1, 1 << 20]))


def _value(field, version: int, draw):
    """A value for one field of a request schema."""
    if field.is_struct_array() or field.is_struct():
        items = [_struct(field, version, draw) for _ in range(draw(st.integers(0, 2)))]
        return items if field.is_struct_array() else (items[0] if items else
                                                     _struct(field, version, draw))
    kind = field.type_str
    if kind.startswith("[]"):
        inner = kind[2:]
        count = draw(st.integers(0, 3))
        if inner == "string":
            return [draw(st.sampled_from(TOPICS)) for _ in range(count)]
        return [draw(INTS) for _ in range(count)]
    if kind in ("int8", "int16", "int32", "int64", "uint16"):
        limit = {"int8": 127, "int16": 32767, "uint16": 65535}.get(kind, 2**31 - 1)
        return max(-limit - 1, min(limit, draw(INTS))) if kind != "uint16" else draw(
            st.integers(0, 65535))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "string":
        return draw(st.sampled_from(TOPICS + ["g", "consumer", "PLAIN"]))
    if kind == "bytes":
        return draw(st.binary(max_size=32))
    if kind == "records":
        return draw(st.sampled_from([VALID_BATCH, b"", VALID_BATCH[:40], b"\0" * 70]))
    if kind == "uuid":
        return None
    if kind == "float64":
        return 0.0
    return field.default


def _struct(struct, version: int, draw):
    values = {name: _value(field, version, draw) for name, field in struct.fields.items()
              if field.for_version_q(version) and field.tag is None}
    return struct.data_class(version=version, **values)


@st.composite
def odd_requests(draw) -> bytes:
    api = SERVED[draw(st.sampled_from(sorted(SERVED)))]
    version = draw(st.integers(api.min_version, api.max_version))
    message = _struct(api.request._struct, version, draw)
    message.with_header(correlation_id=9, client_id="fuzz")
    try:
        return message.encode(header=True, framed=True)
    except Exception:  # noqa: BLE001 — a value the schema cannot carry: send random bytes
        return draw(st.binary(max_size=64))


def test_the_server_survives_malformed_frames(serve_cluster, caplog):
    served = serve_cluster(brokers=2, config={"group.initial.rebalance.delay.ms": 0})
    served.cluster.create_topic("orders", partitions=2, replication_factor=2)
    port = first_port(served)

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(frames(), odd_requests()))
    def one_frame(frame: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as hostile:
            hostile.sendall(frame)
            hostile.settimeout(0.05)
            try:
                hostile.recv(65536)  # an answer, a close, or nothing yet: all allowed
            except (socket.timeout, ConnectionResetError):
                pass
        checker = RawClient(port)
        try:
            assert checker.request(ApiVersionsRequest(), 3).error_code == 0
        finally:
            checker.close()

    one_frame()
    assert served.running
    failures = [r.getMessage() for r in caplog.records
                if r.name == "kafkalab.server" and r.levelname == "ERROR"]
    assert not failures, failures  # every odd request was answered or refused, none crashed
