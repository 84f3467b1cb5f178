"""Each broker's metadata image (KRaft's MetadataImage): the controller's metadata log, replayed.

The controller publishes every record it appends to the running brokers, which apply it at once;
a broker that is down applies nothing and catches up when it starts again. Whatever happens —
topics created, grown and deleted, brokers killed, restarted and shut down, leaders elected,
controllers failing — the image of every running broker equals the cluster's state, and the
Metadata and DescribeCluster handlers answer from that image.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkalab import Cluster
from kafkalab.api.messages.cluster import DescribeClusterRequest
from kafkalab.api.messages.groups import FindCoordinatorRequest
from kafkalab.api.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalab.cluster.controller import ELECTION_TIMEOUT_MS, SESSION_TIMEOUT_MS
from kafkalab.cluster.metadata_image import MetadataImage, MetadataRecord
from kafkalab.config import INTERNAL_TOPICS
from kafkalab.errors import KafkaError, UnknownTopicOrPartitionError


def cluster_state(cluster: Cluster) -> dict:
    """The cluster's live state in the shape of ``MetadataImage.describe()``."""
    controller = cluster.controller
    return {
        "applied_offset": len(controller.log) - 1,
        "controller_id": controller.active,
        "brokers": {b.id: (b.host, b.port, b.id in controller.fenced)
                    for b in sorted(cluster.brokers.values(), key=lambda b: b.id)},
        "topics": {name: (topic.internal, {
            p.index: (list(p.replicas), p.leader, p.leader_epoch, list(p.isr))
            for p in topic.partitions}) for name, topic in sorted(cluster.topics.items())},
    }


def assert_images_current(cluster: Cluster) -> None:
    """Every running broker's image equals the cluster's state and a replay of the log."""
    expected = cluster_state(cluster)
    replayed = MetadataImage.replayed(cluster.controller.log).describe()
    replayed["controller_id"] = cluster.controller.active  # told by the quorum, not the log
    assert replayed == expected
    for broker in cluster.brokers.values():
        if broker.alive:
            assert broker.metadata_image.describe() == expected, f"broker {broker.id}"


def ask(cluster: Cluster, broker_id: int, request):
    """Send a request straight to one broker's request layer; its (synchronous) answer."""
    answers = []
    cluster.brokers[broker_id].handle(request, answers.append)
    assert len(answers) == 1
    return answers[0]


def metadata(cluster: Cluster, broker_id: int, *topics: str, auto_create: bool = False):
    request = MetadataRequest(tuple(MetadataRequestTopic(t) for t in topics) if topics else None,
                              allow_auto_topic_creation=auto_create)
    return ask(cluster, broker_id, request)


def partitions_of(response, topic: str) -> dict[int, tuple]:
    entry = next(t for t in response.topics if t.name == topic)
    return {p.partition_index: (p.leader_id, p.leader_epoch, list(p.replica_nodes),
                                list(p.isr_nodes)) for p in entry.partitions}


def image_partitions(image: MetadataImage, topic: str) -> dict[int, tuple]:
    return {p.index: (-1 if p.leader is None else p.leader, p.leader_epoch, p.replicas, p.isr)
            for p in image.topic(topic).partition_list()}


# --- applying records ----------------------------------------------------------------------------


def records(*specs) -> list[MetadataRecord]:
    return [MetadataRecord(offset, 1, type, fields) for offset, (type, fields) in enumerate(specs)]


