"""The transactional producer as the lesson uses it (kafka-python 3's API, states and errors):
init_transactions() / begin / send / commit / abort, what makes a transaction abortable, and
fencing of a zombie by a newer instance with the same ``transactional_id``.
"""
from __future__ import annotations

import pytest
from kafka.producer.transaction_manager import TransactionState
from kafka.structs import ConsumerGroupMetadata

from kafkalab import Cluster, KafkaProducer, TopicPartition
from kafkalab.errors import (
    IllegalStateError,
    InvalidRecordError,
    KafkaConfigurationError,
    KafkaError,
    ProducerFencedError,
    TransactionAbortedError,
)
from kafkalab.structs import OffsetAndMetadata
from engine_helpers import read_all

TOPIC = "payments"


@pytest.fixture
def lab():
    c = Cluster(brokers=3, seed=0)
    c.create_topic(TOPIC, partitions=2, replication_factor=3)
    yield c
    c.close()


def producer(cluster: Cluster, tid: str | None = "payments-tx", **configs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, transactional_id=tid,
                         **configs)


def read(cluster: Cluster, isolation_level: str, topic: str = TOPIC) -> list[bytes]:
    return read_all(cluster, topic, isolation_level)


def transaction_column(cluster: Cluster, topic: str = TOPIC) -> list[tuple[int, str]]:
    frame = cluster.records(topic)
    return sorted(zip(frame["offset"], frame["transaction"]))


# --- the producer API and its states --------------------------------------------------------------


def test_begin_before_init_transactions_is_an_illegal_state(lab):
    p = producer(lab)
    with pytest.raises(IllegalStateError):
        p.begin_transaction()
    assert p._transactions.state is TransactionState.UNINITIALIZED


def test_send_outside_a_transaction_is_an_illegal_state(lab):
    p = producer(lab)
    with pytest.raises(IllegalStateError):
        p.send(TOPIC, b"before init")
    p.init_transactions()
    with pytest.raises(IllegalStateError):
        p.send(TOPIC, b"before begin")
    assert lab.records(TOPIC).empty


def test_init_transactions_twice_is_a_no_op(lab):
    p = producer(lab)
    p.init_transactions()
    pid, epoch = p.producer_id, p.producer_epoch
    p.init_transactions()
    assert (p.producer_id, p.producer_epoch) == (pid, epoch)
    assert p._transactions.state is TransactionState.READY
    assert len(lab.events.of_kind("txn.producer_initialized")) == 1


def test_transactional_methods_of_a_plain_producer_are_illegal(lab):
    p = producer(lab, tid=None)
    for call in (p.init_transactions, p.begin_transaction, p.commit_transaction,
                 p.abort_transaction):
        with pytest.raises(IllegalStateError):
            call()
    with pytest.raises(IllegalStateError):
        p.send_offsets_to_transaction({}, "group")


def test_a_transactional_id_needs_idempotence(lab):
    with pytest.raises(KafkaConfigurationError):
        producer(lab, enable_idempotence=False)


@pytest.mark.parametrize("conflict", [{"retries": 0}, {"acks": 1},
                                      {"max_in_flight_requests_per_connection": 6}])
def test_a_transactional_id_refuses_configs_idempotence_cannot_keep(lab, conflict):
    # kafka-python: a transactional_id is an explicit opt-in, so a conflict raises instead of
    # quietly turning idempotence off (which would leave a transactional producer without
    # sequence numbers)
    with pytest.raises(KafkaConfigurationError, match="incompatible"):
        producer(lab, **conflict)


