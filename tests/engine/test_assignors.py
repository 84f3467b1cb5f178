"""Partition assignors (``partition_assignment_strategy``) and the two rebalance protocols.

The group leader runs kafka-python's own assignor classes over every member's subscription.
Textbook results (Kafka's javadoc examples), sticky vs range movement, eager vs cooperative
revocation and the rebalance listener's call order, and a hypothesis property: every
partition is assigned exactly once, balanced within one.
"""
from __future__ import annotations

import pytest
from group_helpers import events_since, generation, member, poll_all, settle
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.coordinator.assignors import range as _kp_range
from kafka.coordinator.assignors import roundrobin as _kp_roundrobin
from kafka.protocol.consumer.metadata import ConsumerProtocolSubscription

from kafkalab import ConsumerRebalanceListener, TopicPartition
from kafkalab.client.group_protocol import _JoinedMember
from kafkalab.coordinator.assignors import (
    CooperativeStickyAssignor,
    RangePartitionAssignor,
    RoundRobinPartitionAssignor,
    StickyPartitionAssignor,
    fixed,
)
from kafkalab.errors import InconsistentGroupProtocolError, KafkaConfigurationError

EAGER = [RangePartitionAssignor, RoundRobinPartitionAssignor, StickyPartitionAssignor]
# kafka-python's own range/roundrobin classes, as a consumer's default config names them: the
# engine runs kafkalab's fixed subclasses in their place
KAFKA_PYTHON = [_kp_range.RangePartitionAssignor, _kp_roundrobin.RoundRobinPartitionAssignor]


def partitions(c) -> list[str]:
    return sorted(f"{tp.topic}-{tp.partition}" for tp in c.assignment())


@pytest.fixture
def two_topics(cluster):
    """The javadoc's example: topics t0 and t1 with 3 partitions each."""
    cluster.create_topic("t0", partitions=3)
    cluster.create_topic("t1", partitions=3)
    return cluster


# --- textbook results ----------------------------------------------------------------------
@pytest.mark.parametrize("strategy, expected", [
    (RangePartitionAssignor, [["t0-0", "t0-1", "t1-0", "t1-1"], ["t0-2", "t1-2"]]),   # 4 / 2
    (RoundRobinPartitionAssignor, [["t0-0", "t0-2", "t1-1"], ["t0-1", "t1-0", "t1-2"]]),  # 3/3
])
def test_textbook_assignments(two_topics, strategy, expected):
    c0, c1 = (member(two_topics, "t0", "t1", client_id=name,
                     partition_assignment_strategy=[strategy]) for name in ("C0", "C1"))
    settle(two_topics, [c0, c1])
    assert [partitions(c0), partitions(c1)] == expected
    assert two_topics.group_coordinator.groups["email-service"].protocol == strategy.name


def test_the_default_strategy_is_range_then_roundrobin(two_topics):
    c0, c1 = (member(two_topics, "t0", "t1", client_id=n) for n in ("C0", "C1"))
    settle(two_topics, [c0, c1])
    assert [len(c0.assignment()), len(c1.assignment())] == [4, 2]
    [joined] = two_topics.events.of_kind("group.joined")
    assert "assignor range" in joined.text


def test_members_vote_for_a_common_assignor(two_topics):
    """A member preferring roundrobin and one preferring range, both offering both: the
    group picks one they all support (Kafka's vote)."""
    c0 = member(two_topics, "t0", "t1", client_id="C0", partition_assignment_strategy=[
        RoundRobinPartitionAssignor, RangePartitionAssignor])
    c1 = member(two_topics, "t0", "t1", client_id="C1", partition_assignment_strategy=[
        RangePartitionAssignor])
    settle(two_topics, [c0, c1])
    assert two_topics.group_coordinator.groups["email-service"].protocol == "range"