def test_each_record_type_changes_the_image_as_documented():
    log = records(
        ("LeaderChange", {"leader": 1000, "voters": [1000, 1001, 1002]}),
        ("RegisterBroker", {"broker_id": 1, "host": "localhost", "port": 9092}),
        ("RegisterBroker", {"broker_id": 2, "host": "localhost", "port": 9093}),
        ("Topic", {"name": "orders"}),
        ("Partition", {"topic": "orders", "partition": 0, "replicas": [1, 2], "leader": 1,
                       "leader_epoch": 0, "isr": [1, 2]}),
        ("FenceBroker", {"broker_id": 1}),
        ("PartitionChange", {"topic": "orders", "partition": 0, "leader": 2,
                             "leader_epoch": 1, "isr": [2], "unclean": False}),
        ("RegisterBroker", {"broker_id": 1, "host": "localhost", "port": 9092}),
    )
    image = MetadataImage.replayed(log)
    assert image.applied_offset == 7 and image.controller_id == 1000
    assert image.voters == [1000, 1001, 1002]
    # registering again keeps the fence: only UnfenceBroker lifts it
    assert [(b.id, b.fenced) for b in image.registered_brokers()] == [(1, True), (2, False)]
    assert [b.id for b in image.unfenced_brokers()] == [2]
    assert image_partitions(image, "orders") == {0: (2, 1, [1, 2], [2])}
    more = records(*[(r.type, r.fields) for r in log], (
        "UnfenceBroker", {"broker_id": 1}), (
        "PartitionChange", {"topic": "orders", "partition": 0, "leader": -1,
                            "leader_epoch": 2, "isr": [2], "unclean": False}), (
        "Topic", {"name": "__consumer_offsets"}), (
        "RemoveTopic", {"name": "orders"}))
    image.catch_up(more)
    assert image.applied_offset == len(more) - 1
    assert not image.is_fenced(1) and image.is_fenced(99)  # never registered: not serving
    assert image.topic("orders") is None
    assert "__consumer_offsets" in INTERNAL_TOPICS
    assert [image.topic(n).internal for n in image.topic_names()] == [True]
    # the image before RemoveTopic: partition 0 offline (leader -1 -> None)
    before = MetadataImage.replayed(more, up_to=len(more) - 2)
    assert before.topic("orders").partitions[0].leader is None


def test_records_apply_in_log_order_each_once():
    log = records(("LeaderChange", {"leader": 1000, "voters": [1000]}),
                  ("RegisterBroker", {"broker_id": 1, "host": "h", "port": 1}))
    image = MetadataImage()
    with pytest.raises(ValueError, match="log order"):
        image.apply(log[1])  # a gap
    image.apply(log[0])
    with pytest.raises(ValueError, match="log order"):
        image.apply(log[0])  # twice
    assert image.catch_up(log) == 1 and image.catch_up(log) == 0
    with pytest.raises(ValueError, match="unknown metadata record type"):
        image.apply(MetadataRecord(2, 1, "Nonsense", {}))
    with pytest.raises(ValueError, match="does not have"):
        image.apply(MetadataRecord(2, 1, "PartitionChange", {
            "topic": "nope", "partition": 0, "leader": 1, "leader_epoch": 1, "isr": [1],
            "unclean": False}))
    assert image.applied_offset == 1  # a refused record changes nothing


# --- the images follow the cluster ---------------------------------------------------------------


def test_every_running_broker_image_follows_a_scripted_scenario():
    cluster = Cluster(brokers=3, seed=0)
    assert_images_current(cluster)
    cluster.create_topic("orders", partitions=3, replication_factor=3)
    cluster.create_topic("payments", replica_assignment={0: [2, 3], 1: [3, 1]})
    assert_images_current(cluster)
    cluster.create_partitions("orders", 5)
    assert_images_current(cluster)
    cluster.kill_broker(1)  # not fenced until its session expires: images say so too
    assert_images_current(cluster)
    assert not cluster.brokers[2].metadata_image.brokers[1].fenced
    cluster.advance(ms=SESSION_TIMEOUT_MS)  # fenced; its leaderships move
    assert_images_current(cluster)
    assert cluster.brokers[2].metadata_image.brokers[1].fenced
    cluster.restart_broker(1)
    cluster.advance(ms=500)  # it catches up and rejoins the ISRs
    assert_images_current(cluster)
    assert cluster.elect_preferred_leaders() > 0
    assert_images_current(cluster)
    cluster.shutdown_broker(2)  # controlled: leaderships move first, then it is fenced
    assert_images_current(cluster)
    cluster.kill_controller()
    assert_images_current(cluster)  # no active controller yet: every image says none
    assert all(b.metadata_image.controller_id is None
               for b in cluster.brokers.values() if b.alive)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert_images_current(cluster)
    assert cluster.brokers[1].metadata_image.controller_id == 1001
    cluster.restart_broker(2)
    cluster.advance(ms=500)
    assert_images_current(cluster)
    cluster.delete_topic("payments")
    assert_images_current(cluster)
    assert cluster.brokers[3].metadata_image.topic_names() == ["orders"]


OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["create", "grow", "delete", "kill", "restart", "shutdown", "isolate",
                     "heal", "advance", "preferred", "kill_controller",
                     "restart_controller"]),
    st.integers(0, 2), st.integers(1, 3), st.integers(0, 20_000)), min_size=1, max_size=14)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 3), operations=OPERATIONS)
