"""The wall-clock driver with real threads (``Cluster(clock='wall')``, what a server runs on).

Each scenario goes through the public API. Whatever could hang runs in a daemon thread joined
with a timeout, so a regression fails instead of freezing the suite; the only speed checks are
the explicit, generous ones (a round trip is not a 20 ms tick; idle waiters use no CPU).
"""
from __future__ import annotations

import statistics
import threading
import time

import pytest
from kafka.coordinator.assignors.range import RangePartitionAssignor

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.errors import IllegalStateError, KafkaConnectionError, KafkaError

PORT = 39092  # not localhost:9092: once closed, its address must lead nowhere


@pytest.fixture
def wall():
    cluster = Cluster(clock="wall", network_latency_ms=1, port=PORT,
                      config={"group.initial.rebalance.delay.ms": 0})
    cluster.create_topic("orders", partitions=1)
    yield cluster
    cluster.close()


def bounded(work, timeout_s: float = 5.0):
    """Run ``work()`` in a daemon thread; fail if it is not done within ``timeout_s``.
    Returns its result; re-raises what it raised."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"still blocked after {timeout_s} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def eventually(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def events_of(cluster, kind: str):
    return [e for e in cluster.events if e.kind == kind]


# --- failures do not stop the driver ----------------------------------------------------------


def test_a_raising_send_callback_is_reported_and_the_driver_keeps_serving(wall):
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)

    def broken(metadata):
        raise ValueError("bug in the application's callback")

    first = producer.send("orders", b"one").add_callback(broken)
    assert bounded(lambda: first.get(timeout=5)).offset == 0
    assert eventually(lambda: events_of(wall, "driver.callback_failed"))
    assert "ValueError: bug in the application's callback" in \
        events_of(wall, "driver.callback_failed")[0].text
    assert bounded(lambda: producer.send("orders", b"two").get(timeout=5)).offset == 1


def test_raising_commit_callbacks_listeners_and_engine_work_leave_the_driver_running(wall):
    def boom(*_):
        raise RuntimeError("boom")

    wall.events.subscribe(boom)                               # an events listener
    wall.create_topic("more")
    consumer = KafkaConsumer(bootstrap_servers=wall.bootstrap_servers, group_id="g",
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("orders", 0)])
    future = consumer.commit_async({TopicPartition("orders", 0): 0}, callback=boom)
    with wall.lock:                                           # engine work that fails
        wall.scheduler.call_later(0, lambda: 1 / 0)
    assert eventually(lambda: future.is_done)  # its future still resolves
    assert eventually(lambda: len(events_of(wall, "driver.callback_failed")) >= 2)
    assert eventually(lambda: events_of(wall, "driver.work_failed"))
    assert "ZeroDivisionError" in events_of(wall, "driver.work_failed")[0].text
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    assert bounded(lambda: producer.send("orders", b"still served").get(timeout=5)).offset == 0


def test_a_failing_step_of_a_clients_request_is_raised_to_that_client(wall):
    """An assignor whose on_assignment raises fails the SyncGroup answer's step: the member's
    poll() gets the error instead of the driver dying; other clients are still served."""
    class Broken(RangePartitionAssignor):
        @classmethod
        def on_assignment(cls, assignment, generation):
            raise ValueError("assignor bug")

    consumer = KafkaConsumer("orders", bootstrap_servers=wall.bootstrap_servers,
                             group_id="g", partition_assignment_strategy=[Broken()])
    def poll_until_it_fails():
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # (a retriable group error is retried, as
            try:                            # kafka-python does)
                consumer.poll(timeout_ms=200)
            except KafkaError as error:
                if not error.retriable:
                    raise
        raise AssertionError("the assignor's error never came out of poll()")

    with pytest.raises(ValueError, match="assignor bug"):
        bounded(poll_until_it_fails)
    assert "the client waiting on it gets the error" in events_of(wall, "driver.work_failed")[0].text
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    assert bounded(lambda: producer.send("orders", b"x").get(timeout=5)).offset == 0


# --- user code runs outside the cluster's lock ------------------------------------------------


def test_an_application_lock_around_send_and_in_its_callback_does_not_deadlock(wall):
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    app_lock = threading.Lock()
    acked = []

    def on_sent(metadata):
        with app_lock:
            acked.append(metadata.offset)

    def application():
        for i in range(50):
            with app_lock:
                producer.send("orders", str(i).encode()).add_callback(on_sent)
                time.sleep(0.001)  # hold it while answers come in
        producer.flush(timeout=5)

    bounded(application)
    assert eventually(lambda: len(acked) == 50)
    assert sorted(acked) == list(range(50))


def test_get_and_flush_return_after_the_records_callbacks_ran(wall):
    """As kafka-python: a record's callbacks have run when its get() or a flush() returns,
    though they run on the callback thread."""
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    ran = []

    def slow(metadata):
        time.sleep(0.002)
        ran.append(metadata.offset)

    for _ in range(20):
        producer.send("orders", b"x").add_callback(slow)
    bounded(lambda: producer.flush(timeout=5))
    assert len(ran) == 20
    last = producer.send("orders", b"last").add_callback(slow)
    assert bounded(lambda: last.get(timeout=5)).offset == ran[-1] == 20


def test_callbacks_and_listeners_run_on_one_thread_without_the_cluster_lock(wall):
    seen = []  # (thread, holds the cluster lock)

    def record(*_):
        seen.append((threading.current_thread(), wall.lock._is_owned()))

    wall.events.subscribe(record)
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    consumer = KafkaConsumer(bootstrap_servers=wall.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition("orders", 0)])

    def produce():
        for _ in range(5):
            producer.send("orders", b"x").add_callback(record)
        producer.flush(timeout=5)

    threads = [threading.Thread(target=produce, daemon=True),
               threading.Thread(target=lambda: consumer.poll(timeout_ms=500), daemon=True)]
    for thread in threads:
        thread.start()
    wall.create_topic("appears")  # an event emitted by this thread
    for thread in threads:
        thread.join(5)
    assert eventually(lambda: len(seen) >= 5 + 2)  # 5 acks, the topic and the offset reset
    assert {thread for thread, _ in seen} == {seen[0][0]}
    assert seen[0][0] is not threading.current_thread()
    assert not any(holds for _, holds in seen)


# --- closing wakes waiters --------------------------------------------------------------------


def test_cluster_close_wakes_a_blocked_get_and_poll_at_once(wall):
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    consumer = KafkaConsumer(bootstrap_servers=wall.bootstrap_servers,
                             auto_offset_reset="latest")
    consumer.assign([TopicPartition("orders", 0)])
    producer.partitions_for("orders")  # its metadata: send() does not wait for it then
    wall.kill_broker(1)  # nothing will answer: the record waits for delivery_timeout_ms
    future = producer.send("orders", b"never acknowledged")
    outcomes = {}

    def wait(name, call):
        try:
            call()
            outcomes[name] = "returned"
        except KafkaConnectionError as error:
            outcomes[name] = (time.monotonic(), str(error))

    threads = [threading.Thread(target=wait, args=("get", future.get), daemon=True),
               threading.Thread(target=wait, args=(
                   "poll", lambda: consumer.poll(timeout_ms=60_000)), daemon=True)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    assert not outcomes  # both blocked
    closed_at = time.monotonic()
    wall.close()
    for thread in threads:
        thread.join(5)
    assert set(outcomes) == {"get", "poll"}
    for woke_at, text in outcomes.values():
        assert woke_at - closed_at < 0.5
        assert "cluster was closed" in text
    with pytest.raises(KafkaConnectionError, match="No kafkalab cluster listens"):
        KafkaProducer(bootstrap_servers=wall.bootstrap_servers)  # it is unregistered


def test_consumer_close_from_another_thread_wakes_its_blocked_poll(wall):
    consumer = KafkaConsumer(bootstrap_servers=wall.bootstrap_servers,
                             auto_offset_reset="latest")
    consumer.assign([TopicPartition("orders", 0)])
    result = {}

    def poll():
        result["records"] = consumer.poll(timeout_ms=60_000)
        result["at"] = time.monotonic()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(0.2)
    closed_at = time.monotonic()
    consumer.close()
    thread.join(5)
    assert result["records"] == {} and result["at"] - closed_at < 0.5
    with pytest.raises(IllegalStateError, match="closed"):
        consumer.poll()


def test_producer_close_with_timeout_0_does_not_wait_and_fails_what_is_pending(wall):
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    producer.partitions_for("orders")  # its metadata: send() does not wait for it then
    wall.kill_broker(1)
    pending = producer.send("orders", b"unanswered")
    bounded(lambda: producer.close(timeout=0), timeout_s=1)
    with pytest.raises(IllegalStateError, match="closed forcefully"):
        pending.get(timeout=1)
    with pytest.raises(IllegalStateError, match="closed"):
        producer.send("orders", b"after close")


def test_run_until_idle_is_refused_on_a_wall_clock(wall):
    with pytest.raises(RuntimeError, match="clock='wall'.*clock='sim'"):
        bounded(wall.run_until_idle)


# --- no ticks, no polling ---------------------------------------------------------------------


def test_a_synchronous_send_costs_about_one_round_trip_not_a_tick(wall):
    producer = KafkaProducer(bootstrap_servers=wall.bootstrap_servers)
    bounded(lambda: producer.send("orders", b"warm up").get(timeout=5))

    def sends():
        took = []
        for _ in range(20):
            started = time.perf_counter()
            producer.send("orders", b"x").get(timeout=5)
            took.append(time.perf_counter() - started)
        return took

    # a 1 ms each way round trip; the old driver woke every 20 ms (about 23 ms per send)
    assert statistics.median(bounded(sends, timeout_s=10)) < 0.015


def test_idle_waiters_use_no_cpu(wall):
    consumers = []
    for _ in range(20):
        consumer = KafkaConsumer(bootstrap_servers=wall.bootstrap_servers,
                                 auto_offset_reset="latest")
        consumer.assign([TopicPartition("orders", 0)])
        consumer.poll(timeout_ms=0)
        consumers.append(consumer)
    threads = [threading.Thread(target=c.poll, kwargs={"timeout_ms": 2000}, daemon=True)
               for c in consumers]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # all of them blocked
    started = time.process_time()
    time.sleep(1.0)
    used = time.process_time() - started
    for thread in threads:
        thread.join(5)
    assert used < 0.2  # the old driver's 20 ms polling: about 0.3 s of a core per second
