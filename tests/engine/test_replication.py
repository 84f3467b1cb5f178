"""Replication and fault tolerance, as the lesson tells it («Репликация и отказоустойчивость»).

Replication factor and the lesson's three-broker picture, followers copying in simulated time,
the high watermark, the ISR shrinking and growing, leader failover, «данные не теряются при
падении replication_factor - 1 брокеров», acks=0/1/all, «с replication.factor=3 и
min.insync.replicas=2 кластер выдержит падение 1 брокера», leader epochs (KIP-101/279), unclean
leader election, controlled shutdown, preferred leaders, network partitions, the broker metrics
of the lesson's monitoring section (UnderReplicatedPartitions, OfflinePartitionsCount), and the
explained, deterministic event log. Every time here is simulated.
"""
from __future__ import annotations

import pytest

from kafkalab import Cluster, KafkaConsumer, KafkaProducer, TopicPartition
from kafkalab.cluster import registry
from kafkalab.cluster.controller import HEARTBEAT_INTERVAL_MS, SESSION_TIMEOUT_MS
from kafkalab.cluster.placement import assign_replicas
from kafkalab.errors import (
    InvalidReplicationFactorError,
    NotEnoughReplicasAfterAppendError,
    NotEnoughReplicasError,
)

TOPIC = "critical-events"


# --- helpers -------------------------------------------------------------------------------------


def make_cluster(brokers: int = 3, seed: int = 0, **config) -> Cluster:
    return Cluster(brokers=brokers, seed=seed, config=config or None)


def topic_on(cluster: Cluster, replicas=(1, 2, 3), name: str = TOPIC, **config):
    """One partition with a known replica list (preferred leader first)."""
    cluster.create_topic(name, replica_assignment={0: list(replicas)}, config=config or None)
    return cluster.partition(name, 0)


def producer(cluster: Cluster, **configs) -> KafkaProducer:
    configs.setdefault("linger_ms", 0)
    return KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, **configs)


def contents(log, below: int | None = None) -> list[tuple[int, bytes]]:
    """(offset, value) of every record of one replica's log (below ``below`` if given)."""
    return [(b.base_offset + r.offset_delta, r.value) for b in log.batches() for r in b.records
            if below is None or b.base_offset + r.offset_delta < below]


def values(log) -> list[bytes]:
    return [v for _, v in contents(log)]


def positions(p) -> dict[int, tuple[int, int]]:
    """broker -> (log end offset, high watermark) of each replica."""
    return {b: (log.log_end_offset, log.high_watermark) for b, log in p.logs.items()}


def assert_replicas_identical(p) -> None:
    """Every replica holds the very same batches below the high watermark, and — once caught
    up — the very same log."""
    hw = p.high_watermark
    leader = [(b.base_offset, b.partition_leader_epoch, b.record_count)
              for b in p.leader_log.batches()]
    for broker, log in p.logs.items():
        mine = [(b.base_offset, b.partition_leader_epoch, b.record_count) for b in log.batches()]
        assert [m for m in mine if m[0] < hw] == [x for x in leader if x[0] < hw], broker
        assert contents(log, hw) == contents(p.leader_log, hw), broker
        assert mine == leader and contents(log) == contents(p.leader_log), broker
        # the same epochs (a leader's newest shows on followers once it wrote a batch)
        assert written_epochs(log) == written_epochs(p.leader_log), broker


def written_epochs(log) -> list[tuple[int, int]]:
    return [(e, start) for e, start in log.epochs.entries if start < log.log_end_offset]


def events_since(cluster: Cluster, mark: int, kind: str | None = None):
    return [e for e in list(cluster.events)[mark:]
            if kind is None or e.kind == kind or e.kind.startswith(kind + ".")]


def consume_all(cluster: Cluster, topic: str = TOPIC, partition: int = 0,
                timeout_ms: int = 200) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, partition)])
    out = []
    while True:
        got = consumer.poll(timeout_ms=timeout_ms).get(TopicPartition(topic, partition), [])
        if not got:
            return out
        out += [r.value for r in got]


def metrics_of(cluster: Cluster) -> dict[int, dict]:
    frame = cluster.broker_metrics()
    return {row["broker"]: row for row in frame.to_dict("records")}


def wait_for_failover(cluster: Cluster) -> None:
    """Long enough for a silent broker to be fenced and its leaderships to move."""
    cluster.advance(ms=SESSION_TIMEOUT_MS + 100)


# --- replica placement (Kafka's assignReplicasToBrokers, no racks) -------------------------------


def kafka_assign(brokers, n_partitions, rf, start_index, shift, start_partition=0):
    """AdminUtils.assignReplicasToBrokersRackUnaware, transcribed from Kafka's Scala."""
    ret, n = {}, len(brokers)
    current, next_shift = max(0, start_partition), shift
    for _ in range(n_partitions):
        if current > 0 and current % n == 0:
            next_shift += 1
        first = (current + start_index) % n
        replicas = [brokers[first]]
        for j in range(rf - 1):
            replicas.append(brokers[(first + 1 + (next_shift + j) % (n - 1)) % n])
        ret[current] = replicas
        current += 1
    return [ret[p] for p in sorted(ret)]


class Draws:
    """An RNG that draws given numbers (Kafka's rand.nextInt for start index and shift)."""

    def __init__(self, *numbers):
        self.numbers = list(numbers)

    def randrange(self, n):
        value = self.numbers.pop(0)
        assert 0 <= value < n
        return value


def test_placement_is_kafkas_assign_replicas_to_brokers_without_racks():
    cases = 0
    for n in range(1, 7):
        brokers = [b * 10 for b in range(1, n + 1)]  # ids need not be 1..n
        for rf in range(1, n + 1):
            for start in range(n):
                for shift in range(n):
                    for partitions in (1, n - 1, n, 2 * n + 1, 13):
                        if partitions < 1:
                            continue
                        placed = assign_replicas(brokers, partitions, rf, Draws(start, shift))
                        assert placed == kafka_assign(brokers, partitions, rf, start, shift)
                        cases += 1
                        for replicas in placed:  # each replica on its own broker
                            assert len(set(replicas)) == rf
                        leaders = [r[0] for r in placed]
                        counts = [leaders.count(b) for b in brokers]
                        assert max(counts) - min(counts) <= 1  # leaders spread round robin
    assert cases > 1000


