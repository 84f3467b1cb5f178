"""Checks of notebook 03-consumers (consumers and consumer groups).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line; whatever a learner's function prints while a check
runs it is swallowed). Expected answers are computed, not stored: assignments by running a real
group in a fresh simulated cluster on a port of its own (``CHECK_PORT``, never the learner's
``localhost:9092``), lag from the learner's cluster without changing it, capacity by the rule
"a partition is read by one member".
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from typing import Any, Callable, Mapping

from .checks import lesson_check

CHECK_PORT = 19_300  # the checks' own clusters live at localhost:19300 (never the learner's)
# simulated time for a group to settle: the first rebalance waits group.initial.rebalance.delay.ms
# (3 s, again while new members keep arriving), a running member learns of a rebalance at its
# next heartbeat (3 s), and a cooperative rebalance takes two rounds
SETTLE_MS = 20_000


class ProcessCrashed(BaseException):
    """The process died in the middle of handling a record (03.1).

    A BaseException, like KeyboardInterrupt: ``except Exception`` in the learner's loop cannot
    swallow a crash, just as no ``except`` survives ``kill -9``."""


def _fresh_cluster():
    from kafkalab import Cluster

    return Cluster(seed=0, port=CHECK_PORT)


def poll_together(cluster, consumers, ms: int, step_ms: int = 100) -> None:
    """Poll every consumer in turn while ``ms`` of simulated time pass (one kernel playing
    several processes: each member rejoins and rebalances only inside its own poll)."""
    end = cluster.now_ms() + ms
    while cluster.now_ms() < end:
        for consumer in consumers:
            consumer.poll(timeout_ms=0)
        cluster.advance(ms=step_ms)


def _tp_name(tp: Any) -> str | None:
    """'orders-0' for 'orders-0', ('orders', 0) or TopicPartition('orders', 0)."""
    if isinstance(tp, str):
        topic, _, partition = tp.rpartition("-")
        return tp if topic and partition.isdigit() else None
    if isinstance(tp, tuple) and len(tp) == 2 and isinstance(tp[1], int):
        return f"{tp[0]}-{tp[1]}"
    return None


# --- 03.1: commit after processing (at-least-once) ------------------------------------------------
def crash_scenario(consume: Callable, crash_at: int = 5, records: int = 12):
    """Run the learner's ``consume(consumer, process)`` in a fresh cluster: the process crashes
    while handling its ``crash_at``-th record, restarts a minute later (the group has noticed the
    crash by then: session_timeout_ms = 45 s) and runs ``consume`` again. Members read at most
    3 records per poll (max_poll_records=3).
    Returns (offsets processed in the first run, offsets processed after the restart, all
    offsets in the topic), offsets as (partition, offset)."""
    from kafkalab import KafkaConsumer, KafkaProducer

    cluster = _fresh_cluster()
    cluster.create_topic("payments", partitions=3)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    for i in range(records):
        producer.send("payments", {"payment": i}, partition=i % 3)
    producer.flush()

    def consumer():
        return KafkaConsumer("payments", bootstrap_servers=cluster.bootstrap_servers,
                             group_id="ledger", enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=3,
                             value_deserializer=lambda b: json.loads(b.decode("utf-8")))

    first, second = [], []
    crashed = []

    def crashing(message):
        if len(first) + 1 == crash_at:
            crashed.append((message.partition, message.offset))
            raise ProcessCrashed(f"the process died while handling {message.topic}-"
                                 f"{message.partition} offset {message.offset}")
        first.append((message.partition, message.offset))

    def healthy(message):
        second.append((message.partition, message.offset))

    with contextlib.redirect_stdout(io.StringIO()):
        before = consumer()
        try:
            consume(before, crashing)
        except ProcessCrashed:
            cluster.faults.crash_consumer(before)
        else:
            if crashed:  # the crash was caught (a bare except:): the process "survived" it
                raise RuntimeError("consume() caught ProcessCrashed; a crash cannot be caught: "
                                   "do not use a bare `except:` or `except BaseException:`")
        cluster.advance(minutes=1)  # the service restarts a minute later
        consume(consumer(), healthy)
    everything = {(p, o) for p in range(3) for o in range(records // 3)}
    return first, second, everything


@lesson_check("03.1")
def at_least_once(consume) -> str | None:
    if not callable(consume):
        return "consume should be a function consume(consumer, process)"
    try:
        first, second, everything = crash_scenario(consume)
    except RuntimeError as error:
        return str(error)
    if len(first) < 4:
        return (f"the first run processed only {len(first)} record(s) and never reached the "
                "5th, where the crash happens: call process(message) for every record you read, "
                "and keep reading until nothing is left")
    if not second:
        return ("after the restart the consumer processed nothing: consume() must read until "
                "nothing is left. Iterate `for message in consumer:` (it stops by itself when "
                "the simulated world is idle) rather than polling a fixed number of times")
    lost = everything - set(first) - set(second)
    if lost:
        return (f"{len(lost)} record(s) were never processed, {sorted(lost)} as (partition, "
                "offset): the consumer committed a record's offset before processing it, so "
                "after the crash the group resumed past it. Commit after process(message)")
    if set(second) >= everything:
        return ("no record was lost, but after the restart the consumer processed all "
                f"{len(everything)} records again: nothing was committed before the crash. "
                "Commit as you go (after each processed record or batch)")
    return None


# --- 03.2: range assignment -----------------------------------------------------------------------
def range_assignment(subscriptions: Mapping[str, int], members: list[str],
                     assignor=None) -> dict[str, set[str]]:
    """Start ``members`` (client ids) in one group subscribed to the topics
    ``{topic: partitions}`` in a fresh cluster; returns each member's partitions as
    {'orders-0', ...} once the group is stable."""
    from kafkalab import KafkaConsumer
    from kafkalab.coordinator.assignors import RangePartitionAssignor

    cluster = _fresh_cluster()
    for topic, partitions in subscriptions.items():
        cluster.create_topic(topic, partitions=partitions)
    consumers = {}
    for name in members:
        consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id="billing",
                                 client_id=name, partition_assignment_strategy=[
                                     assignor or RangePartitionAssignor])
        consumer.subscribe(list(subscriptions))
        consumers[name] = consumer
    poll_together(cluster, list(consumers.values()), SETTLE_MS)
    return {name: {f"{tp.topic}-{tp.partition}" for tp in c.assignment()}
            for name, c in consumers.items()}


@lesson_check("03.2")
def predict_range(predicted) -> str | None:
    members = ["worker-a", "worker-b", "worker-c"]
    truth = range_assignment({"orders": 4, "refunds": 2}, members)
    if not isinstance(predicted, Mapping) or set(predicted) != set(members):
        return f"predicted should be a dict with one entry per member: {members}"
    answer = {}
    for name, parts in predicted.items():
        if isinstance(parts, (str, bytes)) or not hasattr(parts, "__iter__"):
            return (f"predicted[{name!r}] should be a list of partitions like "
                    f"['orders-0', 'refunds-1'], not {parts!r}")
        names = [_tp_name(tp) for tp in parts]
        if None in names:
            return (f"write each partition as 'topic-partition', e.g. 'orders-0' (or "
                    f"TopicPartition('orders', 0)); got {list(parts)!r}")
        answer[name] = set(names)
    given = sorted(p for parts in answer.values() for p in parts)
    everything = sorted(p for parts in truth.values() for p in parts)
    if given != everything:
        return ("every partition of orders (0-3) and refunds (0-1) goes to exactly one member; "
                f"your answer hands out {given}")
    if answer == truth:
        return None
    if {n: len(p) for n, p in answer.items()} == {n: 2 for n in members}:
        return ("the range assignor does not balance the group as a whole: it works topic by "
                "topic, giving each member a consecutive range of that topic's partitions "
                "(members sorted by member id), and the first members get the leftovers")
    return ("not what the range assignor does: for each topic separately, sort the members, "
            "give each partitions // members consecutive partitions, and one extra to each of "
            "the first partitions % members")


# --- 03.3: lag from the group's table -------------------------------------------------------------
@lesson_check("03.3")
def records_to_read(cluster, topic: str, group_id: str, lag, to_read) -> str | None:
    from kafkalab import TopicPartition

    partitions = range(len(cluster.topic(topic).partitions))
    committed = cluster.group_coordinator.fetch_offsets(group_id)
    truth_lag, truth_read = {}, {}
    for p in partitions:
        log = cluster.partition(topic, p)
        om = committed.get(TopicPartition(topic, p))
        if om is not None:
            truth_lag[p] = log.high_watermark - om.offset
            truth_read[p] = truth_lag[p]
        else:
            truth_read[p] = log.high_watermark - log.log_start_offset
    if not isinstance(lag, Mapping) or set(lag) != set(truth_lag):
        return (f"lag should be a dict {{partition: lag}} for the partitions the table lists, "
                f"{sorted(truth_lag)}")
    for p, expected in truth_lag.items():
        if lag[p] == expected - 1:
            return ("off by one: the committed offset (CURRENT-OFFSET) is the next offset the "
                    "group will read, not the last one it read; LAG = LOG-END-OFFSET - "
                    "CURRENT-OFFSET")
        if lag[p] != expected:
            return f"lag[{p}] is not {lag[p]!r}: LAG = LOG-END-OFFSET - CURRENT-OFFSET"
    if not isinstance(to_read, Mapping) or set(to_read) != set(partitions):
        return f"to_read should be a dict with every partition of {topic}: {list(partitions)}"
    for p, expected in truth_read.items():
        if to_read[p] != expected:
            if p not in truth_lag:
                return (f"partition {p} is not in the table because the group never committed "
                        f"an offset for it. A restarted member then starts where "
                        f"auto_offset_reset says: 'earliest' is the log start offset")
            return f"to_read[{p}] is not {to_read[p]!r}: a restarted member resumes at the " \
                   f"committed offset"
    return None


# --- 03.4: how many consumers keep up -------------------------------------------------------------
def consumers_needed(partitions: int, per_partition_rate: float, consumer_rate: float) -> int:
    """The smallest group in which no member gets more records per second than it can handle:
    a balanced assignor gives the busiest member ceil(partitions / members) partitions."""
    for members in range(1, partitions + 1):
        if math.ceil(partitions / members) * per_partition_rate <= consumer_rate:
            return members
    raise ValueError("even one partition per consumer is too much for one consumer")


@lesson_check("03.4")
def scale_out(needed, useful_max) -> str | None:
    partitions, per_partition, capacity = 8, 30, 80
    truth = consumers_needed(partitions, per_partition, capacity)
    if not isinstance(needed, int) or not isinstance(useful_max, int):
        return "needed and useful_max should be whole numbers (int)"
    if useful_max != partitions:
        return ("useful_max: a partition is read by exactly one member of the group, so members "
                "beyond the number of partitions get nothing and sit idle")
    if needed == math.ceil(partitions * per_partition / capacity) and needed != truth:
        return (f"{needed} consumers could handle {partitions * per_partition} records/s in "
                f"total, but partitions cannot be split: with {needed} members some get "
                f"{math.ceil(partitions / needed)} partitions = "
                f"{math.ceil(partitions / needed) * per_partition} records/s > {capacity}")
    if needed != truth:
        return ("needed is the smallest group in which the busiest member (ceil(partitions / "
                f"members) partitions x {per_partition} records/s) stays within {capacity} "
                "records/s")
    return None


# --- 03.5: the assignor that revokes least --------------------------------------------------------
def revocations_when_third_joins(strategy, partitions: int = 6) -> int:
    """Two members share a topic of ``partitions``; a third joins. How many partitions do the
    rebalance listeners of the members see revoked (all rounds of the rebalance)?"""
    from kafkalab import ConsumerRebalanceListener, KafkaConsumer

    cluster = _fresh_cluster()
    cluster.create_topic("page-views", partitions=partitions)
    revoked: list = []

    class Count(ConsumerRebalanceListener):
        def on_partitions_revoked(self, partitions):
            revoked.extend(partitions)

        def on_partitions_assigned(self, partitions):
            pass

    def member(name):
        consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id="views",
                                 client_id=name, partition_assignment_strategy=strategy)
        consumer.subscribe(["page-views"], listener=Count())
        return consumer

    group = [member("member-1"), member("member-2")]
    poll_together(cluster, group, SETTLE_MS)
    revoked.clear()
    group.append(member("member-3"))
    poll_together(cluster, group, SETTLE_MS)  # both rounds of a cooperative rebalance
    return len(revoked)


@lesson_check("03.5")
def least_revoked(strategy, revoked_when_third_joins) -> str | None:
    from kafkalab.coordinator.assignors import AbstractPartitionAssignor

    if isinstance(strategy, type) or not isinstance(strategy, (list, tuple)) or not strategy:
        return "strategy should be a list of assignor classes, e.g. [RangePartitionAssignor]"
    if not all(isinstance(a, type) and issubclass(a, AbstractPartitionAssignor)
               for a in strategy):
        return ("strategy should hold assignor classes from kafkalab.coordinator.assignors "
                "(RangePartitionAssignor, RoundRobinPartitionAssignor, StickyPartitionAssignor, "
                "CooperativeStickyAssignor)")
    from kafkalab.coordinator.assignors import CooperativeStickyAssignor

    best = revocations_when_third_joins([CooperativeStickyAssignor])
    got = revocations_when_third_joins(list(strategy))
    if got > best:
        names = [a.name for a in strategy]
        eager = "sticky" in names
        return (f"with {names} the members' listeners see {got} partitions revoked; another "
                f"assignor needs only {best}."
                + (" The sticky assignor keeps partitions where they were, but it runs the "
                   "eager protocol: every member still revokes everything before rejoining"
                   if eager else " Which protocol revokes only the partitions that move?"))
    if revoked_when_third_joins != got:
        return (f"revoked_when_third_joins is not {revoked_when_third_joins!r}: count the "
                "partitions that must move to give the third member its fair share")
    return None
