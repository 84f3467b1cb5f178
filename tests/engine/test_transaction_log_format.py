"""Transactions on disk: ``__transaction_state`` records in Kafka's TransactionLogKey /
TransactionLogValue v0 bytes, COMMIT/ABORT markers as Kafka's control batches (read back by
kafka-python's own record code), and the log cleaner on a compacted topic with transactions.
"""
from __future__ import annotations

import struct

import pytest
from kafka.record.default_records import DefaultRecordBatch

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.coordinator import transaction_log
from kafkalab.coordinator.transaction_log import TransactionLogRecord
from kafkalab.coordinator.transaction_metadata import TransactionState
from kafkalab.record import RecordBatch
from kafkalab.record.control import ControlRecordType, marker_batch, marker_of

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def kafka_string(s: str) -> bytes:
    data = s.encode()
    return struct.pack(">h", len(data)) + data


# --- __transaction_state -------------------------------------------------------------------------


def test_an_ongoing_transaction_is_stored_in_kafkas_v0_layout():
    record = TransactionLogRecord("payments-tx", producer_id=4000, producer_epoch=3,
                                  timeout_ms=60_000, state=TransactionState.ONGOING,
                                  partitions=(("orders", 0), ("orders", 2), ("payments", 1)),
                                  last_update_ms=1_767_225_600_123, start_ms=1_767_225_600_000)
    key, value = transaction_log.encode(record)
    # TransactionLogKey v0: version int16 | transactional_id string
    assert key == b"\x00\x00" + b"\x00\x0bpayments-tx"
    # TransactionLogValue v0, field by field as in Kafka's schema
    expected = (
        b"\x00\x00"                                # version 0
        + (4000).to_bytes(8, "big")               # ProducerId int64
        + b"\x00\x03"                             # ProducerEpoch int16
        + (60_000).to_bytes(4, "big")             # TransactionTimeoutMs int32
        + b"\x01"                                 # TransactionStatus int8: Ongoing = 1
        + b"\x00\x00\x00\x02"                     # TransactionPartitions: 2 topics
        + kafka_string("orders") + b"\x00\x00\x00\x02" + b"\x00\x00\x00\x00"
        + b"\x00\x00\x00\x02"
        + kafka_string("payments") + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x01"
        + (1_767_225_600_123).to_bytes(8, "big")  # TransactionLastUpdateTimestampMs int64
        + (1_767_225_600_000).to_bytes(8, "big")  # TransactionStartTimestampMs int64
    )
    assert value == expected
    assert transaction_log.decode(key, value) == record


def test_an_empty_state_stores_null_partitions_as_kafka_does():
    # Kafka's TransactionLog.valueToBytes: TransactionPartitions is null in the Empty state
    record = TransactionLogRecord("tx", producer_id=7, producer_epoch=0, timeout_ms=60_000,
                                  state=TransactionState.EMPTY, last_update_ms=5,
                                  start_ms=-1)
    _, value = transaction_log.encode(record)
    assert value == (b"\x00\x00" + (7).to_bytes(8, "big") + b"\x00\x00"
                     + (60_000).to_bytes(4, "big") + b"\x00" + b"\xff\xff\xff\xff"
                     + (5).to_bytes(8, "big") + (-1).to_bytes(8, "big", signed=True))
    assert transaction_log.decode(b"\x00\x00" + kafka_string("tx"), value) == record


@pytest.mark.parametrize("state", list(TransactionState))
def test_every_state_round_trips_with_kafkas_status_codes(state):
    partitions = () if state is TransactionState.EMPTY else (("t", 0),)
    record = TransactionLogRecord("tx", 1, 2, 30_000, state, partitions, 10, 9)
    key, value = transaction_log.encode(record)
    assert value[16] == ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
                         "CompleteAbort", "Dead", "PrepareEpochFence"].index(state.value)
    assert transaction_log.decode(key, value) == record


def test_a_tombstone_forgets_the_transactional_id():
    key, value = transaction_log.encode(TransactionLogRecord("gone-tx"))
    assert value is None
    decoded = transaction_log.decode(key, None)
    assert (decoded.transactional_id, decoded.state) == ("gone-tx", None)


def test_the_coordinator_partition_is_kafkas_hash_of_the_id():
    # Kafka: Utils.abs("my-transactional-id".hashCode()) % 50
    h = 0
    for ch in "my-transactional-id":
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    h = h - 2**32 if h >= 2**31 else h
    assert transaction_log.partition_for("my-transactional-id", 50) == abs(h) % 50


# --- control batches -----------------------------------------------------------------------------