def test_the_lessons_three_broker_picture():
    cluster = make_cluster(seed=1)
    cluster.create_topic(TOPIC, partitions=6, replication_factor=3)
    frame = cluster.describe_topic(TOPIC)
    # «Partition 0: Leader: Broker 1, Replicas: 1, 2, 3; Partition 1: Leader: Broker 2,
    #  Replicas: 2, 3, 1» — then the followers shift by one for the next round of leaders
    assert frame["replicas"].tolist() == [[1, 2, 3], [2, 3, 1], [3, 1, 2],
                                          [1, 3, 2], [2, 1, 3], [3, 2, 1]]
    assert frame["leader"].tolist() == [1, 2, 3, 1, 2, 3]
    assert frame["isr"].tolist() == frame["replicas"].tolist()
    assert frame["leader_epoch"].tolist() == [0] * 6
    for p in cluster.topic(TOPIC).partitions:
        assert p.preferred_leader == p.replicas[0] == p.leader
    metrics = metrics_of(cluster)
    assert [metrics[b]["LeaderCount"] for b in (1, 2, 3)] == [2, 2, 2]
    assert [metrics[b]["PartitionCount"] for b in (1, 2, 3)] == [6, 6, 6]


def test_every_seed_spreads_leaders_round_robin_and_added_partitions_continue_it():
    for seed in range(10):
        registry.clear()
        cluster = make_cluster(brokers=4, seed=seed)
        topic = cluster.create_topic(TOPIC, partitions=4, replication_factor=3)
        leaders = [p.leader for p in topic.partitions]
        assert sorted(leaders) == [1, 2, 3, 4]
        assert all(leaders[i + 1] == leaders[i] % 4 + 1 for i in range(3))
        cluster.create_partitions(TOPIC, 8)
        more = [p.leader for p in topic.partitions]
        assert more[4:] == more[:4]  # Kafka's addPartitions starts at partition 0's leader
        assert all(len(set(p.replicas)) == 3 and p.isr == p.replicas for p in topic.partitions)


def test_replication_factor_beyond_the_live_brokers_is_refused():
    cluster = make_cluster()
    with pytest.raises(InvalidReplicationFactorError,
                       match="Replication factor: 4 larger than available brokers: 3"):
        cluster.create_topic("orders", partitions=1, replication_factor=4)
    [refusal] = cluster.events.of_kind("topic.create_rejected")
    assert "larger than available brokers: 3" in refusal.text
    cluster.kill_broker(3)  # down: no new replica can go there, fenced or not yet
    with pytest.raises(InvalidReplicationFactorError, match="available brokers: 2"):
        cluster.create_topic("orders", partitions=1, replication_factor=3)
    wait_for_failover(cluster)
    assert 3 in cluster.controller.fenced
    with pytest.raises(InvalidReplicationFactorError, match="available brokers: 2"):
        cluster.create_topic("orders", partitions=1, replication_factor=3)
    topic = cluster.create_topic("orders", partitions=4, replication_factor=2)
    assert all(3 not in p.replicas for p in topic.partitions)
    with pytest.raises(InvalidReplicationFactorError):
        cluster.create_topic("payments", partitions=1, replication_factor=0)
    cluster.restart_broker(3)
    assert cluster.create_topic("payments", partitions=3, replication_factor=3)
    assert "orders" in cluster.topics and "payments" in cluster.topics


# --- followers, the high watermark and what consumers see --------------------------------------


def test_followers_copy_a_round_trip_after_the_leader_appends():
    cluster = make_cluster()
    p = topic_on(cluster)
    acked = []
    start = cluster.now_ms()
    producer(cluster, acks=1).send(TOPIC, value=b"payment").add_callback(
        lambda md: acked.append((cluster.now_ms() - start, positions(p))))
    timeline = []
    for _ in range(6):
        timeline.append(positions(p))
        cluster.advance(ms=1)
    # t+1 the leader appends; t+2 acks=1 answers; t+3 followers have fetched, HW moves;
    # t+5 the last follower learns the new high watermark from its next fetch answer
    assert timeline[0] == {1: (0, 0), 2: (0, 0), 3: (0, 0)}
    assert timeline[1] == timeline[2] == {1: (1, 0), 2: (0, 0), 3: (0, 0)}
    assert timeline[3][1] == (1, 1) and timeline[3][2][0] == timeline[3][3][0] == 1
    assert timeline[5] == {1: (1, 1), 2: (1, 1), 3: (1, 1)}
    assert acked == [(2, {1: (1, 0), 2: (0, 0), 3: (0, 0)})]
    frame = cluster.describe_topic(TOPIC).iloc[0]
    assert frame["replica_log_end_offsets"] == {1: 1, 2: 1, 3: 1}
    assert frame["replica_high_watermarks"] == {1: 1, 2: 1, 3: 1}


def test_the_high_watermark_is_the_smallest_log_end_offset_over_the_isr():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks=1)
    for i in range(5):
        send.send(TOPIC, value=b"%d" % i)
    send.flush()
    cluster.advance(ms=10)
    cluster.slow_follower(3, 20_000)  # in the ISR, but it copies 20 s late
    for i in range(5, 10):
        send.send(TOPIC, value=b"%d" % i)
    send.flush()
    cluster.advance(ms=10)
    assert p.isr == [1, 2, 3]
    assert positions(p)[1] == (10, 5) and positions(p)[2][0] == 10
    assert positions(p)[3] == (5, 5)
    assert p.high_watermark == min(log.log_end_offset for b, log in p.logs.items()
                                   if b in p.isr) == 5
    row = cluster.describe_topic(TOPIC).iloc[0]
    assert (row["high_watermark"], row["log_end_offset"]) == (5, 10)
    assert row["replica_log_end_offsets"] == {1: 10, 2: 10, 3: 5}
    # consumers never see past the high watermark: the leader has 10 records, they get 5
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                             auto_offset_reset="earliest")
    tp = TopicPartition(TOPIC, 0)
    consumer.assign([tp])
    seen = [r.value for r in consumer.poll(timeout_ms=500, max_records=100).get(tp, [])]
    assert seen == [b"%d" % i for i in range(5)]
    assert consumer.poll(timeout_ms=500).get(tp, []) == []
    assert consumer.end_offsets([tp]) == {tp: 5}
    cluster.slow_follower(3, 0)  # it catches up: the high watermark and the consumer follow
    rest = [r.value for r in consumer.poll(timeout_ms=500, max_records=100).get(tp, [])]
    assert rest == [b"%d" % i for i in range(5, 10)]
    assert p.high_watermark == 10
    assert_replicas_identical(p)


# --- the ISR -------------------------------------------------------------------------------------


