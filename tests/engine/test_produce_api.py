"""Produce and InitProducerId at the request layer, and the fault lab's transport.

Requests go through the transport every client uses (``transport_for``: the in-process transport
wrapped in the FaultInjectingTransport); answers carry Kafka's error codes per partition.
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import FindCoordinatorRequest
from kafkalab.api.messages.metadata import MetadataRequest, MetadataResponse
from kafkalab.api.messages.producer_ids import InitProducerIdRequest
from kafkalab.api.messages.produce import (
    PartitionProduceData,
    ProduceRequest,
    ProduceResponse,
    TopicProduceData,
)
from kafkalab.client.fault_transport import FaultInjectingTransport
from kafkalab.client.transport import transport_for
from kafkalab.errors import (
    InvalidTransactionTimeoutError,
    NotCoordinatorError,
    InvalidTopicError,
    KafkaConnectionError,
    NotEnoughReplicasError,
    NotLeaderForPartitionError,
    UnknownTopicOrPartitionError,
)
from kafkalab.record import RecordBatch


def batch(cluster: Cluster, *values: bytes, **producer) -> RecordBatch:
    now = cluster.now_ms()
    return RecordBatch([(i, now, None, v, ()) for i, v in enumerate(values)], **producer)


def request(acks: int = -1, timeout_ms: int = 30_000, **partitions) -> ProduceRequest:
    """``partitions``: ``{"<topic>_<partition>": RecordBatch}`` (a test's shorthand)."""
    topics: dict[str, list] = {}
    for key, records in partitions.items():
        topic, _, index = key.rpartition("_")
        topics.setdefault(topic, []).append(PartitionProduceData(int(index), records))
    return ProduceRequest(None, acks, timeout_ms, tuple(
        TopicProduceData(name, tuple(data)) for name, data in topics.items()))


def send(cluster: Cluster, node: int | None, produce: ProduceRequest) -> list:
    answers: list = []
    transport_for(cluster.bootstrap_servers).send(node, produce, answers.append)
    return answers


def by_partition(response: ProduceResponse) -> dict:
    return {(t.name, p.index): p for t in response.responses for p in t.partition_responses}


def error_of(answer) -> Exception | None:
    return error_from(answer.error_code, answer.error_message)


# --- Produce -----------------------------------------------------------------------------------


def test_a_produce_request_is_answered_per_partition_after_a_round_trip(cluster):
    cluster.create_topic("orders", partitions=2)
    answers = send(cluster, 1, request(orders_0=batch(cluster, b"a", b"b"),
                                       orders_1=batch(cluster, b"c")))
    cluster.advance(ms=1)
    assert answers == []
    cluster.advance(ms=1)
    [response] = answers
    assert response.API_KEY == 0 and response.throttle_time_ms == 0
    got = {key: (p.error_code, p.base_offset, p.log_start_offset, p.log_append_time_ms)
           for key, p in by_partition(response).items()}
    assert got == {("orders", 0): (0, 0, 0, -1), ("orders", 1): (0, 0, 0, -1)}
    assert send(cluster, 1, request(orders_0=batch(cluster, b"d"))) == []
    cluster.advance(ms=2)
    assert cluster.partition("orders", 0).log_end_offset == 3


def test_each_partition_gets_its_own_error_and_the_others_are_stored(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2], 1: [2, 1]})
    cluster3.create_topic("__consumer_offsets", partitions=1, replication_factor=1)
    answers = send(cluster3, 1, request(orders_0=batch(cluster3, b"ok"),
                                        orders_1=batch(cluster3, b"not here"),
                                        orders_7=batch(cluster3, b"no such partition"),
                                        __consumer_offsets_0=batch(cluster3, b"forged")))
    cluster3.advance(ms=100)
    answers = by_partition(answers[0])
    assert answers[("orders", 0)].error_code == 0
    assert isinstance(error_of(answers[("orders", 1)]), NotLeaderForPartitionError)
    assert "Broker 1 is not the leader of orders-1 (leader: 2)" in \
        answers[("orders", 1)].error_message
    assert isinstance(error_of(answers[("orders", 7)]), UnknownTopicOrPartitionError)
    assert isinstance(error_of(answers[("__consumer_offsets", 0)]), InvalidTopicError)
    assert [p.log_end_offset for p in cluster3.topic("orders").partitions] == [1, 0]
    refused = cluster3.events.of_kind("produce.rejected")
    assert len(refused) == 3 and all("broker 1 refused a batch" in e.text for e in refused)


