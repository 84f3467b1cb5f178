"""KafkaProducer: kafka-python's producer API over the in-process engine.

``send()`` serializes, picks a partition, and appends the record to that partition's batch in
the :class:`RecordAccumulator`. The :class:`Sender` ships ready batches (full, or ``linger_ms``
passed in simulated time — with ``linger_ms=0``, as soon as the world runs) as one
ProduceRequest per broker through the producer's transport; answers arrive a network round trip
later and resolve the futures in send order. Waiting (``future.get``, ``flush``, a full
``buffer_memory``) runs the simulated world.

The producer knows the cluster only through Metadata requests, as kafka-python: its
:class:`~.metadata.ClusterMetadata` cache gives each topic's partitions (``send()`` waits up to
``max_block_ms`` for a topic it has not seen, auto-creating it if allowed) and each partition's
leader. The cache is refreshed when an answer says it is stale (the leader moved, a broker is
gone) and once it is older than ``metadata_max_age_ms`` — so partitions added to a topic are
used after that refresh, as with a real cluster.

Idempotence (``enable_idempotence``, on by default as in kafka-python 3): the producer gets a
producer id from a broker (InitProducerId) and numbers its batches per partition, so the broker
drops a retried batch it already has instead of storing it twice. When a numbered batch fails for good
(delivery timeout, a refused batch), its numbers leave a gap the broker would refuse for ever;
the producer then bumps its epoch and numbers that partition from 0 again (KIP-360). The
:class:`~.transaction_manager.TransactionManager` owns id, epoch and sequences, and never
renumbers a batch the broker may already have.

Transactions (``transactional_id``): ``init_transactions()`` gets the id's producer id and a
new epoch from its transaction coordinator (fencing older instances), ``begin_transaction()``
opens one, each partition joins it (AddPartitionsToTxn) before its first batch goes,
``send_offsets_to_transaction()`` adds a consumer group's offsets, and ``commit_transaction()``
/ ``abort_transaction()`` end it (EndTxn, once every record sent is answered); see
:mod:`.transactions` for states and errors.

Differences from kafka-python (kept small on purpose): no sender thread — work runs on the
cluster's scheduler; records without a key use the sticky partitioner (Java's default since 2.4,
kafka-python's ``StickyPartitioner``) where kafka-python's ``DefaultPartitioner`` picks a random
partition per record (a *subclass* of ``DefaultPartitioner`` is called like any partitioner);
``buffer_memory`` (Java's ``buffer.memory``) bounds unsent and unacknowledged bytes; a header
value may be None (as in Java).

Invariants: without retries, records of one partition are stored in ``send()`` order (with
idempotence, even with retries); every future resolves exactly once; a refused ``send()`` (bad
input) stores nothing.
"""
from __future__ import annotations

import threading
from typing import Any

from kafka.partitioner import Partitioner
from kafka.partitioner.default import DefaultPartitioner
from kafka.producer.kafka import KafkaProducer as _KafkaPythonProducer
from kafka.serializer import Serializer

from ..api.messages.metadata import MetadataRequest
from ..errors import (
    IllegalStateError,
    KafkaConfigurationError,
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    UnknownTopicOrPartitionError,
)
from ..metrics import Sensor
from ..record import CODECS
from ..record.batch import HEADER_SIZE, record_size_from_payload, record_sizes
from ..structs import TopicPartition
from .accumulator import RecordAccumulator
from .config import check_not_yet_supported, merge_config, normalize_acks
from .futures import FutureRecordMetadata
from .metadata import ClusterMetadata
from .partitioner import StickyPartitioner, partition_for_key
from .sender import Sender
from .transaction_manager import TransactionManager
from .transactions import Transactions
from .transport import transport_for

#: kafka-python 3's configs, plus ``buffer_memory`` (kafka-python 2's and Java's name and
#: default, 32 MiB), which bounds the bytes waiting to be sent or acknowledged.
DEFAULT_CONFIG = dict(_KafkaPythonProducer.DEFAULT_CONFIG, buffer_memory=32 * 1024 * 1024)