def test_the_isr_shrinks_after_replica_lag_time_max_ms_and_grows_back_on_catch_up():
    cluster = make_cluster()  # replica.lag.time.max.ms = 30000, Kafka's default
    p = topic_on(cluster)
    send = producer(cluster, acks=1)
    send.send(TOPIC, value=b"first").get(timeout=10)
    cluster.advance(ms=10)
    caught_up_at = p.last_caught_up_ms[3]  # its last fetch that reached the leader's end
    cluster.slow_follower(3, 60_000)
    mark = len(cluster.events)
    for i in range(40):  # one record a second
        send.send(TOPIC, value=b"%d" % i).get(timeout=10)
        cluster.advance(ms=1000 - (cluster.now_ms() - caught_up_at) % 1000)
        if i < 29:
            assert p.isr == [1, 2, 3], i
    [shrunk] = events_since(cluster, mark, "isr.shrunk")
    assert 30_000 < shrunk.time_ms - caught_up_at <= 31_000
    assert "[1, 2, 3] -> [1, 2]" in shrunk.text
    assert "broker 3 30" in shrunk.text and "replica.lag.time.max.ms=30000" in shrunk.text
    assert p.isr == [1, 2] and p.high_watermark == p.log_end_offset  # commits go on without 3
    metrics = metrics_of(cluster)
    assert metrics[1]["IsrShrinksPerSec"] > 0 and metrics[1]["UnderReplicatedPartitions"] == 1
    assert metrics[2]["IsrShrinksPerSec"] == 0 and metrics[2]["UnderReplicatedPartitions"] == 0
    assert cluster.controller.log[-1].type == "PartitionChange"
    assert cluster.controller.log[-1].fields["isr"] == [1, 2]

    cluster.slow_follower(3, 0)
    cluster.advance(ms=100)
    [expanded] = events_since(cluster, mark, "isr.expanded")
    assert "[1, 2] -> [1, 2, 3]" in expanded.text
    assert f"log end offset {p.log_end_offset}" in expanded.text
    assert p.isr == [1, 2, 3]
    metrics = metrics_of(cluster)
    assert metrics[1]["IsrExpandsPerSec"] > 0 and metrics[1]["UnderReplicatedPartitions"] == 0
    assert_replicas_identical(p)


# --- leader failover -----------------------------------------------------------------------------


def test_a_dead_leader_is_fenced_after_the_session_timeout_and_an_isr_member_takes_over():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all")
    for i in range(3):
        send.send(TOPIC, value=b"%d" % i).get(timeout=10)
    cluster.advance(ms=3_000)
    killed_at = cluster.now_ms()
    mark = len(cluster.events)
    cluster.kill_broker(1)
    cluster.advance(ms=SESSION_TIMEOUT_MS - HEARTBEAT_INTERVAL_MS - 1)
    # not noticed yet: the controller still lists the dead broker as leader
    assert p.leader == 1 and p.leader_epoch == 0 and 1 not in cluster.controller.fenced
    assert cluster.describe_topic(TOPIC).iloc[0]["offline_replicas"] == [1]
    cluster.advance(ms=HEARTBEAT_INTERVAL_MS + 1)
    [fenced] = events_since(cluster, mark, "broker.fenced")
    assert SESSION_TIMEOUT_MS - HEARTBEAT_INTERVAL_MS < fenced.time_ms - killed_at \
        <= SESSION_TIMEOUT_MS
    assert "no heartbeat for 9000 ms (broker.session.timeout.ms)" in fenced.text
    [moved] = events_since(cluster, mark, "partition.leader_changed")
    assert moved.time_ms == fenced.time_ms
    assert "leader 1 -> 2 (leader epoch 1), ISR [2, 3]: broker 1 was fenced" in moved.text
    assert (p.leader, p.leader_epoch, p.isr) == (2, 1, [2, 3])
    # the new leader starts its epoch at its log end offset
    assert p.leader_log.epochs.entries == [(0, 0), (1, 3)]
    assert send.send(TOPIC, value=b"3").get(timeout=10).offset == 3
    assert consume_all(cluster) == [b"0", b"1", b"2", b"3"]


def test_a_send_during_the_failover_is_retried_until_the_new_leader_takes_it():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all")
    send.send(TOPIC, value=b"before").get(timeout=10)
    cluster.kill_broker(1)
    started = cluster.now_ms()
    metadata = send.send(TOPIC, value=b"during").get(timeout=30)
    assert metadata.offset == 1 and p.leader == 2
    assert cluster.now_ms() - started <= SESSION_TIMEOUT_MS + 500
    assert values(p.leader_log) == [b"before", b"during"]


def test_no_acknowledged_record_is_lost_when_rf_minus_1_brokers_fail_one_after_another():
    """«Данные не теряются при падении replication_factor - 1 брокеров»."""
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all")
    acked = []
    for round_, victim in enumerate([None, 1, 2]):
        if victim is not None:
            assert p.leader == victim
            cluster.kill_broker(victim)
            wait_for_failover(cluster)
        for i in range(20):
            send.send(TOPIC, value=b"%d-%d" % (round_, i)).add_callback(acked.append)
        send.flush()
    assert len(acked) == 60
    assert (p.leader, p.leader_epoch, p.isr) == (3, 2, [3])
    expected = [b"%d-%d" % (r, i) for r in range(3) for i in range(20)]
    assert values(p.leader_log) == expected
    assert consume_all(cluster) == expected
    assert [m.offset for m in acked] == list(range(60))


def test_rf3_min_insync_2_survives_one_broker_down_but_not_two():
    """«С replication.factor=3 и min.insync.replicas=2 кластер выдержит падение 1 брокера»."""
    cluster = make_cluster()
    p = topic_on(cluster, **{"min.insync.replicas": 2})
    send = producer(cluster, acks="all", retries=0)
    send.send(TOPIC, value=b"all up").get(timeout=10)
    cluster.kill_broker(3)
    # a follower is down: every acks=all write still succeeds (the first waits for the fence)
    for i in range(5):
        send.send(TOPIC, value=b"one down %d" % i).get(timeout=30)
        cluster.advance(ms=500)
    assert p.isr == [1, 2] and p.leader == 1
    cluster.kill_broker(2)
    wait_for_failover(cluster)
    assert p.isr == [1]
    mark, leo = len(cluster.events), p.log_end_offset
    future = send.send(TOPIC, value=b"two down")
    with pytest.raises(NotEnoughReplicasError) as refused:
        future.get(timeout=10)
    assert not isinstance(refused.value, NotEnoughReplicasAfterAppendError)
    assert "1 in-sync replica(s) [1] < min.insync.replicas=2" in str(refused.value)
    assert p.log_end_offset == leo  # refused before the append: nothing written
    [rejected] = events_since(cluster, mark, "produce.rejected")
    assert "NotEnoughReplicasError" in rejected.text
    # acks=1 still works: it does not ask for in-sync replicas
    assert producer(cluster, acks=1).send(TOPIC, value=b"acks=1").get(timeout=10).offset == leo
    assert metrics_of(cluster)[1]["UnderMinIsrPartitionCount"] == 1


