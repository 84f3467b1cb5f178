"""Helpers for consumer-group scenarios (imported as a plain module: tests/engine is on sys.path).

In simulated time several consumers living in one thread only make progress when each of them
is polled — as in Kafka, a member rejoins, runs its rebalance listener and takes its new
partitions inside its own ``poll()``. These helpers poll every member in turn.
"""
from __future__ import annotations

from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalab.client.transport import transport_for


def produce(cluster: Cluster, topic: str, count: int, partitions: int | None = None,
            start: int = 0) -> None:
    """``count`` records ``b"<topic>-<i>"`` dealt round-robin over the topic's partitions."""
    partitions = partitions or len(cluster.topic(topic).partitions)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for i in range(start, start + count):
        producer.send(topic, value=f"{topic}-{i}".encode(), partition=i % partitions)
    producer.flush()
    producer.close()


def member(cluster: Cluster, *topics: str, group: str = "email-service",
           **configs) -> KafkaConsumer:
    """A consumer of ``group`` reading from the earliest offset unless told otherwise."""
    configs.setdefault("auto_offset_reset", "earliest")
    return KafkaConsumer(*topics, bootstrap_servers=cluster.bootstrap_servers, group_id=group,
                         **configs)


def poll_all(consumers, rounds: int = 1, timeout_ms: int = 100) -> dict:
    """Poll each open consumer in turn ``rounds`` times; {consumer: [records]} read."""
    got = {c: [] for c in consumers}
    for _ in range(rounds):
        for c in consumers:
            if not c._closed:
                for records in c.poll(timeout_ms=timeout_ms).values():
                    got[c].extend(records)
    return got


def owners(cluster: Cluster, group: str) -> dict[TopicPartition, str]:
    """The coordinator's view: which member owns each partition."""
    g = cluster.group_coordinator.groups.get(group)
    out = {}
    for m in (g.members.values() if g else ()):
        if m.assignment:
            for item in ConsumerProtocolAssignment.decode(m.assignment).assigned_partitions:
                for p in item.partitions:
                    tp = TopicPartition(item.topic, p)
                    assert tp not in out, f"{tp} has two owners: {out[tp]} and {m.member_id}"
                    out[tp] = m.member_id
    return out


def generation(cluster: Cluster, group: str = "email-service") -> int:
    return cluster.group_coordinator.groups[group].generation


def state(cluster: Cluster, group: str = "email-service") -> str:
    g = cluster.group_coordinator.groups.get(group)
    return "Dead" if g is None else g.state.value


def is_settled(cluster: Cluster, consumers, group: str) -> bool:
    g = cluster.group_coordinator.groups.get(group)
    if g is None or g.state.value != "Stable":
        return False
    owned = owners(cluster, group)
    for c in consumers:
        if c._closed:
            continue
        meta = c.group_metadata()
        if (meta.member_id not in g.members or meta.generation_id != g.generation
                or c._group.need_rejoin or c._group._joining):
            return False
        if c.assignment() != {tp for tp, m in owned.items() if m == meta.member_id}:
            return False
    return True


def settle(cluster: Cluster, consumers, group: str = "email-service", timeout_ms: int = 100,
           max_rounds: int = 3000) -> dict:
    """Poll every consumer in turn until the group is Stable and every open consumer holds
    exactly what the coordinator assigned it; {consumer: [records read meanwhile]} — polls
    read records, so produce after settling when a test counts them."""
    got = {c: [] for c in consumers}
    for _ in range(max_rounds):  # poll first: a member notices new topics in its poll()
        for c, records in poll_all(consumers, 1, timeout_ms).items():
            got[c].extend(records)
        if is_settled(cluster, consumers, group):
            return got
    raise AssertionError(f"group {group} did not settle: {cluster.events.of_kind('group')[-5:]}")


def drain(cluster: Cluster, consumers, group: str = "email-service", quiet_rounds: int = 3,
          timeout_ms: int = 100) -> dict:
    """Settle, then poll until ``quiet_rounds`` rounds in a row read nothing."""
    got = settle(cluster, consumers, group, timeout_ms)
    quiet = 0
    while quiet < quiet_rounds:
        more = poll_all(consumers, 1, timeout_ms)
        quiet = 0 if any(more.values()) else quiet + 1
        for c, records in more.items():
            got[c].extend(records)
    return got


def values(records) -> list[str]:
    return [r.value.decode() for r in records]


def events_since(cluster: Cluster, mark: int, kind: str) -> list:
    """Events of ``kind`` (or its sub-kinds) emitted after ``len(cluster.events)`` was ``mark``."""
    return [e for e in list(cluster.events)[mark:]
            if e.kind == kind or e.kind.startswith(kind + ".")]


# --- requests to a group's coordinator, as a client sends them ---------------------------------
def coordinator(cluster: Cluster, group: str = "email-service") -> int:
    """The broker coordinating ``group`` (FindCoordinator's answer)."""
    return cluster.group_coordinator.coordinator_of(group)


COORDINATOR = "coordinator"


def _node(cluster: Cluster, request, node):
    """``node``, or for COORDINATOR that of the (first) group the request names."""
    if node != COORDINATOR:
        return node
    group = getattr(request, "group_id", None) or (
        getattr(request, "groups", None) or request.groups_names)[0]
    return coordinator(cluster, group)


def call(cluster: Cluster, request, node=COORDINATOR):
    """A request answered at once by broker ``node`` (default: the coordinator of the
    request's group; None: any broker): the response."""
    return transport_for(cluster.bootstrap_servers).call(_node(cluster, request, node), request)


def ask(cluster: Cluster, request, node=COORDINATOR, ms: int = 10):
    """A request sent to broker ``node`` (default: the coordinator of the request's group;
    None: any broker) and answered within ``ms`` of simulated time: the response (or the
    transport's error)."""
    answers: list = []
    transport_for(cluster.bootstrap_servers).send(_node(cluster, request, node), request,
                                                  answers.append)
    cluster.advance(ms=ms)
    [answer] = answers
    return answer


def commit_request(group: str, offsets: dict, generation: int = -1,
                   member_id: str = "") -> OffsetCommitRequest:
    """OffsetCommit of ``{TopicPartition: offset}`` (from outside the group by default)."""
    topics: dict = {}
    for tp, offset in offsets.items():
        topics.setdefault(tp.topic, []).append(OffsetCommitRequestPartition(tp.partition, offset))
    return OffsetCommitRequest(group, tuple(OffsetCommitRequestTopic(t, tuple(ps))
                                            for t, ps in topics.items()), generation, member_id)


def commit_errors(response) -> list:
    """The errors of an OffsetCommit response, one per partition (None: stored)."""
    return [error_from(p.error_code, p.error_message)
            for t in response.topics for p in t.partitions]
