"""aiokafka (asyncio) against kafkalab serve: produce, group consumption, a transaction.

Every scenario checks what the client saw against the embedded API on the same cluster.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

aiokafka = pytest.importorskip("aiokafka")
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

FAST = {"group.initial.rebalance.delay.ms": 0}


async def _consume(consumer: AIOKafkaConsumer, count: int, timeout_s: float = 20.0,
                   quiet_s: float = 0.0) -> list:
    """At least ``count`` records (then ``quiet_s`` more of polling); fewer fail the test."""
    loop = asyncio.get_running_loop()
    got = []
    deadline = loop.time() + timeout_s
    while len(got) < count and loop.time() < deadline:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            got.extend(records)
    assert len(got) >= count, f"{len(got)} of {count} records in {timeout_s} s"
    quiet_end = loop.time() + quiet_s
    while loop.time() < quiet_end:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            got.extend(records)
    return got


def run_apart(coroutine):
    """``asyncio.run(coroutine)`` on a thread of its own: this thread may already have an event
    loop running (an earlier test's, e.g. Playwright's or IPython's), where asyncio.run refuses."""
    result: list = []

    def run() -> None:
        try:
            result.append(("ok", asyncio.run(coroutine)))
        except BaseException as error:  # noqa: BLE001 — re-raised in the test's thread
            result.append(("error", error))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    kind, value = result[0]
    if kind == "error":
        raise value
    return value


def test_produce_then_consume_in_a_group_and_commit(serve_cluster):
    served = serve_cluster(config=FAST)
    served.cluster.create_topic("orders", partitions=3)
    bootstrap = served.bootstrap_servers

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                    compression_type="gzip")
        await producer.start()
        try:
            sent = [await producer.send_and_wait("orders", f"order-{i}".encode(),
                                                 key=f"user-{i % 5}".encode())
                    for i in range(25)]
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            "orders", bootstrap_servers=bootstrap, group_id="order-processors",
            auto_offset_reset="earliest", enable_auto_commit=False,
            isolation_level="read_committed")
        await consumer.start()
        try:
            got = await _consume(consumer, 25, quiet_s=0.3)
            await consumer.commit()
            committed = {tp.partition: await consumer.committed(tp)
                         for tp in consumer.assignment()}
        finally:
            await consumer.stop()
        return sent, got, committed

    sent, got, committed = run_apart(scenario())
    assert sorted((m.partition, m.offset) for m in sent) == sorted(
        (r.partition, r.offset) for r in got)
    assert len(got) == 25
    ends = {p: 0 for p in range(3)}  # aiokafka commits every assigned partition's position
    for m in sent:
        ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
    assert committed == ends
    stored = served.cluster.records("orders")
    assert sorted(zip(stored["partition"], stored["offset"], stored["value"])) == sorted(
        (r.partition, r.offset, r.value.decode()) for r in got)
    batches = list(served.cluster.partition("orders", sent[0].partition).leader_log.batches())
    assert {b.compression_type for b in batches} == {"gzip"}
    described = served.cluster.describe_consumer_group("order-processors")
    assert {int(row["PARTITION"]): int(row["CURRENT-OFFSET"])
            for _, row in described.iterrows()} == ends
    assert set(described["LAG"]) == {0}


def test_a_transaction_commits_outputs_with_input_offsets_and_an_abort_is_never_seen(
        serve_cluster):
    served = serve_cluster(config=FAST)
    served.cluster.create_topic("input", partitions=1)
    served.cluster.create_topic("output", partitions=1)
    bootstrap = served.bootstrap_servers
    tp = TopicPartition("input", 0)

    async def scenario():
        plain = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await plain.start()
        for i in range(3):
            await plain.send_and_wait("input", f"in-{i}".encode())
        await plain.stop()

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id="etl-tx")
        await producer.start()
        try:
            async with producer.transaction():
                for i in range(3):
                    await producer.send("output", f"out-{i}".encode())
                await producer.send_offsets_to_transaction({tp: 3}, "etl")
            await producer.begin_transaction()
            await producer.send_and_wait("output", b"dropped")
            await producer.abort_transaction()
        finally:
            await producer.stop()

        reader = AIOKafkaConsumer("output", bootstrap_servers=bootstrap, group_id="reader",
                                  auto_offset_reset="earliest",
                                  isolation_level="read_committed")
        await reader.start()
        try:
            seen = await _consume(reader, 3, quiet_s=1.0)
        finally:
            await reader.stop()
        return seen

    seen = run_apart(scenario())
    assert [r.value for r in seen] == [b"out-0", b"out-1", b"out-2"]
    stored = served.cluster.records("output")
    assert list(zip(stored["value"].fillna(""), stored["transaction"])) == [
        ("out-0", "committed"), ("out-1", "committed"), ("out-2", "committed"),
        ("", "COMMIT marker"), ("dropped", "aborted"), ("", "ABORT marker")]
    described = served.cluster.describe_consumer_group("etl")
    assert list(zip(described["TOPIC"], described["PARTITION"],
                    described["CURRENT-OFFSET"])) == [("input", 0, 3)]