def test_a_committed_transaction_is_visible_to_read_committed(lab):
    p = producer(lab)
    p.init_transactions()
    p.begin_transaction()
    futures = [p.send(TOPIC, key=b"acct-%d" % i, value=b"debit %d" % i) for i in range(6)]
    p.commit_transaction()
    assert all(f.is_done and f.succeeded() for f in futures)
    assert p._transactions.state is TransactionState.READY
    lab.run_until_idle()
    assert sorted(read(lab, "read_committed")) == sorted(b"debit %d" % i for i in range(6))
    txn = lab.transaction_coordinator.transactions["payments-tx"]
    assert txn.state.value == "CompleteCommit"
    for part in lab.topic(TOPIC).partitions:
        log = part.leader_log
        assert log.last_stable_offset == log.high_watermark == log.log_end_offset
    markers = [t for _, t in transaction_column(lab) if "marker" in t]
    assert markers == ["COMMIT marker"] * 2  # one per partition of the transaction


def test_an_aborted_transaction_is_invisible_to_read_committed(lab):
    p = producer(lab)
    p.init_transactions()
    p.begin_transaction()
    p.send(TOPIC, key=b"k", value=b"kept")
    p.commit_transaction()
    p.begin_transaction()
    p.send(TOPIC, key=b"k", value=b"rolled back")
    p.flush()
    p.abort_transaction()
    p.begin_transaction()
    p.send(TOPIC, key=b"k", value=b"after the abort")
    p.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"kept", b"after the abort"]
    assert read(lab, "read_uncommitted") == [b"kept", b"rolled back", b"after the abort"]
    assert [t for _, t in transaction_column(lab)] == [
        "committed", "COMMIT marker", "aborted", "ABORT marker", "committed", "COMMIT marker"]


def test_abort_fails_the_records_not_sent_yet(lab):
    p = producer(lab, linger_ms=60_000)  # records wait in the accumulator
    p.init_transactions()
    p.begin_transaction()
    futures = [p.send(TOPIC, key=b"k", value=b"v%d" % i) for i in range(3)]
    p.abort_transaction()
    for f in futures:
        assert f.is_done and isinstance(f.exception, TransactionAbortedError)
    assert p._transactions.state is TransactionState.READY
    p.begin_transaction()  # the producer carries on
    p.send(TOPIC, key=b"k", value=b"next")
    p.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"next"]


def test_a_batch_failing_for_good_makes_the_transaction_abortable(lab):
    p = producer(lab)
    p.init_transactions()
    epoch = p.producer_epoch
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"ok").get()
    lab.faults.fail_produce_requests(1, error=InvalidRecordError, topic=TOPIC)
    failed = p.send(TOPIC, partition=0, value=b"refused")
    with pytest.raises(KafkaError):
        p.commit_transaction()
    assert failed.is_done and failed.failed()
    assert p._transactions.state is TransactionState.ABORTABLE_ERROR
    with pytest.raises(KafkaError, match="Cannot perform send"):
        p.send(TOPIC, partition=0, value=b"not now")
    p.abort_transaction()
    assert p._transactions.state is TransactionState.READY
    # the failed batch left a gap in partition 0's sequence numbers: the abort bumped the epoch
    assert p.producer_epoch > epoch
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"again").get()
    p.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"again"]


def test_min_insync_replicas_not_met_makes_the_transaction_abortable():
    lab = Cluster(brokers=3, seed=0)
    lab.create_topic(TOPIC, partitions=1, replication_factor=3,
                     config={"min.insync.replicas": "3"})
    p = producer(lab, delivery_timeout_ms=5000, request_timeout_ms=2000)
    p.init_transactions()
    epoch = p.producer_epoch
    p.begin_transaction()
    p.send(TOPIC, value=b"before").get()
    part = lab.partition(TOPIC, 0)
    victim = next(b for b in part.replicas
                  if b not in (part.leader, lab.transaction_coordinator_of("payments-tx")))
    lab.kill_broker(victim)
    lab.advance(seconds=60)  # the follower leaves the ISR: 2 < min.insync.replicas
    failed = p.send(TOPIC, value=b"not enough replicas")
    with pytest.raises(KafkaError):
        p.commit_transaction()  # the batch expired after delivery_timeout_ms
    assert failed.failed()
    assert p._transactions.state is TransactionState.ABORTABLE_ERROR
    # the ABORT marker needs the in-sync replicas too (acks=all): the abort completes once the
    # broker is back in the ISR
    lab.restart_broker(victim)
    p.abort_transaction()
    assert p.producer_epoch > epoch  # the expired batch left a gap: a new epoch
    p.begin_transaction()
    p.send(TOPIC, value=b"after").get()
    p.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"after"]
    assert [t for _, t in transaction_column(lab)] == [
        "aborted", "ABORT marker", "committed", "COMMIT marker"]
    lab.close()


