"""Kafka's protocol as the wire server speaks it, frame by frame: versions, errors, bad input.

Each test talks raw frames (kafka-python's message classes, no client logic) to a served
cluster and checks the answer — or the closed connection — Kafka gives, and that the server
goes on serving everyone else.
"""
from __future__ import annotations

import struct
import time

import pytest
from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.metadata import ApiVersionsRequest, MetadataRequest
from kafka.protocol.producer import ProduceRequest

from kafkalab.record import RecordBatch
from kafkalab.server.versions import ADVERTISED_MIN_VERSION, SERVED

from wire_helpers import RawClient, first_port


def _produce(topic: str, partitions: dict[int, bytes], acks: int = -1) -> ProduceRequest:
    data = ProduceRequest.TopicProduceData(
        name=topic, partition_data=[ProduceRequest.TopicProduceData.PartitionProduceData(
            index=index, records=records) for index, records in partitions.items()])
    return ProduceRequest(transactional_id=None, acks=acks, timeout_ms=5000, topic_data=[data])


def _batch(*values: bytes, producer_id: int = -1, base_sequence: int = -1) -> bytes:
    now = int(time.time() * 1000)
    rows = [(i, now, None, value, ()) for i, value in enumerate(values)]
    return RecordBatch(rows, producer_id=producer_id, producer_epoch=0 if producer_id >= 0
                       else -1, base_sequence=base_sequence).raw


def _fetch(max_wait_ms: int) -> FetchRequest:
    """A consumer's full fetch of orders-0 from offset 0 (no fetch session)."""
    partition = FetchRequest.FetchTopic.FetchPartition(
        partition=0, current_leader_epoch=-1, fetch_offset=0, last_fetched_epoch=-1,
        log_start_offset=-1, partition_max_bytes=1 << 20)
    return FetchRequest(
        replica_id=-1, max_wait_ms=max_wait_ms, min_bytes=1, max_bytes=1 << 20,
        isolation_level=0, session_id=0, session_epoch=-1, forgotten_topics_data=[],
        rack_id="", topics=[FetchRequest.FetchTopic(topic="orders", partitions=[partition])])


def _errors(response) -> dict[int, int]:
    return {p.index: p.error_code for t in response.responses for p in t.partition_responses}


def _alive(port: int) -> bool:
    """The server still answers ApiVersions on a new connection."""
    client = RawClient(port)
    try:
        return client.request(ApiVersionsRequest(), 3).error_code == 0
    finally:
        client.close()


def test_api_versions_lists_what_is_served(serve_cluster):
    client = RawClient(first_port(serve_cluster()))
    response = client.request(ApiVersionsRequest(client_software_name="test",
                                                 client_software_version="1"), 3)
    listed = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert listed == {key: (ADVERTISED_MIN_VERSION.get(key, api.min_version), api.max_version)
                      for key, api in SERVED.items()}
    # Produce listed from v0 as Kafka 4.0 lists it, though v0-2 are not served
    assert listed[0] == (0, 9) and listed[1] == (4, 12) and listed[18] == (0, 3)


def test_a_newer_api_versions_than_served_is_answered_in_v0_with_unsupported_version(
        serve_cluster):
    client = RawClient(first_port(serve_cluster()))
    frame = bytearray(client.frame(ApiVersionsRequest(), 3))
    struct.pack_into(">h", frame, 6, 99)  # the header's api_version
    client.send(bytes(frame))
    raw = client.read_frame()
    correlation_id, error_code = struct.unpack_from(">ih", raw)
    assert (correlation_id, error_code) == (1, 35)  # UNSUPPORTED_VERSION
    count = struct.unpack_from(">i", raw, 6)[0]  # v0: then the api list, for a step down
    assert count == len(SERVED)


@pytest.mark.parametrize("api_key, version", [(0, 2), (1, 3), (3, 12), (99, 0), (4, 0)])
def test_an_api_or_version_not_served_closes_the_connection(serve_cluster, api_key, version):
    served = serve_cluster()
    client = RawClient(first_port(served))
    frame = bytearray(client.frame(ApiVersionsRequest(), 0))
    struct.pack_into(">hh", frame, 4, api_key, version)
    client.send(bytes(frame))
    assert client.closed_by_server()
    assert _alive(first_port(served))


def test_pipelined_requests_are_answered_in_order(serve_cluster):
    client = RawClient(first_port(serve_cluster()))
    frames = [client.frame(MetadataRequest(topics=None), 11, correlation_id=100 + i)
              for i in range(5)]
    client.send(b"".join(frames))
    ids = [struct.unpack_from(">i", client.read_frame())[0] for _ in range(5)]
    assert ids == [100, 101, 102, 103, 104]