def test_static_and_dynamic_members_all_get_partitions_with_the_default_strategy(cluster):
    """kafka-python 3.0.12's range/roundrobin drop a member when static and dynamic members
    interleave; the engine runs fixed subclasses in their place."""
    cluster.create_topic("orders", partitions=6)
    consumers = [member(cluster, "orders", client_id=name, group_instance_id=instance)
                 for name, instance in (("a", "host-a"), ("b", None), ("c", "host-c"))]
    settle(cluster, consumers)
    assert [len(c.assignment()) for c in consumers] == [2, 2, 2]
    assert cluster.group_coordinator.groups["email-service"].protocol == "range"


def test_roundrobin_with_members_subscribed_to_different_topics(two_topics):
    strategy = [_kp_roundrobin.RoundRobinPartitionAssignor]   # kafka-python's class
    c0 = member(two_topics, "t0", client_id="C0", partition_assignment_strategy=strategy)
    c1 = member(two_topics, "t0", "t1", client_id="C1", partition_assignment_strategy=strategy)
    settle(two_topics, [c0, c1])
    assert partitions(c0) == ["t0-0", "t0-2"]
    assert partitions(c1) == ["t0-1", "t1-0", "t1-1", "t1-2"]


def test_mixing_eager_and_cooperative_assignors_is_refused(cluster):
    with pytest.raises(KafkaConfigurationError, match="mixes eager and cooperative"):
        member(cluster, "orders", partition_assignment_strategy=[RangePartitionAssignor,
                                                                 CooperativeStickyAssignor])


def test_a_member_sharing_no_assignor_with_the_group_is_refused(cluster):
    cluster.create_topic("orders", partitions=3)
    a = member(cluster, "orders", partition_assignment_strategy=[RangePartitionAssignor])
    settle(cluster, [a])
    b = member(cluster, "orders", partition_assignment_strategy=[CooperativeStickyAssignor])
    with pytest.raises(InconsistentGroupProtocolError, match="must share one"):
        for _ in range(5):
            b.poll(timeout_ms=100)
    assert len(a.assignment()) == 3 and generation(cluster) == 1


# --- sticky and cooperative ----------------------------------------------------------------
def owner_map(consumers) -> dict[TopicPartition, str]:
    return {tp: c.config["client_id"] for c in consumers for tp in c.assignment()}


@pytest.mark.parametrize("leaver", ["a", "b"])
def test_sticky_moves_fewer_partitions_than_range_when_a_member_leaves(cluster, leaver):
    cluster.create_topic("orders", partitions=6)
    moved = {}
    for strategy in (RangePartitionAssignor, StickyPartitionAssignor):
        group = f"g-{strategy.name}"
        consumers = [member(cluster, "orders", group=group, client_id=n,
                            partition_assignment_strategy=[strategy]) for n in "abc"]
        settle(cluster, consumers, group)
        before = owner_map(consumers)
        gone = next(c for c in consumers if c.config["client_id"] == leaver)
        gone.close()
        survivors = [c for c in consumers if c is not gone]
        settle(cluster, survivors, group)
        after = owner_map(survivors)
        assert sorted(after) == sorted(before)                 # all 6 still owned
        moved[strategy.name] = sum(before[tp] != after[tp] for tp in before)
        kept = [tp for tp in before if before[tp] != leaver]
        if strategy is StickyPartitionAssignor:   # survivors keep every partition they had
            assert all(after[tp] == before[tp] for tp in kept)
    assert moved["sticky"] == 2                                # just the leaver's two
    assert moved["sticky"] <= moved["range"]
    if leaver == "a":   # range shifts every range down: b gives partition 3 to c as well
        assert moved["range"] == 3


class Recorder(ConsumerRebalanceListener):
    """Records each callback with the position in the event log where it happened."""

    def __init__(self, cluster, name, log):
        self.cluster, self.name, self.log = cluster, name, log

    def on_partitions_revoked(self, revoked):
        self.log.append((self.name, "revoked", frozenset(revoked), len(self.cluster.events)))

    def on_partitions_assigned(self, assigned):
        self.log.append((self.name, "assigned", frozenset(assigned), len(self.cluster.events)))


