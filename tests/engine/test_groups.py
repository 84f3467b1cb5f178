"""Consumer groups as the lesson teaches them ("Consumer Groups", "Consumer (Python)", "Consumer
Lag"): one consumer per partition inside a group, independent groups, rebalances and what
triggers them, static membership, commits and delivery guarantees, the lag table, admin APIs.

Several consumers share one thread here, so scenarios poll every member in turn
(``group_helpers.poll_all``/``settle``), as Kafka members each make progress in their own poll.
"""
from __future__ import annotations

import pytest
from group_helpers import (
    call,
    commit_errors,
    commit_request,
    drain,
    events_since,
    generation,
    member,
    owners,
    poll_all,
    produce,
    settle,
    state,
    values,
)
from kafka.admin import OffsetSpec, OffsetTimestamp

from kafkalab import (
    Cluster,
    ConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)
from kafkalab.api.base import error_from
from kafkalab.api.messages.groups import HeartbeatRequest, LeaveGroupRequest, MemberIdentity
from kafkalab.errors import (
    CommitFailedError,
    FencedInstanceIdError,
    GroupIdNotFoundError,
    IllegalGenerationError,
    NonEmptyGroupError,
    NoError,
    NoOffsetForPartitionError,
    UnknownMemberIdError,
)

ORDERS = [TopicPartition("orders", p) for p in range(3)]


@pytest.fixture
def orders(cluster):
    """``orders`` with 3 partitions and 10 records in each (``orders-0`` .. ``orders-29``)."""
    cluster.create_topic("orders", partitions=3, replication_factor=1)
    produce(cluster, "orders", 30)
    return cluster


class Recorder(ConsumerRebalanceListener):
    def __init__(self, log: list, name: str = ""):
        self.log, self.name = log, name

    def on_partitions_revoked(self, revoked):
        self.log.append((self.name, "revoked", set(revoked)))

    def on_partitions_assigned(self, assigned):
        self.log.append((self.name, "assigned", set(assigned)))


# --- Правила: one consumer per partition, independent groups, scaling -----------------------------
def test_a_partition_is_read_by_only_one_consumer_of_a_group(orders):
    consumers = [member(orders, "orders", client_id=f"email-{i}") for i in range(3)]
    got = drain(orders, consumers)
    owned = owners(orders, "email-service")
    assert sorted(owned) == ORDERS and len(set(owned.values())) == 3
    for c in consumers:
        [tp] = c.assignment()                                  # one partition each
        assert {(r.topic, r.partition) for r in got[c]} == {tuple(tp)}
        assert owned[tp] == c.group_metadata().member_id
    everything = [v for c in consumers for v in values(got[c])]
    assert sorted(everything) == sorted(f"orders-{i}" for i in range(30))   # each once


def test_different_groups_read_the_same_topic_independently(orders):
    """The lesson's picture: email-service 3 consumers (one partition each), analytics-service
    2 consumers (partitions 0, 1 and partition 2); each group has its own offsets."""
    email = [member(orders, "orders", client_id=f"email-{i}", enable_auto_commit=False)
             for i in range(3)]
    analytics = [member(orders, "orders", group="analytics-service", client_id=f"an-{i}",
                        enable_auto_commit=False) for i in range(2)]
    got_email = drain(orders, email)
    got_analytics = settle(orders, analytics, "analytics-service")
    assert [sorted(p.partition for p in c.assignment()) for c in analytics] == [[0, 1], [2]]
    assert [sorted(p.partition for p in c.assignment()) for c in email] == [[0], [1], [2]]
    more = drain(orders, analytics, "analytics-service")
    for c in analytics:
        got_analytics[c] += more[c]
    # both groups read all 30 records: a group does not take records away from another
    for got in (got_email, got_analytics):
        assert sorted(v for rs in got.values() for v in values(rs)) == sorted(
            f"orders-{i}" for i in range(30))
    for c in email:
        c.commit()                                             # email-service is done
    analytics[0].commit({ORDERS[0]: 3})                        # analytics-service: not quite
    admin = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers)
    email_offsets = admin.list_group_offsets(["email-service"])["email-service"]
    analytics_offsets = admin.list_group_offsets(["analytics-service"])["analytics-service"]
    assert {tp: o.offset for tp, o in email_offsets.items()} == {tp: 10 for tp in ORDERS}
    assert {tp: o.offset for tp, o in analytics_offsets.items()} == {ORDERS[0]: 3}
    assert email[0].committed(ORDERS[0]) == 10 and analytics[0].committed(ORDERS[0]) == 3
    assert analytics[1].committed(ORDERS[2]) is None