def test_acks_all_is_refused_before_the_append_when_the_isr_is_too_small(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [1, 2, 3]},
                          config={"min.insync.replicas": 3})
    cluster3.kill_broker(3)
    cluster3.advance(seconds=40)                          # broker 3 leaves the ISR
    answers = send(cluster3, 1, request(orders_0=batch(cluster3, b"x")))
    cluster3.advance(ms=2)
    [answer] = by_partition(answers[0]).values()
    assert isinstance(error_of(answer), NotEnoughReplicasError)
    assert "min.insync.replicas=3" in answer.error_message
    assert cluster3.partition("orders", 0).log_end_offset == 0


def test_acks_0_is_appended_and_never_answered(cluster):
    cluster.create_topic("orders")
    answers = send(cluster, 1, request(acks=0, orders_0=batch(cluster, b"fire", b"forget")))
    cluster.advance(seconds=60)
    assert answers == []
    assert cluster.partition("orders", 0).log_end_offset == 2


def test_a_retried_idempotent_batch_is_answered_with_its_first_offset(cluster):
    cluster.create_topic("orders")
    first = send(cluster, 1, request(orders_0=batch(cluster, b"once", producer_id=7,
                                                    producer_epoch=0, base_sequence=0)))
    cluster.advance(ms=2)
    again = send(cluster, 1, request(orders_0=batch(cluster, b"once", producer_id=7,
                                                    producer_epoch=0, base_sequence=0)))
    cluster.advance(ms=2)
    assert [by_partition(a[0])[("orders", 0)].base_offset for a in (first, again)] == [0, 0]
    assert cluster.partition("orders", 0).log_end_offset == 1
    assert cluster.events.of_kind("produce.duplicate")


def test_a_request_to_a_broker_that_is_down_gets_a_connection_error(cluster3):
    cluster3.create_topic("orders", replica_assignment={0: [2, 1]})
    cluster3.kill_broker(2)
    answers = send(cluster3, 2, request(orders_0=batch(cluster3, b"x")))
    cluster3.advance(ms=2)
    [error] = answers
    assert isinstance(error, KafkaConnectionError) and "broker 2" in str(error)


# --- InitProducerId ----------------------------------------------------------------------------


def test_init_producer_id_hands_out_ids_and_bumps_epochs(cluster):
    transport = transport_for(cluster.bootstrap_servers)
    first = transport.call(None, InitProducerIdRequest())
    second = transport.call(None, InitProducerIdRequest())
    assert (first.error_code, first.producer_id, first.producer_epoch) == (0, 0, 0)
    assert (second.producer_id, second.producer_epoch) == (1, 0)
    bumped = transport.call(None, InitProducerIdRequest(producer_id=0, producer_epoch=0,
                                                        reason="a batch failed"))
    assert (bumped.producer_id, bumped.producer_epoch) == (0, 1)
    [event] = cluster.events.of_kind("producer.epoch_bumped")
    assert event.text == ("idempotent producer 0 bumped its epoch 0 -> 1: a batch failed; its "
                          "sequence numbers start again at 0")


def test_init_producer_id_with_a_transactional_id_goes_to_its_coordinator(cluster):
    transport = transport_for(cluster.bootstrap_servers)
    early = transport.call(None, InitProducerIdRequest(transactional_id="payments-tx"))
    assert isinstance(error_of(early), NotCoordinatorError)  # no __transaction_state yet
    node = transport.call(None, FindCoordinatorRequest("payments-tx", key_type=1)).node_id
    first = transport.call(node, InitProducerIdRequest("payments-tx", 60000))
    again = transport.call(node, InitProducerIdRequest("payments-tx", 60000))
    assert (first.error_code, first.producer_epoch) == (0, 0)
    assert (again.producer_id, again.producer_epoch) == (first.producer_id, 1)  # fences epoch 0
    assert not cluster.events.of_kind("producer.id_assigned")  # not an idempotent producer's id
    too_long = transport.call(node, InitProducerIdRequest("payments-tx", 900_001))
    assert isinstance(error_of(too_long), InvalidTransactionTimeoutError)
    assert "transaction.max.timeout.ms=900000" in too_long.error_message