def test_not_enough_replicas_after_append_when_the_isr_shrinks_while_waiting():
    cluster = make_cluster(**{"replica.lag.time.max.ms": 10_000})
    p = topic_on(cluster, **{"min.insync.replicas": 2})
    send = producer(cluster, acks="all", retries=0, request_timeout_ms=30_000)
    send.send(TOPIC, value=b"ok").get(timeout=10)
    cluster.advance(ms=10)
    caught_up_at = max(p.last_caught_up_ms[2], p.last_caught_up_ms[3])
    cluster.slow_follower(2, 60_000)
    cluster.slow_follower(3, 60_000)
    future = send.send(TOPIC, value=b"written, then the ISR shrank")
    with pytest.raises(NotEnoughReplicasAfterAppendError) as late:
        future.get(timeout=40)
    # both followers left the ISR after replica.lag.time.max.ms: the record is committed by
    # the leader alone — written, but with fewer copies than min.insync.replicas asked for
    assert 10_000 < cluster.now_ms() - caught_up_at < 10_100
    assert p.isr == [1]
    assert "ISR shrank to [1] < min.insync.replicas=2" in str(late.value)
    assert values(p.leader_log) == [b"ok", b"written, then the ISR shrank"]
    assert p.high_watermark == 2
    assert events_since(cluster, 0, "isr.shrunk")


# --- acks=1 and acks=0 lose records when the leader dies at the wrong moment ------------------


@pytest.mark.parametrize("acks", [1, 0])
def test_acks_below_all_lose_an_acknowledged_record_when_the_leader_dies_before_followers_fetch(
        acks):
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks=acks)
    send.send(TOPIC, value=b"safe").get(timeout=10)
    cluster.advance(ms=10)
    assert positions(p) == {b: (1, 1) for b in (1, 2, 3)}
    seen_at_kill = []

    def crash_leader(_metadata=None):
        seen_at_kill.append(positions(p))
        cluster.kill_broker(1)

    future = send.send(TOPIC, value=b"acknowledged, then lost")
    if acks == 1:
        future.add_callback(crash_leader)  # the ack arrives: the leader dies on the spot
        cluster.advance(ms=2)
    else:
        assert future.get(timeout=1).offset == -1  # acks=0: nobody answers, done at once
        cluster.advance(ms=1)  # the request reached the leader and was appended
        crash_leader()
    assert future.succeeded()
    # at that moment only the leader had the record; no follower had fetched it
    assert seen_at_kill == [{1: (2, 1), 2: (1, 1), 3: (1, 1)}]
    wait_for_failover(cluster)
    assert p.leader == 2 and p.log_end_offset == 1
    replacement = producer(cluster, acks="all").send(TOPIC, value=b"next").get(timeout=10)
    assert replacement.offset == 1  # the lost record's offset now holds another record
    mark = len(cluster.events)
    cluster.restart_broker(1)
    cluster.advance(ms=100)
    [truncated] = events_since(cluster, mark, "replica.truncated")
    assert "broker 1 truncated its log to offset 1 (1 record(s) the leader never had)" \
        in truncated.text
    for log in p.logs.values():
        assert values(log) == [b"safe", b"next"]
    assert consume_all(cluster) == [b"safe", b"next"]
    assert_replicas_identical(p)


# --- leader epochs (KIP-101 / KIP-279) -----------------------------------------------------------


def spy_truncations(log) -> list[int]:
    cuts = []
    original = log.truncate_to

    def truncate_to(offset):
        cuts.append(offset)
        original(offset)
    log.truncate_to = truncate_to
    return cuts


def test_a_returning_leader_truncates_at_the_epoch_boundary_not_at_its_high_watermark():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks=1)
    cluster.slow_follower(3, 40_000)  # in sync, but it copies nothing for now: HW stays 0
    for i in range(5):
        send.send(TOPIC, value=b"r%d" % i).get(timeout=10)
    cluster.advance(ms=10)
    cluster.slow_follower(2, 40_000)
    for i in (5, 6):
        send.send(TOPIC, value=b"r%d" % i).get(timeout=10)  # only on broker 1
    cluster.advance(ms=10)
    assert positions(p) == {1: (7, 0), 2: (5, 0), 3: (0, 0)}
    cluster.kill_broker(1)
    wait_for_failover(cluster)
    assert (p.leader, p.leader_epoch) == (2, 1)
    cluster.slow_follower(3, 0)
    for i in (5, 6, 7):
        producer(cluster, acks="all").send(TOPIC, value=b"new%d" % i).get(timeout=10)
    old = p.logs[1]
    # broker 1 comes back with 7 records above its high watermark 0: r0..r4 are on the new
    # leader (in epoch 0), r5, r6 are not. Truncating to the high watermark would drop all 7.
    assert (old.log_end_offset, old.high_watermark) == (7, 0)
    assert p.leader_log.epochs.entries == [(0, 0), (1, 5)]
    kept = list(old.batches())[:5]
    cuts = spy_truncations(old)
    mark = len(cluster.events)
    cluster.restart_broker(1)
    cluster.advance(ms=100)
    assert cuts == [5]  # where epoch 0 ends on the new leader
    [truncated] = events_since(cluster, mark, "replica.truncated")
    assert "broker 1 truncated its log to offset 5 (2 record(s) the leader never had): its " \
           "epoch 0 ends there on leader 2 (epoch 1)" in truncated.text
    assert list(old.batches())[:5] == kept
    assert values(old) == [b"r0", b"r1", b"r2", b"r3", b"r4", b"new5", b"new6", b"new7"]
    assert p.isr == [2, 3, 1]
    assert_replicas_identical(p)