def test_scaling_a_group_up_to_the_partition_count_extra_members_stay_idle(orders):
    consumers, generations = [], []
    for i in range(4):
        consumers.append(member(orders, "orders", client_id=f"email-{i}"))
        settle(orders, consumers)
        generations.append(generation(orders, "email-service"))
        sizes = sorted(len(c.assignment()) for c in consumers)
        assert sum(sizes) == 3 and sizes[-1] - sizes[0] <= 1, sizes
    assert sizes == [0, 1, 1, 1]                               # the fourth one has nothing
    assert generations == sorted(set(generations))             # every join was a rebalance
    [idle] = [c for c in consumers if not c.assignment()]
    assert idle.poll(timeout_ms=1000) == {}
    table = orders.describe_consumer_group("email-service")
    busy = {c.group_metadata().member_id for c in consumers if c.assignment()}
    assert set(table["CONSUMER-ID"]) == busy
    assert idle.group_metadata().member_id not in set(table["CONSUMER-ID"])


# --- the group's state machine -----------------------------------------------------------------
def test_the_first_rebalance_of_an_empty_group_waits_for_more_members(orders):
    seen = []
    orders.events.subscribe(lambda e: e.kind.startswith("group.") and seen.append(
        (e.kind, state(orders))))
    a = member(orders, "orders", client_id="a")
    start = orders.now_ms()
    a.poll(timeout_ms=100)                                     # joins; the group waits
    assert state(orders) == "PreparingRebalance"
    b = member(orders, "orders", client_id="b")                # arrives within the delay
    settle(orders, [a, b])
    [started] = orders.events.of_kind("group.rebalance_started")
    [delayed] = orders.events.of_kind("group.rebalance_delayed")
    [joined] = orders.events.of_kind("group.joined")
    assert "group.initial.rebalance.delay.ms" in started.text
    assert started.time_ms - start <= 3    # FindCoordinator's round trip, then JoinGroup
    # b came during the delay: Kafka waits one more delay for further members (up to the
    # rebalance timeout), so consumers starting together cause one rebalance
    assert delayed.time_ms - started.time_ms == 3000           # the delay, in simulated time
    assert joined.time_ms - started.time_ms == 6000
    assert generation(orders, "email-service") == 1            # one rebalance for both
    assert seen[:4] == [("group.rebalance_started", "PreparingRebalance"),
                        ("group.rebalance_delayed", "PreparingRebalance"),
                        ("group.joined", "CompletingRebalance"),
                        ("group.stable", "Stable")]
    a.close()
    b.close()
    assert state(orders) == "Empty"
    assert seen[-1] == ("group.empty", "Empty")
    KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers).delete_groups(["email-service"])
    assert state(orders) == "Dead"


def test_a_lone_first_member_waits_the_initial_delay_once(orders):
    a = member(orders, "orders")
    settle(orders, [a])
    [started] = orders.events.of_kind("group.rebalance_started")
    [joined] = orders.events.of_kind("group.joined")
    assert joined.time_ms - started.time_ms == 3000
    assert not orders.events.of_kind("group.rebalance_delayed")


def test_the_initial_delay_is_a_broker_config():
    cluster = Cluster(config={"group.initial.rebalance.delay.ms": 0})
    cluster.create_topic("orders", 3)
    a = member(cluster, "orders")
    a.poll(timeout_ms=100)
    assert state(cluster) == "Stable" and len(a.assignment()) == 3


# --- rebalances and what triggers them -------------------------------------------------------
@pytest.fixture
def pair(orders):
    """Two members of email-service, settled (generation 1), records drained."""
    log: list = []
    a = member(orders, client_id="a", enable_auto_commit=False)
    b = member(orders, client_id="b", enable_auto_commit=False)
    a.subscribe(["orders"], listener=Recorder(log, "a"))
    b.subscribe(["orders"], listener=Recorder(log, "b"))
    drain(orders, [a, b])
    assert generation(orders, "email-service") == 1
    log.clear()
    return orders, a, b, log


def rebalance_reasons(cluster, mark) -> list[str]:
    return [e.data["reason"] for e in events_since(cluster, mark, "group.rebalance_started")]


def drain_until_rebalanced(cluster, consumers, mark) -> dict:
    """Poll every consumer (1 s at a time, for at most 10 minutes) until a rebalance started
    after ``mark``, then drain; {consumer: [records read]}."""
    got = {c: [] for c in consumers}
    for _ in range(600):
        if rebalance_reasons(cluster, mark):
            break
        for c, records in poll_all(consumers, 1, timeout_ms=1000).items():
            got[c].extend(records)
    else:
        raise AssertionError("no rebalance within 10 minutes")
    for c, records in drain(cluster, consumers).items():
        got[c].extend(records)
    return got


def test_a_member_joining_triggers_a_rebalance(pair):
    cluster, a, b, log = pair
    mark = len(cluster.events)
    c = member(cluster, "orders", client_id="c")
    settle(cluster, [a, b, c])
    [reason] = rebalance_reasons(cluster, mark)
    assert reason.startswith("member c-") and reason.endswith(" joined")
    assert generation(cluster, "email-service") == 2
    assert [len(x.assignment()) for x in (a, b, c)] == [1, 1, 1]
    assert ("a", "revoked", {ORDERS[0], ORDERS[1]}) in log    # eager: everything goes back


