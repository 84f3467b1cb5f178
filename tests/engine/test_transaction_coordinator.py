"""The transaction coordinator: failover (a new coordinator replays ``__transaction_state`` and
finishes what its predecessor started), and its requests at the request layer with Kafka's
error codes (AddPartitionsToTxn, EndTxn, WriteTxnMarkers, a client's control batch).
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaProducer
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import FindCoordinatorRequest
from kafkalab.api.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalab.api.messages.producer_ids import InitProducerIdRequest
from kafkalab.api.messages.transactions import (
    AddPartitionsToTxnRequest,
    EndTxnRequest,
    TxnTopic,
    WritableTxnMarker,
    WriteTxnMarkersRequest,
)
from kafkalab.client.transport import transport_for
from kafkalab.errors import (
    InvalidProducerIdMappingError,
    InvalidRecordError,
    InvalidTxnStateError,
    ProducerFencedError,
    UnknownTopicOrPartitionError,
)
from kafkalab.record.control import marker_batch
from engine_helpers import read_all

TOPIC = "payments"
TID = "payments-tx"


def producer(cluster: Cluster, **configs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, transactional_id=TID,
                         **configs)


def committed_values(cluster: Cluster) -> list[bytes]:
    return read_all(cluster, TOPIC, "read_committed")


def markers(cluster: Cluster) -> list[str]:
    frame = cluster.records(TOPIC)
    return [t for t in frame["transaction"] if "marker" in t]


# --- failover ------------------------------------------------------------------------------------


def test_a_transaction_survives_its_coordinator_crashing_mid_transaction():
    lab = Cluster(brokers=3, seed=0)
    lab.create_topic(TOPIC, partitions=2, replication_factor=3)
    p = producer(lab)
    p.init_transactions()
    p.begin_transaction()
    p.send(TOPIC, partition=0, value=b"first").get()
    old = lab.transaction_coordinator_of(TID)
    lab.kill_broker(old)
    # the client finds the new coordinator (NOT_COORDINATOR / no answer, then FindCoordinator)
    p.send(TOPIC, partition=1, value=b"second")  # a new partition: AddPartitionsToTxn moves
    p.commit_transaction()
    new = lab.transaction_coordinator_of(TID)
    assert new != old
    lab.run_until_idle()
    txn = lab.transaction_coordinator.transactions[TID]
    assert txn.state.value == "CompleteCommit"
    assert committed_values(lab) == [b"first", b"second"]
    assert markers(lab) == ["COMMIT marker", "COMMIT marker"]
    lab.close()


def test_a_new_coordinator_resends_the_markers_of_a_prepared_commit():
    """PrepareCommit is stored and the producer answered, but a partition's leader is down so
    its marker cannot go; then the coordinator crashes. The next coordinator replays the log,
    finds PrepareCommit and writes the markers: committed exactly once."""
    lab = Cluster(brokers=4, seed=0)
    p = producer(lab)
    p.init_transactions()
    coordinator = lab.transaction_coordinator_of(TID)
    lab.create_topic(TOPIC, partitions=1, replication_factor=1)
    data_leader = lab.partition(TOPIC, 0).leader
    if data_leader == coordinator:
        pytest.skip("seeded placement put the data on the coordinator")
    p.begin_transaction()
    p.send(TOPIC, value=b"paid").get()
    lab.kill_broker(data_leader)  # the marker has nowhere to go
    p.commit_transaction()  # answered once PrepareCommit is stored
    txn = lab.transaction_coordinator.transactions[TID]
    assert txn.state.value == "PrepareCommit"
    lab.kill_broker(coordinator)
    lab.advance(seconds=30)  # the controller moves __transaction_state's leadership
    assert lab.transaction_coordinator_of(TID) != coordinator
    assert lab.events.of_kind("txn.markers_resumed")
    lab.restart_broker(data_leader)
    lab.advance(seconds=30)
    lab.run_until_idle()
    assert lab.transaction_coordinator.transactions[TID].state.value == "CompleteCommit"
    assert markers(lab) == ["COMMIT marker"]
    assert committed_values(lab) == [b"paid"]
    p.begin_transaction()  # and the producer carries on with the new coordinator
    p.send(TOPIC, value=b"next")
    p.commit_transaction()
    lab.run_until_idle()
    assert committed_values(lab) == [b"paid", b"next"]
    lab.close()


# --- the requests, with Kafka's error codes ------------------------------------------------------


@pytest.fixture
def lab():
    c = Cluster(brokers=1, seed=0, config={"transaction.state.log.replication.factor": 1,
                                           "transaction.state.log.min.isr": 1})
    c.create_topic(TOPIC, partitions=1, replication_factor=1)
    yield c
    c.close()


def error_of(response):
    return error_from(response.error_code, response.error_message)


def partition_errors(response):
    return [error_from(p.error_code, p.error_message)
            for t in response.results for p in t.results]


def initialized(cluster: Cluster):
    """(transport, coordinator node, producer id, epoch) of a fresh transactional id."""
    transport = transport_for(cluster.bootstrap_servers)
    transport.call(None, InitProducerIdRequest(transactional_id=TID))  # loads the coordinator
    cluster.run_until_idle()
    node = transport.call(None, FindCoordinatorRequest(TID, key_type=1)).node_id
    init = transport.call(node, InitProducerIdRequest(TID, 60_000))
    assert init.error_code == 0
    return transport, node, init.producer_id, init.producer_epoch


def add(transport, node, pid: int, epoch: int):
    return transport.call(node, AddPartitionsToTxnRequest(TID, pid, epoch,
                                                          (TxnTopic(TOPIC, (0,)),)))


def test_add_partitions_with_a_wrong_producer_id_is_an_invalid_mapping(lab):
    transport, node, pid, epoch = initialized(lab)
    [error] = partition_errors(add(transport, node, pid + 7, epoch))
    assert isinstance(error, InvalidProducerIdMappingError)
    unknown = transport.call(node, AddPartitionsToTxnRequest("nobody", pid, epoch,
                                                             (TxnTopic(TOPIC, (0,)),)))
    [error] = partition_errors(unknown)
    assert isinstance(error, InvalidProducerIdMappingError)


def test_requests_of_an_older_epoch_are_fenced(lab):
    transport, node, pid, epoch = initialized(lab)
    again = transport.call(node, InitProducerIdRequest(TID, 60_000))
    assert again.producer_epoch == epoch + 1
    [error] = partition_errors(add(transport, node, pid, epoch))
    assert isinstance(error, ProducerFencedError)
    assert isinstance(error_of(transport.call(node, EndTxnRequest(TID, pid, epoch, True))),
                      ProducerFencedError)


def test_end_txn_with_a_wrong_producer_id_is_an_invalid_mapping(lab):
    transport, node, pid, epoch = initialized(lab)
    assert partition_errors(add(transport, node, pid, epoch)) == [None]
    answer = transport.call(node, EndTxnRequest(TID, pid + 1, epoch, True))
    assert isinstance(error_of(answer), InvalidProducerIdMappingError)


def test_end_txn_without_an_ongoing_transaction_is_an_invalid_state(lab):
    transport, node, pid, epoch = initialized(lab)
    answer = transport.call(node, EndTxnRequest(TID, pid, epoch, True))  # state Empty
    assert isinstance(error_of(answer), InvalidTxnStateError)
    assert partition_errors(add(transport, node, pid, epoch)) == [None]
    assert error_of(transport.call(node, EndTxnRequest(TID, pid, epoch, False))) is None
    lab.run_until_idle()
    # a retry of the finished abort is answered as it was; a commit of it is not
    assert error_of(transport.call(node, EndTxnRequest(TID, pid, epoch, False))) is None
    assert isinstance(error_of(transport.call(node, EndTxnRequest(TID, pid, epoch, True))),
                      InvalidTxnStateError)


def test_write_txn_markers_for_an_unknown_partition(lab):
    transport = transport_for(lab.bootstrap_servers)
    leader = lab.partition(TOPIC, 0).leader
    answer = transport.call(leader, WriteTxnMarkersRequest((WritableTxnMarker(
        producer_id=5, producer_epoch=0, transaction_result=True,
        topics=(TxnTopic("no-such-topic", (0,)), TxnTopic(TOPIC, (3,))),
        coordinator_epoch=0),)))
    errors = [error_from(p.error_code, p.error_message)
              for m in answer.markers for t in m.topics for p in t.results]
    assert len(errors) == 2
    assert all(isinstance(e, UnknownTopicOrPartitionError) for e in errors)


def test_a_client_may_not_produce_a_control_batch(lab):
    transport = transport_for(lab.bootstrap_servers)
    forged = marker_batch(0, 0, True, 0, lab.now_ms())
    answers: list = []
    transport.send(lab.partition(TOPIC, 0).leader, ProduceRequest(None, -1, 30_000, (
        TopicProduceData(TOPIC, (PartitionProduceData(0, forged),)),)), answers.append)
    lab.run_until_idle()
    [answer] = answers
    [p] = [p for t in answer.responses for p in t.partition_responses]
    assert isinstance(error_from(p.error_code, p.error_message), InvalidRecordError)
    assert lab.partition(TOPIC, 0).leader_log.log_end_offset == 0