def test_a_replica_that_led_an_epoch_the_new_leader_never_saw_truncates_where_logs_agree():
    """KIP-279: broker 2 led epoch 1 and wrote new3, new4; broker 3 never heard of epoch 1 and
    kept r3, r4 of epoch 0 at the same offsets. When 3 leads and 2 returns, the leader answers
    «epoch 0 ended at 5 here» — but on broker 2 epoch 0 ended at 3: it must cut at 3."""
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks=1)
    for i in range(3):
        send.send(TOPIC, value=b"r%d" % i).get(timeout=10)
    cluster.advance(ms=10)
    cluster.slow_follower(2, 60_000)
    for i in (3, 4):
        send.send(TOPIC, value=b"r%d" % i).get(timeout=10)
    cluster.advance(ms=10)
    cluster.slow_follower(3, 60_000)
    cluster.kill_broker(1)
    wait_for_failover(cluster)
    assert (p.leader, p.leader_epoch, p.isr) == (2, 1, [2, 3])
    for i in (3, 4):
        send.send(TOPIC, value=b"new%d" % i).get(timeout=10)
    cluster.kill_broker(2)
    wait_for_failover(cluster)
    assert (p.leader, p.leader_epoch, p.isr) == (3, 2, [3])
    assert p.logs[2].epochs.entries == [(0, 0), (1, 3)]
    assert p.logs[3].epochs.entries == [(0, 0), (2, 5)]
    assert values(p.logs[2]) == [b"r0", b"r1", b"r2", b"new3", b"new4"]
    assert values(p.logs[3]) == [b"r0", b"r1", b"r2", b"r3", b"r4"]
    cluster.heal()  # no more slow followers
    cuts = spy_truncations(p.logs[2])
    cluster.restart_broker(2)
    cluster.restart_broker(1)
    for i in (5, 6):
        send.send(TOPIC, value=b"x%d" % i).get(timeout=10)
    cluster.advance(ms=100)
    assert cuts == [3]
    expected = [b"r0", b"r1", b"r2", b"r3", b"r4", b"x5", b"x6"]
    for broker, log in p.logs.items():
        assert values(log) == expected, broker
    assert p.isr == [3, 2, 1] and p.high_watermark == 7
    assert_replicas_identical(p)


def test_truncating_inside_a_batch_removes_the_whole_batch():
    """As Kafka's LogSegment.truncateTo: a replica cut at an offset inside a batch keeps no
    record at or after that offset, so its log can only end at or below the cut."""
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all", linger_ms=5)
    for i in range(6):
        send.send(TOPIC, value=b"%d" % i)
    send.flush()
    cluster.advance(ms=10)
    log = p.logs[2]
    assert [(b.base_offset, b.last_offset) for b in log.batches()] == [(0, 5)]
    log.truncate_to(3)
    assert log.log_end_offset == 0 and list(log.batches()) == []
    assert log.high_watermark == 0 and log.epochs.entries == []
    assert log.producer_state.producers == {}


def test_a_truncated_replica_forgets_the_idempotent_batches_it_lost():
    """Broker 2 copied batch (producer 0, sequence 0) and then truncated it away. When it
    leads later and the producer retries that batch, it must append it — not answer «already
    stored at offset 0» when offset 0 now holds somebody else's record."""
    cluster = make_cluster()
    p = topic_on(cluster, replicas=(1, 3, 2))
    send = producer(cluster, acks="all", retry_backoff_ms=1_000)  # idempotent by default
    other = producer(cluster, acks="all", enable_idempotence=False)
    cluster.slow_follower(3, 60_000)
    future = send.send(TOPIC, value=b"a")
    cluster.advance(ms=5)
    assert positions(p)[2][0] == 1 and p.high_watermark == 0  # on 1 and 2; waits for 3

    def on_event(event):
        if event.kind != "partition.leader_changed":
            return
        if p.leader == 3:  # 2 truncates "a" away on its first fetch; then 3 crashes
            cluster.scheduler.call_later(3, lambda: cluster.kill_broker(3))
        if p.leader == 2:  # another producer gets there before the retry of "a"
            cluster.scheduler.call_later(0, lambda: other.send(TOPIC, value=b"b"))
    stop = cluster.events.subscribe(on_event)
    cluster.kill_broker(1)
    wait_for_failover(cluster)
    assert p.logs[2].log_end_offset == 0 and not cluster.brokers[3].alive
    wait_for_failover(cluster)
    stop()
    assert (p.leader, p.leader_epoch) == (2, 2)
    metadata = future.get(timeout=60)
    other.flush()
    assert values(p.leader_log) == [b"b", b"a"]
    assert metadata.offset == 1
    assert not cluster.events.of_kind("produce.duplicate")


def test_a_follower_behind_the_leaders_log_start_copies_from_there():
    """Retention deleted, on the leader, what a returning follower needs next: it starts over
    at the leader's log start offset instead of failing."""
    cluster = make_cluster()
    p = topic_on(cluster, **{"retention.ms": 60_000, "segment.ms": 10_000})
    send = producer(cluster, acks=1)
    send.send(TOPIC, value=b"old").get(timeout=10)
    cluster.advance(ms=10)
    cluster.kill_broker(3)
    for i in range(4):
        cluster.advance(minutes=1)
        send.send(TOPIC, value=b"%d" % i).get(timeout=10)
    cluster.advance(minutes=10)  # retention runs every 5 minutes
    assert p.leader_log.log_start_offset > 1 == p.logs[3].log_end_offset
    mark = len(cluster.events)
    cluster.restart_broker(3)
    cluster.advance(ms=100)
    [reset] = events_since(cluster, mark, "replica.reset")
    assert "retention deleted the rest" in reset.text
    assert p.logs[3].log_start_offset == p.leader_log.log_start_offset
    assert p.logs[3].log_end_offset == p.log_end_offset and 3 in p.isr
    assert contents(p.logs[3]) == contents(p.leader_log)


# --- unclean leader election --------------------------------------------------------------------


def _out_of_sync_follower_then_leader_dies(cluster, p):
    """RF=2: follower 2 falls out of the ISR, the leader takes more acks=all writes alone
    (min.insync.replicas=1), then the leader dies."""
    send = producer(cluster, acks="all")
    for i in range(3):
        send.send(TOPIC, value=b"both %d" % i).get(timeout=10)
    cluster.advance(ms=10)
    cluster.slow_follower(2, 600_000)
    for i in range(3):
        send.send(TOPIC, value=b"only on 1: %d" % i).get(timeout=60)
        cluster.advance(seconds=15)
    assert p.isr == [1] and p.logs[2].log_end_offset == 3 and p.log_end_offset == 6
    cluster.heal()
    cluster.kill_broker(1)
    return send