def test_a_member_leaving_triggers_a_rebalance(pair):
    cluster, a, b, log = pair
    mark = len(cluster.events)
    b.close()
    [left] = events_since(cluster, mark, "group.member_removed")
    assert "the consumer closed" in left.text
    settle(cluster, [a])
    assert rebalance_reasons(cluster, mark) == [f"member {left.data['member']} left (the "
                                                "consumer closed)"]
    assert generation(cluster, "email-service") == 2
    assert a.assignment() == set(ORDERS)
    assert log == [("b", "revoked", {ORDERS[2]}), ("a", "revoked", {ORDERS[0], ORDERS[1]}),
                   ("a", "assigned", set(ORDERS))]


def test_a_crashed_member_is_noticed_after_the_session_timeout(pair):
    cluster, a, b, log = pair
    mark = len(cluster.events)
    crashed_at = cluster.now_ms()
    cluster.faults.crash_consumer(b)
    assert "session.timeout.ms=45000" in events_since(cluster, mark, "fault")[0].text
    poll_all([a], rounds=50, timeout_ms=1000)                  # a keeps working meanwhile
    [removed] = events_since(cluster, mark, "group.member_removed")
    # b's last heartbeat was at most heartbeat_interval_ms=3000 before the crash
    assert crashed_at + 42_000 <= removed.time_ms <= crashed_at + 45_000
    assert "no heartbeat for 45000 ms (session.timeout.ms)" in removed.text
    assert len(rebalance_reasons(cluster, mark)) == 1
    settle(cluster, [a])
    assert a.assignment() == set(ORDERS) and generation(cluster, "email-service") == 2
    assert ("b", "revoked", {ORDERS[2]}) not in log            # a crash runs no callback


def test_a_member_that_stops_polling_leaves_after_max_poll_interval(orders):
    log: list = []
    a = member(orders, client_id="a", max_poll_interval_ms=20_000)
    b = member(orders, client_id="b", max_poll_interval_ms=20_000)
    a.subscribe(["orders"], listener=Recorder(log, "a"))
    b.subscribe(["orders"], listener=Recorder(log, "b"))
    drain(orders, [a, b])
    b_last_poll = orders.now_ms()               # the poll timer restarts as a poll begins
    b.poll(timeout_ms=0)
    b_member = b.group_metadata().member_id
    mark = len(orders.events)
    poll_all([a], rounds=30, timeout_ms=1000)                  # b is "stuck processing"
    [removed] = events_since(orders, mark, "group.member_removed")
    assert removed.data["member"] == b_member
    # b's LeaveGroup reaches the coordinator one network latency after the interval ran out
    assert removed.time_ms == b_last_poll + 20_000 + orders.network_latency_ms
    assert "max_poll_interval_ms=20000" in removed.text
    assert a.assignment() == set(ORDERS)                       # a took over the partitions
    assert generation(orders, "email-service") == 2
    log.clear()
    # b comes back: its partitions were lost (on_partitions_lost -> on_partitions_revoked),
    # it rejoins as a new member and the group rebalances once more
    settle(orders, [a, b])
    assert ("b", "revoked", {ORDERS[2]}) in log
    assert events_since(orders, mark, "consumer.partitions_lost")
    assert b.group_metadata().member_id != b_member
    assert generation(orders, "email-service") == 3


def test_a_slow_member_is_waited_for_up_to_the_rebalance_timeout(orders):
    """A rebalance waits for every member to rejoin for up to max_poll_interval_ms — longer
    than the session timeout: a member busy for a minute is not thrown out, and the members
    already waiting are not either."""
    a, b = member(orders, "orders", client_id="a"), member(orders, "orders", client_id="b")
    settle(orders, [a, b])
    mark = len(orders.events)
    c = member(orders, "orders", client_id="c")
    poll_all([a, c], rounds=60, timeout_ms=1000)               # b does not poll for 60 s
    assert state(orders) == "PreparingRebalance"
    assert not events_since(orders, mark, "group.member_removed")
    settle(orders, [a, b, c])
    assert generation(orders, "email-service") == 2            # one rebalance, three members
    assert [len(x.assignment()) for x in (a, b, c)] == [1, 1, 1]


def test_a_subscription_change_triggers_a_rebalance(pair):
    cluster, a, b, log = pair
    cluster.create_topic("payments", partitions=2)
    mark = len(cluster.events)
    b.subscribe(["orders", "payments"], listener=Recorder(log, "b"))
    settle(cluster, [a, b])
    [rejoin] = events_since(cluster, mark, "consumer.rejoin")
    assert "its topics changed ({'orders': 3} -> {'orders': 3, 'payments': 2})" in rejoin.text
    assert len(rebalance_reasons(cluster, mark)) == 1
    assert generation(cluster, "email-service") == 2
    assert {tp.topic for tp in b.assignment()} == {"orders", "payments"}
    assert {tp.topic for tp in a.assignment()} == {"orders"}   # a does not subscribe to it


