"""The controller (KRaft style): the metadata log, controller failover, broker fencing.

The lesson's «ZooKeeper/KRaft — координация кластера»: a quorum of dedicated controllers
(1000, 1001, 1002) elects an active one; every metadata change — brokers registering, being
fenced and unfenced, topics, partitions, leader and ISR changes — is a record of an ordered log,
and replaying that log gives the cluster's state back. Brokers that stop heartbeating are
fenced; without a majority of controllers nothing in the metadata can change.
"""
from __future__ import annotations

import random

import pytest

from kafkalab import Cluster, KafkaProducer
from kafkalab.cluster import registry
from kafkalab.cluster.controller import ELECTION_TIMEOUT_MS, SESSION_TIMEOUT_MS
from kafkalab.errors import KafkaTimeoutError, UnknownTopicOrPartitionError
from kafkalab.reliability import _fault

TOPIC = "orders"


def make_cluster(brokers: int = 3, seed: int = 0) -> Cluster:
    return Cluster(brokers=brokers, seed=seed)


def types(records) -> list[str]:
    return [r.type for r in records]


def events_since(cluster: Cluster, mark: int, kind: str | None = None):
    return [e for e in list(cluster.events)[mark:]
            if kind is None or e.kind == kind or e.kind.startswith(kind + ".")]


def controller_rows(cluster: Cluster) -> dict[int, dict]:
    frame = cluster.broker_metrics()
    return {r["broker"]: r for r in frame.to_dict("records") if r["role"] == "controller"}


def replay(log) -> tuple[dict, set, dict]:
    """Rebuild (partitions, fenced brokers, registered brokers) from metadata records alone."""
    partitions: dict[tuple[str, int], dict] = {}
    fenced: set[int] = set()
    registered: dict[int, tuple[str, int]] = {}
    for record in log:
        f = record.fields
        if record.type == "Partition":
            partitions[(f["topic"], f["partition"])] = {
                "replicas": f["replicas"], "leader": f["leader"],
                "leader_epoch": f["leader_epoch"], "isr": f["isr"]}
        elif record.type == "PartitionChange":
            state = partitions[(f["topic"], f["partition"])]
            assert f["leader_epoch"] >= state["leader_epoch"]
            state.update(leader=None if f["leader"] == -1 else f["leader"],
                         leader_epoch=f["leader_epoch"], isr=f["isr"])
        elif record.type == "RemoveTopic":
            partitions = {k: v for k, v in partitions.items() if k[0] != f["name"]}
        elif record.type == "FenceBroker":
            fenced.add(f["broker_id"])
        elif record.type == "UnfenceBroker":
            fenced.discard(f["broker_id"])
        elif record.type == "RegisterBroker":
            registered[f["broker_id"]] = (f["host"], f["port"])
    return partitions, fenced, registered


def actual(cluster: Cluster) -> dict:
    return {(t.name, p.index): {"replicas": p.replicas, "leader": p.leader,
                                "leader_epoch": p.leader_epoch, "isr": p.isr}
            for t in cluster.topics.values() for p in t.partitions}


# --- the metadata log ----------------------------------------------------------------------------


def test_the_metadata_log_records_every_change_in_order():
    cluster = make_cluster()
    controller = cluster.controller
    assert types(controller.log) == ["LeaderChange"] + ["RegisterBroker"] * 3
    assert controller.log[0].fields == {"leader": 1000, "voters": [1000, 1001, 1002]}
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3], 1: [2, 3, 1]})
    assert types(controller.log[4:]) == ["Topic", "Partition", "Partition"]
    mark = len(controller.log)
    cluster.kill_broker(1)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    # fenced: it leaves partition 1's ISR and hands partition 0 to broker 2
    assert types(controller.log[mark:]) == ["FenceBroker", "PartitionChange", "PartitionChange"]
    fence, change0, change1 = controller.log[mark:]
    assert fence.fields == {"broker_id": 1}
    assert change0.fields == {"topic": TOPIC, "partition": 0, "leader": 2, "leader_epoch": 1,
                              "isr": [2, 3], "unclean": False}
    assert change1.fields["leader"] == 2 and change1.fields["leader_epoch"] == 0
    assert change1.fields["isr"] == [2, 3]
    mark = len(controller.log)
    cluster.restart_broker(1)
    cluster.advance(ms=100)
    assert types(controller.log[mark:]) == ["RegisterBroker", "UnfenceBroker",
                                            "PartitionChange", "PartitionChange"]
    assert [r.fields["isr"] for r in controller.log[mark + 2:]] == [[2, 3, 1], [2, 3, 1]]
    mark = len(controller.log)
    cluster.kill_controller()
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert types(controller.log[mark:]) == ["LeaderChange"]
    assert controller.log[-1].fields["leader"] == 1001
    cluster.delete_topic(TOPIC)
    assert types(controller.log[-1:]) == ["RemoveTopic"]
    # offsets are consecutive; the controller epoch only grows and is 2 after the failover
    assert [r.offset for r in controller.log] == list(range(len(controller.log)))
    epochs = [r.controller_epoch for r in controller.log]
    assert epochs == sorted(epochs) and epochs[0] == 1 and epochs[-1] == 2
    assert str(controller.log[0]) == \
        "#0 [epoch 1] LeaderChange(leader=1000, voters=[1000, 1001, 1002])"