def test_without_unclean_election_the_partition_goes_offline_and_returns_with_its_isr():
    cluster = make_cluster(brokers=2)
    p = topic_on(cluster, replicas=(1, 2))
    _out_of_sync_follower_then_leader_dies(cluster, p)
    mark = len(cluster.events)
    wait_for_failover(cluster)
    [offline] = events_since(cluster, mark, "partition.offline")
    assert "no in-sync replica is available (broker 1 was fenced)" in offline.text
    assert "unclean.leader.election.enable=false" in offline.text
    assert p.leader is None and p.isr == [1]  # the last in-sync replica stays the one to wait for
    row = cluster.describe_topic(TOPIC).iloc[0]
    assert row["leader"] is None or row["leader"] != row["leader"]  # None/NaN: no leader
    assert row["offline_replicas"] == [1]
    metrics = metrics_of(cluster)
    assert metrics[cluster.controller.active]["OfflinePartitionsCount"] == 1
    assert sum(m["OfflinePartitionsCount"] for m in metrics.values()) == 1
    # nobody can read or write it, but a consumer just finds nothing (no crash)
    assert consume_all(cluster) == []
    # broker 2 restarting changes nothing: it is up, but out of sync, so it may not lead
    records = len(cluster.controller.log)
    cluster.kill_broker(2)
    wait_for_failover(cluster)
    cluster.restart_broker(2)
    cluster.advance(minutes=5)
    assert p.leader is None
    assert [r.type for r in cluster.controller.log[records:]] == \
        ["FenceBroker", "RegisterBroker", "UnfenceBroker"]  # no PartitionChange: nothing moved
    [still] = events_since(cluster, mark, "partition.still_offline")
    assert "its in-sync replicas [1] are down" in still.text
    # broker 1 (the ISR) returns: the partition is back with every acknowledged record
    mark = len(cluster.events)
    cluster.restart_broker(1)
    assert p.leader == 1 and p.leader_epoch == 2
    [back] = events_since(cluster, mark, "partition.leader_changed")
    assert "leader None -> 1 (leader epoch 2)" in back.text and "broker 1 is back" in back.text
    assert metrics_of(cluster)[cluster.controller.active]["OfflinePartitionsCount"] == 0
    late = producer(cluster, acks="all")
    assert late.send(TOPIC, value=b"after").get(timeout=10).offset == 6
    assert consume_all(cluster) == [b"both 0", b"both 1", b"both 2", b"only on 1: 0",
                                    b"only on 1: 1", b"only on 1: 2", b"after"]
    cluster.advance(ms=100)
    assert p.isr == [1, 2]
    assert_replicas_identical(p)


def test_an_offline_partition_returns_when_its_last_isr_member_restarts_before_being_fenced():
    """Broker 3 crashes; before the controller notices, 2 and then 1 shut down cleanly, and
    the partition is left waiting for 3 (its last in-sync replica). 3 restarts within the
    session timeout — never fenced — and its new registration must bring the partition back."""
    cluster = make_cluster()
    p = topic_on(cluster)
    producer(cluster, acks="all").send(TOPIC, value=b"kept").get(timeout=10)
    cluster.kill_broker(3)
    cluster.shutdown_broker(2)
    cluster.shutdown_broker(1)
    assert p.leader is None and p.isr == [3] and 3 not in cluster.controller.fenced
    records = len(cluster.controller.log)
    cluster.advance(ms=2_000)
    cluster.restart_broker(3)
    assert (p.leader, p.isr) == (3, [3])
    assert [r.type for r in cluster.controller.log[records:]] == ["RegisterBroker",
                                                                  "PartitionChange"]
    assert consume_all(cluster) == [b"kept"]
    cluster.advance(seconds=30)
    assert not cluster.controller.fenced - {1, 2} and p.leader == 3


def test_a_send_waiting_for_an_offline_partition_goes_out_when_it_comes_back():
    cluster = make_cluster(brokers=2)
    p = topic_on(cluster, replicas=(1, 2))
    _out_of_sync_follower_then_leader_dies(cluster, p)
    wait_for_failover(cluster)
    late = producer(cluster, acks="all", delivery_timeout_ms=60_000)
    pending = late.send(TOPIC, value=b"waits for a leader")
    cluster.advance(seconds=20)
    assert not pending.is_done
    cluster.restart_broker(1)
    assert pending.get(timeout=30).offset == 6


@pytest.mark.parametrize("where", ["topic", "broker"])
def test_unclean_election_lets_an_out_of_sync_replica_lead_and_loses_records(where):
    setting = {"unclean.leader.election.enable": True}
    cluster = make_cluster(brokers=2, **(setting if where == "broker" else {}))
    p = topic_on(cluster, replicas=(1, 2), **(setting if where == "topic" else {}))
    send = _out_of_sync_follower_then_leader_dies(cluster, p)
    mark = len(cluster.events)
    wait_for_failover(cluster)
    [unclean] = events_since(cluster, mark, "partition.unclean_election")
    assert "UNCLEAN leader election: broker 2 leads" in unclean.text
    assert "its log ends at 3, the longest replica had 6" in unclean.text
    assert (p.leader, p.isr, p.leader_epoch) == (2, [2], 1)
    assert cluster.controller.log[-1].fields["unclean"] is True
    # the idempotent producer notices: the new leader never saw its last three sequences and
    # refuses the next one as out of order; the producer restarts the partition's numbering
    # under a new epoch and the record goes (Java's rule; kafka-python 3 fails the batch)
    assert send.send(TOPIC, value=b"after").get(timeout=10).offset == 3
    [refused] = events_since(cluster, mark, "produce.rejected")
    assert "3 was expected" in refused.text
    [bump] = events_since(cluster, mark, "producer.epoch_bumped")
    assert "out of order" in bump.text
    cluster.restart_broker(1)
    cluster.advance(ms=100)
    [truncated] = events_since(cluster, mark, "replica.truncated")
    assert "broker 1 truncated its log to offset 3 (3 record(s)" in truncated.text
    # three acknowledged acks=all records are gone from every replica
    expected = [b"both 0", b"both 1", b"both 2", b"after"]
    assert consume_all(cluster) == expected
    assert all(values(log) == expected for log in p.logs.values())
    assert_replicas_identical(p)


def test_the_topic_setting_overrides_the_brokers_unclean_election():
    cluster = make_cluster(brokers=2, **{"unclean.leader.election.enable": True})
    p = topic_on(cluster, replicas=(1, 2), **{"unclean.leader.election.enable": False})
    _out_of_sync_follower_then_leader_dies(cluster, p)
    wait_for_failover(cluster)
    assert p.leader is None
    assert not cluster.events.of_kind("partition.unclean_election")
    # switching it on for the topic lets the controller elect the out-of-sync replica now
    cluster.alter_topic_config(TOPIC, {"unclean.leader.election.enable": True})
    assert p.leader == 2
    [unclean] = cluster.events.of_kind("partition.unclean_election")
    assert "broker 2 leads" in unclean.text