def test_images_equal_the_cluster_after_any_operations(seed, operations):
    cluster = Cluster(brokers=3, seed=seed)
    names = ["orders", "payments", "clicks"]
    try:
        for what, which, count, ms in operations:
            broker = which + 1
            name = names[which]
            try:
                if what == "create":
                    cluster.create_topic(name, partitions=count, replication_factor=count)
                elif what == "grow":
                    cluster.create_partitions(name, len(cluster.topic(name).partitions) + count)
                elif what == "delete":
                    cluster.delete_topic(name)
                elif what == "kill":
                    cluster.kill_broker(broker)
                elif what == "restart":
                    cluster.restart_broker(broker)
                elif what == "shutdown":
                    cluster.shutdown_broker(broker)
                elif what == "isolate":
                    cluster.isolate_broker(broker, from_clients=count == 1)
                elif what == "heal":
                    cluster.heal()
                elif what == "advance":
                    cluster.advance(ms=ms)
                elif what == "preferred":
                    cluster.elect_preferred_leaders()
                elif what == "kill_controller":
                    cluster.controller.kill_voter(cluster.controller.voters[which])
                else:
                    cluster.restart_controller(cluster.controller.voters[which])
            except KafkaError:  # refused (no such topic, too few brokers, no controller ...)
                pass
            assert_images_current(cluster)
        cluster.advance(ms=SESSION_TIMEOUT_MS + ELECTION_TIMEOUT_MS)
        assert_images_current(cluster)
    finally:
        cluster.close()


def test_a_broker_that_was_down_catches_up_on_restart():
    cluster = Cluster(brokers=3, seed=1)
    cluster.create_topic("orders", partitions=2, replication_factor=3)
    cluster.create_topic("old", partitions=1, replication_factor=2)
    cluster.kill_broker(3)
    stale = cluster.brokers[3].metadata_image
    frozen_at = stale.applied_offset
    assert frozen_at == len(cluster.controller.log) - 1
    before = metadata(cluster, 3, "orders")
    # while it is down: it is fenced, leaders move, topics come and go
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    cluster.create_topic("payments", partitions=2, replication_factor=2)
    cluster.delete_topic("old")
    cluster.create_partitions("payments", 3)
    assert stale.applied_offset == frozen_at  # a broker that is down applies nothing
    assert stale.topic_names() == ["old", "orders"] and not stale.brokers[3].fenced
    assert len(cluster.controller.log) - 1 > frozen_at
    cluster.restart_broker(3)
    # replayed what it missed, then applied its own registration's records as they came
    assert stale.applied_offset == len(cluster.controller.log) - 1
    assert stale.describe() == cluster_state(cluster)
    answer = metadata(cluster, 3, "orders", "payments")
    assert partitions_of(answer, "orders") != partitions_of(before, "orders")
    for topic in ("orders", "payments"):
        assert partitions_of(answer, topic) == partitions_of(metadata(cluster, 1, topic), topic)
        assert partitions_of(answer, topic) == image_partitions(stale, topic)
    assert [t.name for t in metadata(cluster, 3).topics] == ["orders", "payments"]


def test_a_restarted_broker_catches_up_even_when_no_record_follows():
    """Without an active controller a restarted broker cannot register, so no new record is
    published: it still replays the log it missed before it answers."""
    cluster = Cluster(brokers=3, seed=0)
    cluster.kill_broker(3)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    cluster.create_topic("orders", partitions=2, replication_factor=2)
    cluster.kill_controller(1000)
    cluster.kill_controller(1001)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert cluster.controller.active is None
    end = len(cluster.controller.log) - 1
    assert cluster.brokers[3].metadata_image.applied_offset < end
    cluster.restart_broker(3)
    assert len(cluster.controller.log) - 1 == end  # nothing was appended
    image = cluster.brokers[3].metadata_image
    assert image.applied_offset == end and image.controller_id is None
    assert image.brokers[3].fenced  # it could not register again
    answer = metadata(cluster, 3, "orders")
    assert answer.controller_id == -1
    assert partitions_of(answer, "orders") == partitions_of(metadata(cluster, 1, "orders"),
                                                            "orders")
    assert_images_current(cluster)


def test_the_catch_up_happens_before_the_restarted_broker_serves():
    """restart_broker replays the log first: its RegisterBroker record (appended while it
    starts) finds an image with no gap."""
    cluster = Cluster(brokers=2, seed=0)
    cluster.kill_broker(2)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    cluster.create_topic("orders", partitions=2, replication_factor=1)
    cluster.restart_broker(2)
    assert_images_current(cluster)
    assert not cluster.brokers[2].metadata_image.brokers[2].fenced