#: kafka-python's upper-bound estimate of a record's size (``DefaultRecordBatchBuilder.
#: estimate_size_in_bytes``): a batch header (61 bytes) plus the most a record's own fields
#: (length, attributes, timestamp and offset deltas) can take (21), plus key, value and headers
#: with their lengths (``record_sizes``' payload). The size limits are checked against it, so a
#: record is refused at the same size as with kafka-python.
ESTIMATE_OVERHEAD = HEADER_SIZE + 21


_new = object.__new__


class TopicPartitions(dict):
    """A topic's partitions as a producer knows them: ``all`` of them, and ``self[key]``, the
    one a key goes to (Kafka's murmur2 rule, ``partition_for_key``), remembered for the keys
    sent lately — a keyed ``send()`` reads it as one dict lookup, which costs a fraction of a
    (cached) hash call. Bounded: it starts over once it holds ``LIMIT`` keys."""

    LIMIT = 65536

    def __init__(self, topic: str, count: int):
        super().__init__()
        self.all = tuple(TopicPartition(topic, p) for p in range(count))

    def __missing__(self, key: bytes) -> TopicPartition:
        if len(self) >= self.LIMIT:
            self.clear()
        tp = self[key] = self.all[partition_for_key(key, len(self.all))]
        return tp


class RecordSizes(dict):
    """``(key length, value length, headers)`` (-1: null) -> ``(size, wide_size, payload,
    oversized, room)`` of such a record: ``size`` where its offset and timestamp deltas take one
    byte each (a batch's first 64 records, less than 64 ms after the first), ``wide_size`` where
    its offset delta takes two (records 64..8191), its ``payload`` (key, value and headers with
    their lengths, to size it anywhere else with ``record_size_from_payload``), whether
    kafka-python's estimate of it exceeds ``record_size_limit``, and the ``buffer_memory`` it
    may take (its size and, if it opens a batch, the batch header).

    A producer's cache, read once per ``send()`` as a dict lookup (a producer sends few distinct
    lengths). Bounded: it starts over once it holds ``LIMIT`` entries."""

    LIMIT = 4096

    def __init__(self, record_size_limit: int):
        super().__init__()
        self.record_size_limit = record_size_limit

    def __missing__(self, lengths: tuple[int, int, tuple]) -> tuple[int, int, int, bool, int]:
        if len(self) >= self.LIMIT:
            self.clear()
        size, payload = record_sizes(*lengths)
        sizes = self[lengths] = (size, record_size_from_payload(64, 0, payload), payload,
                                 payload + ESTIMATE_OVERHEAD > self.record_size_limit,
                                 size + HEADER_SIZE)
        return sizes


