"""What a consumer sees of transactions: the last stable offset (LSO), read_committed against
read_uncommitted, lag and end offsets measured to the LSO, producer state on followers (leader
change, truncation), and offsets sent with a transaction (consume-transform-produce).
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import (
    FindCoordinatorRequest,
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
)
from kafkalab.client.transport import transport_for
from kafkalab.errors import UnstableOffsetCommitError
from kafkalab.structs import OffsetAndMetadata
from engine_helpers import read_all

TOPIC = "payments"
TP0 = TopicPartition(TOPIC, 0)


@pytest.fixture
def lab():
    c = Cluster(brokers=3, seed=0)
    c.create_topic(TOPIC, partitions=1, replication_factor=3)
    yield c
    c.close()


def transactional(cluster: Cluster, tid: str, **configs) -> KafkaProducer:
    p = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, transactional_id=tid,
                      **configs)
    p.init_transactions()
    return p


def consumer(cluster: Cluster, isolation_level: str, **configs) -> KafkaConsumer:
    c = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=None,
                      auto_offset_reset="earliest", isolation_level=isolation_level,
                      consumer_timeout_ms=1000, **configs)
    c.assign([TP0])
    return c


def values(cluster: Cluster, isolation_level: str) -> list[bytes]:
    return read_all(cluster, TOPIC, isolation_level)


# --- the last stable offset ----------------------------------------------------------------------


def test_the_lso_stops_at_the_first_open_transaction_across_producers(lab):
    a = transactional(lab, "tx-a")
    b = transactional(lab, "tx-b")
    plain = KafkaProducer(bootstrap_servers=lab.bootstrap_servers)
    log = lab.partition(TOPIC, 0).leader_log
    a.begin_transaction()
    b.begin_transaction()
    a.send(TOPIC, value=b"a1").get()           # offset 0: a's transaction opens here
    b.send(TOPIC, value=b"b1").get()           # offset 1: b's opens here
    plain.send(TOPIC, value=b"plain").get()    # offset 2: not transactional
    a.send(TOPIC, value=b"a2").get()           # offset 3
    assert log.high_watermark == 4
    assert log.last_stable_offset == 0
    assert values(lab, "read_committed") == []
    a.commit_transaction()
    lab.run_until_idle()
    assert log.last_stable_offset == 1  # b's transaction still holds it back
    assert values(lab, "read_committed") == [b"a1"]
    b.abort_transaction()
    lab.run_until_idle()
    assert log.last_stable_offset == log.high_watermark == log.log_end_offset == 6
    assert values(lab, "read_committed") == [b"a1", b"plain", b"a2"]
    # read_uncommitted sees the aborted record too, but never a marker
    assert values(lab, "read_uncommitted") == [b"a1", b"b1", b"plain", b"a2"]
    [aborted] = log.producer_state.aborted
    assert (aborted.producer_id, aborted.first_offset) == (b.producer_id, 1)


def test_read_committed_lag_and_end_offsets_are_measured_to_the_lso(lab):
    plain = KafkaProducer(bootstrap_servers=lab.bootstrap_servers)
    for i in range(3):
        plain.send(TOPIC, value=b"p%d" % i)
    plain.flush()
    p = transactional(lab, "tx")
    p.begin_transaction()
    p.send(TOPIC, value=b"open").get()  # offset 3, transaction open
    plain.send(TOPIC, value=b"after").get()  # offset 4
    committed_reader = consumer(lab, "read_committed")
    assert [r.value for r in committed_reader] == [b"p0", b"p1", b"p2"]
    assert committed_reader.position(TP0) == 3
    # the high watermark is 5, but a read_committed consumer can only get to the LSO (3)
    assert committed_reader.metrics()["consumer-fetch-manager-metrics"]["records-lag-max"] == 0
    assert committed_reader.end_offsets([TP0]) == {TP0: 3}
    uncommitted_reader = consumer(lab, "read_uncommitted")
    assert uncommitted_reader.end_offsets([TP0]) == {TP0: 5}
    p.commit_transaction()
    lab.run_until_idle()
    assert committed_reader.end_offsets([TP0]) == {TP0: 6}  # the marker counts
    assert [r.value for r in committed_reader] == [b"open", b"after"]


# --- followers -----------------------------------------------------------------------------------


def test_a_new_leader_knows_the_open_and_aborted_transactions(lab):
    p = transactional(lab, "tx")
    p.begin_transaction()
    p.send(TOPIC, value=b"committed").get()
    p.commit_transaction()
    p.begin_transaction()
    p.send(TOPIC, value=b"aborted").get()
    p.abort_transaction()
    p.begin_transaction()
    p.send(TOPIC, value=b"open").get()  # offset 4, still open
    lab.run_until_idle()
    part = lab.partition(TOPIC, 0)
    old_log = part.leader_log
    assert old_log.last_stable_offset == 4
    aborted_before = list(old_log.producer_state.aborted)
    old = part.leader
    # the coordinator must survive for the commit; pick a leader that is not it
    if old == lab.transaction_coordinator_of("tx"):
        pytest.skip("seeded placement put the partition leader on the coordinator")
    lab.kill_broker(old)
    lab.advance(seconds=30)
    assert part.leader not in (None, old)
    new_log = part.leader_log
    assert new_log.last_stable_offset == 4
    assert list(new_log.producer_state.aborted) == aborted_before
    assert new_log.producer_state.ongoing == {p.producer_id: 4}
    assert values(lab, "read_committed") == [b"committed"]
    p.commit_transaction()
    lab.run_until_idle()
    assert values(lab, "read_committed") == [b"committed", b"open"]


def test_a_truncated_follower_forgets_the_open_transaction_it_had(lab):
    part = lab.partition(TOPIC, 0)
    p = transactional(lab, "tx", request_timeout_ms=5000, linger_ms=1000,
                      transaction_timeout_ms=20_000)
    old = part.leader
    if old == lab.transaction_coordinator_of("tx"):
        pytest.skip("seeded placement put the partition leader on the coordinator")
    p.begin_transaction()
    p.send(TOPIC, value=b"before").get()
    p.commit_transaction()
    lab.run_until_idle()
    p.begin_transaction()
    p.send(TOPIC, value=b"lost")  # lingers 1 s
    lab.advance(ms=200)  # AddPartitionsToTxn answered: the partition is in the transaction
    # the leader is cut off from the other brokers (clients still reach it): it appends the
    # batch alone; then the producer dies
    lab.isolate_broker(old, from_brokers=True, from_clients=False)
    lab.advance(ms=1000)
    lonely = part.logs[old]
    assert lonely.log_end_offset == 3  # its own copy of the batch, never replicated
    assert lonely.producer_state.ongoing == {p.producer_id: 2}
    lab.faults.crash_producer(p)
    lab.advance(seconds=15)  # fenced after broker.session.timeout.ms: a new leader
    assert part.leader != old
    plain = KafkaProducer(bootstrap_servers=lab.bootstrap_servers)
    assert plain.send(TOPIC, value=b"plain").get().offset == 2  # the new leader's offset 2
    lab.advance(seconds=30)  # transaction.timeout.ms: the coordinator aborts the transaction
    lab.heal()
    lab.advance(seconds=30)  # the old leader truncates offset 2 and catches up
    lab.run_until_idle()
    leader_log, follower = part.leader_log, part.logs[old]
    assert [(b.base_offset, b.is_control, b.producer_id) for b in follower.batches()] == \
        [(b.base_offset, b.is_control, b.producer_id) for b in leader_log.batches()]
    assert leader_log.producer_state.ongoing == follower.producer_state.ongoing == {}
    assert follower.producer_state.aborted == leader_log.producer_state.aborted
    assert values(lab, "read_committed") == [b"before", b"plain"]


# --- offsets in a transaction --------------------------------------------------------------------


def group_member(cluster: Cluster, group: str = "billing") -> KafkaConsumer:
    c = KafkaConsumer(TOPIC, bootstrap_servers=cluster.bootstrap_servers, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False)
    for _ in range(30):
        c.poll(timeout_ms=200)
        if c.assignment():
            break
    assert c.assignment() == {TP0}
    return c


def fetch_stable(cluster: Cluster, group: str = "billing"):
    transport = transport_for(cluster.bootstrap_servers)
    node = transport.call(None, FindCoordinatorRequest(group, key_type=0)).node_id
    response = transport.call(node, OffsetFetchRequest(
        group, (OffsetFetchRequestTopic(TOPIC, (0,)),), require_stable=True))
    [p] = [p for t in response.topics for p in t.partitions]
    return error_from(p.error_code, p.error_message), p


def test_offsets_sent_with_a_transaction_count_only_once_it_commits(lab):
    member = group_member(lab)
    p = transactional(lab, "tx")
    p.begin_transaction()
    p.send(TOPIC, value=b"output")
    p.send_offsets_to_transaction({TP0: OffsetAndMetadata(7, "", -1)}, member.group_metadata())
    assert member.committed(TP0) is None  # pending: not visible to OffsetFetch
    error, _ = fetch_stable(lab)
    assert isinstance(error, UnstableOffsetCommitError)
    p.commit_transaction()
    lab.run_until_idle()
    assert member.committed(TP0) == 7
    error, answer = fetch_stable(lab)
    assert error is None and answer.committed_offset == 7


def test_offsets_sent_with_an_aborted_transaction_are_dropped(lab):
    member = group_member(lab)
    member.commit({TP0: OffsetAndMetadata(2, "", -1)})
    p = transactional(lab, "tx")
    p.begin_transaction()
    p.send_offsets_to_transaction({TP0: OffsetAndMetadata(9, "", -1)}, member.group_metadata())
    p.abort_transaction()
    lab.run_until_idle()
    assert member.committed(TP0) == 2
    error, answer = fetch_stable(lab)
    assert error is None and answer.committed_offset == 2


def test_pending_offsets_survive_a_group_coordinator_failover(lab):
    member = group_member(lab)
    p = transactional(lab, "tx")
    group_node = lab.group_coordinator.coordinator_of("billing")
    if group_node == lab.transaction_coordinator_of("tx"):
        pytest.skip("seeded placement put both coordinators on one broker")
    p.begin_transaction()
    p.send_offsets_to_transaction({TP0: OffsetAndMetadata(5, "", -1)}, member.group_metadata())
    lab.kill_broker(group_node)
    lab.advance(seconds=30)
    assert lab.group_coordinator.coordinator_of("billing") != group_node
    # the new group coordinator replayed the transactional offset commit: still pending
    error, _ = fetch_stable(lab)
    assert isinstance(error, UnstableOffsetCommitError)
    p.commit_transaction()
    lab.run_until_idle()
    lab.advance(seconds=5)
    error, answer = fetch_stable(lab)
    assert error is None and answer.committed_offset == 5


@pytest.mark.parametrize("fetch_bytes,max_poll_records", [(100, 1), (200, 3), (1_048_576, 500)])
def test_an_aborted_transaction_spread_over_many_fetches_stays_hidden(lab, fetch_bytes,
                                                                      max_poll_records):
    # two producers' transactions interleaved batch by batch; small fetches start in the
    # middle of the aborted one, whose first offset an earlier fetch already passed
    a = transactional(lab, "tx-a")
    b = transactional(lab, "tx-b")
    a.begin_transaction()
    b.begin_transaction()
    for i in range(10):
        a.send(TOPIC, value=b"A%d" % i).get()
        b.send(TOPIC, value=b"B%d" % i).get()
    a.abort_transaction()
    b.commit_transaction()
    lab.run_until_idle()
    c = consumer(lab, "read_committed", max_partition_fetch_bytes=fetch_bytes,
                 fetch_max_bytes=fetch_bytes, max_poll_records=max_poll_records)
    assert [r.value for r in c] == [b"B%d" % i for i in range(10)]
    c.close()