def test_a_producer_made_while_no_broker_answers_gets_its_id_later(cluster):
    from kafkalab import KafkaProducer

    cluster.create_topic("orders")
    cluster.kill_broker(1)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    assert producer.producer_id == -1                     # InitProducerId found no broker
    cluster.restart_broker(1)
    cluster.advance(seconds=10)
    assert producer.send("orders", b"v").get(timeout=10).offset == 0
    assert producer.producer_id == 0
    [stored] = cluster.partition("orders", 0).leader_log.batches()
    assert stored.producer_id == 0


# --- the fault lab's transport -----------------------------------------------------------------


def test_every_client_transport_goes_through_the_fault_lab(cluster):
    transport = transport_for(cluster.bootstrap_servers)
    assert isinstance(transport, FaultInjectingTransport)
    assert isinstance(transport.call(None, MetadataRequest()), MetadataResponse)
    assert transport.round_trip_ms == 2 and transport.cluster is cluster


def test_a_failed_partition_is_taken_out_of_the_request_the_rest_is_stored(cluster):
    cluster.create_topic("orders", partitions=2)
    cluster.faults.fail_produce_requests(count=1, error=NotLeaderForPartitionError)
    answers = send(cluster, 1, request(orders_0=batch(cluster, b"fails"),
                                       orders_1=batch(cluster, b"stored")))
    cluster.advance(ms=2)
    answers = by_partition(answers[0])
    assert list(answers) == [("orders", 0), ("orders", 1)]          # in the request's order
    assert isinstance(error_of(answers[("orders", 0)]), NotLeaderForPartitionError)
    assert answers[("orders", 0)].error_message == "injected fault on orders-0"
    assert answers[("orders", 1)].error_code == 0
    assert [p.log_end_offset for p in cluster.topic("orders").partitions] == [0, 1]
    [fired] = cluster.events.of_kind("fault.request_failed")
    assert fired.text == ("injected fault: the produce request for orders-0 fails with "
                          "NotLeaderForPartitionError")


def test_a_request_whose_every_partition_fails_is_answered_after_the_round_trip(cluster):
    cluster.create_topic("orders")
    cluster.faults.fail_produce_requests(count=1)
    answers = send(cluster, 1, request(orders_0=batch(cluster, b"x")))
    cluster.advance(ms=1)
    assert answers == []
    cluster.advance(ms=1)
    assert isinstance(error_of(by_partition(answers[0])[("orders", 0)]),
                      NotLeaderForPartitionError)
    assert cluster.partition("orders", 0).log_end_offset == 0


def test_a_dropped_answer_never_arrives_but_the_batch_is_stored(cluster):
    cluster.create_topic("orders")
    cluster.faults.drop_produce_responses(count=1)
    lost = send(cluster, 1, request(orders_0=batch(cluster, b"x")))
    cluster.advance(seconds=60)
    assert lost == [] and cluster.partition("orders", 0).log_end_offset == 1
    assert cluster.faults.active == []                      # the rule is used up
    again = send(cluster, 1, request(orders_0=batch(cluster, b"y")))
    cluster.advance(ms=2)
    assert by_partition(again[0])[("orders", 0)].base_offset == 1


def test_acks_0_leaves_a_drop_rule_for_a_request_that_has_an_answer(cluster):
    cluster.create_topic("orders")
    cluster.faults.drop_produce_responses(count=1)
    send(cluster, 1, request(acks=0, orders_0=batch(cluster, b"x")))
    cluster.advance(ms=10)
    assert cluster.faults.active == ["drop_response x1 topic=*"]


def test_a_delay_rule_slows_the_request_and_its_answer(cluster):
    cluster.create_topic("orders")
    cluster.faults.delay(ms=50, count=1)
    answers = send(cluster, 1, request(orders_0=batch(cluster, b"x")))
    cluster.advance(ms=101)
    assert answers == []
    cluster.advance(ms=1)
    assert by_partition(answers[0])[("orders", 0)].error_code == 0
    [delayed] = cluster.events.of_kind("fault.delayed")
    assert delayed.data["delay_ms"] == 50


@pytest.mark.parametrize("rule", ["drop", "fail", "delay"])
def test_rules_apply_to_produce_requests_only(cluster, rule):
    {"drop": lambda: cluster.faults.drop_produce_responses(count=1),
     "fail": lambda: cluster.faults.fail_produce_requests(count=1),
     "delay": lambda: cluster.faults.delay(ms=50, count=1)}[rule]()
    answers: list = []
    transport_for(cluster.bootstrap_servers).send(None, MetadataRequest(), answers.append)
    cluster.advance(ms=2)
    assert isinstance(answers[0], MetadataResponse)
    assert len(cluster.faults.active) == 1