# --- fencing -------------------------------------------------------------------------------------


def test_a_new_instance_fences_the_zombie_and_aborts_its_open_transaction(lab):
    zombie = producer(lab)
    zombie.init_transactions()
    assert zombie.producer_epoch == 0
    zombie.begin_transaction()
    zombie.send(TOPIC, partition=0, value=b"zombie's").get()  # written, transaction open
    assert lab.partition(TOPIC, 0).leader_log.last_stable_offset == 0

    successor = producer(lab)
    successor.init_transactions()
    # Kafka: the open transaction is aborted under epoch 1 (fence), the successor gets epoch 2
    assert successor.producer_id == zombie.producer_id
    assert successor.producer_epoch == 2
    assert lab.events.of_kind("txn.fenced")

    with pytest.raises(ProducerFencedError):
        zombie.commit_transaction()
    assert zombie._transactions.state is TransactionState.FATAL_ERROR
    with pytest.raises(KafkaError):
        zombie.send(TOPIC, partition=0, value=b"more")

    successor.begin_transaction()
    successor.send(TOPIC, partition=0, value=b"successor's")
    successor.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"successor's"]
    assert [t for _, t in transaction_column(lab)] == [
        "aborted", "ABORT marker", "committed", "COMMIT marker"]


def test_fencing_an_idle_zombie_bumps_the_epoch_once(lab):
    zombie = producer(lab)
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send(TOPIC, value=b"done")
    zombie.commit_transaction()
    successor = producer(lab)
    successor.init_transactions()
    assert (successor.producer_id, successor.producer_epoch) == (zombie.producer_id, 1)
    zombie.begin_transaction()  # the zombie does not know yet
    zombie.send(TOPIC, partition=0, value=b"late")
    with pytest.raises(ProducerFencedError):
        zombie.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"done"]


# --- transaction.timeout.ms, transaction.max.timeout.ms, expiration -------------------------------


def test_the_coordinator_aborts_a_transaction_open_past_its_timeout(lab):
    p = producer(lab, transaction_timeout_ms=20_000)
    p.init_transactions()
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"orphan").get()
    lab.faults.crash_producer(p)
    log = lab.partition(TOPIC, 0).leader_log
    lab.advance(seconds=15)
    assert log.last_stable_offset == 0  # still open: the LSO waits
    assert lab.transaction_coordinator.transactions["payments-tx"].state.value == "Ongoing"
    lab.advance(seconds=20)  # past 20 s, and the 10 s abort check ran
    lab.run_until_idle()
    txn = lab.transaction_coordinator.transactions["payments-tx"]
    assert txn.state.value == "CompleteAbort"
    assert txn.producer_epoch == 1  # fenced: the crashed instance may not come back
    assert log.last_stable_offset == log.log_end_offset == 2
    [timed_out] = lab.events.of_kind("txn.timed_out")
    assert "transaction.timeout.ms=20000" in timed_out.text
    assert [t for _, t in transaction_column(lab)] == ["aborted", "ABORT marker"]
    assert read(lab, "read_committed") == []


def test_a_timeout_above_transaction_max_timeout_ms_is_refused(lab):
    p = producer(lab, transaction_timeout_ms=900_001)
    with pytest.raises(KafkaError) as refused:
        p.init_transactions()
    assert type(refused.value).__name__ == "InvalidTransactionTimeoutError"
    assert p._transactions.state is TransactionState.FATAL_ERROR
    with pytest.raises(KafkaError):
        p.begin_transaction()