@pytest.mark.parametrize("committed", [True, False])
def test_a_marker_is_a_control_batch_kafka_python_reads(committed):
    batch = marker_batch(producer_id=42, producer_epoch=3, committed=committed,
                         coordinator_epoch=7, timestamp_ms=1_767_225_600_000)
    batch.base_offset = 100
    theirs = DefaultRecordBatch(bytearray(batch.raw))
    assert theirs.is_control_batch and theirs.is_transactional
    assert (theirs.producer_id, theirs.producer_epoch, theirs.base_offset) == (42, 3, 100)
    [record] = list(theirs)
    assert record.version == 0
    assert record.type == (1 if committed else 0)
    assert (record.commit, record.abort) == (committed, not committed)
    assert struct.unpack(">hi", record.value) == (0, 7)  # version 0, coordinator_epoch
    mine = marker_of(RecordBatch.from_bytes(batch.raw))
    assert (mine.producer_id, mine.producer_epoch, mine.type, mine.coordinator_epoch) == (
        42, 3, ControlRecordType.COMMIT if committed else ControlRecordType.ABORT, 7)


def test_markers_in_a_topic_carry_the_transactions_producer_and_epoch():
    lab = Cluster(brokers=1, seed=0, config={"transaction.state.log.replication.factor": 1,
                                             "transaction.state.log.min.isr": 1})
    lab.create_topic("payments", partitions=1, replication_factor=1)
    p = KafkaProducer(bootstrap_servers=lab.bootstrap_servers, transactional_id="tx")
    p.init_transactions()
    p.begin_transaction()
    p.send("payments", value=b"x")
    p.commit_transaction()
    lab.run_until_idle()
    data, marker = lab.partition("payments", 0).leader_log.batches()
    assert data.is_transactional and not data.is_control
    assert marker.is_control and marker.is_transactional
    assert (marker.producer_id, marker.producer_epoch) == (data.producer_id, data.producer_epoch)
    theirs = DefaultRecordBatch(bytearray(marker.raw))
    assert theirs.is_control_batch and [r.commit for r in theirs] == [True]
    lab.close()


# --- compaction with transactions ----------------------------------------------------------------


def test_the_cleaner_keeps_the_committed_value_and_drops_the_aborted_one():
    lab = Cluster(brokers=1, seed=0, config={"transaction.state.log.replication.factor": 1,
                                             "transaction.state.log.min.isr": 1})
    lab.create_topic("balances", partitions=1, replication_factor=1, config={
        "cleanup.policy": "compact", "segment.ms": HOUR_MS})
    p = KafkaProducer(bootstrap_servers=lab.bootstrap_servers, transactional_id="tx")
    p.init_transactions()
    p.begin_transaction()
    p.send("balances", key=b"acct", value=b"100")   # offset 0
    p.commit_transaction()                          # COMMIT marker at 1
    p.begin_transaction()
    p.send("balances", key=b"acct", value=b"999")   # offset 2, newer but aborted
    p.flush()
    p.abort_transaction()                           # ABORT marker at 3
    lab.run_until_idle()
    lab.advance(ms=HOUR_MS + 1)
    plain = KafkaProducer(bootstrap_servers=lab.bootstrap_servers)
    plain.send("balances", key=b"roller", value=b"r").get()  # rolls the segment: 0..3 dirty
    lab.advance(seconds=30)  # the cleaner runs
    assert lab.events.of_kind("log.cleaned")
    rows = list(zip(lab.records("balances")["offset"], lab.records("balances")["transaction"]))
    # the committed value survives (the aborted newer one never counted), its marker with it;
    # the aborted record is gone, its marker waits out delete.retention.ms
    assert rows[:3] == [(0, "committed"), (1, "COMMIT marker"), (3, "ABORT marker")]
    consumer = KafkaConsumer(bootstrap_servers=lab.bootstrap_servers, group_id=None,
                             isolation_level="read_committed", consumer_timeout_ms=1000)
    consumer.assign([TopicPartition("balances", 0)])
    consumer.seek_to_beginning()
    assert [(r.key, r.value) for r in consumer] == [(b"acct", b"100"), (b"roller", b"r")]
    # past delete.retention.ms (a day) the ABORT marker has nothing left to mark: it goes
    lab.advance(ms=DAY_MS + HOUR_MS + 1)
    plain.send("balances", key=b"roller", value=b"r2").get()
    lab.advance(seconds=30)
    lab.brokers[1].log_manager.cleaner.clean(lab.partition("balances", 0).leader_log)
    offsets = dict(zip(lab.records("balances")["offset"], lab.records("balances")["transaction"]))
    assert 3 not in offsets
    assert offsets[0] == "committed" and offsets[1] == "COMMIT marker"
    lab.close()