# --- the handlers answer from the image ----------------------------------------------------------


def test_the_metadata_handler_answers_from_the_broker_image():
    cluster = Cluster(brokers=3, seed=0)
    cluster.create_topic("orders", partitions=2, replication_factor=3)
    image = cluster.brokers[2].metadata_image
    answer = metadata(cluster, 2)
    assert [t.name for t in answer.topics] == image.topic_names()
    assert partitions_of(answer, "orders") == image_partitions(image, "orders")
    assert [(b.node_id, b.host, b.port) for b in answer.brokers] == [
        (b.id, b.host, b.port) for b in image.unfenced_brokers()]
    # KRaft: clients are told a live broker (it forwards to the active controller, 1000)
    assert (answer.controller_id, image.controller_id) == (1, 1000)
    # what broker 2 answers is what its image holds, not what the cluster's objects say:
    # tamper with its image alone, and only broker 2's answer changes
    del image.topic("orders").partitions[1]
    image.brokers[3].fenced = True
    image.controller_id = None
    answer = metadata(cluster, 2, "orders")
    assert list(partitions_of(answer, "orders")) == [0]
    assert [b.node_id for b in answer.brokers] == [1, 2]
    assert answer.controller_id == -1
    truth = metadata(cluster, 1, "orders")
    assert list(partitions_of(truth, "orders")) == [0, 1]
    assert [b.node_id for b in truth.brokers] == [1, 2, 3] and truth.controller_id == 1
    described = ask(cluster, 2, DescribeClusterRequest(include_fenced_brokers=True))
    assert [(b.broker_id, b.is_fenced) for b in described.brokers] == [
        (1, False), (2, False), (3, True)]


def test_metadata_for_a_missing_topic_goes_through_the_create_path():
    cluster = Cluster(brokers=3, seed=0, config={"num.partitions": 2})
    refused = metadata(cluster, 1, "nope")
    assert refused.topics[0].error_code == UnknownTopicOrPartitionError.errno
    mark = len(cluster.controller.log)
    created = metadata(cluster, 3, "clicks", auto_create=True)
    assert [r.type for r in cluster.controller.log[mark:]] == ["Topic", "Partition", "Partition"]
    assert created.topics[0].error_code == 0
    for broker in cluster.brokers.values():  # published to every image at once
        assert partitions_of(created, "clicks") == \
            image_partitions(broker.metadata_image, "clicks")
    assert_images_current(cluster)


def test_the_internal_offsets_topic_reaches_the_images_through_the_controller():
    cluster = Cluster(brokers=3, seed=0)
    mark = len(cluster.controller.log)
    ask(cluster, 2, FindCoordinatorRequest("my-group"))  # creates __consumer_offsets
    offsets = "__consumer_offsets"
    assert offsets in cluster.topics
    assert cluster.controller.log[mark].type == "Topic"
    assert cluster.controller.log[mark].fields == {"name": offsets}
    assert_images_current(cluster)
    assert cluster.brokers[1].metadata_image.topic(offsets).internal
    entry = next(t for t in metadata(cluster, 1).topics if t.name == offsets)
    assert entry.is_internal and len(entry.partitions) == len(cluster.topics[offsets].partitions)


def test_metadata_lists_unfenced_brokers_and_the_controller_as_the_images_hold_them():
    cluster = Cluster(brokers=3, seed=0)
    cluster.kill_broker(3)  # crashed, not yet fenced: still listed, its replicas offline
    cluster.create_topic("orders", replica_assignment={0: [1, 3]})
    answer = metadata(cluster, 1, "orders")
    assert [b.node_id for b in answer.brokers] == [1, 2, 3]
    assert answer.topics[0].partitions[0].offline_replicas == (3,)
    cluster.advance(ms=SESSION_TIMEOUT_MS)
    answer = metadata(cluster, 1, "orders")
    assert [b.node_id for b in answer.brokers] == [1, 2]
    # without a controller majority the images learn there is no active controller
    cluster.kill_controller(1000)
    cluster.kill_controller(1001)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert cluster.controller.active is None
    assert metadata(cluster, 2).controller_id == -1
    cluster.restart_controller(1001)
    cluster.advance(ms=ELECTION_TIMEOUT_MS)
    assert cluster.controller.active == 1001
    assert metadata(cluster, 2).controller_id == 1  # a live broker, which forwards to 1001
    assert_images_current(cluster)