def test_an_idle_transactional_id_expires():
    lab = Cluster(brokers=1, seed=0, config={
        "transactional.id.expiration.ms": 60_000,
        "transaction.remove.expired.transaction.cleanup.interval.ms": 10_000,
        "transaction.state.log.replication.factor": 1, "transaction.state.log.min.isr": 1})
    lab.create_topic(TOPIC, partitions=1, replication_factor=1)
    p = producer(lab)
    p.init_transactions()
    p.begin_transaction()
    p.send(TOPIC, value=b"x")
    p.commit_transaction()
    p.close()
    assert "payments-tx" in lab.transaction_coordinator.transactions
    lab.advance(seconds=90)
    lab.run_until_idle()
    assert "payments-tx" not in lab.transaction_coordinator.transactions
    assert lab.events.of_kind("txn.id_expired")
    from kafkalab.coordinator import transaction_log
    index = transaction_log.partition_for("payments-tx", transaction_log.PARTITIONS)
    last = list(lab.partition(transaction_log.TOPIC, index).leader_log.batches())[-1]
    _, _, key, value, _ = last.record_tuples[-1]
    assert value is None  # a tombstone
    assert transaction_log.decode(key, value).transactional_id == "payments-tx"
    lab.close()


def test_a_new_partition_joins_the_transaction_without_waiting_for_linger(lab):
    # Java wakes its sender for a new batch: AddPartitionsToTxn goes at once, while the
    # records linger, so the partition is in the transaction by the time the batch is ready
    p = producer(lab, linger_ms=1000)
    p.init_transactions()
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"lingering")
    lab.advance(ms=100)
    assert lab.transaction_coordinator.transactions["payments-tx"].partitions == {(TOPIC, 0)}
    assert lab.records(TOPIC).empty  # the record itself still lingers
    p.commit_transaction()


def test_a_zombies_batch_after_the_fence_is_refused_and_it_ends_fenced(lab):
    zombie = producer(lab)
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send(TOPIC, partition=0, value=b"first").get()
    successor = producer(lab)
    successor.init_transactions()  # the ABORT marker on payments-0 carries the new epoch
    late = zombie.send(TOPIC, partition=0, value=b"late")  # the partition is already added
    with pytest.raises(KafkaError):
        late.get(timeout=10)
    with pytest.raises(KafkaError):
        zombie.commit_transaction()
    with pytest.raises(ProducerFencedError):
        zombie.abort_transaction()
    assert zombie._transactions.state is TransactionState.FATAL_ERROR
    lab.run_until_idle()
    assert read(lab, "read_uncommitted") == [b"first"]  # "late" was never stored
    assert read(lab, "read_committed") == []


def test_after_an_abortable_error_no_record_joins_a_lingering_batch(lab):
    # kafka-python's sender fails the records not sent yet with the error, and send() refuses
    # from then on — even for a partition whose batch was still open
    p = producer(lab, linger_ms=60_000)
    p.init_transactions()
    p.begin_transaction()
    lingering = p.send(TOPIC, partition=0, value=b"lingering")
    ghost = ConsumerGroupMetadata("billing", 7, "ghost-member", None)
    with pytest.raises(KafkaError):  # the group does not know this member: abortable
        p.send_offsets_to_transaction({TopicPartition(TOPIC, 0): OffsetAndMetadata(1, "", -1)},
                                      ghost)
    assert p._transactions.state is TransactionState.ABORTABLE_ERROR
    assert lingering.is_done and lingering.failed()
    with pytest.raises(KafkaError, match="Cannot perform send"):
        p.send(TOPIC, partition=0, value=b"same partition")
    p.abort_transaction()
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"next")
    p.commit_transaction()
    lab.run_until_idle()
    assert read(lab, "read_committed") == [b"next"]