def test_a_pattern_subscription_picks_up_a_new_topic(orders):
    """At the members' next refresh of every topic's metadata (metadata_max_age_ms)."""
    a = member(orders, client_id="a")
    b = member(orders, client_id="b")
    for c in (a, b):
        c.subscribe(pattern="^orders.*")
    settle(orders, [a, b])
    mark = len(orders.events)
    orders.create_topic("orders-eu", partitions=2)
    produce(orders, "orders-eu", 4)
    got = drain_until_rebalanced(orders, [a, b], mark)
    assert len(rebalance_reasons(orders, mark)) == 1
    assert generation(orders, "email-service") == 2
    assigned = a.assignment() | b.assignment()
    assert assigned == set(ORDERS) | {TopicPartition("orders-eu", p) for p in range(2)}
    assert sorted(v for rs in got.values() for v in values(rs)) == [f"orders-eu-{i}"
                                                                    for i in range(4)]


def test_partitions_added_to_a_subscribed_topic_trigger_a_rebalance(pair):
    """As in Kafka, the members see the new partition at their next metadata refresh:
    metadata_max_age_ms (5 minutes) after the last one."""
    cluster, a, b, log = pair
    mark = len(cluster.events)
    KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers).create_partitions(
        {"orders": 4})
    produce(cluster, "orders", 4, start=100)                   # one lands on the new partition
    got = poll_all([a, b], rounds=30, timeout_ms=1000)
    assert not rebalance_reasons(cluster, mark)                # not yet: metadata is cached
    for c, records in drain_until_rebalanced(cluster, [a, b], mark).items():
        got[c].extend(records)
    assert len(rebalance_reasons(cluster, mark)) == 1
    assert generation(cluster, "email-service") == 2
    assert a.assignment() | b.assignment() == {TopicPartition("orders", p) for p in range(4)}
    assert "orders-103" in [v for rs in got.values() for v in values(rs)]


def test_a_member_removed_while_it_waits_to_join_is_told_so(orders):
    """A JoinGroup still waiting when its member is removed gets an answer (and the consumer
    rejoins) instead of waiting forever."""
    a = member(orders, "orders", client_id="a")
    settle(orders, [a])
    b = member(orders, "orders", client_id="b", session_timeout_ms=6000)
    b.poll(timeout_ms=10)                                      # b's JoinGroup is now waiting
    b_member = orders.group_coordinator.groups["email-service"].members
    [b_id] = [m for m in b_member if m.startswith("b-")]
    left = call(orders, LeaveGroupRequest("email-service", (
        MemberIdentity(b_id, None, "removed by the test"),)))
    assert left.error_code == 0 and [m.error_code for m in left.members] == [0]
    settle(orders, [a, b])
    assert b.group_metadata().member_id not in ("", b_id) and len(b.assignment()) == 1


# --- static membership (KIP-345) ---------------------------------------------------------------
def test_a_static_member_restarting_within_the_session_keeps_its_partitions(orders):
    a = member(orders, "orders", client_id="a", group_instance_id="email-host-a")
    b = member(orders, "orders", client_id="b", group_instance_id="email-host-b")
    settle(orders, [a, b])
    before, gen = b.assignment(), generation(orders, "email-service")
    mark = len(orders.events)
    b.close()                                  # a static member sends no LeaveGroup on close
    poll_all([a], rounds=20, timeout_ms=1000)  # 20 s < session.timeout.ms
    b2 = member(orders, "orders", client_id="b", group_instance_id="email-host-b")
    settle(orders, [a, b2])
    assert b2.assignment() == before
    assert generation(orders, "email-service") == gen          # no rebalance at all
    assert not events_since(orders, mark, "group.rebalance_started")
    [back] = events_since(orders, mark, "group.static_member_rejoined")
    assert "email-host-b" in back.text and "no rebalance" in back.text
    # a crash is no different
    c_mark = len(orders.events)
    orders.faults.crash_consumer(b2)
    b3 = member(orders, "orders", client_id="b", group_instance_id="email-host-b")
    settle(orders, [a, b3])
    assert b3.assignment() == before and generation(orders, "email-service") == gen
    assert not events_since(orders, c_mark, "group.rebalance_started")


def test_a_static_member_gone_longer_than_the_session_is_replaced(orders):
    a = member(orders, "orders", client_id="a", group_instance_id="email-host-a")
    b = member(orders, "orders", client_id="b", group_instance_id="email-host-b")
    settle(orders, [a, b])
    gen = generation(orders, "email-service")
    b.close()
    poll_all([a], rounds=50, timeout_ms=1000)  # 50 s > session.timeout.ms=45 s
    assert generation(orders, "email-service") == gen + 1 and a.assignment() == set(ORDERS)