def test_produce_checks_each_partitions_batch_as_kafka_does(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=4)
    good = _batch(b"good")
    corrupt = bytearray(_batch(b"bad crc"))
    corrupt[-1] ^= 0xFF  # the CRC covers the records: it no longer matches
    two = _batch(b"one") + _batch(b"two")
    old_magic = bytearray(_batch(b"magic 1"))
    old_magic[16] = 1
    client = RawClient(first_port(served))
    response = client.request(_produce("orders", {0: good, 1: bytes(corrupt), 2: two,
                                                  3: bytes(old_magic)}), 9)
    assert _errors(response) == {0: 0, 1: 2, 2: 87, 3: 87}  # CORRUPT_MESSAGE, INVALID_RECORD
    records = served.cluster.records("orders")
    assert list(records["partition"]) == [0]


def test_a_compressed_batch_is_stored_as_it_came(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("logs", partitions=1)
    now = int(time.time() * 1000)
    raw = RecordBatch([(i, now, None, b"x" * 100, ()) for i in range(50)],
                      compression_type="gzip").raw
    client = RawClient(first_port(served))
    assert _errors(client.request(_produce("logs", {0: raw}), 9)) == {0: 0}
    stored = next(served.cluster.partition("logs", 0).leader_log.batches())
    assert stored.compression_type == "gzip"
    assert stored.raw[61:] == raw[61:]  # the compressed records, byte for byte


def test_acks_0_gets_no_answer_and_the_next_request_still_does(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("events", partitions=1)
    client = RawClient(first_port(served))
    client.send(client.frame(_produce("events", {0: _batch(b"fire and forget")}, acks=0), 9))
    assert client.request(ApiVersionsRequest(), 3).error_code == 0
    assert list(served.cluster.records("events")["value"]) == ["fire and forget"]


def test_an_idempotent_batch_sent_twice_is_stored_once(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("payments", partitions=1)
    producer_id = served.cluster.allocate_producer_id()
    batch = _batch(b"pay 10", producer_id=producer_id, base_sequence=0)
    client = RawClient(first_port(served))
    first = client.request(_produce("payments", {0: batch}), 9)
    again = client.request(_produce("payments", {0: batch}), 9)
    offsets = [t.partition_responses[0].base_offset for t in first.responses + again.responses]
    assert _errors(again) == {0: 0} and offsets == [0, 0]  # a duplicate: the same offset
    assert len(served.cluster.records("payments")) == 1


def test_fetch_returns_the_stored_batches_bytes(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=1)
    client = RawClient(first_port(served))
    client.request(_produce("orders", {0: _batch(b"a", b"b")}), 9)
    fetch = _fetch(max_wait_ms=100)
    response = client.request(fetch, 12)
    partition = response.responses[0].partitions[0]
    assert (partition.error_code, partition.high_watermark) == (0, 2)
    stored = next(served.cluster.partition("orders", 0).leader_log.batches())
    assert bytes(partition.records) == stored.raw
    assert response.session_id == 0  # no fetch session: clients send full fetches


def test_a_long_poll_fetch_waits_for_data_then_answers(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=1)
    reader, writer = RawClient(first_port(served)), RawClient(first_port(served))
    fetch = _fetch(max_wait_ms=3000)
    started = time.monotonic()
    reader.send(reader.frame(fetch, 12))
    time.sleep(0.3)
    writer.request(_produce("orders", {0: _batch(b"late")}), 9)
    raw = reader.read_frame()
    waited = time.monotonic() - started
    answer = FetchResponse.decode(raw, version=12, header=True)
    assert answer.responses[0].partitions[0].high_watermark == 1
    assert 0.3 <= waited < 3.0  # answered when the data came, not at max_wait_ms


@pytest.mark.parametrize("size", [-1, -2**31, 2**31 - 1])
def test_a_frame_size_that_cannot_be_a_request_closes_the_connection(serve_cluster, size):
    served = serve_cluster()
    client = RawClient(first_port(served))
    client.send(struct.pack(">i", size) + b"\0" * 16)
    assert client.closed_by_server()
    assert _alive(first_port(served))


def test_a_frame_over_socket_request_max_bytes_closes_the_connection(serve_cluster):
    served = serve_cluster(config={"socket.request.max.bytes": 1000})
    client = RawClient(first_port(served))
    client.send(struct.pack(">i", 1001))
    assert client.closed_by_server()
    small = RawClient(first_port(served))
    assert small.request(ApiVersionsRequest(), 3).error_code == 0


def test_a_body_that_does_not_decode_closes_the_connection(serve_cluster):
    served = serve_cluster()
    client = RawClient(first_port(served))
    frame = bytearray(client.frame(MetadataRequest(
        topics=[MetadataRequest.MetadataRequestTopic(name="orders")]), 11))
    garbage = frame[:14] + b"\xff" * 3  # the header, then a cut-off compact array
    client.send(struct.pack(">i", len(garbage) - 4) + bytes(garbage[4:]))
    assert client.closed_by_server()
    assert _alive(first_port(served))


def test_a_slow_client_with_half_a_frame_blocks_nobody(serve_cluster):
    served = serve_cluster()
    slow = RawClient(first_port(served))
    frame = slow.frame(MetadataRequest(topics=None), 11)
    slow.send(frame[:7])  # and never the rest
    started = time.monotonic()
    assert _alive(first_port(served))
    assert time.monotonic() - started < 2
    slow.send(frame[7:])
    assert struct.unpack_from(">i", slow.read_frame())[0] == slow.correlation_id


def test_connections_beyond_max_connections_are_closed(serve_cluster):
    served = serve_cluster(config={"max.connections": 2})
    port = first_port(served)
    kept = [RawClient(port), RawClient(port)]
    for client in kept:
        assert client.request(ApiVersionsRequest(), 3).error_code == 0
    extra = RawClient(port)
    assert extra.closed_by_server()
    kept[0].close()
    time.sleep(0.2)
    assert _alive(port)


def test_a_killed_brokers_port_refuses_and_reopens_on_restart(serve_cluster):
    served = serve_cluster(brokers=2)
    port = served.cluster.brokers[2].port
    connected = RawClient(port)
    served.cluster.kill_broker(2)
    assert connected.closed_by_server()
    deadline = time.monotonic() + 3
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            RawClient(port).close()
            time.sleep(0.05)
        except ConnectionRefusedError:
            refused = True
    assert refused
    served.cluster.restart_broker(2)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            assert _alive(port)
            break
        except ConnectionRefusedError:
            time.sleep(0.05)
    else:
        pytest.fail("broker 2 did not listen again after its restart")


def test_a_broker_cut_off_from_clients_answers_nothing(serve_cluster):
    served = serve_cluster(brokers=2)
    served.cluster.isolate_broker(2, from_brokers=False)
    client = RawClient(served.cluster.brokers[2].port, timeout_s=1)
    client.send(client.frame(MetadataRequest(topics=None), 11))
    with pytest.raises(TimeoutError):
        client.read_frame()
    assert _alive(served.cluster.brokers[1].port)
    assert any(e.kind == "request.lost" for e in served.cluster.events)


def test_past_queued_max_requests_no_new_request_is_taken_until_one_is_answered(serve_cluster):
    served = serve_cluster(config={"queued.max.requests": 1})
    served.cluster.create_topic("orders", partitions=1)
    port = first_port(served)
    waiting, queued = RawClient(port), RawClient(port)
    fetch = _fetch(max_wait_ms=1500)
    waiting.send(waiting.frame(fetch, 12))  # a long poll: holds the one slot
    time.sleep(0.2)
    queued.send(queued.frame(MetadataRequest(topics=None), 11))
    queued.sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        queued.read_frame()  # not taken while the fetch waits
    queued.sock.settimeout(5)
    first = waiting.read_frame()  # the fetch times out empty, freeing the slot ...
    second = queued.read_frame()  # ... and the metadata request is taken and answered
    assert struct.unpack_from(">i", first)[0] == waiting.correlation_id
    assert struct.unpack_from(">i", second)[0] == queued.correlation_id


def test_a_flooding_client_is_not_read_beyond_its_read_ahead(serve_cluster):
    served = serve_cluster()
    served.cluster.create_topic("orders", partitions=1)
    flood = RawClient(first_port(served))
    flood.sock.setblocking(False)
    frame = flood.frame(MetadataRequest(topics=None), 11)
    sent = 0
    try:  # the client never reads its answers: the server must stop reading it
        while sent < 64 * 1024 * 1024:
            sent += flood.sock.send(frame * 256)
    except BlockingIOError:
        pass
    assert sent < 64 * 1024 * 1024  # TCP pushed back: the server stopped reading
    assert _alive(first_port(served))
