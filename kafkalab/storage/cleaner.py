"""LogCleaner: a broker's log cleaner, which compacts its logs of ``cleanup.policy=compact``
(and ``compact,delete``) topics — ``__consumer_offsets`` included (Kafka's ``LogCleaner``).

Each broker's :class:`~.log_manager.LogManager` owns one (none with
``log.cleaner.enable=false``) and starts it with itself. It runs as background work on the
cluster's scheduler, as Kafka's cleaner thread loops: each run takes the dirtiest cleanable log
of its broker (:class:`~.cleaner_manager.LogCleanerManager`), cleans it
(:class:`~.cleaning.Cleaner`) and runs again at once; when no log is cleanable it sleeps
``log.cleaner.backoff.ms``. A stopped broker cleans nothing. When every log is settled (see
:mod:`.cleaner_manager`) the loop sleeps until one may change — a roll, a truncation or a
config change wakes it (:meth:`LogCleaner.log_changed`) at the moment Kafka's next look would
come, every ``log.cleaner.backoff.ms`` from its last — so a simulated week costs no work
where nothing can be cleaned. Every replica's broker cleans its
own copy independently, leader or follower, as in Kafka; only the replica that reports for its
partition explains each clean in ``cluster.events`` (kind ``log.cleaned``).

Kafka's ``log.cleaner.threads`` split the dedupe buffer between threads; here their work runs
in one scheduled loop (a pass takes no simulated time), each pass with one thread's share.

Metrics, with Kafka's names (:meth:`LogCleaner.metrics`): ``max-dirty-percent``,
``cleaner-recopy-percent``, ``max-clean-time-secs``, ``max-buffer-utilization-percent``,
``max-compaction-delay-secs``, ``DeadThreadCount``.

Invariants: a log is cleaned only while its broker runs or when asked directly
(:meth:`LogCleaner.clean`); its checkpoint moves to where each pass ended; ``last_stats`` is the
last pass's.
"""
from __future__ import annotations

from typing import Callable

from ..config import BrokerConfig
from ..scheduler import Scheduler, Timer
from .cleaner_manager import LONG_MAX, CleanerState, LogCleanerManager
from .cleaning import Cleaner, CleanerStats
from .log import Emit, PartitionLog