def test_the_old_instance_of_a_replaced_static_member_is_fenced(orders):
    a = member(orders, "orders", client_id="a", group_instance_id="email-host-a")
    settle(orders, [a])
    zombie_id = a.group_metadata().member_id
    a2 = member(orders, "orders", client_id="a", group_instance_id="email-host-a")
    settle(orders, [a2])
    assert a2.assignment() == set(ORDERS)
    with pytest.raises(FencedInstanceIdError, match="newer instance"):
        for _ in range(5):                     # its next heartbeat learns it, poll raises
            a.poll(timeout_ms=1000)
    answer = call(orders, HeartbeatRequest("email-service", generation(orders), zombie_id))
    assert isinstance(error_from(answer.error_code, answer.error_message),
                      FencedInstanceIdError)


# --- commits -----------------------------------------------------------------------------------
def test_commit_and_committed(orders):
    c = member(orders, "orders", enable_auto_commit=False)
    drain(orders, [c])
    assert all(c.committed(tp) is None for tp in ORDERS)
    c.commit()
    assert {tp: c.committed(tp) for tp in ORDERS} == {tp: 10 for tp in ORDERS}
    c.commit({ORDERS[1]: OffsetAndMetadata(4, "batch 7 done", -1)})
    assert c.committed(ORDERS[1], metadata=True) == OffsetAndMetadata(4, "batch 7 done", -1)
    assert c.committed(ORDERS[0]) == 10                        # other partitions untouched
    offsets = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers
                               ).list_consumer_group_offsets("email-service")
    assert offsets[ORDERS[1]].metadata == "batch 7 done"


def test_commit_async_calls_back_later_in_simulated_time(orders):
    c = member(orders, "orders", enable_auto_commit=False)
    drain(orders, [c])
    calls = []
    sent_at = orders.now_ms()
    future = c.commit_async(callback=lambda offsets, error: calls.append(
        (orders.now_ms(), offsets, error)))
    assert calls == [] and not future.is_done                  # nothing happened yet
    c.poll(timeout_ms=50)
    [(at, offsets, error)] = calls
    assert error is None and at > sent_at and future.succeeded()
    assert {tp: o.offset for tp, o in offsets.items()} == {tp: 10 for tp in ORDERS}
    assert c.committed(ORDERS[2]) == 10


def commit_times(cluster, group="email-service") -> list[int]:
    """commit_timestamp of every offset commit record of ``group`` in __consumer_offsets."""
    from kafkalab.coordinator import offsets_topic as ot

    partition = cluster.partition("__consumer_offsets", ot.partition_for(group))
    decoded = [ot.decode(r.key, r.value) for b in partition.leader_log.batches()
               for r in b.records]
    return sorted({d.commit_timestamp for d in decoded
                   if isinstance(d, ot.OffsetCommit) and d.group == group})


def test_auto_commit_every_auto_commit_interval_ms(orders):
    """enable_auto_commit: poll() commits the positions once auto_commit_interval_ms has
    passed since the last auto-commit (at the first poll after it)."""
    created = orders.now_ms()
    c = member(orders, "orders", auto_commit_interval_ms=5000)
    drain(orders, [c])
    assert orders.now_ms() < created + 5000
    assert c.committed(ORDERS[0]) is None                      # not yet: the interval runs
    while c.committed(ORDERS[0]) is None:
        c.poll(timeout_ms=500)
    assert [c.committed(tp) for tp in ORDERS] == [10, 10, 10]
    [first] = commit_times(orders)
    assert created + 5000 <= first <= created + 5500
    produce(orders, "orders", 3, start=30)
    assert sum(len(rs) for rs in c.poll(timeout_ms=100).values()) == 3
    assert [c.committed(tp) for tp in ORDERS] == [10, 10, 10]  # until the next interval
    while c.committed(ORDERS[0]) == 10:
        c.poll(timeout_ms=500)
    assert [c.committed(tp) for tp in ORDERS] == [11, 11, 11]
    assert first + 5000 <= commit_times(orders)[-1] <= first + 5500


def test_a_restarted_consumer_resumes_from_the_committed_offset(cluster):
    cluster.create_topic("orders", partitions=1)
    c = member(cluster, "orders", enable_auto_commit=False, max_poll_records=4)
    settle(cluster, [c])
    produce(cluster, "orders", 10)
    assert [r.offset for rs in c.poll(timeout_ms=100).values() for r in rs] == [0, 1, 2, 3]
    c.commit()
    c.poll(timeout_ms=100)                                     # read 4..7, not committed
    c.close()
    again = member(cluster, "orders", enable_auto_commit=False)
    assert [r.offset for r in drain(cluster, [again])[again]] == list(range(4, 10))


