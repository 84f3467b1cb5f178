"""Checks of notebook 00-start-here (message queue vs event streaming, replay, retention), and
:func:`free_port`, where its section 5 serves a cluster to the real kafka-python.

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Checks that need "the truth" rebuild it in a fresh
simulated cluster on a port of its own (``CHECK_PORT``), so a learner's notebook state cannot
change the expected answer and the learner's cluster keeps ``localhost:9092``.
"""
from __future__ import annotations

import errno
import socket
from typing import Any, Mapping

from .checks import lesson_check

DAY_MS = 24 * 3600 * 1000
CHECK_PORT = 19_000  # the checks' own clusters live at localhost:19000 (never the learner's)
SERVE_PORT = 49_092  # where section 5's served cluster listens when that port is free


def _bindable(port: int) -> bool:
    """Nothing listens on ``port`` of the loopback addresses (IPv4, and IPv6 where it exists)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 here
        with sock:
            try:
                sock.bind((host, port))
            except OSError as error:
                if family == socket.AF_INET6 and error.errno != errno.EADDRINUSE:
                    continue  # no IPv6 loopback here
                return False
    return True


def _in_kernel(port: int) -> bool:
    """A cluster of this kernel already has ``localhost:<port>`` (a new one would take it);
    9092 always counts as taken: it is the lesson's address, even before a cluster claims it."""
    from kafkalab.cluster import registry
    from kafkalab.errors import KafkaConnectionError

    if port == registry.DEFAULT_PORT:
        return True  # and resolve() would make the default cluster there
    try:
        registry.resolve(f"localhost:{port}")
    except KafkaConnectionError:
        return False
    return True


def free_port(brokers: int = 1, start: int = SERVE_PORT, tries: int = 100) -> int:
    """The first port from ``start`` on (in steps of ``brokers``) where ``brokers`` ports in a
    row are free on the loopback addresses and named by no cluster of this kernel: a served
    cluster there clashes neither with a Kafka on this machine nor with the notebook's
    in-process clusters. ``start`` stays first while it is free, so a notebook run prints the
    same ports every time."""
    if not isinstance(brokers, int) or brokers < 1:
        raise ValueError(f"brokers must be a whole number >= 1, not {brokers!r}")
    if not 1024 <= start <= 65535 - brokers * tries:
        raise ValueError(f"start must leave room for {tries} tries of {brokers} port(s) "
                         f"between 1024 and 65535, not {start!r}")
    for base in range(start, start + brokers * tries, brokers):
        ports = range(base, base + brokers)
        if all(_bindable(p) and not _in_kernel(p) for p in ports):
            return base
    raise RuntimeError(f"no {brokers} free port(s) in a row between {start} and "
                       f"{start + brokers * tries - 1}; stop what listens there or pass "
                       f"another start=")


def _fresh_cluster():
    from kafkalab import Cluster

    return Cluster(seed=0, port=CHECK_PORT)


def _values(consumer) -> list:
    out = []
    for record in consumer:
        value = record.value
        out.append(value.decode("utf-8") if isinstance(value, bytes) else value)
    return out


def _as_list(answer: Any, name: str) -> list | str:
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        return f"{name} should be a list of message texts like ['p1', 'p2'], not {answer!r}"
    return [a.decode("utf-8") if isinstance(a, bytes) else a for a in answer]


# --- 00.1: a queue forgets what was acknowledged, a topic does not ----------------------------
@lesson_check("00.1")
def queue_vs_topic(queue, cluster, topic: str, left_in_queue, reader_b_gets) -> str | None:
    from kafkalab import KafkaConsumer, TopicPartition

    left = _as_list(left_in_queue, "left_in_queue")
    if isinstance(left, str):
        return left
    got = _as_list(reader_b_gets, "reader_b_gets")
    if isinstance(got, str):
        return got
    if left != queue.messages():
        return ("left_in_queue is not what the queue still holds: a message the worker acked is "
                "deleted; the ones it never received are still there, in order")
    reader = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers,
                           auto_offset_reset="earliest")
    reader.assign([TopicPartition(topic, p) for p in range(len(cluster.topic(topic)))])
    truth = _values(reader)
    if got != truth:
        return ("reader_b_gets is not what a new reader of the topic gets: reading does not "
                "remove anything from a Kafka topic, and a new reader with "
                "auto_offset_reset='earliest' starts at the first offset still kept")
    return None