def group_of_three_then_a_fourth(cluster, strategy):
    """Three members on a 6-partition topic, settled; then ``d`` joins. Polls every member in
    turn, checking after each poll that no partition is owned by two consumers at once."""
    cluster.create_topic("orders", partitions=6)
    log: list = []
    consumers = []
    for name in "abc":
        c = member(cluster, client_id=name, partition_assignment_strategy=[strategy])
        c.subscribe(["orders"], listener=Recorder(cluster, name, log))
        consumers.append(c)
    settle(cluster, consumers)
    log.clear()
    before = {c.config["client_id"]: set(c.assignment()) for c in consumers}
    gen, mark = generation(cluster), len(cluster.events)
    d = member(cluster, client_id="d", partition_assignment_strategy=[strategy])
    d.subscribe(["orders"], listener=Recorder(cluster, "d", log))
    consumers.append(d)
    for _ in range(200):
        poll_all(consumers, 1, 100)
        owned = [tp for c in consumers for tp in c.assignment()]
        assert len(owned) == len(set(owned)), "a partition owned twice"
    settle(cluster, consumers)
    return consumers, before, log, gen, mark


def test_eager_revokes_everything_before_joining_and_assigns_after_sync(cluster):
    consumers, before, log, gen, mark = group_of_three_then_a_fourth(cluster,
                                                                      StickyPartitionAssignor)
    assert generation(cluster) == gen + 1                      # one rebalance
    revoked = {name: set(s) for name, kind, s, _ in log if kind == "revoked"}
    # every partition went back; d's first join revokes nothing (kafka-python 3 still calls)
    assert revoked == before | {"d": set()}
    events = list(cluster.events)
    joined = next(i for i, e in enumerate(events) if i >= mark and e.kind == "group.joined")
    stable = next(i for i, e in enumerate(events) if i > joined and e.kind == "group.stable")
    for name, kind, parts, at in log:
        if kind == "revoked":   # before the new generation was formed (JoinGroup)
            assert at <= joined, (name, kind)
        else:                   # after the leader's assignment arrived (SyncGroup)
            assert at > stable, (name, kind)
    kinds = [kind for _, kind, _, _ in log]
    assert kinds == sorted(kinds, key=lambda k: k != "revoked")   # all revokes, then assigns
    assigned = {name: set(s) for name, kind, s, _ in log if kind == "assigned"}
    assert sum(map(len, assigned.values())) == 6 and len(assigned["d"]) == 1


def test_cooperative_sticky_revokes_only_what_moves_in_two_rebalances(cluster):
    consumers, before, log, gen, mark = group_of_three_then_a_fourth(
        cluster, CooperativeStickyAssignor)
    assert generation(cluster) == gen + 2                      # two rebalances
    revoked = [(name, set(s)) for name, kind, s, _ in log if kind == "revoked"]
    [(giver, moved)] = revoked                                 # one member gives one up
    assert len(moved) == 1 and moved <= before[giver]
    after = {c.config["client_id"]: set(c.assignment()) for c in consumers}
    assert after["d"] == moved
    for name in "abc":                                         # the rest never stopped
        assert before[name] - moved <= after[name]
    events = list(cluster.events)
    stables = [i for i, e in enumerate(events) if i >= mark and e.kind == "group.stable"]
    assert len(stables) == 2
    [(_, _, _, revoked_at)] = [x for x in log if x[1] == "revoked"]
    assert stables[0] < revoked_at < stables[1]   # after the first sync, before the second
    d_gets = [(s, at) for name, kind, s, at in log if name == "d" and kind == "assigned" and s]
    assert [(set(s), at > stables[1]) for s, at in d_gets] == [(moved, True)]
    reasons = [e.data["reason"] for e in events_since(cluster, mark, "group.rebalance_started")]
    assert reasons[0].endswith("joined") and reasons[1].startswith(f"member {giver}-")


def test_eager_sticky_and_cooperative_end_in_the_same_assignment():
    from kafkalab import Cluster

    results = []
    for strategy in (StickyPartitionAssignor, CooperativeStickyAssignor):
        c = Cluster(seed=0, port=9300 + len(results) * 10)
        consumers, *_ = group_of_three_then_a_fourth(c, strategy)
        results.append(sorted(len(x.assignment()) for x in consumers))
    assert results[0] == results[1] == [1, 1, 2, 2]