def test_commit_after_the_group_rebalanced_away_raises_commit_failed(orders):
    c = member(orders, "orders", enable_auto_commit=False, max_poll_interval_ms=10_000)
    drain(orders, [c])
    orders.advance(seconds=11)                 # "processing" longer than max_poll_interval_ms
    with pytest.raises(CommitFailedError, match="not part of an active group"):
        c.commit()
    assert c.committed(ORDERS[0]) is None                      # nothing was stored
    got = settle(orders, [c])[c]                               # poll() rejoins ...
    assert sorted(values(got)) == sorted(f"orders-{i}" for i in range(30))   # ... re-reads


def test_commit_of_a_member_kicked_out_of_a_live_group_fails(pair):
    cluster, a, b, log = pair
    b._group._poll_interval_exceeded()                         # as if b had not polled
    poll_all([a], rounds=10, timeout_ms=500)
    assert generation(cluster, "email-service") == 2
    with pytest.raises(CommitFailedError):
        b.commit({ORDERS[2]: 5})
    assert b.committed(ORDERS[2]) is None


def test_commits_from_an_older_generation_are_refused(pair):
    cluster, a, b, log = pair
    a_id = a.group_metadata().member_id
    a.commit({ORDERS[0]: 1})
    c = member(cluster, "orders", client_id="c")
    settle(cluster, [a, b, c])
    assert generation(cluster, "email-service") == 2
    mark = len(cluster.events)
    [error] = commit_errors(call(cluster, commit_request("email-service", {ORDERS[0]: 7}, 1,
                                                         a_id)))
    assert isinstance(error, IllegalGenerationError)
    assert "generation 1, but group email-service is at generation 2" in str(error)
    assert a.committed(ORDERS[0]) == 1
    [rejected] = events_since(cluster, mark, "group.commit_rejected")
    assert "IllegalGenerationError" in rejected.text
    [error] = commit_errors(call(cluster, commit_request("email-service", {ORDERS[0]: 7}, 2,
                                                         "somebody")))
    assert isinstance(error, UnknownMemberIdError)


def test_auto_offset_reset_applies_only_without_a_committed_offset(orders):
    admin = KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers)
    admin.alter_group_offsets("email-service", {ORDERS[0]: 4})
    latest = member(orders, "orders", auto_offset_reset="latest", enable_auto_commit=False)
    got = drain(orders, [latest])[latest]
    assert [(r.partition, r.offset) for r in got] == [(0, o) for o in range(4, 10)]
    latest.close()
    fresh = member(orders, "orders", group="analytics-service")   # no commits: earliest
    assert len(drain(orders, [fresh], "analytics-service")[fresh]) == 30
    strict = member(orders, "orders", auto_offset_reset="none", enable_auto_commit=False)
    with pytest.raises(NoOffsetForPartitionError, match="auto_offset_reset='none'"):
        settle(orders, [strict])                               # orders-1 has no commit
    assert strict.position(ORDERS[0]) == 4


# --- delivery guarantees with a crash ------------------------------------------------------------
@pytest.mark.parametrize("commit_first", [True, False], ids=["at-most-once", "at-least-once"])
def test_delivery_guarantee_when_a_consumer_crashes_mid_batch(cluster, commit_first):
    """Commit before processing: a crash loses the batch. Process, then commit: a crash
    re-delivers it to the partition's new owner (duplicates, nothing lost)."""
    cluster.create_topic("orders", partitions=2)
    a = member(cluster, "orders", client_id="a", enable_auto_commit=False, max_poll_records=5)
    b = member(cluster, "orders", client_id="b", enable_auto_commit=False, max_poll_records=5)
    processed: list[str] = []
    settle(cluster, [a, b])
    produce(cluster, "orders", 40)

    def consume(c, crash_before_finishing=False):
        records = [r for rs in c.poll(timeout_ms=100).values() for r in rs]
        if commit_first:
            c.commit()
        if crash_before_finishing:
            return records
        processed.extend(values(records))
        if not commit_first:
            c.commit()
        return records

    for _ in range(2):
        consume(a), consume(b)
    in_flight = consume(a, crash_before_finishing=True) if commit_first else None
    if not commit_first:                      # processed, crashed before the commit
        records = [r for rs in a.poll(timeout_ms=100).values() for r in rs]
        processed.extend(values(records))
        in_flight = records
    assert len(in_flight) == 5
    cluster.faults.crash_consumer(a)
    while len(b.assignment()) < 2 or any(consume(b) for _ in range(3)):
        consume(b)
    everything = [f"orders-{i}" for i in range(40)]
    batch = values(in_flight)
    if commit_first:
        assert sorted(processed) == sorted(set(everything) - set(batch))   # lost
    else:
        assert sorted(set(processed)) == sorted(everything)                  # nothing lost
        duplicates = [v for v in set(processed) if processed.count(v) > 1]
        assert sorted(duplicates) == sorted(batch)                           # re-delivered


