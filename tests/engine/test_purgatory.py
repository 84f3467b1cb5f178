"""The delayed-operation purgatory (Kafka's DelayedOperationPurgatory) and what waits in it.

First the purgatory's own invariants, through small DelayedOperation subclasses: an operation
completes exactly once — at once, when a key it is watched under is checked, by force, or by
expiring — and is then watched no more, its timer cancelled. Then the acks=all produce, Kafka's
DelayedProduce, through the transport: it waits for the in-sync replicas, times out with
REQUEST_TIMED_OUT, and answers NOT_LEADER_OR_FOLLOWER when leadership moves meanwhile.
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster
from kafkalab.api.base import error_from
from kafkalab.api.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from kafkalab.api.purgatory import DelayedOperation, Purgatory
from kafkalab.client.transport import transport_for
from kafkalab.clock import SimClock
from kafkalab.errors import (
    NotLeaderForPartitionError,
    RequestTimedOutError,
    UnknownTopicOrPartitionError,
)
from kafkalab.record import RecordBatch
from kafkalab.scheduler import Scheduler


# --- the purgatory's invariants ------------------------------------------------------------------


class WaitFor(DelayedOperation):
    """Completes once ``ready["value"]`` is true; records what happened to it."""

    def __init__(self, ready: dict, timeout_ms: int = 1000):
        super().__init__(timeout_ms)
        self.ready = ready
        self.calls: list[str] = []

    def try_complete(self) -> bool:
        self.calls.append("try")
        return self.ready["value"] and self.force_complete()

    def on_expiration(self) -> None:
        self.calls.append("expired")

    def on_complete(self) -> None:
        self.calls.append("complete")


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler(SimClock(0))


def test_an_operation_that_can_complete_at_once_is_never_watched(scheduler):
    purgatory = Purgatory("Test", scheduler)
    op = WaitFor({"value": True})
    assert purgatory.try_complete_else_watch(op, ["a"]) is True
    assert op.calls == ["try", "complete"] and op.completed
    assert len(purgatory) == 0 and purgatory.watched("a") == []
    assert scheduler.is_idle()  # no timer was set


def test_a_watched_operation_completes_once_when_its_key_is_checked(scheduler):
    purgatory = Purgatory("Test", scheduler)
    ready = {"value": False}
    op = WaitFor(ready)
    assert purgatory.try_complete_else_watch(op, ["a"]) is False
    assert purgatory.check_and_complete("a") == 0          # still not ready
    ready["value"] = True
    assert purgatory.check_and_complete("b") == 0          # another key: not asked
    assert purgatory.check_and_complete("a") == 1
    assert purgatory.check_and_complete("a") == 0          # gone: completes only once
    assert op.force_complete() is False
    assert op.calls == ["try", "try", "try", "complete"]
    assert len(purgatory) == 0


def test_an_operation_watched_under_several_keys_leaves_them_all(scheduler):
    purgatory = Purgatory("Test", scheduler)
    ready = {"value": False}
    op, other = WaitFor(ready), WaitFor({"value": False})
    purgatory.try_complete_else_watch(op, [("t", 0), ("t", 1)])
    purgatory.try_complete_else_watch(other, [("t", 1)])
    ready["value"] = True
    assert purgatory.check_and_complete(("t", 1)) == 1
    assert purgatory.watched(("t", 0)) == [] and purgatory.watched(("t", 1)) == [other]
    assert len(purgatory) == 1


def test_an_operation_expires_once_at_its_timeout(scheduler):
    purgatory = Purgatory("Test", scheduler)
    op = WaitFor({"value": False}, timeout_ms=500)
    purgatory.try_complete_else_watch(op, ["a"])
    scheduler.run(until_ms=499)
    assert not op.completed
    scheduler.run(until_ms=500)
    assert op.calls == ["try", "expired", "complete"]
    assert len(purgatory) == 0 and purgatory.watched("a") == []
    assert purgatory.check_and_complete("a") == 0


def test_completing_cancels_the_timer(scheduler):
    purgatory = Purgatory("Test", scheduler)
    op = WaitFor({"value": False}, timeout_ms=500)
    purgatory.try_complete_else_watch(op, ["a"])
    assert op.force_complete() is True
    scheduler.run(until_ms=10_000)
    assert op.calls == ["try", "complete"]                 # never expired
    assert scheduler.is_idle()


def test_complete_all_forces_every_operation_under_a_key(scheduler):
    purgatory = Purgatory("Test", scheduler)
    ops = [WaitFor({"value": False}) for _ in range(3)]
    for op in ops[:2]:
        purgatory.try_complete_else_watch(op, ["a"])
    purgatory.try_complete_else_watch(ops[2], ["b"])
    purgatory.complete_all("a")
    assert [op.calls for op in ops] == [["try", "complete"]] * 2 + [["try"]]
    assert purgatory.watched("b") == [ops[2]] and len(purgatory) == 1


# --- acks=all: Kafka's DelayedProduce ----------------------------------------------------------

TOPIC = "critical-events"


@pytest.fixture
def three() -> Cluster:
    """Three brokers and a topic on all of them, led by broker 1."""
    cluster = Cluster(brokers=3, seed=0)
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    yield cluster
    cluster.close()


def produce(cluster: Cluster, node: int, value: bytes, acks: int = -1,
            timeout_ms: int = 30_000) -> list:
    """Send one Produce request for partition 0 to broker ``node``; the list the answer (a
    ProduceResponse or an error) lands in."""
    answers: list = []
    batch = RecordBatch([(0, cluster.now_ms(), None, value, ())])
    transport_for(cluster.bootstrap_servers).send(node, ProduceRequest(
        None, acks, timeout_ms, (TopicProduceData(TOPIC, (PartitionProduceData(0, batch),)),)),
        answers.append)
    return answers


def partition_answer(answers: list):
    [response] = answers
    assert isinstance(response, ProduceResponse)
    [topic] = response.responses
    [answer] = topic.partition_responses
    return answer


def test_acks_all_waits_in_the_purgatory_until_the_isr_has_the_batch(three):
    three.slow_follower(3, 500)
    answers = produce(three, 1, b"safe")
    three.advance(ms=100)
    waiting = three.brokers[1].purgatories["Produce"]
    assert answers == [] and len(waiting.watched((TOPIC, 0))) == 1
    assert three.partition(TOPIC, 0).high_watermark == 0   # broker 3 has not fetched it yet
    three.advance(ms=1000)
    answer = partition_answer(answers)
    assert (answer.error_code, answer.base_offset) == (0, 0)
    assert waiting.watched((TOPIC, 0)) == [] and len(waiting) == 0


def test_acks_1_answers_without_waiting_for_the_followers(three):
    three.slow_follower(3, 500)
    answers = produce(three, 1, b"fast", acks=1)
    three.advance(ms=2)                                     # one round trip
    assert partition_answer(answers).base_offset == 0
    assert len(three.brokers[1].purgatories["Produce"]) == 0


def test_acks_all_times_out_with_request_timed_out_when_a_follower_stays_behind(three):
    three.slow_follower(3, 60_000)
    answers = produce(three, 1, b"late", timeout_ms=1000)
    three.advance(ms=1001)
    assert answers == []                                    # (the answer is on its way back)
    three.advance(ms=1)
    answer = partition_answer(answers)
    error = error_from(answer.error_code, answer.error_message)
    assert isinstance(error, RequestTimedOutError)
    assert answer.error_message == (f"acks=all: offset 0 of {TOPIC}-0 was not replicated to "
                                    "the ISR [1, 2, 3] in time (high watermark 0)")
    assert len(three.brokers[1].purgatories["Produce"]) == 0
    assert three.partition(TOPIC, 0).log_end_offset == 1    # written, just not safe in time


def test_a_waiting_produce_answers_not_leader_when_leadership_moves(three):
    three.shutdown_broker(1)                                # leader 1 -> 2
    three.restart_broker(1)
    three.advance(seconds=1)                                # broker 1 is back in the ISR
    assert three.partition(TOPIC, 0).leader == 2 and 1 in three.partition(TOPIC, 0).isr
    three.slow_follower(3, 60_000)
    answers = produce(three, 2, b"moving")
    three.advance(ms=100)
    assert answers == []
    three.elect_preferred_leaders()                         # leader 2 -> 1 while it waits
    three.advance(ms=2)
    answer = partition_answer(answers)
    error = error_from(answer.error_code, answer.error_message)
    assert isinstance(error, NotLeaderForPartitionError)
    assert answer.error_message == (f"leadership of {TOPIC}-0 moved from broker 2 to 1 before "
                                    "offset 0 was committed")
    assert len(three.brokers[2].purgatories["Produce"]) == 0


def test_a_waiting_produce_answers_unknown_topic_when_its_topic_is_deleted(three):
    three.slow_follower(3, 60_000)
    answers = produce(three, 1, b"doomed")
    three.advance(ms=100)
    three.delete_topic(TOPIC)
    three.advance(ms=2)
    answer = partition_answer(answers)
    assert isinstance(error_from(answer.error_code, answer.error_message),
                      UnknownTopicOrPartitionError)
    assert answer.error_message == f"{TOPIC}-0 was deleted before offset 0 was committed"
    assert len(three.brokers[1].purgatories["Produce"]) == 0
