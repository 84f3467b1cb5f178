"""The lesson's exactly-once claim, checked over randomized crash schedules.

«Транзакционный Producer»: a consume-transform-produce pipeline that commits its output records
and its consumed offsets in one transaction (``send_offsets_to_transaction``), read with
``isolation_level='read_committed'``, writes every input exactly once — while worker instances
crash or stall mid-transaction (a new instance with the same ``transactional_id`` fences the old
one), the transaction coordinator's broker and others die and come back, and transactions time
out. Without transactions (commit offsets after producing) the same crashes duplicate records:
the check can fail.
"""
import pytest
from kafka.errors import ProducerFencedError

from kafkalab import Cluster
from kafkalab.client.consumer import KafkaConsumer
from kafkalab.client.producer import KafkaProducer
from kafkalab.reliability import run_exactly_once_schedule
from kafkalab.structs import OffsetAndMetadata, TopicPartition

CHUNKS, PER_CHUNK = 10, 50  # 500 seeds in the regular run (about 0.06 s each)
SLOW_SEEDS = 3_000


def _explain_failures(outcomes):
    failures = [o for o in outcomes if o.violations]
    return failures[0].explain() if failures else None


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_a_transactional_pipeline_writes_every_input_exactly_once_under_crashes(chunk):
    outcomes = [run_exactly_once_schedule(seed)
                for seed in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK)]
    failure = _explain_failures(outcomes)
    assert failure is None, failure
    # the schedules really were hostile: instances were fenced and transactions aborted
    assert sum(o.restarts for o in outcomes) > 0
    assert any(o.uncommitted_output > o.records for o in outcomes)


def test_the_schedules_exercise_every_fault_of_the_lesson():
    outcomes = [run_exactly_once_schedule(seed) for seed in range(40)]
    history = [line for o in outcomes for line in o.history]
    for kind in ("txn.fenced", "txn.timed_out", "fault.producer_crashed", "broker.killed",
                 "txn.coordinator_loaded", "group.txn_offsets_aborted"):
        assert any(f"] {kind}:" in line for line in history), kind
    assert {o.workers for o in outcomes} == {1, 2}
    assert sum(o.errors["ProducerFencedError"] for o in outcomes) > 0
    # a read_uncommitted reader does see the aborted attempts
    assert any(o.uncommitted_duplicates for o in outcomes)


@pytest.mark.slow
def test_exactly_once_over_many_more_seeds():
    failure = _explain_failures(run_exactly_once_schedule(seed)
                                for seed in range(CHUNKS * PER_CHUNK, SLOW_SEEDS))
    assert failure is None, failure


def test_without_transactions_the_same_crashes_duplicate_records():
    """The exactly-once check can fail: committing offsets after producing is at least once —
    a worker that dies between the two has its inputs processed again."""
    outcomes = [run_exactly_once_schedule(seed, transactional=False) for seed in range(60)]
    doubled = [o for o in outcomes if o.duplicates]
    assert doubled, "without transactions some schedule should write an input twice"
    # at least once still holds: nothing lost, and every run finished
    assert not any(o.lost or not o.finished or o.unexpected for o in outcomes), \
        next(o for o in outcomes if o.lost or not o.finished or o.unexpected).explain()


def test_a_schedule_replays_identically():
    first, again = run_exactly_once_schedule(12), run_exactly_once_schedule(12)
    assert (first.output, first.errors, first.restarts, first.history) == \
        (again.output, again.errors, again.restarts, again.history)


# --- the lesson's scenarios ----------------------------------------------------------------------
def _cluster():
    cluster = Cluster(brokers=3, seed=0)
    for topic in ("input", "output"):
        cluster.create_topic(topic, partitions=1, replication_factor=3,
                             config={"min.insync.replicas": 2})
    feeder = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for n in range(3):
        feeder.send("input", value=str(n).encode())
    feeder.flush()
    return cluster


def _read(cluster, isolation_level):
    reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                           isolation_level=isolation_level, auto_offset_reset="earliest")
    reader.assign([TopicPartition("output", 0)])
    values, quiet = [], 0
    while quiet < 2:  # until nothing more comes (the markers may still be on their way)
        got = reader.poll(timeout_ms=1_000)
        values += [r.value for rs in got.values() for r in rs]
        quiet = 0 if got else quiet + 1
    reader.close()
    return values


def _worker_consumer(cluster):
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id="pipeline",
                             isolation_level="read_committed", enable_auto_commit=False,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("input", 0)])
    return consumer


def test_a_zombie_producers_commit_is_fenced_and_its_records_never_reach_a_committed_reader():
    cluster = _cluster()
    zombie = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                           transactional_id="pipeline-0")
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send("output", b"out-from-the-zombie")
    zombie.flush()  # its record is in the log, in an open transaction
    # the zombie stalls; a new instance of the same worker starts and fences it
    successor = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                              transactional_id="pipeline-0")
    successor.init_transactions()
    with pytest.raises(ProducerFencedError):
        zombie.commit_transaction()
    successor.begin_transaction()
    successor.send("output", b"out-from-the-successor")
    successor.commit_transaction()

    assert _read(cluster, "read_committed") == [b"out-from-the-successor"]
    assert _read(cluster, "read_uncommitted") == [b"out-from-the-zombie",
                                                  b"out-from-the-successor"]
    assert any("fenced" in str(e) for e in cluster.events.of_kind("txn.fenced"))