@pytest.mark.parametrize("seed", range(12))
def test_replaying_the_metadata_log_reproduces_every_partition(seed):
    """Whatever happened, the PartitionChange records alone give each partition's leader,
    leader epoch and ISR; Fence/Unfence records give the fenced brokers."""
    registry.clear()
    rng = random.Random(seed)
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic(TOPIC, partitions=3, replication_factor=3)
    cluster.create_topic("payments", partitions=2, replication_factor=2)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=1, linger_ms=0)
    for i in range(120):
        producer.send(TOPIC if i % 3 else "payments", value=b"%d" % i)
        if i % 6 == 5:
            _fault(cluster, rng)
        if i % 40 == 39:
            cluster.kill_controller()  # the active one
            cluster.advance(ms=rng.randint(0, 3 * ELECTION_TIMEOUT_MS))
            for voter in cluster.controller.voters:
                if voter not in cluster.controller.alive_voters:
                    cluster.restart_controller(voter)
        cluster.advance(ms=rng.randint(0, 50))
    cluster.advance(seconds=30)
    partitions, fenced, registered = replay(cluster.controller.log)
    assert partitions == actual(cluster)
    assert fenced == cluster.controller.fenced
    assert registered == {b.id: (b.host, b.port) for b in cluster.brokers.values()}
    assert types(cluster.controller.log).count("LeaderChange") >= 3


# --- the controller quorum ---------------------------------------------------------------------


def test_killing_the_active_controller_elects_another_with_the_next_epoch():
    cluster = make_cluster()
    controller = cluster.controller
    assert (controller.active, controller.epoch) == (1000, 1)
    assert controller_rows(cluster)[1000]["ActiveControllerCount"] == 1
    mark = len(cluster.events)
    killed_at = cluster.now_ms()
    cluster.kill_controller()
    assert controller.active is None  # nobody leads until the election timeout
    assert sum(r["ActiveControllerCount"] for r in controller_rows(cluster).values()) == 0
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert (controller.active, controller.epoch) == (1001, 2)
    [killed] = events_since(cluster, mark, "controller.killed")
    [elected] = events_since(cluster, mark, "controller.elected")
    assert killed.text == "controller 1000 crashed"
    assert elected.time_ms - killed_at == ELECTION_TIMEOUT_MS
    assert elected.text == "controller 1001 is the active controller (epoch 2; before: 1000)"
    rows = controller_rows(cluster)
    assert [rows[v]["ActiveControllerCount"] for v in (1000, 1001, 1002)] == [0, 1, 0]
    assert rows[1000]["alive"] == False  # noqa: E712
    # the cluster works on under the new controller: a broker failure is handled as before
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    cluster.kill_broker(1)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    assert cluster.partition(TOPIC, 0).leader == 2
    assert cluster.controller.log[-1].controller_epoch == 2
    # the old controller comes back as a voter; the active one stays
    cluster.restart_controller(1000)
    cluster.advance(ms=5 * ELECTION_TIMEOUT_MS)
    assert (controller.active, controller.epoch) == (1001, 2)


def test_without_a_majority_of_controllers_metadata_freezes_until_one_returns():
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    p = cluster.partition(TOPIC, 0)
    controller = cluster.controller
    mark = len(cluster.events)
    cluster.kill_controller(1000)
    cluster.kill_controller(1001)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    [unavailable] = events_since(cluster, mark, "controller.unavailable")
    assert "only 1 of the 3 controller voters" in unavailable.text and "2 are needed" in \
        unavailable.text
    assert controller.active is None
    frozen = len(controller.log)
    # the leader dies: nobody can fence it or elect another leader, however long we wait
    cluster.kill_broker(1)
    cluster.advance(minutes=2)
    assert (p.leader, p.leader_epoch, p.isr) == (1, 0, [1, 2, 3])
    assert not controller.fenced and len(controller.log) == frozen
    with pytest.raises(KafkaTimeoutError, match="no active controller"):
        cluster.create_topic("payments")
    assert events_since(cluster, mark, "topic.create_rejected")
    assert sum(r["ActiveControllerCount"] for r in controller_rows(cluster).values()) == 0
    # a controlled shutdown cannot move leadership either: it stops like a crash
    cluster.shutdown_broker(3)
    [uncontrolled] = events_since(cluster, mark, "broker.shutdown_uncontrolled")
    assert "cannot reach an active controller" in uncontrolled.text
    assert not cluster.brokers[3].alive
    cluster.restart_broker(3)
    # one controller returns: a majority again, an election, and brokers get a fresh session
    cluster.restart_controller(1001)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert (controller.active, controller.epoch) == (1001, 2)
    elected_at = cluster.now_ms()
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    [fenced] = events_since(cluster, mark, "broker.fenced")
    assert fenced.time_ms - elected_at == SESSION_TIMEOUT_MS
    assert (p.leader, p.leader_epoch) == (2, 1)
    assert cluster.create_topic("payments")


