"""KafkaConsumer: kafka-python's consumer API over the in-process engine.

Partitions come from ``assign()`` or — without a ``group_id`` — from the topics given to the
constructor or ``subscribe()`` (every partition of them, as kafka-python does). Each assigned
partition has a *position*: the offset of the next record to read. ``poll()`` fetches whole
batches from the leader below the high watermark, hands out records from the position on, and
moves the position past them. With no data, ``poll(timeout_ms)`` waits — in simulated time the
world runs forward until data arrives or the timeout passes; iterating stops when the simulated
world is idle (DESIGN §2.4).

The consumer talks to brokers only through its transport, as kafka-python's does over the
network: Metadata requests fill its :class:`~.metadata.ClusterMetadata` (topics, partitions,
leaders), a FetchRequest goes to each leader (``max_wait_ms=0``: the poll loop above does the
waiting) and ListOffsets requests find where to start. A fetch answered NOT_LEADER_OR_FOLLOWER,
UNKNOWN_TOPIC_OR_PARTITION or FENCED_LEADER_EPOCH, or a leader that is down, gives no records
and refreshes the metadata, so the next fetch goes to the new leader from the same position.

With a ``group_id`` and ``subscribe()`` the consumer is a member of a consumer group (see
:mod:`.group_member`): partitions come from the group's assignor and move on rebalances,
positions start at the group's committed offsets, and ``commit()`` stores them.

Invariants: a partition's position only moves forward except by ``seek*``; records are handed
out in offset order per partition, each exactly once per position.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Iterable

from kafka.consumer.group import KafkaConsumer as _KafkaPythonConsumer
from kafka.consumer.subscription_state import (
    AsyncConsumerRebalanceListener,
    ConsumerRebalanceListener,
    SubscriptionState,
)
from kafka.future import Future
from kafka.serializer import Deserializer
from kafka.util import ensure_valid_topic_name

from ..api.base import error_from
from ..api.messages.fetch import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    READ_COMMITTED,
    READ_UNCOMMITTED,
    FetchPartition,
    FetchRequest,
    FetchTopic,
    PartitionData,
)
from ..config import validate_topic_name
from ..errors import (
    IllegalStateError,
    InvalidTopicError,
    KafkaConfigurationError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NoOffsetForPartitionError,
    OffsetOutOfRangeError,
)
from ..metrics import Sensor
from ..record import RecordBatch
from ..structs import (
    ConsumerGroupMetadata,
    ConsumerRecord,
    OffsetAndMetadata,
    OffsetAndTimestamp,
    TopicPartition,
    serialized_header_size,
)
from .config import check_not_yet_supported, merge_config
from .futures import run_callback
from .group_member import GroupMember
from .list_offsets import group_by_leader, list_offsets
from .metadata import ClusterMetadata
from .read_committed import visible_batches
from .transport import transport_for

DEFAULT_CONFIG = dict(_KafkaPythonConsumer.DEFAULT_CONFIG)
#: kafka-python's message when subscribe(topics), subscribe(pattern) and assign() are mixed
_ONE_WAY = SubscriptionState._SUBSCRIPTION_EXCEPTION_MESSAGE + \
    " Call unsubscribe() first to change the way."
_new_tuple = tuple.__new__
_offset_delta_of = itemgetter(0)  # of a record tuple


def _inside_poll(method):
    """Mark the consumer as inside poll() (or an iteration's fetch) while ``method`` runs:
    time spent waiting there is not time "between polls" for max_poll_interval_ms, and the
    interval restarts when the call returns (as Kafka's poll loop resets its poll timer)."""
    def wrapper(self, *args, **kwargs):
        self._poll_depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._poll_depth -= 1
            if not self._poll_depth and self._group is not None and self._in_group():
                self._group.poll_returned()
    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    wrapper.__wrapped__ = method
    return wrapper


def _check_subscribed_topic(topic) -> None:
    """kafka-python's ``ensure_valid_topic_name`` (TypeError, ValueError), checking every
    character (kafka-python's regex would let a trailing newline through)."""
    ensure_valid_topic_name(topic)
    try:
        validate_topic_name(topic)
    except InvalidTopicError as error:
        raise ValueError(str(error)) from None


def _deserializer(deserializer):
    """``f(topic, headers, data)`` for a kafka-python ``Deserializer`` object or a plain function.

    As in kafka-python, a null key or value (a tombstone) is handed to the deserializer too:
    ``bytes.decode`` or ``json.loads`` fail on it, a None-safe deserializer returns None."""
    if deserializer is None:
        return None
    if isinstance(deserializer, Deserializer):
        return deserializer.deserialize
    return lambda topic, headers, data: deserializer(data)


def _deserialized(deserializer, which: str, tp: TopicPartition, offset: int, headers,
                  data: bytes | None):
    """``data`` through ``deserializer`` (if any). As in kafka-python a null key or value (a
    tombstone) is handed to it too; if it fails on that, the error says so."""
    if deserializer is None:
        return data
    try:
        return deserializer(tp.topic, headers, data)
    except (TypeError, AttributeError) as error:
        if data is not None:
            raise
        raise _failed_on_none(which, tp, offset, error) from error


def _failed_on_none(which: str, tp: TopicPartition, offset: int, error: Exception
                    ) -> Exception:
    """The error to raise when a deserializer fails on a null key or value: the same type
    (TypeError for ``bytes.decode(None)``, AttributeError for ``None.decode()``), explained."""
    what, tombstone, safe = ("value", " (a tombstone)", "json.loads(b)") \
        if which == "value_deserializer" else ("key", "", "b.decode()")
    return (TypeError if isinstance(error, TypeError) else AttributeError)(
        f"{which} failed on {what}=None{tombstone} at {tp.topic}-{tp.partition} offset "
        f"{offset}: {error}. kafka-python hands None to the deserializer too; use a None-safe "
        f"deserializer such as `lambda b: None if b is None else {safe}`")


class _FetchBuffer:
    """The batches of one partition's last fetch, and a cursor at the next record to hand out.

    A fetch returns whole batches (up to ``max_partition_fetch_bytes``); records become
    ConsumerRecords only when ``poll()`` takes them, a poll's worth at a time, so a large
    fetch costs nothing for the records not yet handed out.

    Invariants: the cursor (``_batch``, ``_record``) points at an existing record, or
    ``_batch == len(_batches)`` when everything was taken; the records from the cursor on are
    in offset order, all at or after the position the fetch was made from.
    """

    __slots__ = ("_batches", "_batch", "_record", "_end")

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self._batches: Sequence[RecordBatch] = ()
        self._batch = self._record = 0
        self._end = -1

    def __bool__(self) -> bool:
        return self._batch < len(self._batches)

    @property
    def end_offset(self) -> int:
        """The offset after the last batch fetched (-1 if none): once the buffer is drained the
        position moves there, past any offsets compaction removed at the batch's end and any
        marker or aborted batch after it (as kafka-python's fetcher sets
        ``next_fetch_offset`` to the last batch's next offset)."""
        return self._end

    def fill(self, batches: Sequence[RecordBatch], position: int, end_offset: int) -> None:
        """Hold ``batches`` of a fetch that ended at ``end_offset`` (batches the consumer does
        not see may come after them); the cursor starts at the first record at or after
        ``position`` (the first batch may begin before it)."""
        self._batches, self._batch, self._record = batches, 0, 0
        self._end = end_offset
        while self:
            batch = self._batches[self._batch]
            rows = batch.record_tuples
            self._record = bisect_left(rows, position - batch.base_offset, key=_offset_delta_of)
            if self._record < len(rows):
                return
            self._batch, self._record = self._batch + 1, 0

    def take(self, max_records: int) -> list[tuple[RecordBatch, list[tuple]]]:
        """The next records, at most ``max_records``, as ``(batch, record tuples)`` runs in
        offset order; the cursor moves past them."""
        runs = []
        batches, index, start = self._batches, self._batch, self._record
        while max_records > 0 and index < len(batches):
            batch = batches[index]
            rows = batch.record_tuples
            end = min(start + max_records, len(rows))
            runs.append((batch, rows[start:end]))
            max_records -= end - start
            start = end
            if end == len(rows):
                index, start = index + 1, 0
        self._batch, self._record = index, start
        return runs


class _PartitionState:
    """One assigned partition. ``position`` is None while the partition waits for its group's
    committed offset or for a reset; ``reset`` is a reset no leader could answer yet — (policy,
    why), tried again before each fetch — and None once the position is set."""

    __slots__ = ("position", "paused", "buffer", "highwater", "last_stable", "reset")

    def __init__(self):
        self.position: int | None = None
        self.paused = False
        self.buffer = _FetchBuffer()
        self.highwater: int | None = None  # of the last fetch
        self.last_stable: int | None = None  # the last fetch's last stable offset
        self.reset: tuple[str, str] | None = None


class KafkaConsumer:
    DEFAULT_CONFIG = DEFAULT_CONFIG

    def __init__(self, *topics: str, **configs: Any):
        self.config = merge_config(DEFAULT_CONFIG, configs, "KafkaConsumer")
        reset = self.config["auto_offset_reset"]
        if reset not in ("earliest", "latest", "none", "smallest", "largest"):
            raise KafkaConfigurationError(
                f"auto_offset_reset must be 'earliest', 'latest' or 'none', not {reset!r}")
        self._reset = {"smallest": "earliest", "largest": "latest"}.get(reset, reset)
        isolation = self.config["isolation_level"]
        if isolation not in ("read_uncommitted", "read_committed"):
            raise KafkaConfigurationError(  # kafka-python: 'Unrecognized isolation_level'
                f"Unrecognized isolation_level {isolation!r}: use 'read_uncommitted' (the "
                "default) or 'read_committed'")
        self._isolation_level = READ_COMMITTED if isolation == "read_committed" \
            else READ_UNCOMMITTED
        self._key_deserializer = _deserializer(self.config["key_deserializer"])
        self._value_deserializer = _deserializer(self.config["value_deserializer"])
        self._transport = transport_for(self.config["bootstrap_servers"])
        self._lock = self._transport.lock  # the cluster's, taken on every poll
        check_not_yet_supported("KafkaConsumer", self.config, self._transport.warn_once)
        self._transport.register_client(self, on_crash=self._crash)
        #: topics, partitions and leaders as this consumer last heard them
        self._metadata = ClusterMetadata(self._transport, self.config["metadata_max_age_ms"],
                                         self.config["allow_auto_create_topics"],
                                         self.config["retry_backoff_ms"])
        self._states: dict[TopicPartition, _PartitionState] = {}
        self._subscription: set[str] | None = None
        self._pattern: re.Pattern | None = None
        self._user_assigned = False
        self._iterator: deque[ConsumerRecord] = deque()
        self._next_start = 0
        self._closed = False
        now = self._transport.now_ms
        self._consumed = Sensor(now)
        self._fetch_latency = Sensor(now)
        self._listener = None
        self._poll_depth = 0  # > 0 while inside poll() (see _inside_poll)
        self._group = GroupMember(self) if self.config["group_id"] is not None else None
        self._next_auto_commit_ms = now() + self.config["auto_commit_interval_ms"]
        if topics:
            self.subscribe(topics)

    # --- assignment ----------------------------------------------------------------------------
    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly these partitions (no group, no rebalancing)."""
        if self._subscription is not None or self._pattern is not None:
            raise IllegalStateError(_ONE_WAY)
        partitions = list(partitions)
        if not partitions:
            self.unsubscribe()
            return
        for tp in partitions:
            if not isinstance(tp, TopicPartition):
                raise TypeError(f"assign() takes TopicPartition objects, not {tp!r}")
        self._set_assignment(partitions)
        self._user_assigned = True

    def _set_assignment(self, partitions: list[TopicPartition]) -> None:
        self._states = {tp: self._states.get(tp) or _PartitionState() for tp in partitions}
        self._iterator.clear()

    def assignment(self) -> set[TopicPartition]:
        self._maybe_refresh_subscription()
        return set(self._states)

    def subscribe(self, topics: Iterable[str] = (), pattern: str | None = None,
                  listener=None) -> None:
        """Subscribe to a list of topics or to a regex pattern (kafka-python's checks).

        With a ``group_id`` the group assigns the partitions; without one the consumer is
        assigned every partition of the topics (or of the topics the pattern matches). A topic
        that does not exist yet is only recorded (auto-created first if
        ``allow_auto_create_topics`` and the brokers allow it, as kafka-python's metadata
        request does): its partitions are assigned once it exists — a group rebalances when
        the topic appears in the metadata. Mixing subscribe(topics), subscribe(pattern) and
        assign() raises ``IllegalStateError`` until ``unsubscribe()``.
        """
        if not topics and not pattern:
            raise ValueError("Must provide topics or pattern: subscribe(['orders']) or "
                             "subscribe(pattern='^orders.*')")
        if topics and pattern:
            raise IllegalStateError(_ONE_WAY)
        if self._user_assigned or (self._pattern if topics else self._subscription) \
                is not None:
            raise IllegalStateError(_ONE_WAY)
        if pattern:
            compiled = re.compile(pattern)
        else:
            if isinstance(topics, str) or not isinstance(topics, Sequence):
                hint = f": subscribe([{topics!r}])" if isinstance(topics, str) else ""
                raise TypeError(f"Topics must be a list (or non-str sequence), not "
                                f"{type(topics).__name__}{hint}")
            for topic in topics:
                _check_subscribed_topic(topic)
        if listener and not isinstance(
                listener, (ConsumerRebalanceListener, AsyncConsumerRebalanceListener)):
            raise TypeError("listener must be a ConsumerRebalanceListener or "
                            "AsyncConsumerRebalanceListener")
        self._listener = listener
        if pattern:
            self._pattern, self._subscription = compiled, None
        else:
            self._subscription, self._pattern = set(topics), None
            for topic in topics:  # a Metadata request for them: auto-creates them if allowed
                self._metadata.add_topic(topic)
            self._maybe_update_metadata()
        self._maybe_refresh_subscription()

    def subscription(self) -> set[str] | None:
        """The subscribed topics; for a pattern, the topics of the metadata it matches
        (internal topics only if not excluded)."""
        if self._pattern is not None:
            self._maybe_update_metadata()
            return {t for t in self._metadata.topics(
                        exclude_internal_topics=self.config["exclude_internal_topics"])
                    if self._pattern.match(t)}
        return set(self._subscription) if self._subscription is not None else None

    def unsubscribe(self) -> None:
        if self._group is not None and self._states and not self._user_assigned:
            self._before_revoke()
            self._group.leave("it unsubscribed")
            self._group.need_rejoin = True
        self._subscription = self._pattern = None
        self._user_assigned = False
        self._set_assignment([])

    def _in_group(self) -> bool:
        """Subscribed with a group_id: the group decides the assignment."""
        return self._group is not None and not self._user_assigned and (
            self._subscription is not None or self._pattern is not None)

    def _maybe_refresh_subscription(self) -> None:
        """Without a group: every partition of the subscribed topics the metadata knows."""
        if self._user_assigned or self._group is not None:
            return
        topics = self.subscription()
        if topics is None:
            return
        metadata = self._metadata
        self._maybe_update_metadata()  # a missing topic is asked for every retry_backoff_ms
        wanted = [TopicPartition(t, p) for t in sorted(topics)
                  for p in sorted(metadata.partitions_for_topic(t) or ())]
        if wanted != list(self._states):
            self._set_assignment(wanted)

    def _follow(self, partitions: Iterable[TopicPartition]) -> None:
        """Before a request for ``partitions``: the metadata follows their topics, refreshed if
        that is due (a topic new to it makes it due)."""
        for tp in partitions:
            self._metadata.add_topic(tp.topic)
        self._maybe_update_metadata()

    def _maybe_update_metadata(self) -> None:
        """Refresh the metadata if asked to or older than metadata_max_age_ms: for every topic
        while subscribed to a pattern (kafka-python's need_all_topic_metadata), else for the
        topics this consumer follows."""
        if self._metadata.ttl() == 0:
            self._metadata.update(all_topics=self._pattern is not None)

    # --- positions -----------------------------------------------------------------------------
    def _state(self, tp: TopicPartition) -> _PartitionState:
        if not isinstance(tp, TopicPartition):
            raise TypeError("partition must be a TopicPartition namedtuple")
        state = self._states.get(tp)
        if state is None:
            raise IllegalStateError(f"No current assignment for partition {tp}: assigned are "
                                    f"{sorted(self._states) or 'none'}")
        return state

    def position(self, partition: TopicPartition, timeout_ms: int | None = None) -> int | None:
        """The offset of the next record this consumer will read from ``partition``: if it has
        none yet, the group's committed offset, else where auto_offset_reset (or a pending
        seek_to_beginning/seek_to_end) puts it — asking the leader until ``timeout_ms``
        (default request_timeout_ms) and None if none answered, as kafka-python."""
        state = self._state(partition)
        if state.position is None:
            self._init_position(partition, state, self.config["request_timeout_ms"]
                                if timeout_ms is None else timeout_ms)
        return state.position

    def _init_position(self, tp: TopicPartition, state: _PartitionState,
                       timeout_ms: float) -> None:
        if state.reset is not None:
            self._reset_position(tp, state, *state.reset, timeout_ms)
            return
        try:
            committed = self._committed_offsets([tp]).get(tp)
        except KafkaTimeoutError:
            # as kafka-python's refresh_committed_offsets_if_needed: no committed offset
            # could be fetched in time (the coordinator is away, or — read_committed — an
            # offset waits in an undecided transaction): the position waits for a later try
            return
        if committed is not None:
            state.position = committed.offset
            return
        why = (f"group {self.config['group_id']} has no committed offset for it"
               if self._group else "no position yet")
        self._reset_position(tp, state, self._reset, why, timeout_ms)

    def _committed_offsets(self, partitions) -> dict:
        if self._group is None:
            return {}
        # OffsetFetch from the group's coordinator, retried through rediscovery
        return self._group.fetch_committed(list(partitions))

    def _reset_position(self, tp: TopicPartition, state: _PartitionState, policy: str,
                        why: str, timeout_ms: float = 0) -> None:
        """Move the position to the earliest or latest offset (ListOffsets to the leader);
        while no leader answers (within ``timeout_ms``) the reset stays pending."""
        if policy == "none":
            raise NoOffsetForPartitionError(
                f"{tp.topic}-{tp.partition} has no position ({why}) and auto_offset_reset="
                "'none'; seek() to an offset or use auto_offset_reset='earliest'/'latest'")
        state.buffer.clear()
        found = self._list_offsets(
            {tp: EARLIEST_TIMESTAMP if policy == "earliest" else LATEST_TIMESTAMP}, timeout_ms)
        if tp not in found:
            state.position, state.reset = None, (policy, why)
            return
        offset = found[tp].offset
        state.position, state.reset = offset, None
        self._transport.emit(
            "consumer.offset_reset", f"consumer reset {tp.topic}-{tp.partition} to offset "
            f"{offset} ({policy}): {why}", topic=tp.topic, partition=tp.partition,
            offset=offset)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read ``partition`` from ``offset`` on at the next poll (replay or skip).

        A partition not assigned to this consumer raises ``ValueError('Unassigned
        partition')`` as in kafka-python 3 (Java's client raises IllegalStateException)."""
        if not isinstance(partition, TopicPartition):
            raise TypeError("partition must be a TopicPartition namedtuple")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(f"Offset must be int >= 0, got {offset!r}")
        state = self._states.get(partition)
        if state is None:
            raise ValueError(f"Unassigned partition {partition}: assigned are "
                             f"{sorted(self._states) or 'none'}")
        state.position, state.reset = offset, None
        state.buffer.clear()
        self._iterator.clear()

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions or tuple(self.assignment()):
            self._reset_position(tp, self._state(tp), "earliest", "seek_to_beginning()")
        self._iterator.clear()

    def seek_to_end(self, *partitions: TopicPartition) -> None:
        for tp in partitions or tuple(self.assignment()):
            self._reset_position(tp, self._state(tp), "latest", "seek_to_end()")
        self._iterator.clear()

    def pause(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self._state(tp).paused = True

    def resume(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self._state(tp).paused = False

    def paused(self) -> set[TopicPartition]:
        return {tp for tp, s in self._states.items() if s.paused}

    def highwater(self, partition: TopicPartition) -> int | None:
        """The high watermark the last fetch of ``partition`` returned (None before one)."""
        return self._state(partition).highwater

    def known_positions(self) -> dict[TopicPartition, int]:
        """kafkalab extension: positions already known, without resetting any (for views)."""
        return {tp: s.position for tp, s in self._states.items() if s.position is not None}

    # --- offsets lookups -----------------------------------------------------------------------
    def _list_offsets(self, timestamps: dict[TopicPartition, int], timeout_ms: float
                      ) -> dict[TopicPartition, OffsetAndTimestamp]:
        """ListOffsets for ``timestamps`` from the partitions' leaders (kafka-python's
        ``offsets_by_times``), asked again every retry_backoff_ms while a leader is unknown,
        moved or down, until ``timeout_ms``: what was answered (offset -1: no record that new);
        the partitions no leader answered are left out."""
        transport = self._transport
        deadline = transport.now_ms() + timeout_ms
        pending, found = dict(timestamps), {}
        while True:
            self._follow(pending)
            answered, _ = list_offsets(transport, self._metadata, pending,
                                       self._isolation_level)
            found.update(answered)
            for tp in answered:
                del pending[tp]
            remaining = deadline - transport.now_ms()
            if not pending or remaining <= 0:
                return found
            transport.wait_for(lambda: False, min(self.config["retry_backoff_ms"], remaining))

    def _offsets(self, partitions, timestamp: int, timeout_ms) -> dict[TopicPartition, int]:
        partitions = list(partitions)
        for tp in partitions:
            if not isinstance(tp, TopicPartition):
                raise TypeError(f"expected TopicPartition, got {tp!r}")
        found = self._lookup({tp: timestamp for tp in partitions}, timeout_ms)
        return {tp: found[tp].offset for tp in partitions}

    def _lookup(self, timestamps: dict[TopicPartition, int], timeout_ms
                ) -> dict[TopicPartition, OffsetAndTimestamp]:
        """As kafka-python: KafkaTimeoutError if a leader did not answer within ``timeout_ms``
        (default request_timeout_ms)."""
        if timeout_ms is None:
            timeout_ms = self.config["request_timeout_ms"]
        found = self._list_offsets(timestamps, timeout_ms)
        missing = sorted(set(timestamps) - set(found))
        if missing:
            raise KafkaTimeoutError(f"Failed to get offsets by timestamps in {timeout_ms} ms: "
                                    f"no leader of {missing} answered")
        return found

    def beginning_offsets(self, partitions, timeout_ms=None) -> dict[TopicPartition, int]:
        return self._offsets(partitions, EARLIEST_TIMESTAMP, timeout_ms)

    def end_offsets(self, partitions, timeout_ms=None) -> dict[TopicPartition, int]:
        return self._offsets(partitions, LATEST_TIMESTAMP, timeout_ms)

    def offsets_for_times(self, timestamps, timeout_ms=None):
        """{tp: OffsetAndTimestamp of the first record at or after the time (with the leader
        epoch that wrote it), or None}."""
        for tp, ts in timestamps.items():
            if not isinstance(ts, int) or ts < 0:
                raise ValueError(f"The target time for partition {tp} is {ts!r}. The target "
                                 "time cannot be negative.")
        found = self._lookup(dict(timestamps), timeout_ms)
        return {tp: None if found[tp].offset == -1 else found[tp] for tp in timestamps}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        """The partitions of ``topic`` in the metadata; a topic not in it is asked for with
        every topic's metadata (kafka-python); None if the cluster has no such topic."""
        partitions = self._metadata.partitions_for_topic(topic)
        if partitions is None:
            self._metadata.update(all_topics=True)
            partitions = self._metadata.partitions_for_topic(topic)
        return partitions

    def topics(self) -> set[str]:
        """Every topic of the cluster, from a Metadata request for all of them (kafka-python)."""
        self._metadata.update(all_topics=True)
        return self._metadata.topics(
            exclude_internal_topics=self.config["exclude_internal_topics"])

    # --- reading -------------------------------------------------------------------------------
    @_inside_poll
    def poll(self, timeout_ms: int = 0, max_records: int | None = None,
             update_offsets: bool = True) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Records from the assigned partitions, at most ``max_records`` (None:
        max_poll_records). As kafka-python: a negative ``timeout_ms`` or ``max_records <= 0``
        raises ValueError, a ``max_records`` that is not an int TypeError."""
        if timeout_ms < 0:
            raise ValueError(f"Timeout must not be negative, got timeout_ms={timeout_ms!r}")
        if max_records is None:
            max_records = self.config["max_poll_records"]
        if not isinstance(max_records, int):
            raise TypeError(f"max_records must be an integer, got {max_records!r}")
        if max_records <= 0:
            raise ValueError(f"max_records must be positive, got {max_records!r}")
        if self._closed:
            raise IllegalStateError("KafkaConsumer is closed")
        transport = self._transport
        started = transport.now_ms()
        deadline = started + timeout_ms
        while True:  # as Kafka's poll loop: keep the membership alive, then fetch
            self._maybe_join(deadline - transport.now_ms())
            self._maybe_auto_commit()
            records = self._collect(max_records, update_offsets)
            remaining = deadline - transport.now_ms()
            if records or remaining <= 0:
                break
            if self._group is None and not self._states:
                # nothing assigned (a subscribed topic is missing): as kafka-python's idle
                # poll, look again after retry_backoff_ms
                remaining = min(remaining, self.config["retry_backoff_ms"])
            woke = transport.wait_for(self._should_wake, remaining)
            if self._closed:
                break  # (closed by another thread: as kafka-python, return what there is)
            if not woke and transport.now_ms() >= deadline and not self._has_fetchable_data():
                break
        self._fetch_latency.record(transport.now_ms() - started)
        return records

    def _should_wake(self) -> bool:
        """Data to hand out, or the group needs this member to rejoin (asked to, or a
        subscribed topic appeared, went or grew in the metadata) — or another thread closed
        this consumer."""
        if self._closed:
            return True
        if self._in_group():
            group = self._group
            if group.need_rejoin or group.metadata_changed(self.subscription):
                return True
        return self._has_fetchable_data()

    def _fetchable(self) -> list[tuple[TopicPartition, _PartitionState]]:
        self._maybe_refresh_subscription()
        # (a group's partition whose committed offset could not be fetched yet waits)
        in_group = self._in_group()
        items = [(tp, s) for tp, s in self._states.items() if not s.paused and (
                     s.position is not None or s.reset is not None or not in_group)]
        if items:  # rotate the start so no partition is always served first
            start = self._next_start % len(items)
            items = items[start:] + items[:start]
            self._next_start += 1
        return items

    def _has_fetchable_data(self) -> bool:
        """Records buffered, or a fetch of the partitions with none brings some."""
        items = self._fetchable()
        if not any(state.buffer for _, state in items):
            with self._lock:
                self._fill_buffers(items)
        return any(state.buffer for _, state in items)

    def _collect(self, max_records: int, update_offsets: bool = True
                 ) -> dict[TopicPartition, list[ConsumerRecord]]:
        out: dict[TopicPartition, list[ConsumerRecord]] = {}
        remaining = max_records
        with self._lock:
            items = self._fetchable()
            self._fill_buffers(items)
            for tp, state in items:
                if remaining <= 0:
                    break
                if state.buffer:
                    take = []
                    for batch, rows in state.buffer.take(remaining):
                        take += self._consumer_records(tp, batch, rows)
                    out[tp] = take
                    if update_offsets:
                        state.position = take[-1].offset + 1
                        if not state.buffer:  # drained: past the last batch, gaps and all
                            state.position = max(state.position, state.buffer.end_offset)
                    remaining -= len(take)
        if out:
            self._consumed.record(max_records - remaining)
        return out

    def _fill_buffers(self, items: list[tuple[TopicPartition, _PartitionState]]) -> None:
        """Fetch the partitions of ``items`` with nothing buffered, from their positions
        (first setting the positions they lack): one FetchRequest per leader, as
        kafka-python's fetcher."""
        wanted: dict[TopicPartition, _PartitionState] = {}
        for tp, state in items:
            if not state.buffer:
                if state.position is None:
                    self._init_position(tp, state, 0)
                if state.position is not None:
                    wanted[tp] = state
        if not wanted:
            return
        self._follow(wanted)
        by_node, _ = group_by_leader(self._metadata, wanted)
        for node, partitions in by_node.items():
            self._fetch_from(node, {tp: wanted[tp] for tp in partitions})

    def _fetch_from(self, node: int, states: dict[TopicPartition, _PartitionState]) -> None:
        """One FetchRequest to broker ``node``, answered at once (``max_wait_ms=0``)."""
        metadata = self._metadata
        partition_max_bytes = self.config["max_partition_fetch_bytes"]
        topics: dict[str, list[FetchPartition]] = {}
        for tp, state in states.items():
            known = metadata.partition_metadata(tp)
            topics.setdefault(tp.topic, []).append(FetchPartition(
                tp.partition, state.position, -1, partition_max_bytes,
                known.leader_epoch if known else -1))
        request = FetchRequest(tuple(FetchTopic(t, tuple(ps)) for t, ps in topics.items()),
                               max_wait_ms=0, max_bytes=self.config["fetch_max_bytes"],
                               isolation_level=self._isolation_level)
        try:
            response = self._transport.call(node, request)
        except KafkaConnectionError:  # the leader is down or cut off: ask who leads now
            metadata.request_update()
            return
        for topic in response.responses:
            for data in topic.partitions:
                tp = TopicPartition(topic.topic, data.partition_index)
                self._on_fetched(tp, states[tp], data)

    def _on_fetched(self, tp: TopicPartition, state: _PartitionState, data: PartitionData
                    ) -> None:
        """Take one partition's fetch answer (kafka-python's ``_parse_fetched_data``)."""
        position = state.position
        if not data.error_code:
            state.highwater = data.high_watermark
            state.last_stable = data.last_stable_offset
            records = data.records
            end = records[-1].next_offset if records else -1
            state.buffer.fill(visible_batches(records, data.aborted_transactions), position,
                              end)
            if not state.buffer and records:
                # no record to hand out at or after the position (compacted away, markers,
                # aborted transactions): skip past the batches
                state.position = max(position, end)
            return
        error = error_from(data.error_code, data.error_message)
        if isinstance(error, OffsetOutOfRangeError):
            if self._reset == "none":  # kafka-python's argument {tp: offset}, then the why
                raise OffsetOutOfRangeError(
                    {tp: position},
                    f"Fetch position {position} is out of range for {tp.topic}-{tp.partition} "
                    f"and auto_offset_reset='none': {data.error_message}")
            self._reset_position(tp, state, self._reset, f"offset {position} is out of range")
        elif error.invalid_metadata:  # moved, gone or fenced: refresh, then the new leader
            self._metadata.request_update()
        elif not error.retriable:
            raise error

    def _consumer_records(self, tp: TopicPartition, batch: RecordBatch, rows: list[tuple]
                          ) -> list[ConsumerRecord]:
        """kafka-python's ConsumerRecords for ``rows``, record tuples of ``batch``."""
        topic, partition = tp
        base, ts_type, epoch = batch.base_offset, batch.timestamp_type, \
            batch.partition_leader_epoch
        key_de, value_de = self._key_deserializer, self._value_deserializer
        if key_de is None and value_de is None:
            # the hot path: ``tuple.__new__`` is what ConsumerRecord(...) does, minus the
            # namedtuple's Python-level __new__ (a third of the cost of building a record);
            # most records have no headers: no call for them
            return [_new_tuple(ConsumerRecord, (
                        topic, partition, epoch, base + delta, timestamp, ts_type, key, value,
                        list(headers) if headers else [], None,
                        -1 if key is None else len(key), -1 if value is None else len(value),
                        serialized_header_size(headers) if headers else -1))
                    for delta, timestamp, key, value, headers in rows]
        records = []
        for delta, timestamp, key, value, headers in rows:
            headers = list(headers)
            offset = base + delta
            records.append(ConsumerRecord(
                topic, partition, epoch, offset, timestamp, ts_type,
                _deserialized(key_de, "key_deserializer", tp, offset, headers, key),
                _deserialized(value_de, "value_deserializer", tp, offset, headers, value),
                headers, None, -1 if key is None else len(key),
                -1 if value is None else len(value), serialized_header_size(headers)))
        return records

    def __iter__(self):
        return self

    def __next__(self) -> ConsumerRecord:
        if not self._iterator:
            self._fill_iterator()
        if not self._iterator:
            raise StopIteration
        record = self._iterator.popleft()
        state = self._states.get(TopicPartition(record.topic, record.partition))
        if state is not None:  # the position moves as each record is handed out
            state.position = record.offset + 1
        return record

    @_inside_poll
    def _fill_iterator(self) -> None:
        self._maybe_join(self.config["consumer_timeout_ms"])
        self._maybe_auto_commit()
        batch = self._collect(self.config["max_poll_records"], update_offsets=False)
        while not batch:
            woke = self._transport.wait_for(self._should_wake, self.config["consumer_timeout_ms"],
                                            stop_when_idle=True)
            if self._closed:
                break
            self._maybe_join(self.config["consumer_timeout_ms"])
            batch = self._collect(self.config["max_poll_records"], update_offsets=False)
            if not woke:
                break
        for records in batch.values():
            self._iterator.extend(records)

    # --- the rest ------------------------------------------------------------------------------
    def metrics(self, raw: bool = False) -> dict[str, dict[str, float]]:
        """kafka-python's fetch-manager metrics; lag is the last fetch's high watermark (its
        last stable offset under read_committed) minus the position (as Kafka's records-lag),
        over the partitions fetched so far."""
        # under read_committed a consumer can only get as far as the last stable offset:
        # its lag is measured there (Java's FetchState.partitionLag)
        ends = {tp: (s.last_stable if self._isolation_level == READ_COMMITTED else s.highwater)
                for tp, s in self._states.items()}
        lags = [ends[tp] - s.position for tp, s in self._states.items()
                if s.position is not None and ends[tp] is not None]
        return {"consumer-fetch-manager-metrics": {
            "records-consumed-rate": self._consumed.rate(),
            "records-consumed-total": self._consumed.total,
            "fetch-latency-avg": self._fetch_latency.avg(),
            "fetch-latency-max": self._fetch_latency.max(),
            "records-lag-max": float(max(lags, default=0)),
        }}

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        if self._closed:
            return
        if self._group is not None:
            try:
                if autocommit and self.config["enable_auto_commit"] and self._states:
                    self._commit_quietly("close()")
                if self._in_group() and self._states:  # as kafka-python's _on_close_prepare
                    if self._group.generation < 0:
                        self._lose(set(self._states))
                    else:
                        try:
                            if self._listener is not None:
                                self._listener.on_partitions_revoked(set(self._states))
                        finally:
                            self._revoke(set(self._states))
            finally:
                self._group.stop(leave=True)
                self._closed = True
        self._closed = True
        self._transport.wake()  # a poll() blocked in another thread returns at once

    def _crash(self) -> None:
        """Die without committing or leaving: the crash hook this consumer registers with its
        cluster, which ``cluster.faults.crash_consumer`` calls."""
        if self._group is not None:
            self._group.stop(leave=False)
        self._closed = True

    # --- consumer groups -----------------------------------------------------------------------
    def _maybe_join(self, timeout_ms: float) -> None:
        if self._in_group():
            self._group.ensure_active(self.subscription() or set(), timeout_ms)
            # as Kafka's poll: every assigned partition gets its position (committed offset,
            # else auto_offset_reset) before anything is fetched, so a NoOffsetForPartition
            # error leaves no partition read past records the caller never saw
            missing = [tp for tp, state in self._states.items()
                       if state.position is None and state.reset is None]
            if missing:
                try:  # as kafka-python: the committed offsets, within the poll's time
                    committed = self._group.fetch_committed(
                        missing, None if timeout_ms == float("inf") else max(int(timeout_ms), 1))
                except KafkaTimeoutError:
                    return  # no coordinator yet: these partitions wait for the next poll
                for tp in missing:
                    state = self._states.get(tp)
                    if state is not None and state.position is None:
                        if tp in committed:
                            state.position = committed[tp].offset
                        else:
                            self._reset_position(tp, state, self._reset, f"group "
                                                 f"{self.config['group_id']} has no committed "
                                                 "offset for it")

    def _maybe_auto_commit(self) -> None:
        if (self._group is None or not self.config["enable_auto_commit"]
                or self._transport.now_ms() < self._next_auto_commit_ms):
            return
        self._next_auto_commit_ms = (self._transport.now_ms()
                                     + self.config["auto_commit_interval_ms"])
        offsets = self._offsets_to_commit(None)
        if offsets:  # as kafka-python's poll: an asynchronous commit, a failure only noted

            def done(error) -> None:
                if error is not None:
                    self._explain("consumer.commit_failed", f"auto-commit of group "
                                  f"{self.config['group_id']} failed: {error}")
            self._group.commit_async(offsets, done, as_member=self._in_group())

    def _commit_quietly(self, why: str) -> None:
        try:
            self.commit()
        except KafkaError as error:
            self._explain("consumer.commit_failed", f"{why} of group {self.config['group_id']} "
                          f"failed: {error}")

    def _explain(self, kind: str, text: str) -> None:
        self._transport.emit(kind, text, group=self.config["group_id"])

    def assignment_owned(self) -> set[TopicPartition]:
        return set(self._states)

    def _before_revoke(self, revoked: set[TopicPartition] | None = None) -> None:
        """Before partitions go: auto-commit their positions, then tell the listener."""
        revoked = set(self._states) if revoked is None else revoked
        if self.config["enable_auto_commit"] and revoked:
            self._commit_quietly("commit before revocation")
        if self._listener is not None:
            self._listener.on_partitions_revoked(revoked)

    def _lose(self, lost: set[TopicPartition]) -> None:
        """The group gave these partitions away already (this member was kicked out): no
        commit, the listener hears ``on_partitions_lost`` (by default its
        ``on_partitions_revoked``), and they are dropped even if the listener raises."""
        self._explain("consumer.partitions_lost", f"consumer lost {len(lost)} partition(s) of "
                      f"group {self.config['group_id']}: it is no longer a member of the "
                      "current generation; their uncommitted records go to the new owner")
        try:
            if self._listener is not None:
                lost_hook = getattr(self._listener, "on_partitions_lost", None)
                (lost_hook or self._listener.on_partitions_revoked)(set(lost))
        finally:
            self._revoke(set(lost))

    def _revoke(self, partitions: set[TopicPartition]) -> None:
        self._states = {tp: s for tp, s in self._states.items() if tp not in partitions}
        self._iterator.clear()

    def _assign_from_group(self, assigned: set[TopicPartition],
                           added: set[TopicPartition]) -> None:
        self._set_assignment(sorted(assigned))
        if self._listener is not None:
            self._listener.on_partitions_assigned(added)

    def commit(self, offsets=None, timeout_ms=None) -> None:
        """Commit offsets to the group (default: the position of every assigned partition)."""
        if self._group is None:
            raise IllegalStateError("commit() requires a group_id: the committed offsets are "
                                    "stored for a consumer group")
        offsets = self._offsets_to_commit(offsets)
        if not offsets:
            return
        # kafka-python's commit_offsets_sync: retried through coordinator rediscovery until
        # timeout_ms (default request_timeout_ms); acknowledged once the offsets are stored
        self._group.commit(offsets, timeout_ms, as_member=self._in_group())

    def _offsets_to_commit(self, offsets) -> dict[TopicPartition, OffsetAndMetadata]:
        if offsets is None:
            return {tp: OffsetAndMetadata(s.position, "", -1)
                    for tp, s in self._states.items() if s.position is not None}
        out = {}
        for tp, value in offsets.items():
            if isinstance(value, int):
                value = OffsetAndMetadata(value, "", -1)
            out[tp] = value
        return out

    def commit_async(self, offsets=None, callback=None) -> Future:
        """Commit in the background; ``callback(offsets, exception_or_None)`` — by default
        the ``default_offset_commit_callback`` config — runs one round trip later. Returns a
        kafka-python Future."""
        if callback is None:
            callback = self.config["default_offset_commit_callback"]
        future = Future()

        def finish(outcome) -> None:
            try:
                if callback is not None:
                    callback(offsets, outcome)
            finally:
                future.success(offsets) if outcome is None else future.failure(outcome)

        def done(outcome) -> None:
            # as kafka-python: a raising callback is logged, not raised; on a wall-clock
            # cluster it runs on the driver's callback thread, outside the cluster's lock
            run_callback(finish, outcome)

        try:
            offsets = self._offsets_to_commit(offsets)
            if self._group is None:
                raise IllegalStateError("commit_async() requires a group_id: the committed "
                                        "offsets are stored for a consumer group")
        except KafkaError as error:
            self._transport.call_later(self._transport.round_trip_ms,
                                       lambda refused=error: done(refused))
            return future
        if not offsets:
            self._transport.call_later(self._transport.round_trip_ms, lambda: done(None))
            return future
        # one OffsetCommit, no retry (kafka-python's commit_offsets_async)
        self._group.commit_async(offsets, done, as_member=self._in_group())
        return future

    def committed(self, partition: TopicPartition, metadata: bool = False, timeout_ms=None):
        """The group's committed offset for ``partition`` (None if there is none)."""
        if self._group is None:
            raise IllegalStateError("committed() requires a group_id")
        found = self._committed_offsets([partition]).get(partition)
        if found is None:
            return None
        return found if metadata else found.offset

    def group_metadata(self) -> ConsumerGroupMetadata:
        group = self._group
        if group is None:
            return ConsumerGroupMetadata()
        return ConsumerGroupMetadata(group.group_id, group.generation, group.member_id,
                                     group.instance_id, group.state)

    def __repr__(self) -> str:
        return f"KafkaConsumer(assignment={sorted(self._states)})"