# --- Consumer Lag ------------------------------------------------------------------------------
def test_the_lag_table_matches_the_lesson(cluster):
    """kafka-consumer-groups --describe: LAG = LOG-END-OFFSET - CURRENT-OFFSET, the lesson's
    numbers exactly."""
    cluster.create_topic("orders", partitions=3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    for p, n in {0: 1500, 1: 2000, 2: 2500}.items():
        for _ in range(n):
            producer.send("orders", value=b"x", partition=p)
    producer.flush()
    c = member(cluster, "orders", client_id="email-1", enable_auto_commit=False)
    settle(cluster, [c])
    c.commit({ORDERS[0]: 1000, ORDERS[1]: 2000, ORDERS[2]: 1500})
    table = cluster.describe_consumer_group("email-service")
    lesson_columns = ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"]
    assert [col for col in table.columns if col in lesson_columns] == lesson_columns
    assert list(table.columns[-3:]) == ["CONSUMER-ID", "HOST", "CLIENT-ID"]
    assert table[lesson_columns].values.tolist() == [["orders", 0, 1000, 1500, 500],
                                                     ["orders", 1, 2000, 2000, 0],
                                                     ["orders", 2, 1500, 2500, 1000]]
    assert (table["LAG"] == table["LOG-END-OFFSET"] - table["CURRENT-OFFSET"]).all()
    assert set(table["CONSUMER-ID"]) == {c.group_metadata().member_id}
    assert set(table["CLIENT-ID"]) == {"email-1"}
    c.close()
    idle = cluster.describe_consumer_group("email-service")
    assert set(idle["CONSUMER-ID"]) == {"-"} and idle["LAG"].tolist() == [500, 0, 1000]


def test_lag_grows_when_a_consumer_falls_behind_and_more_members_help(orders):
    c = member(orders, "orders", client_id="slow")
    drain(orders, [c])
    c.commit()
    produce(orders, "orders", 300, start=100)
    assert orders.describe_consumer_group("email-service")["LAG"].tolist() == [100, 100, 100]
    helpers = [member(orders, "orders", client_id=f"h{i}") for i in range(2)]
    drain(orders, [c, *helpers])
    for x in [c, *helpers]:
        x.commit()
    assert orders.describe_consumer_group("email-service")["LAG"].tolist() == [0, 0, 0]


def test_consumer_metrics_from_the_lesson(orders):
    c = member(orders, "orders", max_poll_records=5)
    settle(orders, [c])                                        # read 5 of one partition
    metrics = c.metrics()["consumer-fetch-manager-metrics"]
    lags = sorted(10 - c.position(tp) for tp in ORDERS)
    assert lags == [5, 10, 10] and metrics["records-lag-max"] == 10
    assert metrics["records-consumed-total"] == 5
    assert metrics["records-consumed-rate"] > 0
    assert metrics["fetch-latency-avg"] >= 0
    drain(orders, [c])
    assert c.metrics()["consumer-fetch-manager-metrics"]["records-lag-max"] == 0


# --- admin group APIs --------------------------------------------------------------------------
@pytest.fixture
def admin(orders):
    return KafkaAdminClient(bootstrap_servers=orders.bootstrap_servers)


def test_admin_lists_and_describes_groups_with_both_name_sets(orders, admin):
    email = [member(orders, "orders", client_id=f"email-{i}") for i in range(2)]
    settle(orders, email)
    analytics = member(orders, "orders", group="analytics-service", client_id="an")
    settle(orders, [analytics], "analytics-service")
    analytics.close()
    assert admin.list_groups() == [
        {"group_id": "analytics-service", "protocol_type": "consumer", "group_state": "Empty",
         "group_type": "classic"},
        {"group_id": "email-service", "protocol_type": "consumer", "group_state": "Stable",
         "group_type": "classic"}]
    assert admin.list_groups(states_filter=["Stable"])[0]["group_id"] == "email-service"
    assert admin.list_consumer_groups() == [("analytics-service", "consumer"),
                                            ("email-service", "consumer")]
    described = admin.describe_groups(["email-service"])["email-service"]
    assert described["group_state"] == "Stable" and described["protocol_data"] == "range"
    members = {m["client_id"]: m for m in described["members"]}
    assert set(members) == {"email-0", "email-1"}
    assigned = {m: sorted(p for item in members[m]["member_assignment"].assigned_partitions
                          for p in item.partitions) for m in members}
    assert assigned == {"email-0": [0, 1], "email-1": [2]}
    assert members["email-0"]["member_metadata"].topics == ["orders"]
    [old_style] = admin.describe_consumer_groups(["email-service"])
    assert old_style["members"] == described["members"]
    assert admin.describe_groups(["nobody"])["nobody"]["group_state"] == "Dead"


def test_admin_delete_is_refused_for_a_group_with_members(orders, admin):
    c = member(orders, "orders")
    settle(orders, [c])
    c.commit()
    result = admin.delete_groups(["email-service"])
    assert isinstance(result["email-service"], NonEmptyGroupError)
    assert "still has 1 member(s)" in str(result["email-service"])
    assert admin.delete_consumer_groups(["email-service"]) == [("email-service",
                                                                NonEmptyGroupError)]
    assert c.committed(ORDERS[0]) == 10                        # nothing was deleted
    c.close()
    assert admin.delete_consumer_groups(["email-service"]) == [("email-service", NoError)]
    assert admin.list_group_offsets("email-service") == {"email-service": {}}
    assert isinstance(admin.delete_groups(["email-service"])["email-service"],
                      GroupIdNotFoundError)
    again = member(orders, "orders", enable_auto_commit=False)
    assert len(drain(orders, [again])[again]) == 30            # from the beginning again


def test_admin_alter_offsets_is_refused_while_the_group_is_active(orders, admin):
    c = member(orders, "orders")
    settle(orders, [c])
    with pytest.raises(UnknownMemberIdError, match="active members"):
        admin.alter_group_offsets("email-service", {ORDERS[0]: 0})


def test_admin_resets_offsets_to_earliest_latest_and_a_timestamp(cluster):
    cluster.create_topic("orders", partitions=1)
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    tp = ORDERS[0]
    produce(cluster, "orders", 5)                              # offsets 0..4 at t0
    cluster.advance(minutes=10)
    later = cluster.now_ms()
    produce(cluster, "orders", 5, start=5)                     # offsets 5..9 at t0 + 10 min
    c = member(cluster, "orders")
    drain(cluster, [c])
    c.close()
    assert admin.list_group_offsets("email-service")["email-service"][tp].offset == 10
    assert admin.reset_group_offsets("email-service", {tp: OffsetSpec.EARLIEST})[tp].offset == 0
    assert admin.reset_group_offsets("email-service", {tp: OffsetSpec.LATEST})[tp].offset == 10
    assert admin.reset_group_offsets("email-service", {tp: OffsetTimestamp(later)})[tp].offset \
        == 5
    again = member(cluster, "orders")
    assert values(drain(cluster, [again])[again]) == [f"orders-{i}" for i in range(5, 10)]


# --- liveness: heartbeats in the background, the poll interval --------------------------------
def test_heartbeats_keep_a_member_alive_between_polls(orders):
    """Heartbeats run on the scheduler, not in poll(): a member processing for 2 minutes
    (> session.timeout.ms, < max_poll_interval_ms) stays in the group."""
    a, b = member(orders, "orders", client_id="a"), member(orders, "orders", client_id="b")
    settle(orders, [a, b])
    mark = len(orders.events)
    orders.advance(minutes=2)                                  # nobody polls
    settle(orders, [a, b])
    assert not events_since(orders, mark, "group")
    assert generation(orders, "email-service") == 1


def test_waiting_inside_a_long_poll_is_not_a_missed_poll(orders):
    c = member(orders, "orders", max_poll_interval_ms=60_000)
    drain(orders, [c])
    mark = len(orders.events)
    start = orders.now_ms()
    assert c.poll(timeout_ms=600_000) == {}                    # 10 minutes without data
    assert orders.now_ms() - start == 600_000
    assert not events_since(orders, mark, "group")             # still the same member
    orders.advance(seconds=59)                                 # the interval restarts now
    assert not events_since(orders, mark, "group")
    orders.advance(seconds=2)
    [removed] = events_since(orders, mark, "group.member_removed")
    # (its LeaveGroup takes one network latency to reach the coordinator)
    assert removed.time_ms == start + 600_000 + 60_000 + orders.network_latency_ms


def test_unsubscribe_leaves_the_group_and_subscribe_rejoins(pair):
    cluster, a, b, log = pair
    mark = len(cluster.events)
    b.unsubscribe()
    assert ("b", "revoked", {ORDERS[2]}) in log and b.assignment() == set()
    [removed] = events_since(cluster, mark, "group.member_removed")
    assert "it unsubscribed" in removed.text
    settle(cluster, [a])
    assert a.assignment() == set(ORDERS)
    b.subscribe(["orders"])
    settle(cluster, [a, b])
    assert len(a.assignment()) + len(b.assignment()) == 3 and b.assignment()


def test_group_scenarios_are_deterministic():
    """Same seed, same calls: the same member ids, assignments and explained events."""
    def scenario():
        from kafkalab.cluster import registry

        registry.clear()
        cluster = Cluster(brokers=1, seed=7)
        cluster.create_topic("orders", partitions=3)
        cluster.create_topic("payments", partitions=2)
        produce(cluster, "orders", 30)
        consumers = [member(cluster, "orders", "payments", client_id=f"c{i}") for i in range(3)]
        drain(cluster, consumers)
        cluster.faults.crash_consumer(consumers[1])
        poll_all([consumers[0], consumers[2]], rounds=60, timeout_ms=1000)
        consumers[0].commit()
        return ([(e.time_ms, e.kind, e.text) for e in cluster.events],
                [sorted(c.assignment()) for c in consumers])

    assert scenario() == scenario()