# --- the property: every partition exactly once, balanced -------------------------------------
class _View:
    """What an assignor reads of the cluster metadata."""

    def __init__(self, topics: dict[str, int]):
        self._topics = topics

    def partitions_for_topic(self, topic):
        return set(range(self._topics[topic])) if topic in self._topics else None

    def topics(self, exclude_internal_topics=True):
        return set(self._topics)


def assign_round(assignor_cls, topics, subscriptions, instances, generation_id, static=()):
    """One rebalance as the engine runs it: each member's own assignor instance writes its
    subscription (with its previous assignment), the leader's assigns, everyone learns.
    Members named in ``static`` have a group_instance_id."""
    joined = []
    for m, subscribed in subscriptions.items():
        instance = instances.setdefault(m, fixed(assignor_cls)())
        raw = ConsumerProtocolSubscription.encode(instance.metadata(sorted(subscribed)))
        joined.append(_JoinedMember(m, f"host-{m}" if m in static else None,
                                    ConsumerProtocolSubscription.decode(raw)))
    result = instances[next(iter(subscriptions))].assign(_View(topics), joined)
    out = {}
    for m, assignment in result.items():
        instances[m].on_assignment(assignment, generation_id)
        out[m] = set(assignment.partitions())
    return out


def check_exactly_once(topics, subscriptions, result):
    every = [tp for parts in result.values() for tp in parts]
    assert len(every) == len(set(every)), "a partition assigned twice"
    wanted = {TopicPartition(t, p) for subs in subscriptions.values() for t in subs
              for p in range(topics[t])}
    assert set(every) == wanted, "a partition left out"
    for m, parts in result.items():
        assert {tp.topic for tp in parts} <= set(subscriptions[m])


def spread(counts) -> int:
    return max(counts) - min(counts)


group_shapes = st.fixed_dictionaries({
    "members": st.integers(1, 6),
    "topics": st.lists(st.integers(1, 8), min_size=1, max_size=3),
})


@settings(max_examples=60, deadline=None)
@given(shape=group_shapes, data=st.data(),
       strategy=st.sampled_from(EAGER + KAFKA_PYTHON + [CooperativeStickyAssignor]))
def test_every_partition_is_assigned_exactly_once_and_balanced(shape, data, strategy):
    topics = {f"t{i}": n for i, n in enumerate(shape["topics"])}
    subscriptions = {f"m{i}": sorted(topics) for i in range(shape["members"])}
    static = {m for m in subscriptions if data.draw(st.booleans(), label=f"{m} static")}
    result = assign_round(strategy, topics, subscriptions, {}, 1, static)
    check_exactly_once(topics, subscriptions, result)
    if fixed(strategy) is RangePartitionAssignor:   # range balances each topic on its own
        for t in topics:
            assert spread([sum(tp.topic == t for tp in parts) for parts in result.values()]) <= 1
    else:
        assert spread([len(parts) for parts in result.values()]) <= 1


@settings(max_examples=40, deadline=None)
@given(shape=group_shapes, data=st.data(),
       strategy=st.sampled_from(EAGER + KAFKA_PYTHON + [CooperativeStickyAssignor]))
def test_exactly_once_with_mixed_subscriptions(shape, data, strategy):
    topics = {f"t{i}": n for i, n in enumerate(shape["topics"])}
    subscriptions = {f"m{i}": data.draw(st.lists(st.sampled_from(sorted(topics)), min_size=1,
                                                 unique=True)) for i in range(shape["members"])}
    static = {m for m in subscriptions if data.draw(st.booleans(), label=f"{m} static")}
    result = assign_round(strategy, topics, subscriptions, {}, 1, static)
    check_exactly_once(topics, subscriptions, result)


@settings(max_examples=40, deadline=None)
@given(shape=group_shapes, data=st.data(),
       strategy=st.sampled_from([StickyPartitionAssignor, CooperativeStickyAssignor]))