# --- 00.2: replay with seek ---------------------------------------------------------------------
@lesson_check("00.2")
def replay_from_offset(cluster, reader, tp, first_value: str, replayed) -> str | None:
    got = _as_list(replayed, "replayed")
    if isinstance(got, str):
        return got
    records = cluster.records(tp.topic, tp.partition)
    values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in records["value"]]
    if first_value not in values:
        return f"the topic has no message {first_value!r}; re-run the notebook from the top"
    expected = values[values.index(first_value):]
    if got == values:
        return ("you replayed the whole partition; seek to the offset of "
                f"{first_value!r} instead of the beginning")
    if got != expected:
        return (f"replayed should hold every message from {first_value!r} to the end, "
                f"{len(expected)} of them: seek(tp, <offset of {first_value!r}>) and read again")
    end = int(records["offset"].max()) + 1
    if reader.position(tp) != end:
        return (f"after replaying, the reader's position should be the log end offset {end}, "
                f"not {reader.position(tp)}")
    return None


# --- 00.3: retention deletes whole segments -----------------------------------------------------
def clicks_scenario(config: Mapping[str, Any] | None = None, until_day: float = 9.5):
    """The 00.3 story in a fresh cluster: 4 records on day 0, 3 on day 3, 5 on day 6 into topic
    ``clicks``; returns (records left, log start offset) on ``until_day``."""
    from kafkalab import KafkaProducer

    cluster = _fresh_cluster()
    cluster.create_topic("clicks", partitions=1, config=dict(config or {}))
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    start = cluster.now_ms()
    for day, count in ((0, 4), (3, 3), (6, 5)):
        cluster.advance(ms=start + day * DAY_MS - cluster.now_ms())
        for i in range(count):
            producer.send("clicks", value=f"day{day}-{i}".encode())
        producer.flush()
    cluster.advance(ms=start + int(until_day * DAY_MS) - cluster.now_ms())
    row = cluster.describe_topic("clicks").iloc[0]
    return int(row["records"]), int(row["log_start_offset"])


@lesson_check("00.3")
def predict_retention(records_left, log_start_offset) -> str | None:
    left, start = clicks_scenario()
    if not isinstance(records_left, int) or not isinstance(log_start_offset, int):
        return "records_left and log_start_offset should be whole numbers (int)"
    if (records_left, log_start_offset) == (8, 4):
        return ("retention does not delete single records: it deletes whole segments, and only "
                "once the *newest* record of the segment is older than retention.ms. With "
                "segment.ms = 7 days, how many segments does clicks-0 have?")
    if records_left != left:
        return f"records_left is not {records_left}: count what the retention check may delete"
    if log_start_offset != start:
        return (f"log_start_offset is not {log_start_offset}: it is the first offset still "
                f"kept")
    return None


# --- 00.4: choose segment.ms so retention can act per day ---------------------------------------
def audit_scenario(config: Mapping[str, Any]) -> list[str]:
    """The 00.4 story in a fresh cluster: topic ``audit`` with ``config``; 3 records on day 0,
    2 on day 5; returns the values left on day 8."""
    from kafkalab import KafkaProducer

    cluster = _fresh_cluster()
    cluster.create_topic("audit", partitions=1, config=dict(config))
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers,
                             value_serializer=lambda v: v.encode("utf-8"))
    for value in ("day0-a", "day0-b", "day0-c"):
        producer.send("audit", value=value)
    producer.flush()
    cluster.advance(days=5)
    for value in ("day5-a", "day5-b"):
        producer.send("audit", value=value)
    producer.flush()
    cluster.advance(days=3)
    return list(cluster.records("audit", 0)["value"])  # records() decodes UTF-8 text


@lesson_check("00.4")
def segment_config(audit_config) -> str | None:
    from kafkalab.config import TopicConfig, BrokerConfig
    from kafkalab.errors import KafkaError

    if not isinstance(audit_config, Mapping):
        return f"audit_config should be a dict of topic configs, not {audit_config!r}"
    try:
        effective = TopicConfig(BrokerConfig(), audit_config)
    except KafkaError as error:
        return f"Kafka refuses this config: {error}"
    if effective["retention.ms"] != 7 * DAY_MS:
        return ("keep retention.ms at 7 days (604800000 ms): the audit team needs a week; "
                "change how the log is cut into segments instead")
    left = audit_scenario(audit_config)
    if left == ["day0-a", "day0-b", "day0-c", "day5-a", "day5-b"]:
        return ("on day 8 everything is still there: all five records sit in one segment, whose "
                "newest record (day 5) is only 3 days old. Make the day-5 records start a new "
                "segment (segment.ms)")
    if left != ["day5-a", "day5-b"]:
        return (f"on day 8 the topic holds {left}; it should hold exactly the day-5 records "
                f"['day5-a', 'day5-b']")
    return None