def test_a_crashed_workers_successor_reads_again_from_the_committed_offsets():
    """The worker dies after sending its output and its offsets, before committing: the
    successor's init_transactions aborts both, so the inputs are processed once more and the
    committed output holds each of them once."""
    cluster = _cluster()
    tp = TopicPartition("input", 0)
    consumer = _worker_consumer(cluster)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="pipeline-0")
    producer.init_transactions()
    records = consumer.poll(timeout_ms=2_000)[tp]
    producer.begin_transaction()
    for r in records:
        producer.send("output", b"out-" + r.value)
    producer.send_offsets_to_transaction({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)},
                                         consumer.group_metadata())
    producer.flush()
    cluster.faults.crash_producer(producer)
    cluster.faults.crash_consumer(consumer)

    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="pipeline-0")
    producer.init_transactions()  # aborts the open transaction: records and offsets
    consumer = _worker_consumer(cluster)
    records = consumer.poll(timeout_ms=2_000)[tp]
    assert [r.value for r in records] == [b"0", b"1", b"2"]  # read again
    producer.begin_transaction()
    for r in records:
        producer.send("output", b"out-" + r.value)
    producer.send_offsets_to_transaction({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)},
                                         consumer.group_metadata())
    producer.commit_transaction()

    assert _read(cluster, "read_committed") == [b"out-0", b"out-1", b"out-2"]
    assert len(_read(cluster, "read_uncommitted")) == 6  # the aborted attempt too
    assert consumer.committed(tp) == 3


def test_a_consumer_taking_over_waits_for_offsets_in_an_undecided_transaction():
    """KIP-447: a read_committed consumer asks for *stable* committed offsets. While a
    transaction holding the group's offsets is undecided, a consumer that takes the partition
    over must not start from the older committed offset — it would process the same inputs a
    second time once that transaction commits."""
    cluster = _cluster()
    tp = TopicPartition("input", 0)
    first = _worker_consumer(cluster)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="pipeline-0")
    producer.init_transactions()
    records = first.poll(timeout_ms=2_000)[tp]
    producer.begin_transaction()
    for r in records:
        producer.send("output", b"out-" + r.value)
    producer.send_offsets_to_transaction({tp: OffsetAndMetadata(3, "", -1)},
                                         first.group_metadata())

    takeover = _worker_consumer(cluster)
    assert takeover.poll(timeout_ms=1_000) == {}  # waits: the offset is not stable yet
    producer.commit_transaction()
    assert takeover.poll(timeout_ms=1_000) == {}  # nothing left to process
    assert takeover.position(tp) == 3
    assert _read(cluster, "read_committed") == [b"out-0", b"out-1", b"out-2"]


def test_a_transaction_open_past_its_timeout_is_aborted_and_the_stalled_producer_fenced():
    cluster = _cluster()
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="pipeline-0", transaction_timeout_ms=20_000)
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("output", b"out-late")
    producer.flush()
    cluster.advance(seconds=40)  # the coordinator's check aborts it (transaction.timeout.ms)
    assert cluster.events.of_kind("txn.timed_out")
    with pytest.raises(ProducerFencedError):
        producer.commit_transaction()
    assert _read(cluster, "read_committed") == []
    assert _read(cluster, "read_uncommitted") == [b"out-late"]


def test_a_commit_whose_completion_cannot_be_stored_at_once_still_completes():
    """The markers are written, but the coordinator's CompleteCommit record is not replicated
    in time (a follower of its ``__transaction_state`` partition dies just then). As Kafka's
    coordinator, it stores that record again until it sticks — else the transactional id
    stays in PrepareCommit and its producer's next transaction is refused for ever
    (CONCURRENT_TRANSACTIONS)."""
    cluster = Cluster(brokers=3, seed=0)
    cluster.create_topic("output", 1, 3, config={"min.insync.replicas": 2})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             transactional_id="pipeline-0")
    producer.init_transactions()
    coordinator = cluster.transaction_coordinator_of("pipeline-0")
    follower = min(b for b in cluster.brokers if b != coordinator)

    def kill_follower_once_the_markers_are_written(event):
        if event.kind == "txn.complete" and cluster.brokers[follower].alive:
            cluster.scheduler.call_later(0, lambda: cluster.kill_broker(follower))

    cluster.events.subscribe(kill_follower_once_the_markers_are_written)
    producer.begin_transaction()
    producer.send("output", b"out-0")
    producer.commit_transaction()
    cluster.advance(seconds=60)  # the follower leaves the ISR; the record can be stored

    assert cluster.events.of_kind("txn.store_failed")  # the first try did fail
    states = cluster.describe_transactions().set_index("transactional_id")["state"]
    assert states["pipeline-0"] == "CompleteCommit"
    producer.begin_transaction()  # and the next transaction goes through
    producer.send("output", b"out-1")
    producer.commit_transaction()
    assert _read(cluster, "read_committed") == [b"out-0", b"out-1"]
