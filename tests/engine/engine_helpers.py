"""Helpers shared by the engine tests (imported as a plain module: tests/engine is on sys.path)."""
from __future__ import annotations

import random

from kafkalab import Cluster
from kafkalab.clock import SimClock
from kafkalab.config import BrokerConfig, TopicConfig
from kafkalab.record import RecordBatch
from kafkalab.storage import PartitionLog

#: 2026-01-01T00:00:00Z, where a test log's simulated clock starts
T0 = 1_767_225_600_000


class Events(list):
    """A log's ``emit``: keeps every (kind, text, data) it is given."""

    def __call__(self, kind, text, **data):
        self.append((kind, text, data))

    def kinds(self) -> list[str]:
        return [k for k, _, _ in self]

    def texts(self, kind: str) -> list[str]:
        return [text for k, text, _ in self if k == kind]


def make_log(rng: random.Random | None = None, **configs):
    """A lone PartitionLog "orders-0" on a clock at T0, its topic configs given with ``_`` for
    ``.`` (``segment_ms=...``); returns (log, clock, events)."""
    clock = SimClock(T0)
    events = Events()
    config = TopicConfig(BrokerConfig(), {k.replace("_", "."): v for k, v in configs.items()})
    return PartitionLog("orders", 0, config, clock.now_ms, events, rng=rng), clock, events


def append(log: PartitionLog, batch: RecordBatch, commit: bool = True) -> int:
    """Append ``batch`` as the leader; with ``commit`` the high watermark follows the log end
    offset (a single-replica leader). Returns its base offset."""
    base = log.append_as_leader(batch, leader_epoch=0)
    if commit:
        log.high_watermark = log.log_end_offset
    return base


def stored_records(cluster: Cluster, topic: str
                   ) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(partition, offset, key, value) of every record stored in the leaders' logs."""
    out = []
    for p in cluster.topic(topic).partitions:
        for batch in p.leader_log.batches():
            for r in batch.records:
                out.append((p.index, batch.base_offset + r.offset_delta, r.key, r.value))
    return out


def snapshot(cluster: Cluster) -> dict:
    """Everything a refused request must leave untouched: topics, partitions, positions,
    records, configs."""
    return {
        name: {
            "partitions": [(p.index, tuple(p.replicas), p.leader, p.log_start_offset,
                            p.high_watermark, p.log_end_offset) for p in t.partitions],
            "records": stored_records(cluster, name),
            "overrides": dict(t.config.overrides),
        }
        for name, t in cluster.topics.items()
    }


def read_all(cluster: Cluster, topic: str, isolation_level: str) -> list[bytes]:
    """Every value a fresh consumer of ``isolation_level`` gets from ``topic``, in (partition,
    offset) order."""
    from kafkalab import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=None,
                             auto_offset_reset="earliest", isolation_level=isolation_level,
                             consumer_timeout_ms=2000)
    consumer.assign([TopicPartition(topic, p)
                     for p in range(len(cluster.topic(topic).partitions))])
    got = sorted((r.partition, r.offset, r.value) for r in consumer)
    consumer.close()
    return [v for _, _, v in got]
