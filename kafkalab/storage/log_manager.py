"""LogManager: the logs of one broker, their retention and their cleaner (Kafka's
``LogManager``).

Each broker owns one. It creates a replica's :class:`~.log.PartitionLog` when the broker is
given a replica of a partition (``get_or_create_log``), in the backend its ``log.dirs`` URL
names (``memory://``), and deletes it when the topic goes (``delete_log``). Once started it
runs retention over its own logs every ``log.retention.check.interval.ms`` of simulated time,
as scheduled background work — skipped while its broker is down, as a stopped broker deletes
nothing — and starts its :class:`~.cleaner.LogCleaner` (``cleaner``; None with
``log.cleaner.enable=false``), which compacts its logs of compacted topics.

Invariants: at most one log per (topic, partition); every log it hands out lives in its
``log.dirs`` backend; a deleted log is never handed out again (the name may be reused by a new,
empty log).
"""
from __future__ import annotations

import random
from typing import Callable

from ..config import BrokerConfig, TopicConfig
from ..scheduler import Scheduler
from .backends import check_url, open_log_storage
from .cleaner import LogCleaner
from .log import Emit, PartitionLog
from .retention import enforce_retention


def _quiet(kind: str, text: str, **data) -> None:
    """A replica whose rolls and deletions repeat another's reports nothing."""


class LogManager:
    """The logs of broker ``broker_id``; ``is_alive()`` says whether that broker runs."""

    def __init__(self, broker_id: int, config: BrokerConfig, scheduler: Scheduler,
                 now_ms: Callable[[], int], emit: Emit, is_alive: Callable[[], bool],
                 rng: random.Random):
        self.broker_id = broker_id
        self._rng = rng  # the cluster's: draws each new segment's segment.jitter.ms
        #: the storage URL this broker's logs live in (``log.dirs``)
        self.log_dirs = config["log.dirs"]
        check_url(self.log_dirs)
        self._retention_check_interval_ms = config["log.retention.check.interval.ms"]
        self._scheduler = scheduler
        self._now_ms = now_ms
        self._emit = emit
        self._is_alive = is_alive
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        self._quiet: set[tuple[str, int]] = set()  # logs whose reports another replica makes
        #: this broker's log cleaner (Kafka's LogCleaner), None with log.cleaner.enable=false
        self.cleaner: LogCleaner | None = LogCleaner(
            broker_id, config, scheduler, now_ms, self.logs, self._emit_for, is_alive
        ) if config["log.cleaner.enable"] else None

    # --- the logs ------------------------------------------------------------------------------
    def get_or_create_log(self, topic: str, partition: int, config: TopicConfig,
                          quiet: bool = False) -> PartitionLog:
        """This broker's log of ``topic``-``partition``, created empty if it has none.
        ``quiet``: its rolls and retention deletions are not reported (a replica that repeats
        what the replica reporting for the partition does)."""
        log = self._logs.get((topic, partition))
        if log is None:
            storage = open_log_storage(self.log_dirs, topic, partition, self._now_ms)
            log = PartitionLog(topic, partition, config, self._now_ms,
                               _quiet if quiet else self._emit, storage, self._rng)
            self._logs[(topic, partition)] = log
            if quiet:
                self._quiet.add((topic, partition))
            if self.cleaner is not None:
                log.truncation_listeners.append(lambda end, log=log: self._truncated(log, end))
                log.roll_listeners.append(lambda log=log: self.cleaner.log_changed(log))
        return log

    def _truncated(self, log: PartitionLog, end_offset: int) -> None:
        """Kafka's ``LogManager.truncateTo``: the cleaner's checkpoint follows the log back."""
        self.cleaner.manager.truncated(log, end_offset)
        self.cleaner.log_changed(log)

    def topic_config_changed(self, topic: str) -> None:
        """The configs of ``topic`` changed: its logs here may be cleanable now (or no more)."""
        if self.cleaner is not None:
            for (name, _), log in self._logs.items():
                if name == topic:
                    self.cleaner.log_changed(log)

    def _emit_for(self, log: PartitionLog) -> Emit:
        """How what happens to ``log`` is reported: not at all by a quiet replica."""
        return _quiet if (log.topic, log.partition) in self._quiet else self._emit

    def get_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self._logs.get((topic, partition))

    def delete_log(self, topic: str, partition: int) -> PartitionLog | None:
        """Forget the log of ``topic``-``partition`` (its topic was deleted); the deleted log,
        or None if this broker had none."""
        self._quiet.discard((topic, partition))
        if self.cleaner is not None:
            self.cleaner.manager.forget(topic, partition)
        return self._logs.pop((topic, partition), None)

    def logs(self) -> list[PartitionLog]:
        """Every log of this broker, in the order they were created."""
        return list(self._logs.values())

    # --- retention -----------------------------------------------------------------------------
    def startup(self) -> None:
        """Start the periodic retention check (Kafka's ``kafka-log-retention`` task) and the
        log cleaner."""
        def run() -> None:
            self.cleanup_logs()
            self._scheduler.call_later(self._retention_check_interval_ms, run, background=True)
        self._scheduler.call_later(self._retention_check_interval_ms, run, background=True)
        if self.cleaner is not None:
            self.cleaner.startup()

    def cleanup_logs(self) -> int:
        """One retention check over every log (Kafka's ``cleanupLogs``), unless the broker is
        down; returns the records deleted."""
        if not self._is_alive():
            return 0
        now = self._now_ms()
        return sum(enforce_retention(log, now) for log in self.logs())

    def __repr__(self) -> str:
        return f"LogManager(broker {self.broker_id}, {self.log_dirs}, {len(self._logs)} log(s))"