# --- controlled shutdown and preferred leaders ---------------------------------------------------


def test_controlled_shutdown_moves_leadership_first_without_an_offline_window():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all")
    send.send(TOPIC, value=b"0").get(timeout=10)
    mark, at = len(cluster.events), cluster.now_ms()
    cluster.shutdown_broker(1)
    kinds = [e.kind for e in events_since(cluster, mark)]
    assert kinds == ["partition.leader_changed", "broker.fenced", "broker.stopped"]
    assert all(e.time_ms == at for e in events_since(cluster, mark))
    moved = events_since(cluster, mark, "partition.leader_changed")[0]
    assert "leader 1 -> 2 (leader epoch 1), ISR [2, 3]: controlled shutdown of broker 1" \
        in moved.text
    assert (p.leader, p.isr) == (2, [2, 3])
    # no fencing delay: the producer's metadata still names broker 1, so the next write fails
    # to connect there, refreshes the metadata and goes to the new leader after
    # retry_backoff_ms (100) — not after broker.session.timeout.ms
    assert send.send(TOPIC, value=b"1").get(timeout=10).offset == 1
    assert cluster.now_ms() - at < 200
    assert metrics_of(cluster)[2]["UnderReplicatedPartitions"] == 1


def test_preferred_leader_election_gives_leadership_back_after_a_restart():
    cluster = make_cluster(**{"auto.leader.rebalance.enable": False})
    cluster.create_topic(TOPIC, partitions=3, replication_factor=3)
    partitions = cluster.topic(TOPIC).partitions
    victim = partitions[0].leader
    cluster.kill_broker(victim)
    wait_for_failover(cluster)
    assert all(p.leader != victim for p in partitions)
    cluster.restart_broker(victim)
    cluster.advance(ms=100)
    assert all(victim in p.isr for p in partitions)
    assert metrics_of(cluster)[victim]["LeaderCount"] == 0  # back, but leading nothing
    led = [p for p in partitions if p.preferred_leader == victim]
    epochs = [p.leader_epoch for p in led]
    assert cluster.elect_preferred_leaders() == len(led) == 1
    assert [p.leader for p in led] == [victim]
    assert [p.leader_epoch for p in led] == [e + 1 for e in epochs]
    assert "preferred leader election" in cluster.events.of_kind("partition.leader_changed")[-1].text
    assert all(p.leader == p.preferred_leader for p in partitions)
    assert cluster.elect_preferred_leaders() == 0


def test_auto_leader_rebalance_moves_leaders_back_every_imbalance_check():
    cluster = make_cluster()  # auto.leader.rebalance.enable=true, checked every 300 s
    p = topic_on(cluster)
    cluster.kill_broker(1)
    wait_for_failover(cluster)
    cluster.restart_broker(1)
    cluster.advance(ms=100)
    assert p.leader == 2 and 1 in p.isr
    cluster.advance(seconds=300)
    assert p.leader == 1


# --- network partitions --------------------------------------------------------------------------


def test_a_leader_cut_off_from_clients_only_takes_no_writes_until_healed():
    cluster = make_cluster()
    p = topic_on(cluster)
    send = producer(cluster, acks="all", request_timeout_ms=10_000)
    send.send(TOPIC, value=b"before").get(timeout=10)
    mark = len(cluster.events)
    cluster.isolate_broker(1, from_brokers=False, from_clients=True)
    pending = send.send(TOPIC, value=b"while cut off")
    cluster.advance(seconds=35)
    assert not pending.is_done
    # the controller still hears broker 1: it stays leader, nobody is fenced
    assert p.leader == 1 and not cluster.controller.fenced
    lost = events_since(cluster, mark, "request.lost")
    assert len(lost) >= 3  # first try and the retries after each request timeout
    assert "cut off from clients" in lost[0].text
    assert p.log_end_offset == 1
    assert consume_all(cluster) == []  # readers cannot reach it either
    cluster.heal()
    assert pending.get(timeout=20).offset == 1
    assert consume_all(cluster) == [b"before", b"while cut off"]
    assert p.leader_epoch == 0


def test_a_leader_cut_off_from_brokers_only_is_replaced_and_its_writes_are_lost():
    cluster = make_cluster()
    p = topic_on(cluster)
    send_all = producer(cluster, acks="all")
    send_one = producer(cluster, acks=1)
    send_all.send(TOPIC, value=b"before").get(timeout=10)
    cluster.isolate_broker(1, from_brokers=True, from_clients=False)
    # clients still reach broker 1 and it still thinks it leads: acks=1 is acknowledged...
    lost = send_one.send(TOPIC, value=b"acks=1 to the cut-off leader").get(timeout=10)
    assert lost.offset == 1
    # ... but acks=all can never be: its followers cannot fetch
    waiting = send_all.send(TOPIC, value=b"acks=all")
    cluster.advance(ms=SESSION_TIMEOUT_MS - HEARTBEAT_INTERVAL_MS - 1)
    assert not waiting.is_done and p.leader == 1
    wait_for_failover(cluster)
    assert 1 in cluster.controller.fenced and (p.leader, p.leader_epoch) == (2, 1)
    metadata = waiting.get(timeout=30)  # retried on the new leader
    assert metadata.offset == 1
    [batch] = [b for b in p.leader_log.batches() if b.base_offset == 1]
    assert batch.partition_leader_epoch == 1  # written by the new leader, not the cut-off one
    mark = len(cluster.events)
    cluster.heal()
    cluster.advance(ms=100)
    assert [e.kind for e in events_since(cluster, mark, "broker.unfenced")]
    [truncated] = events_since(cluster, mark, "replica.truncated")
    assert "broker 1 truncated its log to offset 1" in truncated.text
    assert consume_all(cluster) == [b"before", b"acks=all"]
    assert p.isr == [2, 3, 1]
    assert_replicas_identical(p)


# --- describe_topic and broker_metrics ------------------------------------------------------------


