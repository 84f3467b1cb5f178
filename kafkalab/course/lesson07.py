"""Checks of notebook 07-retention-compaction (retention and log compaction).

Each check returns ``None`` when the answer is right and a hint when it is wrong, and never
prints (``checks.run`` prints the pass line). Expected answers are computed, not stored: topic
configs are read back through the learner's admin client (DescribeConfigs); retention settings
are judged by simulating them on fresh clusters on ports of their own (``CHECK_PORT``, never the
learner's ``localhost:9092``); which offsets survive compaction by letting the engine's log
cleaner run on the learner's cluster (the experiment, as 06.2 crashes a broker in it); a rebuilt
table against the rule "last value per key, a null value deletes the key"; a dirty ratio
against the cleaner's own figure.
"""
from __future__ import annotations

import numbers
from typing import Any, Mapping

from .checks import lesson_check

CHECK_PORT = 19_700  # the checks' own clusters live at localhost:19700.. (never the learner's)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def _fresh_cluster():
    from kafkalab import Cluster

    return Cluster(brokers=1, seed=0, port=CHECK_PORT)


def _is_int(value: Any) -> bool:
    """An int (numpy's too, as pandas hands them out), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# --- 07.1: the lesson's two retention commands ---------------------------------------------------
CLICKS_RETENTION_MS = 3 * DAY_MS
CLICKS_RETENTION_BYTES = 1024 ** 3


@lesson_check("07.1")
def clicks_retention(admin, topic: str = "clicks") -> str | None:
    from kafkalab.admin import ConfigResource, ConfigResourceType

    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                       config_filter="all")["topic"][topic]
    wanted = {"retention.ms": (CLICKS_RETENTION_MS, "3 days"),
              "retention.bytes": (CLICKS_RETENTION_BYTES, "1 GiB")}
    for name, (expected, said) in wanted.items():
        entry = described[name]
        value = int(entry["value"])
        if value == expected and entry["config_source"] == "DYNAMIC_TOPIC_CONFIG":
            continue
        if entry["config_source"] != "DYNAMIC_TOPIC_CONFIG":
            return (f"{topic} still has the default {name}={value}: set it on the topic with "
                    f"admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "
                    f"'{topic}', configs={{'{name}': '...'}})])")
        if name == "retention.ms" and value * 1000 == expected:
            return (f"retention.ms={value} is 3 days in *seconds*: Kafka counts retention.ms "
                    f"in milliseconds, so that keeps records for {value // 1000 // 60} min")
        if name == "retention.bytes" and value in (10 ** 9, 1024 ** 2):
            return (f"retention.bytes={value} is not 1 GiB: the lesson's 10 GB is "
                    f"10737418240 = 10 * 1024**3 bytes, so 1 GiB is 1024**3 bytes")
        return f"{topic} has {name}={value}; {said} is {expected}"
    return None


# --- 07.2: how long records really live ----------------------------------------------------------
KEEP_AT_LEAST_MS = 2 * DAY_MS
GONE_WITHIN_MS = 3 * DAY_MS
SIMULATED_DAYS = 8


def lifetimes(segment_ms: int, retention_ms: int) -> list[tuple[int, int, bool]]:
    """Write one record per hour for ``SIMULATED_DAYS`` days to a topic with these configs:
    ``(written_ms, lived_ms, deleted)`` per record, timed from the cluster's start; a record
    still stored at the end lived until then."""
    from kafkalab import KafkaProducer

    cluster = _fresh_cluster()
    cluster.create_topic("events", partitions=1,
                         config={"segment.ms": segment_ms, "retention.ms": retention_ms})
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_servers)
    written = []
    for _ in range(SIMULATED_DAYS * 24):
        written.append(cluster.now_ms() - cluster.start_ms)
        producer.send("events", b"x")
        cluster.advance(hours=1)
    end_ms = cluster.now_ms() - cluster.start_ms
    deleted_at = {}
    start = 0
    for event in cluster.events.of_kind("retention.deleted"):
        for offset in range(start, event.data["log_start_offset"]):
            deleted_at[offset] = event.time_ms - cluster.start_ms
        start = max(start, event.data["log_start_offset"])
    cluster.close()
    return [(w, deleted_at.get(offset, end_ms) - w, offset in deleted_at)
            for offset, w in enumerate(written)]


def _days_hours_minutes(ms: int) -> str:
    """A lifetime to the minute: ``3 d 0 h 5 min`` (a rounded ``3 days`` would hide the 5 min)."""
    minutes = ms // 60_000
    return f"{minutes // 1440} d {minutes // 60 % 24} h {minutes % 60} min"


@lesson_check("07.2")
def retention_window(segment_ms, retention_ms) -> str | None:
    from kafkalab.timefmt import clock_text

    for name, value in (("segment_ms", segment_ms), ("retention_ms", retention_ms)):
        if not _is_int(value) or value < 1:
            return f"{name} should be a whole number of milliseconds >= 1, not {value!r}"
    records = lifetimes(int(segment_ms), int(retention_ms))
    for written, lived, deleted in records:
        if deleted and lived < KEEP_AT_LEAST_MS:
            return (f"the record written at {clock_text(written)} was deleted after "
                    f"{_days_hours_minutes(lived)}: every record must be kept at least 2 days. "
                    f"retention.ms is in milliseconds and counts from a segment's newest record")
    for written, lived, deleted in records:
        if lived > GONE_WITHIN_MS:
            fate = "was deleted only" if deleted else "was still stored"
            return (f"the record written at {clock_text(written)} {fate} after "
                    f"{_days_hours_minutes(lived)}, more than 3 days: retention deletes whole "
                    f"segments once their *newest* record is older than retention.ms "
                    f"(checked every 5 min), so the oldest record of a segment lives up to "
                    f"retention.ms + segment.ms (+ 5 min)")
    return None


# --- 07.4: a table from a compacted topic --------------------------------------------------------
def _record(key, value, offset):
    from kafkalab.structs import ConsumerRecord

    return ConsumerRecord("user-profiles", 0, 0, offset, 0, 0, key, value, [], None, -1, -1, -1)


def _table_cases(cluster, topic: str) -> list[list]:
    updates = [
        [("u1", "v1"), ("u2", "v2"), ("u1", "v3"), ("u3", "v4"), ("u2", "v5"), ("u1", "v6")],
        [("u1", "a"), ("u1", None)],                     # deleted: gone from the table
        [("u1", "a"), ("u1", None), ("u1", "b")],        # deleted, then written again
        [("u1", None), ("u2", "x")],                     # a tombstone for a key never seen
        [],
    ]
    cases = [[_record(k, v, i) for i, (k, v) in enumerate(case)] for case in updates]
    if cluster is not None:
        from kafkalab import KafkaConsumer

        consumer = KafkaConsumer(topic, bootstrap_servers=cluster.bootstrap_servers,
                                 auto_offset_reset="earliest", consumer_timeout_ms=1000)
        cases.append(list(consumer))
        consumer.close()
    return cases


def _rule(records) -> dict:
    table = {}
    for record in records:
        if record.value is None:
            table.pop(record.key, None)
        else:
            table[record.key] = record.value
    return table


@lesson_check("07.4")
def rebuilt_table(rebuild, cluster=None, topic: str = "user-profiles") -> str | None:
    if not callable(rebuild):
        return "rebuild should be a function of a list of ConsumerRecords"
    for records in _table_cases(cluster, topic):
        shown = [(r.key, r.value) for r in records]
        try:
            got = rebuild(list(records))
        except Exception as error:  # the learner's function failed: say on what
            return f"rebuild({shown}) raised {type(error).__name__}: {error}"
        expected = _rule(records)
        if isinstance(got, Mapping) and dict(got) == expected:
            continue
        if not isinstance(got, Mapping):
            return f"rebuild should return a dict key -> value, not {type(got).__name__}"
        if any(v is None for v in got.values()):
            return (f"rebuild({shown}) keeps a key whose last value is None: a tombstone "
                    f"(null value) deletes the key, so it leaves the table")
        return (f"rebuild({shown}) is {dict(got)}, not {expected}: each key takes the value "
                f"of its *last* record, and a null value removes it")
    return None


# --- 07.3: which records survive compaction ------------------------------------------------------
CLEANER_WAIT_STEPS = 40  # 15 s each (log.cleaner.backoff.ms): 10 min at most


def _offsets(value) -> list[int] | None:
    """``value`` as a list of whole numbers, or None if it is not one."""
    if not isinstance(value, (list, tuple)) or not all(_is_int(v) for v in value):
        return None
    return [int(v) for v in value]


def _survivor_hint(offset: int, kept: bool, before, active_base: int) -> str:
    """Why ``offset`` was kept (or removed), from the records as they were before cleaning."""
    import pandas as pd

    row = before[before["offset"] == offset]
    if row.empty:
        return f"offset {offset} was never in the partition"
    key, value = row["key"].iloc[0], row["value"].iloc[0]
    value = None if pd.isna(value) else value  # the records table shows a null value as NaN
    closed = before[(before["offset"] < active_base) & (before["key"] == key)]
    last_closed = int(closed["offset"].max()) if not closed.empty else None
    what = f"offset {offset} ({key}={'None' if value is None else value})"
    if not kept:
        return (f"{what} is gone: {key} has a later record at offset {last_closed} in the "
                f"closed segments, and the cleaner keeps only each key's last offset there")
    if offset >= active_base:
        return f"{what} stays: it is in the active segment, which the cleaner never touches"
    if value is None:
        return (f"{what} stays: a tombstone survives its first cleaning and is removed only "
                f"delete.retention.ms (1 day) later, so readers learn about the delete")
    return (f"{what} stays: it is {key}'s last record in the closed segments. The cleaner's "
            f"key -> offset map covers only the closed segments; the newer {key} record in the "
            f"active segment is not in it")


def _cleaned(cluster, topic: str) -> bool:
    """Has the log cleaner cleaned ``topic`` yet?"""
    return any(e.data["topic"] == topic for e in cluster.events.of_kind("log.cleaned"))


@lesson_check("07.3")
def compaction_survivors(cluster, topic: str, survivors) -> str | None:
    guess = _offsets(survivors)
    if guess is None:
        return f"survivors should be a list of offsets (whole numbers), not {survivors!r}"
    already = _cleaned(cluster, topic)
    before = cluster.records(topic)[["offset", "key", "value"]]
    active_base = int(cluster.describe_segments(topic)["base_offset"].iloc[-1])
    for _ in range(CLEANER_WAIT_STEPS):  # the experiment: let the cleaner run
        if _cleaned(cluster, topic):
            break
        cluster.advance(seconds=15)
    else:
        return (f"the log cleaner did not clean {topic} within 10 minutes: is its "
                f"cleanup.policy compact, and are its records in closed segments?")
    actual = [int(o) for o in cluster.records(topic)["offset"]]
    if sorted(guess) == actual:
        return None
    if already:
        return f"after cleaning, {topic} holds offsets {actual}, not {sorted(guess)}"
    wrong = sorted(set(actual) ^ set(guess))
    return _survivor_hint(wrong[0], wrong[0] in actual, before, active_base)


# --- 07.5: the dirty ratio -----------------------------------------------------------------------
def _ratio_cases(cluster, topic: str) -> list[tuple]:
    """(segments table, the cleaner's ratio) for the learner's log and a few more states: all
    dirty (never cleaned), just cleaned, and half way."""
    from kafkalab import KafkaProducer

    def state(c, name):
        leader = c.partition(name, 0).leader
        log = c.partition(name, 0).leader_log
        return (c.describe_segments(name),
                c.brokers[leader].log_manager.cleaner.describe(log).cleanable_ratio)

    cases = [state(cluster, topic)]
    fresh = _fresh_cluster()
    fresh.create_topic("ratios", partitions=1,
                       config={"cleanup.policy": "compact", "segment.ms": HOUR_MS,
                               "min.cleanable.dirty.ratio": 0.99})
    producer = KafkaProducer(bootstrap_servers=fresh.bootstrap_servers)
    for hour in range(14):
        producer.send("ratios", key=f"k{hour % 4}".encode(), value=b"x" * (10 + hour))
        fresh.advance(hours=1)
        if hour in (4, 9, 13):
            cases.append(state(fresh, "ratios"))
    fresh.close()
    return cases


@lesson_check("07.5")
def dirty_ratio_rule(dirty_ratio, cluster, topic: str = "user-profiles") -> str | None:
    if not callable(dirty_ratio):
        return "dirty_ratio should be a function of a describe_segments table"
    for segments, expected in _ratio_cases(cluster, topic):
        sections = dict(zip(segments["base_offset"], segments["section"]))
        try:
            got = dirty_ratio(segments.copy())
        except Exception as error:  # the learner's function failed: say on what
            return f"dirty_ratio raised {type(error).__name__} on segments {sections}: {error}"
        if isinstance(got, numbers.Real) and abs(float(got) - expected) < 1e-9:
            continue
        sizes = segments.groupby("section")["size_bytes"].sum()
        every = sizes.get("dirty", 0) / max(int(sizes.sum()), 1)
        if isinstance(got, numbers.Real) and abs(float(got) - every) < 1e-9:
            return ("the active (and any uncleanable) segment is not in the ratio: divide by "
                    "clean bytes + dirty bytes only")
        shown = f"{float(got):.4f}" if isinstance(got, numbers.Real) else repr(got)
        return (f"for segments with sections {sections} and sizes "
                f"{[int(b) for b in segments['size_bytes']]}, the dirty ratio is "
                f"{expected:.4f}, not {shown}: dirty bytes / (clean bytes + dirty bytes), "
                f"sizes in bytes")
    return None