def test_sticky_survivors_keep_their_partitions_when_a_member_leaves(shape, data, strategy):
    if shape["members"] < 2:
        return
    topics = {f"t{i}": n for i, n in enumerate(shape["topics"])}
    subscriptions = {f"m{i}": sorted(topics) for i in range(shape["members"])}
    instances: dict = {}
    first = assign_round(strategy, topics, subscriptions, instances, 1)
    leaver = data.draw(st.sampled_from(sorted(subscriptions)))
    del subscriptions[leaver]
    if strategy is CooperativeStickyAssignor:
        for m in subscriptions:                    # cooperative members report what they own
            instances[m].member_assignment = sorted(first[m])
    second = assign_round(strategy, topics, subscriptions, instances, 2)
    check_exactly_once(topics, subscriptions, second)
    assert spread([len(p) for p in second.values()]) <= 1
    for m in subscriptions:
        assert first[m] <= second[m], f"{m} lost partitions it could have kept"


# --- a learner's own assignor ----------------------------------------------------------------
class AllToFirst(StickyPartitionAssignor.__mro__[1]):          # AbstractPartitionAssignor
    """Every partition to the first member by member id (a deliberately bad strategy)."""

    name = "all-to-first"
    version = 0

    def assign(self, cluster, members):
        from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

        first = min(m.member_id for m in members)
        topics = sorted({t for m in members for t in m.metadata.topics})
        everything = [(t, sorted(cluster.partitions_for_topic(t))) for t in topics]
        return {m.member_id: ConsumerProtocolAssignment(0, everything if m.member_id == first
                                                        else [], b"") for m in members}

    def metadata(self, topics):
        return ConsumerProtocolSubscription(0, list(topics), b"")

    def on_assignment(self, assignment, generation):
        pass


class Broken(AllToFirst):
    name = "broken"

    def assign(self, cluster, members):
        raise RuntimeError("my assignor has a bug")


def test_a_custom_assignor_runs_in_the_leader(two_topics):
    c0, c1 = (member(two_topics, "t0", "t1", client_id=n,
                     partition_assignment_strategy=[AllToFirst]) for n in ("C0", "C1"))
    settle(two_topics, [c0, c1])
    assert len(c0.assignment()) == 6 and c1.assignment() == set()
    assert two_topics.group_coordinator.groups["email-service"].protocol == "all-to-first"


def test_a_failing_assignor_raises_in_the_leaders_own_poll(two_topics):
    leader = member(two_topics, "t0", client_id="C0", partition_assignment_strategy=[Broken])
    other = member(two_topics, "t0", client_id="C1", partition_assignment_strategy=[Broken])
    raised = []
    for _ in range(50):
        for c in (leader, other):                          # the first to join leads
            try:
                c.poll(timeout_ms=100)
            except RuntimeError as error:
                raised.append((c, str(error)))
        if raised:
            break
    assert raised == [(leader, "my assignor has a bug")]


def test_cooperative_member_drops_an_unsubscribed_topic_before_rejoining(cluster):
    """As kafka-python: under the cooperative protocol a member revokes the partitions of a
    topic it no longer subscribes to before its JoinGroup — it does not keep reading them."""
    cluster.create_topic("orders", partitions=2)
    cluster.create_topic("payments", partitions=2)
    log: list = []
    a, b = (member(cluster, client_id=n, partition_assignment_strategy=[
        CooperativeStickyAssignor]) for n in "ab")
    a.subscribe(["orders", "payments"], listener=Recorder(cluster, "a", log))
    b.subscribe(["orders", "payments"], listener=Recorder(cluster, "b", log))
    settle(cluster, [a, b])
    log.clear()
    a.subscribe(["orders"], listener=Recorder(cluster, "a", log))
    a.poll(timeout_ms=0)
    assert {tp.topic for tp in a.assignment()} == {"orders"}
    assert [(n, k, {tp.topic for tp in s}) for n, k, s, _ in log] == [
        ("a", "revoked", {"payments"})]
    settle(cluster, [a, b])
    assert {tp.topic for tp in a.assignment()} == {"orders"}
    assert a.assignment() | b.assignment() == {TopicPartition(t, p) for t in ("orders",
                                                                              "payments")
                                               for p in range(2)}