class LogCleaner:
    """The cleaner of broker ``broker_id``: ``logs()`` lists its logs, ``emit_for(log)`` is how
    a clean of ``log`` is reported, ``is_alive()`` whether the broker runs.

    Invariants: at most one look is scheduled (``next_look_ms``), none while every log is
    settled; looks fall every ``log.cleaner.backoff.ms`` from the first, or at once after a
    clean; ``last_stats`` is the last pass's."""

    def __init__(self, broker_id: int, config: BrokerConfig, scheduler: Scheduler,
                 now_ms: Callable[[], int], logs: Callable[[], list[PartitionLog]],
                 emit_for: Callable[[PartitionLog], Emit], is_alive: Callable[[], bool]):
        self.broker_id = broker_id
        self.threads = config["log.cleaner.threads"]
        self.backoff_ms = config["log.cleaner.backoff.ms"]
        buffer = config["log.cleaner.dedupe.buffer.size"] // max(self.threads, 1)
        self.manager = LogCleanerManager()
        self.cleaner = Cleaner(buffer, config["log.cleaner.io.buffer.load.factor"], now_ms)
        self._scheduler = scheduler
        self._now_ms = now_ms
        self._logs = logs
        self._emit_for = emit_for
        self._is_alive = is_alive
        #: what the last pass did (None before the first)
        self.last_stats: CleanerStats | None = None
        self._last_delay_ms = 0
        self._dirtiest_ratio = 0.0
        self._last_run_ms = now_ms()
        self._timer: Timer | None = None

    # --- the loop ------------------------------------------------------------------------------
    def startup(self) -> None:
        """Start the cleaning loop (Kafka's cleaner threads); with ``log.cleaner.threads=0``
        nothing runs."""
        if self.threads > 0:
            self._run_at(self._now_ms())

    def _run_at(self, time_ms: int) -> None:
        """Make the next run happen at ``time_ms``, unless one is due earlier."""
        timer = self._timer
        if timer is not None and not timer.cancelled:
            if timer.time_ms <= time_ms:
                return
            timer.cancel()
        self._timer = self._scheduler.call_at(time_ms, self._run, background=True)

    def _next_look_ms(self, not_before_ms: int) -> int:
        """Kafka's thread looks every ``log.cleaner.backoff.ms`` from its last look: the first
        such time after the last run and at or after ``not_before_ms``."""
        backoff = max(self.backoff_ms, 1)
        looks = max(1, -(-(not_before_ms - self._last_run_ms) // backoff))
        return self._last_run_ms + looks * backoff

    def _run(self) -> None:
        self._timer = None
        now = self._now_ms()
        if not self._is_alive():
            self._last_run_ms = now
            self._run_at(now + self.backoff_ms)
            return
        found_unsettled, wake_ms = self._look(now)
        if self._timer is not None:  # cleaned: again at once
            return
        if found_unsettled:
            self._run_at(now + self.backoff_ms)
        elif wake_ms < LONG_MAX:
            self._run_at(self._next_look_ms(wake_ms))

    def _look(self, now: int) -> tuple[bool, int]:
        """One run of the loop: clean the dirtiest log if one is cleanable (then the next run
        is scheduled at once); whether a log is unsettled and when a settled one may change."""
        self._last_run_ms = now
        found = self.manager.grab_filthiest(self._logs(), now)
        self._dirtiest_ratio = found.max_dirty_ratio
        if found.log is not None:
            self._last_delay_ms = found.max_compaction_delay_ms
            self._clean(found.log, found.state, found.state.why)
            if self.threads > 0:
                self._run_at(now)
        return found.unsettled, found.wake_ms

    @property
    def next_look_ms(self) -> int | None:
        """When the loop looks at the logs next; None while it sleeps until a log changes."""
        timer = self._timer
        return timer.time_ms if timer is not None and not timer.cancelled else None

    def log_changed(self, log: PartitionLog) -> None:
        """``log`` rolled, was truncated or had its configs changed: the cleaner's next look
        sees it (a sleeping loop wakes at the time of Kafka's next look)."""
        self.manager.unsettle(log)
        if self.threads > 0:
            self._run_at(self._next_look_ms(self._now_ms()))

    def clean_dirtiest(self) -> CleanerStats | None:
        """Clean the dirtiest cleanable log of this broker now (Kafka's
        ``cleanFilthiestLog``); what the pass did, or None when no log is cleanable."""
        before = self.last_stats
        self._look(self._now_ms())
        return self.last_stats if self.last_stats is not before else None

    def clean(self, log: PartitionLog) -> CleanerStats:
        """Clean ``log``'s dirty section now, whatever its dirty ratio (for tests, the
        benchmark and lessons); the same pass the loop runs."""
        state = self.describe(log)
        return self._clean(log, state, f"asked to ({state.why})")

    def _clean(self, log: PartitionLog, state: CleanerState, why: str) -> CleanerStats:
        stats = self.cleaner.clean(log, state)
        self.manager.done_cleaning(log, stats.end_offset)
        self.last_stats = stats
        full = (f"; the offset map filled up, so only offsets {stats.first_dirty_offset}.."
                f"{stats.end_offset - 1} of the dirty section were cleaned"
                if stats.map_full else "")
        self._emit_for(log)(
            "log.cleaned", f"broker {self.broker_id} cleaned {log.name}: "
            f"{stats.records_read} records -> {stats.records_written}, {why}{full}",
            topic=log.topic, partition=log.partition, broker=self.broker_id,
            records_before=stats.records_read, records_after=stats.records_written,
            bytes_before=stats.bytes_read, bytes_after=stats.bytes_written,
            dirty_ratio=state.cleanable_ratio, must_clean=state.must_clean,
            first_dirty_offset=stats.first_dirty_offset, end_offset=stats.end_offset)
        return stats

    # --- views ---------------------------------------------------------------------------------
    def describe(self, log: PartitionLog) -> CleanerState:
        """``log``'s clean, dirty and uncleanable sections now, and whether it would be
        cleaned."""
        return self.manager.describe(log, self._now_ms())

    def metrics(self) -> dict[str, float]:
        """Kafka's log cleaner gauges, from the last pass (percentages as 0-100)."""
        stats = self.last_stats
        read = stats.bytes_read if stats else 0
        return {
            "max-dirty-percent": round(100 * self._dirtiest_ratio, 1),
            "cleaner-recopy-percent": round(100 * (stats.bytes_written if stats else 0)
                                            / max(read, 1), 1),
            "max-clean-time-secs": stats.elapsed_secs if stats else 0.0,
            "max-buffer-utilization-percent": 100 * stats.buffer_utilization if stats else 0.0,
            "max-compaction-delay-secs": self._last_delay_ms / 1000,
            "DeadThreadCount": 0,
        }

    def __repr__(self) -> str:
        return f"LogCleaner(broker {self.broker_id}, last pass: {self.last_stats})"
