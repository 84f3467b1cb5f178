"""LogCleanerManager: which part of a compacted log is clean, dirty or uncleanable, and which log
the cleaner takes next (Kafka's ``LogCleanerManager``).

A compacted log splits in three, oldest first:

* **clean** — ``[log start, first dirty offset)``: cleaned before, each key at most once except
  keys updated later in the log;
* **dirty** (cleanable) — ``[first dirty offset, first uncleanable offset)``: appended since the
  last clean;
* **uncleanable** — from the first uncleanable offset on: the active segment, anything at or past
  the last stable offset, and segments with records newer than ``min.compaction.lag.ms``.

The first dirty offset is the cleaner's checkpoint (Kafka's ``cleaner-offset-checkpoint``): it
starts at the log start offset, moves to where each clean ended, is reset to the log start
offset when that moves past it, and is cut back when the log is truncated below it.

Kafka's cleaner looks at every log every ``log.cleaner.backoff.ms``. In simulated time a week
is 40,000 looks, so the manager remembers the logs that nothing but a change can make
cleanable — *settled*: not compacted, or nothing dirty (or, for a compact-only topic, whose
log start offset never moves, a dirty ratio at or under ``min.cleanable.dirty.ratio``), and
not waiting for the last stable offset — with the time at which time alone may change them
(``CleanerState.next_change_ms``), and skips them until then or until told that the log
changed (:meth:`LogCleanerManager.unsettle`: a roll, a truncation, a config change). What
it decides is what Kafka's look at every log would decide.

Invariants: a checkpoint lies within ``[log start offset, log end offset]`` whenever it is read;
``first_dirty_offset <= first_uncleanable_offset``; a log is cleanable only if its topic's
``cleanup.policy`` includes ``compact``; a settled log is not cleanable before its wake time
unless it was unsettled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..timefmt import duration_text
from .log import PartitionLog
from .protocol import SegmentInfo

#: Java's Long.MAX_VALUE: max.compaction.lag.ms's default, no limit
LONG_MAX = 2**63 - 1


def ratio_text(ratio: float, threshold: float) -> str:
    """``ratio`` with two decimals, or with as many more (up to 6) as it takes to tell it from
    ``threshold``: a ratio just over 0.5 reads "0.503 > 0.5", never "0.50 > 0.5"."""
    for digits in range(2, 7):
        text = f"{ratio:.{digits}f}"
        if ratio == threshold or float(text) != threshold:
            break
    return text


@dataclass(frozen=True)
class CleanerState:
    """A log as the cleaner sees it at one moment (Kafka's ``LogToClean`` plus why).

    ``clean_bytes`` / ``dirty_bytes`` are the sizes of the segments below / in the dirty
    section; ``cleanable_ratio`` is dirty / (clean + dirty) (0 for an empty log);
    ``must_clean``: a dirty record is older than ``max.compaction.lag.ms``, so the log is
    cleaned whatever its ratio; ``compaction_delay_ms``: how far past that limit it is;
    ``cleanable``: the cleaner would take it now; ``why`` says why or why not, and
    ``uncleanable_reason`` what bounds the dirty section; ``next_change_ms``: when time alone
    may change this (a segment passes ``min.compaction.lag.ms`` or a dirty record
    ``max.compaction.lag.ms``; ``LONG_MAX``: never)."""

    first_dirty_offset: int
    first_uncleanable_offset: int
    clean_bytes: int
    dirty_bytes: int
    cleanable_ratio: float
    min_cleanable_ratio: float
    must_clean: bool
    compaction_delay_ms: int
    cleanable: bool
    why: str
    uncleanable_reason: str
    next_change_ms: int


def is_compacted(log: PartitionLog) -> bool:
    return "compact" in log.config["cleanup.policy"]


def segments_overlapping(segments: Iterable[SegmentInfo], start: int, end: int
                         ) -> list[SegmentInfo]:
    """Kafka's ``logSegments(from, to)``: the segments holding any offset in ``[start, end)``
    — each from its base offset to the next one's."""
    segments = list(segments)
    return [s for i, s in enumerate(segments) if s.base_offset < end and
            (i + 1 == len(segments) or segments[i + 1].base_offset > start)]


def segments_from(segments: tuple[SegmentInfo, ...], offset: int) -> list[SegmentInfo]:
    """Kafka's ``nonActiveLogSegmentsFrom(offset)``: the closed segments from the one holding
    ``offset`` (the last starting at or below it) on; none if ``offset`` is in the active
    segment."""
    if offset >= segments[-1].base_offset:
        return []
    first = 0
    for i, s in enumerate(segments[:-1]):
        if s.base_offset <= offset:
            first = i
    return list(segments[first:-1])


class LogCleanerManager:
    """The cleaner checkpoints of one broker's logs, and the choice of the next log to clean.

    Invariants: see the module docstring — checkpoints within their logs when read, settled
    logs skipped only until their wake time or a change."""

    def __init__(self):
        self._checkpoints: dict[tuple[str, int], int] = {}
        #: settled logs: (when time may change them, their dirty ratio then)
        self._settled: dict[tuple[str, int], tuple[int, float]] = {}

    # --- the checkpoint ----------------------------------------------------------------------
    def first_dirty_offset(self, log: PartitionLog) -> int:
        """The checkpoint of ``log``, reset to its log start offset when it lies outside the
        log (Kafka's ``cleanableOffsets``)."""
        key = (log.topic, log.partition)
        checkpoint = self._checkpoints.get(key, log.log_start_offset)
        if not log.log_start_offset <= checkpoint <= log.log_end_offset:
            checkpoint = log.log_start_offset
        self._checkpoints[key] = checkpoint
        return checkpoint

    def done_cleaning(self, log: PartitionLog, end_offset: int) -> None:
        """A clean of ``log`` covered everything below ``end_offset``."""
        self._checkpoints[(log.topic, log.partition)] = end_offset
        self._settled.pop((log.topic, log.partition), None)

    def truncated(self, log: PartitionLog, end_offset: int) -> None:
        """``log`` was truncated to ``end_offset`` (Kafka's ``maybeTruncateCheckpoint``)."""
        key = (log.topic, log.partition)
        if self._checkpoints.get(key, -1) > end_offset:
            self._checkpoints[key] = end_offset

    def forget(self, topic: str, partition: int) -> None:
        """The log was deleted: its checkpoint goes with it."""
        self._checkpoints.pop((topic, partition), None)
        self._settled.pop((topic, partition), None)

    def unsettle(self, log: PartitionLog) -> None:
        """``log`` changed (rolled, truncated, its configs altered): look at it again."""
        self._settled.pop((log.topic, log.partition), None)

    # --- the sections ------------------------------------------------------------------------
    def describe(self, log: PartitionLog, now_ms: int) -> CleanerState:
        """Where ``log``'s sections lie now, and whether the cleaner would take it."""
        return self._assess(log, now_ms)[0]

    def _assess(self, log: PartitionLog, now_ms: int) -> tuple[CleanerState, bool]:
        """``log``'s state, and whether it may settle (see the module docstring)."""
        segments = log.segments()
        first_dirty = self.first_dirty_offset(log)
        uncleanable, reason, released_ms = self._first_uncleanable(log, segments, first_dirty,
                                                                   now_ms)
        # as Kafka's calculateCleanableBytes: the dirty section ends at a segment boundary
        holding = segments_from(segments, uncleanable)
        if holding and holding[0].base_offset < uncleanable:
            reason = f"{reason} (it ends at the start of the segment holding that offset)"
        uncleanable = holding[0].base_offset if holding else segments[-1].base_offset
        uncleanable = max(first_dirty, uncleanable)
        clean_bytes = sum(s.size_bytes for s in segments if s.base_offset < first_dirty)
        dirty_bytes = sum(s.size_bytes for s in segments_overlapping(
            segments, min(first_dirty, uncleanable), uncleanable))
        total = clean_bytes + dirty_bytes
        ratio = dirty_bytes / total if total else 0.0
        min_ratio = log.config["min.cleanable.dirty.ratio"]
        delay, breach_ms = self._compaction_delay_ms(log, segments, first_dirty, now_ms)
        compacted = is_compacted(log)
        must_clean = compacted and delay > 0 and dirty_bytes > 0
        if not compacted:
            why = (f"cleanup.policy={','.join(log.config['cleanup.policy'])}: the cleaner "
                   f"compacts only topics whose cleanup.policy includes compact")
        elif must_clean:
            lag = log.config["max.compaction.lag.ms"]
            why = (f"a dirty record is older than max.compaction.lag.ms={lag} "
                   f"({duration_text(lag)}), by {duration_text(delay)}: it must be cleaned "
                   f"whatever its dirty ratio {ratio_text(ratio, min_ratio)}")
        elif not dirty_bytes:
            why = f"nothing is dirty: {reason}"
        elif ratio > min_ratio:
            why = (f"dirty ratio {ratio_text(ratio, min_ratio)} > min.cleanable.dirty.ratio "
                   f"{min_ratio:g}")
        else:
            why = (f"dirty ratio {ratio_text(ratio, min_ratio)} <= min.cleanable.dirty.ratio "
                   f"{min_ratio:g}")
        cleanable = compacted and total > 0 and (must_clean or ratio > min_ratio)
        state = CleanerState(first_dirty, uncleanable, clean_bytes, dirty_bytes, ratio,
                             min_ratio, must_clean, delay, cleanable, why, reason,
                             min(released_ms, breach_ms))
        may_settle = not cleanable and (not compacted or (
            log.last_stable_offset >= segments[-1].base_offset and
            (not dirty_bytes or "delete" not in log.config["cleanup.policy"])))
        return state, may_settle

    @staticmethod
    def _first_uncleanable(log: PartitionLog, segments: tuple[SegmentInfo, ...],
                           first_dirty: int, now_ms: int) -> tuple[int, str, int]:
        """The first offset the cleaner may not touch, what sets it — the smallest of the
        last stable offset, the active segment's base offset and the first dirty closed segment
        with a record newer than ``min.compaction.lag.ms`` — and when that segment will be old
        enough (``LONG_MAX`` without one)."""
        bounds = [(log.last_stable_offset,
                   f"the last stable offset is {log.last_stable_offset} (records from there on "
                   f"are not committed yet)"),
                  (segments[-1].base_offset,
                   f"the active segment starts at offset {segments[-1].base_offset}, and the "
                   f"active segment is never cleaned")]
        lag = log.config["min.compaction.lag.ms"]
        released_ms = LONG_MAX
        if lag > 0:
            young = next((s for s in segments_from(segments, first_dirty)
                          if s.largest_timestamp > now_ms - lag), None)
            if young is not None:
                bounds.append((young.base_offset,
                               f"the segment at offset {young.base_offset} has records newer "
                               f"than min.compaction.lag.ms={lag} ({duration_text(lag)})"))
                released_ms = young.largest_timestamp + lag
        offset, reason = min(bounds, key=lambda bound: bound[0])
        return max(first_dirty, offset), reason, released_ms

    @staticmethod
    def _compaction_delay_ms(log: PartitionLog, segments: tuple[SegmentInfo, ...],
                             first_dirty: int, now_ms: int) -> tuple[int, int]:
        """How long past ``max.compaction.lag.ms`` the oldest dirty closed segment's first
        batch is (Kafka's ``maxCompactionDelay``), 0 if none is; and when it will be past it
        (``LONG_MAX``: no dirty batch, no limit, or already past)."""
        lag = log.config["max.compaction.lag.ms"]
        if lag >= LONG_MAX or not is_compacted(log):
            return 0, LONG_MAX
        clean_until = now_ms - lag
        earliest = min((s.first_batch_timestamp for s in segments_from(segments, first_dirty)
                        if s.first_batch_timestamp > 0), default=LONG_MAX)
        if earliest < clean_until:
            return clean_until - earliest, LONG_MAX
        return 0, (earliest + lag + 1 if earliest < LONG_MAX else LONG_MAX)

    def grab_filthiest(self, logs: Iterable[PartitionLog], now_ms: int) -> "Filthiest":
        """Kafka's ``grabFilthiestCompactedLog``: the cleanable log with the highest dirty
        ratio, over every log not settled; see :class:`Filthiest`."""
        best: tuple[PartitionLog | None, CleanerState | None] = (None, None)
        dirtiest, delay, wake_ms, unsettled = 0.0, 0, LONG_MAX, False
        settled = self._settled
        for log in logs:
            key = (log.topic, log.partition)
            known = settled.get(key)
            if known is not None and now_ms < known[0]:
                wake_ms = min(wake_ms, known[0])
                dirtiest = max(dirtiest, known[1])
                continue
            state, may_settle = self._assess(log, now_ms)
            # only compacted logs count towards max-dirty-percent (a delete-only log's whole
            # closed part is "dirty" to the cleaner, which never cleans it)
            ratio = state.cleanable_ratio if is_compacted(log) else 0.0
            if is_compacted(log):
                dirtiest = max(dirtiest, ratio)
                delay = max(delay, state.compaction_delay_ms)
            if may_settle:
                settled[key] = (state.next_change_ms, ratio)
                wake_ms = min(wake_ms, state.next_change_ms)
                continue
            settled.pop(key, None)
            unsettled = True
            if state.cleanable and (best[1] is None or
                                    state.cleanable_ratio > best[1].cleanable_ratio):
                best = (log, state)
        return Filthiest(best[0], best[1], dirtiest, delay, unsettled, wake_ms)


@dataclass(frozen=True)
class Filthiest:
    """What one look over a broker's logs found: the log to clean and its state (None when
    none is cleanable); over every compacted log the highest dirty ratio
    (``max-dirty-percent`` / 100) and the longest delay past ``max.compaction.lag.ms``
    (``max-compaction-delay-secs`` x 1000); whether any log is not settled (so the cleaner
    must look again after ``log.cleaner.backoff.ms``), and the earliest time a settled log
    may change by itself (``LONG_MAX``: none)."""

    log: PartitionLog | None
    state: CleanerState | None
    max_dirty_ratio: float
    max_compaction_delay_ms: int
    unsettled: bool
    wake_ms: int
