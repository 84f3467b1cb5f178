"""Checks of notebook 06-replication (replication and fault tolerance).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Expected answers are computed, not stored: the
high watermark from the rule "smallest log end offset over the ISR" and the engine's own
snapshot; new leaders by crashing the broker in the learner's cluster and reading who the
controller elected; settings by running crash scenarios in fresh simulated clusters on ports of
their own (``CHECK_PORT``, never the learner's ``localhost:9092``); a lost record's story from
the learner's cluster's events.
"""
from __future__ import annotations

import numbers
from typing import Any, Mapping

from .checks import lesson_check

CHECK_PORT = 19_600  # the checks' own clusters live at localhost:19600.. (never the learner's)
FENCED_MS = 10_000   # broker.session.timeout.ms (9 s) plus a margin: the broker is fenced by then


def _fresh_cluster(**kwargs):
    from kafkalab import Cluster

    return Cluster(brokers=3, seed=0, port=CHECK_PORT, **kwargs)


def _is_int(value: Any) -> bool:
    """An int (numpy's too, as pandas hands them out), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# --- 06.1: the high watermark --------------------------------------------------------------------
HW_CASES = [
    ({1: 10, 2: 10, 3: 10}, [1, 2, 3]),
    ({1: 20, 2: 15, 3: 18}, [3, 1, 2]),
    ({1: 12, 2: 9, 3: 3}, [1, 2]),   # broker 3 is out of sync: it does not hold the HW back
    ({2: 40, 3: 31}, [2, 3]),
    ({1: 7, 2: 0, 3: 0}, [1]),       # the leader alone in the ISR
]


def _hw_rule(leos: Mapping[int, int], isr) -> int:
    return min(leos[b] for b in isr)


@lesson_check("06.1")
def high_watermark_rule(high_watermark, cluster, topic: str) -> str | None:
    if not callable(high_watermark):
        return "high_watermark should be a function of (replica_log_end_offsets, isr)"
    cases = list(HW_CASES)
    for row in cluster.describe_topic(topic).itertuples():
        cases.append((dict(row.replica_log_end_offsets), list(row.isr)))
    for leos, isr in cases:
        try:
            got = high_watermark(dict(leos), list(isr))
        except Exception as error:  # the learner's function failed: say on what
            return (f"high_watermark({leos}, {isr}) raised {type(error).__name__}: {error}")
        expected = _hw_rule(leos, isr)
        if got == expected:
            continue
        if got == min(leos.values()):
            return (f"high_watermark({leos}, {isr}) is {got}: a replica outside the ISR does "
                    f"not hold the high watermark back (the leader stopped waiting for it)")
        if got == max(leos.values()):
            return (f"high_watermark({leos}, {isr}) is {got}: that is the longest log, but a "
                    f"record is committed only once *every* in-sync replica has it")
        return f"high_watermark({leos}, {isr}) should be {expected}, not {got!r}"
    return None


# --- 06.2: who leads after a crash ---------------------------------------------------------------
@lesson_check("06.2")
def predicted_leaders(cluster, topic: str, crashed: int, new_leaders) -> str | None:
    partitions = len(cluster.topic(topic).partitions)
    if not isinstance(new_leaders, Mapping) or set(new_leaders) != set(range(partitions)):
        return (f"new_leaders should be a dict with one entry per partition 0..{partitions - 1}, "
                f"partition -> broker id")
    if not all(_is_int(b) for b in new_leaders.values()):
        return "new_leaders should map each partition to a broker id (an int)"
    if crashed in new_leaders.values():
        return f"broker {crashed} has crashed: it cannot lead anything once it is fenced"
    before = cluster.describe_topic(topic)
    if cluster.brokers[crashed].alive:  # the experiment: crash it and let the controller act
        cluster.kill_broker(crashed)
    if crashed not in cluster.controller.fenced:
        cluster.advance(ms=FENCED_MS)
    after = cluster.describe_topic(topic)
    actual = {int(row.partition): row.leader for row in after.itertuples()}
    wrong = sorted(p for p in actual if new_leaders[p] != actual[p])
    if not wrong:
        return None
    isr_order = {int(row.partition): next((b for b in row.isr if b != crashed), None)
                 for row in before.itertuples()}
    p = wrong[0]
    row = before.iloc[p]
    if row.leader != crashed:
        return (f"partition {p}: broker {row.leader} led it and is still up, so it keeps "
                f"leading; only the partitions broker {crashed} led get a new leader")
    if all(new_leaders[q] == isr_order[q] for q in wrong):
        return (f"partition {p}: you took the first broker of the ISR {list(row.isr)}; the "
                f"controller walks the *replica list* {list(row.replicas)} in order and takes "
                f"the first broker that is alive and in the ISR")
    return (f"partition {p} (replicas {list(row.replicas)}, ISR {list(row.isr)}) is not led by "
            f"broker {new_leaders[p]}: the controller takes the first broker of the replica list "
            f"that is alive and in the ISR")


# --- 06.3: min.insync.replicas with the admin client ---------------------------------------------
def accepted_with_brokers_down(min_insync_replicas: int) -> dict[int, bool]:
    """Is an acks='all' write accepted with 0, 1, 2 brokers down, on a topic with replication
    factor 3 and this min.insync.replicas? Measured on a fresh cluster."""
    from kafkalab import KafkaProducer
    from kafkalab.errors import KafkaError

    cluster = _fresh_cluster()
    cluster.create_topic("payments", replica_assignment={0: [1, 2, 3]},
                         config={"min.insync.replicas": min_insync_replicas})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks="all",
                             retries=0)
    accepted = {}
    for down in range(3):
        if down:
            cluster.kill_broker(4 - down)  # followers first: brokers 3, then 2
            cluster.advance(ms=FENCED_MS)
        try:
            producer.send("payments", b"check").get(timeout=10)
            accepted[down] = True
        except KafkaError:
            accepted[down] = False
    cluster.close()
    return accepted


@lesson_check("06.3")
def min_insync_applied(cluster, accepted) -> str | None:
    config = cluster.topic("payments").config
    if config["min.insync.replicas"] != 2:
        return (f"payments has min.insync.replicas={config['min.insync.replicas']}; the lesson "
                f"sets it to 2: admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "
                f"'payments', configs={{'min.insync.replicas': '2'}})])")
    if config.source("min.insync.replicas") != "DYNAMIC_TOPIC_CONFIG":
        return "set min.insync.replicas on the topic itself, with admin.alter_configs"
    if not isinstance(accepted, Mapping) or set(accepted) != {0, 1, 2}:
        return "accepted should be a dict {0: ..., 1: ..., 2: ...} of True/False"
    truth = accepted_with_brokers_down(2)
    for down in range(3):
        if bool(accepted[down]) != truth[down]:
            left = 3 - down
            verdict = "accepts" if truth[down] else "refuses (NotEnoughReplicasError)"
            return (f"with {down} broker(s) down the ISR has {left} replica(s), and "
                    f"min.insync.replicas=2, so the leader {verdict} an acks='all' write")
    return None


# --- 06.4: settings that survive one broker failure ----------------------------------------------
def _settings_error(replication_factor, min_insync_replicas, acks) -> str | None:
    if not _is_int(replication_factor) or not 1 <= replication_factor <= 3:
        return (f"replication_factor should be a whole number from 1 to 3 (the cluster has 3 "
                f"brokers), not {replication_factor!r}")
    if not _is_int(min_insync_replicas) or min_insync_replicas < 1:
        return f"min_insync_replicas should be a whole number >= 1, not {min_insync_replicas!r}"
    if acks not in (0, 1, "all", -1, "0", "1", "-1"):
        return f"acks should be 0, 1 or 'all', not {acks!r}"
    return None


def _topic_cluster(replication_factor, min_insync_replicas, follower_delay_ms=0):
    cluster = _fresh_cluster()
    cluster.create_topic("orders", replica_assignment={0: [1, 2, 3][:replication_factor]},
                         config={"min.insync.replicas": min_insync_replicas})
    for broker in cluster.brokers:
        cluster.slow_follower(broker, follower_delay_ms)
    return cluster


def one_broker_down_writes(replication_factor, min_insync_replicas, acks) -> int:
    """With the partition's leader crashed and fenced, how many of 10 writes are acknowledged
    within 5 s each?"""
    from kafkalab import KafkaProducer
    from kafkalab.errors import KafkaError

    cluster = _topic_cluster(replication_factor, min_insync_replicas)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=acks)
    cluster.kill_broker(1)
    cluster.advance(ms=FENCED_MS)
    ok = 0
    for i in range(10):
        try:
            producer.send("orders", str(i).encode()).get(timeout=5)
            ok += 1
        except KafkaError:
            pass
    cluster.close()
    return ok


def lost_when_the_leader_crashes(replication_factor, min_insync_replicas, acks) -> int:
    """Write 300 records (one per ms) to followers that copy 100 ms late, crash the leader
    after 200, restart it 15 s later: how many acknowledged records are gone?"""
    from kafkalab import KafkaProducer

    cluster = _topic_cluster(replication_factor, min_insync_replicas, follower_delay_ms=100)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=acks)
    acknowledged = set()
    for i in range(300):
        producer.send("orders", str(i).encode()).add_callback(
            lambda _, i=i: acknowledged.add(i))
        if i == 200:
            cluster.kill_broker(1)
        cluster.advance(ms=1)
    cluster.advance(ms=15_000)
    cluster.restart_broker(1)
    cluster.advance(ms=5_000)
    stored = {int(v) for v in cluster.records("orders")["value"]}
    cluster.close()
    return len(acknowledged - stored)


def acknowledged_with_one_copy(replication_factor, min_insync_replicas, acks) -> bool:
    """With every follower crashed and fenced, is a write acknowledged by the leader alone?"""
    from kafkalab import KafkaProducer
    from kafkalab.errors import KafkaError

    cluster = _topic_cluster(replication_factor, min_insync_replicas)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, acks=acks,
                             retries=0)
    for follower in range(2, replication_factor + 1):
        cluster.kill_broker(follower)
    cluster.advance(ms=FENCED_MS)
    try:
        metadata = producer.send("orders", b"alone").get(timeout=5)
        acknowledged = True
    except KafkaError:
        acknowledged, metadata = False, None
    cluster.close()
    return acknowledged and metadata is not None


@lesson_check("06.4")
def survives_one_failure(replication_factor, min_insync_replicas, acks) -> str | None:
    error = _settings_error(replication_factor, min_insync_replicas, acks)
    if error:
        return error
    rf, min_isr = replication_factor, min_insync_replicas
    written = one_broker_down_writes(rf, min_isr, acks)
    if written < 10:
        if rf == 1:
            return ("with replication_factor=1 the partition's only replica is on the crashed "
                    "broker: it is offline until that broker comes back")
        return (f"with one broker down, only {written} of 10 writes got through: the ISR has "
                f"{rf - 1} replica(s) left, fewer than min.insync.replicas={min_isr}, so the "
                f"leader refuses acks='all' writes (NotEnoughReplicasError)")
    lost = lost_when_the_leader_crashes(rf, min_isr, acks)
    if lost:
        waits_for = "anyone" if acks in (0, "0") else "the followers"
        return (f"the leader crashed before its followers (100 ms behind) copied its latest "
                f"records, and {lost} acknowledged record(s) were lost: with acks={acks!r} the "
                f"producer does not wait for {waits_for}")
    if acknowledged_with_one_copy(rf, min_isr, acks):
        return ("with only the leader left in the ISR, a write was still acknowledged: it "
                "existed on one broker only, and that broker's failure would lose it. Which "
                "setting makes the leader refuse writes it cannot copy to 2 brokers?")
    return None


# --- 06.5: the story of a lost record ------------------------------------------------------------
def lost_story(cluster, topic: str, acknowledged: Mapping[str, int]) -> dict[str, Any]:
    """What really happened: the acknowledged values that are gone (in send order), the broker
    that led the partition before the crash (its first replica: the exercise's partition had
    one leader until then), the leader now, and the brokers that truncated."""
    stored = set(cluster.records(topic)["value"])
    partition = cluster.partition(topic, 0)
    return {
        "lost": [v for v in acknowledged if v not in stored],
        "acknowledged_by": partition.replicas[0],
        "new_leader": partition.leader,
        "truncated_on": {e.data["broker"] for e in cluster.events.of_kind("replica.truncated")
                         if e.data.get("topic") == topic},
    }


@lesson_check("06.5")
def explained_loss(cluster, topic: str, acknowledged, lost, acknowledged_by, new_leader,
                   truncated_on) -> str | None:
    truth = lost_story(cluster, topic, acknowledged)
    if not isinstance(lost, (list, tuple)) or list(lost) != truth["lost"]:
        if isinstance(lost, (list, tuple, set)) and set(lost) == set(truth["lost"]):
            return "lost has the right records: list them in the order they were sent"
        return ("lost should list the acknowledged values (keys of acknowledged) that are no "
                "longer in the partition (cluster5.records('payments')), in the order they "
                "were sent")
    if acknowledged_by != truth["acknowledged_by"]:
        return ("acknowledged_by: with acks=1 the *leader* acknowledges a record as soon as it "
                "has appended it; which broker led payments-0 before the crash?")
    if new_leader != truth["new_leader"]:
        return ("new_leader: read the partition.leader_changed event. Kafka does not pick the "
                "follower with the longest log: it takes the first broker of the replica list "
                "that is alive and in the ISR")
    if not isinstance(truncated_on, (set, frozenset, list, tuple)) or \
            set(truncated_on) != truth["truncated_on"]:
        if isinstance(truncated_on, (set, frozenset, list, tuple)) and \
                set(truncated_on) < truth["truncated_on"]:
            return ("truncated_on misses a broker: look at every replica.truncated event; a "
                    "follower that had copied the records also had to drop them")
        return "truncated_on should be the set of brokers whose replica.truncated events you see"
    return None