class KafkaProducer:
    DEFAULT_CONFIG = DEFAULT_CONFIG

    def __init__(self, **configs: Any):
        # kafka-python's producer raises ValueError for an unknown config (not a KafkaError)
        self.config = merge_config(DEFAULT_CONFIG, configs, "KafkaProducer", error=ValueError,
                                   with_values=True)
        self._acks = self.config["acks"] = normalize_acks(self.config["acks"])
        codec = self.config["compression_type"]
        if codec not in CODECS:
            raise ValueError(f"Not supported codec: {codec!r}; use None, 'gzip', 'snappy', "
                             "'lz4' or 'zstd'")
        self._check_idempotence(set(configs))
        timeouts = self.config["linger_ms"] + self.config["request_timeout_ms"]
        if self.config["delivery_timeout_ms"] < timeouts:
            raise KafkaConfigurationError(
                f"Must set delivery_timeout_ms higher than linger_ms + request_timeout_ms: "
                f"delivery_timeout_ms={self.config['delivery_timeout_ms']} < "
                f"{self.config['linger_ms']} + {self.config['request_timeout_ms']}")
        self._transport = transport = transport_for(self.config["bootstrap_servers"])
        check_not_yet_supported("KafkaProducer", self.config, transport.warn_once)
        self._metadata = ClusterMetadata(transport, self.config["metadata_max_age_ms"],
                                         self.config["allow_auto_create_topics"],
                                         self.config["retry_backoff_ms"])
        self._sticky = StickyPartitioner(transport.seeded_rng())
        custom = self.config["partitioner"]
        # kafka-python's own DefaultPartitioner (the default) -> kafkalab's built-in choice; a
        # subclass overrides partition() and is called like any other partitioner
        self._custom_partitioner = None if type(custom) is DefaultPartitioner else custom
        transactional_id = self.config["transactional_id"]
        self._transaction_manager = TransactionManager(
            transport if self.config["enable_idempotence"] else None,
            transactional=transactional_id is not None)
        self._closed = False
        now = self._transport.now_ms
        self._sensors = {name: Sensor(now) for name in (
            "record-send", "record-error", "record-retry", "request-latency", "batch-size",
            "compression-rate", "records-per-request")}
        self._accumulator = RecordAccumulator(
            self.config["batch_size"], self.config["linger_ms"], self.config["buffer_memory"],
            wake_sender=lambda at_ms: self._sender.wakeup(at_ms),
            wait_for=self._transport.wait_for)
        self._transactions = None if transactional_id is None else Transactions(
            transactional_id, self.config["transaction_timeout_ms"], transport,
            self._transaction_manager, self.config,
            has_incomplete=lambda: self._accumulator.unresolved > 0,
            wake_sender=lambda at_ms=None: self._sender.wakeup(at_ms),
            abort_unsent=lambda error: self._sender.abort_unsent(error))
        self._init_transactions_result = None
        self._sender = Sender(transport, self._metadata, self.config, self._sensors,
                              self._transaction_manager, self._accumulator,
                              on_metadata_update=self._metadata_updated,
                              transactions=self._transactions)
        transport.register_client(self, on_crash=self._crash)
        # read once per send(): configs never change after construction. Bytes go into the
        # batch as they are while there are no serializers and the producer is open (close()
        # clears it: send()'s other path refuses then)
        self._bytes_as_they_are = self.config["key_serializer"] is None and \
            self.config["value_serializer"] is None
        self._allow_auto_create = self.config["allow_auto_create_topics"]
        self._record_size_limit = min(self.config["max_request_size"],
                                      self.config["buffer_memory"])
        self._rotates_on_new_batch = self._partitioner_rotates()
        self._record_sizes = RecordSizes(self._record_size_limit)
        # topic -> its TopicPartitions, forgotten whenever the metadata cache's version moves
        self._topic_partitions: dict[str, TopicPartitions] = {}
        self._lock, self._now_ms = transport.lock, transport.now_ms
        self._metadata_version = -1

    @property
    def producer_id(self) -> int:
        """The idempotent producer id the cluster gave (-1 without idempotence)."""
        return self._transaction_manager.producer_id

    @property
    def producer_epoch(self) -> int:
        """Its epoch: bumped when a failed batch leaves a gap in a partition's sequences."""
        return self._transaction_manager.producer_epoch

    def _check_idempotence(self, user_set: set[str]) -> None:
        """kafka-python's rules: idempotence needs acks='all', retries > 0 and at most 5
        requests in flight; asked for explicitly it refuses a conflict, by default it yields."""
        config = self.config
        if config["transactional_id"] is not None and not config["enable_idempotence"]:
            raise KafkaConfigurationError(
                "transactional_id requires enable_idempotence=True (a transactional producer "
                "is idempotent): leave enable_idempotence at its default")
        if not config["enable_idempotence"]:
            return
        conflicts = [f"{name}={config[name]!r}" for name, bad in (
            ("acks", config["acks"] != -1),
            ("retries", config["retries"] == 0),
            ("max_in_flight_requests_per_connection",
             config["max_in_flight_requests_per_connection"] > 5)) if name in user_set and bad]
        # kafka-python: a transactional_id counts as asking for idempotence explicitly
        if conflicts and ("enable_idempotence" in user_set
                          or config["transactional_id"] is not None):
            raise KafkaConfigurationError(
                f"enable_idempotence=True is incompatible with user-provided "
                f"{', '.join(conflicts)}: idempotence needs acks='all', retries > 0 and "
                f"max_in_flight_requests_per_connection <= 5")
        if conflicts:
            config["enable_idempotence"] = False

    # --- send ----------------------------------------------------------------------------------
    def send(self, topic: str, value: Any = None, key: Any = None, headers=None,
             partition: int | None = None, timestamp_ms: int | None = None
             ) -> FutureRecordMetadata:
        """Queue one record; returns a future that resolves to its RecordMetadata.

        A topic not in the metadata yet (and not auto-created) is waited for up to
        ``max_block_ms``, then ``KafkaTimeoutError`` (as kafka-python's send)."""
        if (type(value) is bytes and (key is None or type(key) is bytes) and headers is None
                and self._bytes_as_they_are):
            key_bytes, value_bytes, record_headers = key, value, ()  # nothing to convert
        else:
            key_bytes, value_bytes, record_headers = self._prepare_record(topic, key, value,
                                                                          headers)
        lock = self._lock
        lock.acquire()  # (not `with`: on CPython 3.11 that costs twice as much, per record)
        try:
            partitions = self._topic_partitions.get(topic)
            if partitions is None:
                partitions = self._partitions_of(topic)
            if partition is None and key_bytes is not None and self._custom_partitioner is None:
                tp = partitions[key_bytes]  # the common case: partition_for_key, remembered
            else:
                tp = partitions.all[self._choose_partition(
                    topic, partition, key, key_bytes, value, value_bytes, len(partitions.all))]
            sizes = self._record_sizes[(-1 if key_bytes is None else len(key_bytes),
                                        -1 if value_bytes is None else len(value_bytes),
                                        record_headers)]
            if sizes[3]:
                self._check_record_size(sizes[2] + ESTIMATE_OVERHEAD)
            accumulator = self._accumulator
            if sizes[4] > accumulator.free_bytes:
                self._wait_for_memory(sizes[4])
            now = self._now_ms()
            timestamp = now if timestamp_ms is None else int(timestamp_ms)
            while True:
                batch = accumulator.open_batches.get(tp)
                if batch is not None:
                    # the record joins its partition's open batch if it fits (Java's tryAppend),
                    # sized exactly where it lands: its timestamp delta takes one byte (almost
                    # always), its offset delta one byte or, from the 65th record, two
                    records = batch.records
                    offset_delta = len(records)
                    if timestamp in batch.small_deltas and offset_delta < 8192:
                        size = sizes[offset_delta >= 64]
                    else:
                        size = record_size_from_payload(
                            offset_delta, timestamp - batch.first_timestamp, sizes[2])
                    if batch.size + size <= accumulator.batch_size:
                        records.append((offset_delta, timestamp, key_bytes, value_bytes,
                                        record_headers))
                        batch.size += size
                        accumulator.free_bytes -= size
                        future = _new(FutureRecordMetadata)  # without a Python __init__ call
                        future._batch, future._index = batch, offset_delta
                        return future
                    accumulator.close(batch)  # the record that does not fit closes it
                # KIP-480: a record without a key that would open a new batch first moves the
                # sticky partition on (kafka-python 3's abort_on_new_batch), so the burst after
                # a sent or full batch fills a batch on another partition
                if self._transactions is not None:
                    # a partition joins the transaction before its first batch goes (every
                    # batch of a transaction opens here: none stays open past its end)
                    self._transactions.check_send(tp)
                if partition is not None or key_bytes is not None or \
                        not self._rotates_on_new_batch:
                    return accumulator.open_batch(tp, timestamp, key_bytes, value_bytes,
                                                  record_headers, sizes[0], now)
                partition = self._on_new_batch(topic, tp.partition, key, value, value_bytes,
                                               len(partitions.all))  # (chosen: once only)
                tp = partitions.all[partition]
        finally:
            lock.release()

    def _partitions_of(self, topic: str) -> TopicPartitions:
        """``topic``'s partitions (auto-creating the topic if allowed), for the
        ``_topic_partitions`` cache."""
        partitions = self._topic_partitions[topic] = TopicPartitions(
            topic, self._wait_on_metadata(topic))
        return partitions

    def _metadata_updated(self) -> None:
        """The metadata cache took a Metadata response: if it changed (a topic appeared or
        went, a partition count or leader changed), the cached partitions are forgotten."""
        if self._metadata_version != self._metadata.version:
            self._topic_partitions.clear()
            self._metadata_version = self._metadata.version

    def _wait_on_metadata(self, topic: str) -> int:
        """``topic``'s partition count from the metadata cache, as kafka-python's
        ``_wait_on_metadata``: a topic the cache does not know yet is asked for (a Metadata
        request, which auto-creates it if ``allow_auto_create_topics`` and the brokers'
        ``auto.create.topics.enable`` allow); one that does not exist is asked for again while
        the simulated world runs, up to ``max_block_ms`` — so a topic created in that time is
        found — then ``KafkaTimeoutError``. A topic the brokers refuse (an illegal name) raises
        their error."""
        metadata = self._metadata
        metadata.add_topic(topic)

        def known() -> bool:
            if metadata.partitions_for_topic(topic) is None:
                metadata.update()
                error = metadata.topic_error(topic)
                if error is not None and not isinstance(error, UnknownTopicOrPartitionError):
                    raise error
            return metadata.partitions_for_topic(topic) is not None

        max_block_ms = self.config["max_block_ms"]
        found = known() or self._transport.wait_for(known, max_block_ms)
        self._metadata_updated()
        if not found:
            why = ("allow_auto_create_topics=False" if not self._allow_auto_create
                   else "the brokers run with auto.create.topics.enable=false")
            raise KafkaTimeoutError(
                f"Failed to update metadata after {max_block_ms / 1000:.1f} secs. Topic "
                f"{topic!r} is not present in metadata: it does not exist (existing topics: "
                f"{self._existing_topics()}) and is not auto-created ({why}); create it first "
                "(KafkaAdminClient.create_topics)")
        return len(metadata.partitions_for_topic(topic))

    def _existing_topics(self) -> str:
        """The names of the cluster's topics, for an error message."""
        try:
            response = self._transport.call(None, MetadataRequest(None, False))
        except KafkaConnectionError:
            return "unknown: no broker answers"
        return ", ".join(sorted(t.name for t in response.topics if not t.is_internal)) or "none"

    def _prepare_record(self, topic: str, key: Any, value: Any, headers
                        ) -> tuple[bytes | None, bytes | None, tuple]:
        """send()'s checks, and its conversions of a record that does not go in as it is."""
        if self._closed:
            raise IllegalStateError("KafkaProducer already closed: cannot send")
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")
        return self._serialize_record(topic, key, value, headers)

    def _serialize_record(self, topic: str, key: Any, value: Any, headers
                          ) -> tuple[bytes | None, bytes | None, tuple]:
        """(key bytes, value bytes, headers) as stored. Serializers see the headers as a list
        (as in kafka-python, they may add to it); the record keeps them as a tuple."""
        headers = self._check_headers(headers)
        key_bytes = self._serialize("key_serializer", topic, headers, key, "key")
        value_bytes = self._serialize("value_serializer", topic, headers, value, "value")
        return key_bytes, value_bytes, tuple(headers)

    def _serialize(self, which: str, topic: str, headers, data: Any, what: str
                   ) -> bytes | None:
        """Apply a serializer: a kafka-python ``Serializer`` object or a plain function.

        As in kafka-python, a configured serializer also gets ``None`` (a missing key, a
        tombstone value): ``value=None`` stays null only if the serializer returns None
        (``json.dumps`` would make it ``b"null"``, a value, not a tombstone)."""
        serializer = self.config[which]
        if serializer is not None:
            try:
                data = (serializer.serialize(topic, headers, data)
                        if isinstance(serializer, Serializer) else serializer(data))
            except (TypeError, AttributeError) as error:  # e.g. str.encode(None), None.encode
                if data is not None:
                    raise
                tombstone, safe = (" (a tombstone)", "json.dumps(v).encode()") \
                    if what == "value" else ("", "v.encode()")
                raise (TypeError if isinstance(error, TypeError) else AttributeError)(
                    f"{which} failed on {what}=None{tombstone}: {error}. kafka-python hands "
                    f"None to the serializer too; use a None-safe serializer such as "
                    f"`lambda v: None if v is None else {safe}`") from error
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"The record {what} must be bytes after serialization, got "
                f"{type(data).__name__}: pass {which}=... (e.g. lambda v: json.dumps(v)."
                f"encode('utf-8')) or send bytes")
        return bytes(data) if data is not None else None

    @staticmethod
    def _check_headers(headers) -> list[tuple[str, bytes]]:
        """kafka-python's checks and messages: a list of (str, bytes) tuples (here a value may
        also be None, as in Java). Serializers get a copy they may add to."""
        if headers is None:
            return []
        if not isinstance(headers, list):
            raise TypeError(f"headers must be list-type, got {type(headers).__name__}: pass "
                            "a list of (str, bytes) tuples, e.g. [('trace-id', b'42')]")
        for item in headers:
            if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                    or not (item[1] is None or isinstance(item[1], bytes))):
                raise TypeError(f"All headers items must be (str, bytes) tuples, got {item!r}")
        return list(headers)

    def _choose_partition(self, topic: str, partition: int | None, key: Any,
                          key_bytes: bytes | None, value: Any, value_bytes: bytes | None,
                          partitions: int) -> int:
        if partition is not None:
            # kafka-python raises ValueError here (the Java client: "Invalid partition")
            if not isinstance(partition, int) or not 0 <= partition < partitions:
                raise ValueError(
                    f"Unrecognized partition {partition!r} for topic '{topic}': it has "
                    f"partitions 0..{partitions - 1}")
            return partition
        custom = self._custom_partitioner
        if custom is not None:
            all_partitions = list(range(partitions))
            if isinstance(custom, Partitioner):  # kafka-python 3's interface
                chosen = custom.partition(topic, key, key_bytes, value, value_bytes,
                                          self._metadata)
            else:  # kafka-python 2's callable(key_bytes, all_partitions, available)
                chosen = custom(key_bytes, all_partitions, all_partitions)
            if chosen not in all_partitions:
                raise ValueError(f"The partitioner chose partition {chosen!r} for topic "
                                 f"'{topic}', which has partitions 0..{partitions - 1}")
            return chosen
        if key_bytes is None:
            return self._sticky.partition(topic, partitions)
        return partition_for_key(key_bytes, partitions)

    def _partitioner_rotates(self) -> bool:
        """True when the partitioner moves on for a new batch: kafkalab's sticky partitioner,
        or a custom one with kafka-python 3's ``on_new_batch`` hook."""
        custom = self._custom_partitioner
        return custom is None or callable(getattr(custom, "on_new_batch", None))

    def _on_new_batch(self, topic: str, prev_partition: int, key: Any, value: Any,
                      value_bytes: bytes | None, partitions: int) -> int:
        """Tell the partitioner that ``prev_partition`` needs a new batch; choose again."""
        custom = self._custom_partitioner
        if custom is None:
            self._sticky.on_new_batch(topic, prev_partition, partitions)
        else:
            custom.on_new_batch(topic, self._metadata, prev_partition)
        return self._choose_partition(topic, None, key, None, value, value_bytes, partitions)

    def _check_record_size(self, size: int) -> None:
        """kafka-python's (and Java's) ensureValidRecordSize: a record, by its upper-bound
        size estimate (``ESTIMATE_OVERHEAD`` + its fields), must fit in one request — and in
        the buffer (Java's second check: kafka-python 3 has no ``buffer_memory``)."""
        if size > self.config["max_request_size"]:
            raise MessageSizeTooLargeError(
                f"The message is {size} bytes when serialized which is larger than the maximum "
                f"request size you have configured with the max_request_size configuration "
                f"({self.config['max_request_size']})")
        if size > self.config["buffer_memory"]:
            raise MessageSizeTooLargeError(
                f"The message is {size} bytes when serialized which is larger than the total "
                f"memory buffer you have configured with the buffer_memory configuration "
                f"({self.config['buffer_memory']})")

    def _wait_for_memory(self, size: int) -> None:
        """Block (running the world, up to max_block_ms) until ``size`` bytes are free (or
        nothing is held: a record larger than what is left goes alone)."""
        accumulator = self._accumulator
        if accumulator.has_room_for(size):
            return
        max_block_ms = self.config["max_block_ms"]
        if not self._transport.wait_for(lambda: accumulator.has_room_for(size), max_block_ms):
            raise KafkaTimeoutError(
                f"Failed to allocate memory within the configured max blocking time "
                f"max_block_ms={max_block_ms}: buffer_memory={self.config['buffer_memory']} "
                f"bytes are taken by {accumulator.used_bytes} bytes of unsent or "
                f"unacknowledged records")

    # --- transactions (kafka-python 3's methods, names and errors) --------------------------------
    def _txn(self, what: str) -> Transactions:
        if self._transactions is None:
            raise IllegalStateError(f"Cannot {what} without setting a transactional_id "
                                    "(KafkaProducer(transactional_id=...))")
        return self._transactions

    def _wait_result(self, result, timeout_ms: float = float("inf")) -> bool:
        transport = self._transport
        with transport.lock:
            self._sender.wakeup()
        done = transport.wait_for(lambda: result.done, timeout_ms, callbacks=True)
        if done and result.error is not None:
            raise result.error
        return done

    def init_transactions(self) -> None:
        """Get this transactional id's producer id and a new epoch from its coordinator: an
        older producer with the same ``transactional_id`` is fenced, and a transaction it left
        open is aborted first. ``KafkaTimeoutError`` after ``max_block_ms`` (calling again
        waits on); once it succeeded, calling again does nothing."""
        transactions = self._txn("call init_transactions")
        with self._transport.lock:
            if self._init_transactions_result is None:
                self._init_transactions_result = transactions.init()
        result = self._init_transactions_result
        try:
            if not self._wait_result(result, self.config["max_block_ms"]):
                raise KafkaTimeoutError("Timeout expired while initializing transactional "
                                        f"state in {self.config['max_block_ms']} ms.")
        finally:
            if result.done and result.error is not None:
                self._init_transactions_result = None

    def begin_transaction(self) -> None:
        """Start a transaction: the records sent from now on are committed or aborted
        together."""
        transactions = self._txn("use transactional methods")
        with self._transport.lock:
            transactions.begin()

    def send_offsets_to_transaction(self, offsets, group_metadata) -> None:
        """Commit a consumer group's ``offsets`` ({TopicPartition: OffsetAndMetadata}) as part
        of the transaction: they count only if it commits (the consume-transform-produce
        loop). ``group_metadata``: ``consumer.group_metadata()`` (lets the group coordinator
        refuse a consumer of an older generation), or a group id."""
        transactions = self._txn("use transactional methods")
        with self._transport.lock:
            result = transactions.send_offsets(offsets, group_metadata)
        self._wait_result(result)

    def commit_transaction(self) -> None:
        """Send every record of the transaction, then commit it (EndTxn): raises the error
        that made it abortable, or ``ProducerFencedError`` if a newer instance took over."""
        transactions = self._txn("commit transaction since transactions are not enabled;")
        with self._transport.lock:
            result = transactions.end(commit=True)
            self._sender.flushing = True
        try:
            self._wait_result(result)
        finally:
            self._sender.flushing = False

    def abort_transaction(self) -> None:
        """Abort the transaction: records not sent yet fail with ``TransactionAbortedError``;
        those sent are marked aborted, so read_committed consumers never see them."""
        transactions = self._txn("abort transaction since transactions are not enabled;")
        with self._transport.lock:
            result = transactions.end(commit=False)
        self._wait_result(result)

    def _crash(self) -> None:
        """The lab kills this producer on the spot (``cluster.faults.crash_producer``): nothing
        more is sent — no EndTxn, no batch — and its unsent records are lost."""
        with self._transport.lock:
            self._sender.abort_incomplete(KafkaConnectionError("the producer crashed"))
            self._closed = True
            self._bytes_as_they_are = False

    # --- waiting and closing -------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Send every batch now and wait until every sent record is resolved."""
        transport = self._transport
        timeout_ms = float("inf") if timeout is None else timeout * 1000
        with transport.lock:
            self._sender.flushing = True
            self._sender.wakeup()
        try:
            # as kafka-python: every callback of those records has run when flush() returns
            done = transport.wait_for(lambda: self._accumulator.unresolved == 0, timeout_ms,
                                      callbacks=True)
        finally:
            self._sender.flushing = False
        if not done:
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")

    def close(self, timeout: float | None = None) -> None:
        """Send what is buffered, wait up to ``timeout`` seconds (None: for ever) for every
        answer, then close. Records still unanswered then — with ``timeout=0``, all that are
        pending: it does not wait — fail with ``IllegalStateError('Producer is closed
        forcefully.')``, as kafka-python's force close (and Java's ``close(Duration.ZERO)``);
        so does a close after ``cluster.close()``. A negative timeout raises ValueError.

        Differs from kafka-python 3.0.12 on purpose: its close() first calls
        ``flush(timeout)``, which raises ``KafkaTimeoutError`` — leaving the producer open —
        whenever a record is still pending when the timeout ends (always, for ``timeout=0``)."""
        if self._closed:
            return
        if timeout is not None and not 0 <= timeout <= threading.TIMEOUT_MAX:
            raise ValueError(f"Invalid timeout: {timeout}")
        try:
            self.flush(timeout)
        except (KafkaTimeoutError, KafkaConnectionError):
            transport = self._transport
            with transport.lock, transport.deferring_callbacks():
                self._sender.abort_incomplete(
                    IllegalStateError("Producer is closed forcefully."))
        self._closed = True
        self._bytes_as_they_are = False

    def partitions_for(self, topic: str) -> set[int]:
        """``topic``'s partition ids, waiting up to ``max_block_ms`` for its metadata (as
        ``send()`` does)."""
        return set(range(self._wait_on_metadata(topic)))

    def metrics(self, raw: bool = False) -> dict[str, dict[str, float]]:
        """Producer metrics with Kafka's names, over the last minute of (simulated) time."""
        s = self._sensors
        return {"producer-metrics": {
            "record-send-rate": s["record-send"].rate(),
            "record-send-total": s["record-send"].total,
            "record-error-rate": s["record-error"].rate(),
            "record-error-total": s["record-error"].total,
            "record-retry-rate": s["record-retry"].rate(),
            "request-latency-avg": s["request-latency"].avg(),
            "request-latency-max": s["request-latency"].max(),
            "batch-size-avg": s["batch-size"].avg(),
            "compression-rate-avg": s["compression-rate"].avg() or 1.0,
            "records-per-request-avg": s["records-per-request"].avg(),
        }}

    def __repr__(self) -> str:
        return (f"KafkaProducer(acks={self.config['acks']!r}, linger_ms="
                f"{self.config['linger_ms']}, idempotent={self.producer_id >= 0}, "
                f"in_flight={self._sender.in_flight})")