def test_describe_topic_and_broker_metrics_through_a_failure():
    cluster = make_cluster()
    cluster.create_topic(TOPIC, replica_assignment={0: [1, 2, 3], 1: [2, 3, 1], 2: [3, 1, 2]})
    send = producer(cluster, acks="all")
    for i in range(6):
        send.send(TOPIC, value=b"%d" % i, partition=i % 3)
    send.flush()
    cluster.advance(ms=10)
    frame = cluster.describe_topic(TOPIC)
    for column in ("leader", "leader_epoch", "replicas", "isr", "offline_replicas",
                   "replica_log_end_offsets", "replica_high_watermarks", "high_watermark"):
        assert column in frame.columns
    assert frame["replica_log_end_offsets"].tolist() == [{1: 2, 2: 2, 3: 2},
                                                         {2: 2, 3: 2, 1: 2},
                                                         {3: 2, 1: 2, 2: 2}]
    assert frame["replica_high_watermarks"].tolist() == frame["replica_log_end_offsets"].tolist()
    metrics = metrics_of(cluster)
    assert [metrics[b]["UnderReplicatedPartitions"] for b in (1, 2, 3)] == [0, 0, 0]
    assert sum(m["ActiveControllerCount"] for m in metrics.values()) == 1
    assert metrics[cluster.controller.active]["role"] == "controller"

    cluster.kill_broker(3)
    wait_for_failover(cluster)
    for i in range(3):
        send.send(TOPIC, value=b"x", partition=i)
    send.flush()
    frame = cluster.describe_topic(TOPIC).set_index("partition")
    assert frame["leader"].tolist() == [1, 2, 1]
    assert frame["leader_epoch"].tolist() == [0, 0, 1]
    assert frame["isr"].tolist() == [[1, 2], [2, 1], [1, 2]]
    assert frame["offline_replicas"].tolist() == [[3], [3], [3]]
    assert frame["high_watermark"].tolist() == [3, 3, 3]
    assert frame.loc[0, "replica_log_end_offsets"] == {1: 3, 2: 3, 3: 2}
    assert frame.loc[2, "replica_high_watermarks"][3] == 2
    metrics = metrics_of(cluster)
    assert [metrics[b]["LeaderCount"] for b in (1, 2, 3)] == [2, 1, 0]
    assert [metrics[b]["UnderReplicatedPartitions"] for b in (1, 2, 3)] == [2, 1, 0]
    assert metrics[3]["alive"] == False and metrics[3]["fenced"] == True  # noqa: E712
    assert sum(m["OfflinePartitionsCount"] for m in metrics.values()) == 0

    cluster.restart_broker(3)
    cluster.advance(ms=100)
    metrics = metrics_of(cluster)
    assert [metrics[b]["UnderReplicatedPartitions"] for b in (1, 2, 3)] == [0, 0, 0]
    assert metrics[1]["IsrExpandsPerSec"] > 0
    assert cluster.describe_topic(TOPIC)["offline_replicas"].tolist() == [[], [], []]


# --- explained events and determinism -------------------------------------------------------------


def fault_script(seed: int):
    """Every kind of fault once, with writes in between; returns the event log."""
    registry.clear()
    cluster = Cluster(brokers=3, seed=seed)
    cluster.create_topic(TOPIC, partitions=3, replication_factor=3,
                         config={"min.insync.replicas": 2})
    send = producer(cluster, acks="all")
    steps = [
        ("kill_broker", lambda: cluster.kill_broker(2)),
        ("restart_broker", lambda: cluster.restart_broker(2)),
        ("slow_follower", lambda: cluster.slow_follower(3, 40_000)),
        ("shutdown_broker", lambda: cluster.shutdown_broker(1)),
        ("restart_broker", lambda: cluster.restart_broker(1)),
        ("isolate_broker", lambda: cluster.isolate_broker(3, from_clients=False)),
        ("heal", cluster.heal),
        ("kill_controller", cluster.kill_controller),
        ("restart_controller", lambda: cluster.restart_controller(1000)),
        ("elect_preferred_leaders", cluster.elect_preferred_leaders),
    ]
    explained = {}
    for i, (name, fault) in enumerate(steps):
        for j in range(3):
            send.send(TOPIC, value=b"%d-%d" % (i, j))
        mark = len(cluster.events)
        fault()
        explained[name] = [e for e in events_since(cluster, mark) if e.time_ms == cluster.now_ms()]
        cluster.advance(seconds=12)
    send.flush(timeout=120)
    cluster.advance(seconds=40)
    return cluster, explained


def test_every_fault_leaves_an_explained_event():
    cluster, explained = fault_script(seed=3)
    expected_kind = {"kill_broker": "broker.killed", "restart_broker": "broker.restarted",
                     "slow_follower": "broker.slow", "shutdown_broker": "broker.stopped",
                     "isolate_broker": "broker.isolated", "heal": "network.healed",
                     "kill_controller": "controller.killed",
                     "restart_controller": "controller.restarted",
                     "elect_preferred_leaders": "partition.leader_changed"}
    for name, events in explained.items():
        kinds = [e.kind for e in events]
        assert expected_kind[name] in kinds, (name, kinds)
        assert all(e.text for e in events)
    for e in cluster.events:  # every event is a sentence with its facts
        assert e.text and e.kind == e.kind.strip() and "." in e.kind
    # and after all that, with acks=all + min.insync.replicas=2, no replica diverged
    for p in cluster.topic(TOPIC).partitions:
        assert p.leader is not None
        assert_replicas_identical(p)
    assert len(cluster.records(TOPIC)) == 30


def test_same_seed_and_same_faults_give_the_same_events():
    first, _ = fault_script(seed=5)
    again, _ = fault_script(seed=5)
    as_list = lambda c: [(e.time_ms, e.kind, e.text) for e in c.events]  # noqa: E731
    assert as_list(first) == as_list(again)
    assert [str(r) for r in first.controller.log] == [str(r) for r in again.controller.log]
    placement = lambda c: [p.replicas for p in c.topic(TOPIC).partitions]  # noqa: E731
    assert placement(first) == placement(again)
    assert [positions(p) for p in first.topic(TOPIC).partitions] == \
        [positions(p) for p in again.topic(TOPIC).partitions]


def test_random_fault_schedules_never_leave_replicas_diverged():
    """A sweep like kafkalab.reliability's, but with acks=1 and unclean election too: whatever
    is lost, the replicas that remain must agree (the epochs make them converge)."""
    from kafkalab.reliability import run_fault_schedule

    for seed in range(40):
        for kwargs in ({"acks": 1}, {"unclean": True}, {"acks": "all", "partitions": 2}):
            outcome = run_fault_schedule(seed, records=60, fault_every=4, **kwargs)
            assert outcome.replicas_identical, outcome.explain()
