"""The lesson's first scenario as the brokers see it: Kafka requests through a transport.

Create a topic, produce, consume in a group, commit — recorded by ``record_requests()`` as the
sequence of Kafka API names, then run again through the fault lab's transport with a lost
acknowledgement, which the same code rides out with one more Produce request.
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaConsumer, KafkaProducer
from kafkalab.admin import KafkaAdminClient, NewTopic
from kafkalab.api.base import error_from
from kafkalab.api.messages.metadata import MetadataRequest
from kafkalab import record_requests
from kafkalab.client.recording import RecordingTransport, RequestLog
from kafkalab.client.transport import transport_for
from kafkalab.errors import MessageSizeTooLargeError, RecordTooLargeError


def lesson_scenario(cluster: Cluster) -> list[tuple[int, bytes]]:
    """kafka-topics --create, a producer of four keyed orders, a group consumer that commits."""
    servers = cluster.bootstrap_servers
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic("orders", num_partitions=2, replication_factor=3)])
    producer = KafkaProducer(bootstrap_servers=servers, request_timeout_ms=1000)
    for i in range(4):
        producer.send("orders", key=f"user-{i}".encode(), value=f"order {i}".encode())
    producer.flush()
    consumer = KafkaConsumer("orders", bootstrap_servers=servers, group_id="billing",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    seen = []
    for _ in range(20):
        for records in consumer.poll(timeout_ms=1000).values():
            seen.extend((r.partition, r.value) for r in records)
        if len(seen) >= 4:
            break
    consumer.commit()
    consumer.close()
    return sorted(seen)


SCENARIO = ["CreateTopics",                           # the admin client
            "InitProducerId", "Metadata", "Produce", "Produce",  # one request per leader
            "Metadata", "FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch",
            "ListOffsets", "ListOffsets",             # no committed offset: earliest
            "Fetch", "Fetch", "OffsetCommit", "LeaveGroup"]


def test_the_lesson_scenario_is_a_sequence_of_kafka_requests():
    cluster = Cluster(brokers=3, seed=0)
    with record_requests() as requests:
        seen = lesson_scenario(cluster)
    assert len(seen) == 4
    assert requests.names() == SCENARIO
    frame = requests.frame()
    assert list(frame.columns) == ["after_ms", "client", "node", "api"]
    assert frame["client"].nunique() == 3  # admin, producer, consumer
    assert frame.after_ms.iloc[0] == 0 and frame.after_ms.is_monotonic_increasing
    # group requests go to the group's coordinator, the leader of its offsets partition
    coordinator = cluster.group_coordinator.coordinator_of("billing")
    assert set(frame[frame.api.isin(["JoinGroup", "SyncGroup", "OffsetCommit"])].node) == \
        {coordinator}
    # produce requests go to each partition's leader
    leaders = {p.leader for p in cluster.topic("orders").partitions}
    assert set(frame[frame.api == "Produce"].node) == leaders


def test_the_same_scenario_through_the_fault_lab_with_a_lost_acknowledgement():
    cluster = Cluster(brokers=3, seed=0)
    cluster.faults.drop_produce_responses(1, topic="orders")
    with record_requests() as requests:
        seen = lesson_scenario(cluster)
    # the idempotent producer retried the batch whose answer was lost: stored once
    assert len(seen) == 4 and len(set(seen)) == 4
    assert requests.names().count("Produce") == 3
    assert [e.kind for e in cluster.events if e.kind.startswith("fault.")] != []
    assert sum(p.log_end_offset for p in cluster.topic("orders").partitions) == 4


def test_recording_changes_nothing():
    plain, recorded = Cluster(brokers=3, seed=7), None
    plain_seen = lesson_scenario(plain)
    plain_events = [(e.time_ms, e.kind) for e in plain.events]
    plain.close()
    recorded = Cluster(brokers=3, seed=7)
    with record_requests():
        recorded_seen = lesson_scenario(recorded)
    assert recorded_seen == plain_seen
    assert [(e.time_ms, e.kind) for e in recorded.events] == plain_events


def test_only_clients_made_inside_the_block_are_recorded():
    cluster = Cluster(brokers=1, seed=0)
    with record_requests() as requests:
        transport = transport_for(cluster.bootstrap_servers)
    outside = transport_for(cluster.bootstrap_servers)
    assert isinstance(transport, RecordingTransport)
    assert not isinstance(outside, RecordingTransport)
    transport.call(None, MetadataRequest())
    outside.call(None, MetadataRequest())
    assert requests.names() == ["Metadata"]


def test_a_recording_transport_passes_answers_through_unchanged():
    cluster = Cluster(brokers=1, seed=0)
    cluster.create_topic("orders", 1)
    inner = transport_for(cluster.bootstrap_servers)
    log = RequestLog()
    recording = RecordingTransport(inner, log, "probe")
    assert recording.call(1, MetadataRequest()) == inner.call(1, MetadataRequest())
    answers = []
    recording.send(1, MetadataRequest(), answers.append)
    cluster.run_until_idle()
    assert answers and answers[0].topics[0].name == "orders"
    assert [(r.client, r.node, r.api) for r in log.records] == [("probe", 1, "Metadata"),
                                                                ("probe", 1, "Metadata")]


@pytest.mark.parametrize("code, expected", [(0, None), (10, RecordTooLargeError),
                                            (6, "NotLeaderForPartitionError")])
def test_error_codes_become_kafka_python_errors(code, expected):
    error = error_from(code, "why")
    if expected is None:
        assert error is None
    elif isinstance(expected, str):
        assert type(error).__name__ == expected and error.errno == code
    else:
        assert isinstance(error, expected) and isinstance(error, MessageSizeTooLargeError)