def test_the_isr_cannot_shrink_without_a_controller():
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    p = cluster.partition(TOPIC, 0)
    cluster.kill_controller(1001)
    cluster.kill_controller(1002)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    cluster.slow_follower(3, 10 * 60_000)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=1, linger_ms=0)
    for i in range(60):
        producer.send(TOPIC, value=b"%d" % i).get(timeout=10)
        cluster.advance(seconds=1)
    assert p.isr == [1, 2, 3]  # AlterPartition has nobody to go to
    assert p.high_watermark == 0  # and the lagging follower holds the high watermark back
    cluster.restart_controller(1001)
    cluster.advance(seconds=35)
    assert p.isr == [1, 2] and p.high_watermark == 60


# --- fencing -------------------------------------------------------------------------------------


def test_a_broker_cut_off_from_the_other_brokers_is_fenced_and_unfenced_when_healed():
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3], 1: [2, 3, 1]})
    p0, p1 = cluster.topic(TOPIC).partitions
    controller = cluster.controller
    mark, log_mark = len(cluster.events), len(controller.log)
    cluster.isolate_broker(2, from_brokers=True, from_clients=False)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    kinds = [e.kind for e in events_since(cluster, mark)]
    assert kinds == ["broker.isolated", "broker.fenced", "isr.shrunk",
                     "partition.leader_changed"]
    assert types(controller.log[log_mark:]) == ["FenceBroker", "PartitionChange",
                                                "PartitionChange"]
    assert (p0.leader, p0.isr) == (1, [1, 3])
    assert (p1.leader, p1.leader_epoch, p1.isr) == (3, 1, [3, 1])
    assert controller.fenced == {2} and cluster.brokers[2].alive
    fenced_row = {r["broker"]: r for r in cluster.broker_metrics().to_dict("records")}[2]
    assert fenced_row["fenced"] == True and fenced_row["LeaderCount"] == 0  # noqa: E712
    log_mark = len(controller.log)
    mark = len(cluster.events)
    cluster.heal()
    cluster.advance(ms=100)
    assert types(controller.log[log_mark:]) == ["RegisterBroker", "UnfenceBroker",
                                                "PartitionChange", "PartitionChange"]
    [unfenced] = events_since(cluster, mark, "broker.unfenced")
    assert "broker 2 registered again and is unfenced" in unfenced.text
    assert not controller.fenced
    assert p0.isr == [1, 3, 2] and p1.isr == [3, 1, 2]
    assert p1.leader == 3  # leadership stays until a preferred leader election


def test_a_brief_outage_shorter_than_the_session_timeout_is_not_fenced():
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    cluster.isolate_broker(1, from_clients=False)
    cluster.advance(ms=5_000)
    cluster.heal()
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    assert not cluster.controller.fenced
    assert not cluster.events.of_kind("broker.fenced")
    assert cluster.partition(TOPIC, 0).leader == 1


def test_a_deleted_topic_leaves_no_replication_behind():
    """A deleted partition's waiting produces fail, and its follower fetches and ISR checks
    stop: they must not change — nor write metadata for — a new topic of the same name."""
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    cluster.slow_follower(3, 60_000)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                             linger_ms=0, retries=0)
    waiting = producer.send(TOPIC, value=b"never committed")
    cluster.advance(ms=10)
    cluster.delete_topic(TOPIC)
    with pytest.raises(UnknownTopicOrPartitionError, match="was deleted before offset 0"):
        waiting.get(timeout=5)
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3]})
    mark = len(cluster.controller.log)
    cluster.kill_broker(2)
    cluster.advance(seconds=70)
    p = cluster.partition(TOPIC, 0)
    assert p.isr == [1, 3]
    assert types(cluster.controller.log[mark:]) == ["FenceBroker", "PartitionChange"]
    partitions, _, _ = replay(cluster.controller.log)
    assert partitions == actual(cluster)
