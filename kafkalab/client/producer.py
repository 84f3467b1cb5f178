"""KafkaProducer: kafka-python's producer API over the in-process engine.

``send()`` serializes, picks a partition, and appends the record to that partition's open
batch (the record accumulator). A batch is sent when it is full (``batch_size``) or its
``linger_ms`` has passed in simulated time — with ``linger_ms=0``, as soon as the world runs.
The broker's answer arrives a network round trip later and resolves the futures in send order.
Waiting (``future.get``, ``flush``) runs the simulated world until it is done.

Differences from kafka-python (kept small on purpose): no sender thread — work runs on the
cluster's scheduler; ``enable_idempotence`` and transactions arrive with lessons 02 and 05.

Invariants: records of one partition are sent in ``send()`` order; every future resolves
exactly once; a refused ``send()`` (bad input) stores nothing.
"""
from __future__ import annotations

import random
from typing import Any

from kafka.partitioner import Partitioner
from kafka.partitioner.default import DefaultPartitioner
from kafka.producer.kafka import KafkaProducer as _KafkaPythonProducer
from kafka.serializer import Serializer

from ..cluster.broker import ProduceResult
from ..errors import IllegalStateError, KafkaTimeoutError, MessageSizeTooLargeError
from ..record import CODECS, Record, RecordBatch
from ..record.batch import HEADER_SIZE, _record_size
from ..structs import RecordMetadata, TopicPartition, serialized_header_size
from .config import merge_config, normalize_acks
from .futures import FutureRecordMetadata
from .metrics import Sensor
from .partitioner import StickyPartitioner, partition_for_key
from .transport import transport_for

DEFAULT_CONFIG = dict(_KafkaPythonProducer.DEFAULT_CONFIG)


class _OpenBatch:
    """Records collected for one partition, not yet sent."""

    __slots__ = ("tp", "records", "futures", "size", "first_ms", "attempts", "sent_ms")

    def __init__(self, tp: TopicPartition, now_ms: int):
        self.tp = tp
        self.records: list[Record] = []
        self.futures: list[tuple[FutureRecordMetadata, int, int, int]] = []
        self.size = HEADER_SIZE
        self.first_ms = now_ms
        self.attempts = 0
        self.sent_ms = now_ms


class _MetadataView:
    """The part of kafka-python's ``ClusterMetadata`` a ``Partitioner`` reads."""

    def __init__(self, transport):
        self._transport = transport

    def topics(self) -> set[str]:
        return set(self._transport.topic_names(include_internal=True))

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        if not self._transport.has_topic(topic):
            return None
        return set(range(self._transport.partitions_for(topic, False)))

    available_partitions_for_topic = partitions_for_topic


class KafkaProducer:
    DEFAULT_CONFIG = DEFAULT_CONFIG

    def __init__(self, **configs: Any):
        self.config = merge_config(DEFAULT_CONFIG, configs, "KafkaProducer")
        self._acks = normalize_acks(self.config["acks"])
        codec = self.config["compression_type"]
        if codec not in CODECS:
            raise ValueError(f"Not supported codec: {codec!r}; use None, 'gzip', 'snappy', "
                             "'lz4' or 'zstd'")
        self._transport = transport_for(self.config["bootstrap_servers"])
        cluster = self._transport.cluster
        cluster.register_client(self)
        self._rng = random.Random(cluster.rng.random())
        self._sticky = StickyPartitioner(self._rng)
        custom = self.config["partitioner"]
        self._custom_partitioner = None if isinstance(custom, DefaultPartitioner) else custom
        self._open: dict[TopicPartition, _OpenBatch] = {}
        self._in_flight = 0
        self._unresolved = 0
        self._closed = False
        now = self._transport.now_ms
        self._sensors = {name: Sensor(now) for name in (
            "record-send", "record-error", "record-retry", "request-latency", "batch-size",
            "compression-rate", "records-per-request")}

    # --- send ----------------------------------------------------------------------------------
    def send(self, topic: str, value: Any = None, key: Any = None, headers=None,
             partition: int | None = None, timestamp_ms: int | None = None
             ) -> FutureRecordMetadata:
        """Queue one record; returns a future that resolves to its RecordMetadata."""
        if self._closed:
            raise IllegalStateError("KafkaProducer already closed: cannot send")
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")
        headers = self._check_headers(headers)
        key_bytes = self._serialize("key_serializer", topic, headers, key, "key")
        value_bytes = self._serialize("value_serializer", topic, headers, value, "value")
        transport = self._transport
        with transport.lock:
            partitions = transport.partitions_for(topic, self.config["allow_auto_create_topics"])
            partition = self._choose_partition(topic, partition, key, key_bytes, value,
                                               value_bytes, partitions)
            size = _record_size(0, 0, key_bytes, value_bytes, headers)
            if size + HEADER_SIZE > self.config["max_request_size"]:
                raise MessageSizeTooLargeError(
                    f"The message is {size + HEADER_SIZE} bytes when serialized which is larger "
                    f"than the maximum request size you have configured with the "
                    f"max_request_size configuration ({self.config['max_request_size']})")
            now = transport.now_ms()
            timestamp = now if timestamp_ms is None else int(timestamp_ms)
            future = FutureRecordMetadata(transport)
            self._append(TopicPartition(topic, partition), timestamp, key_bytes, value_bytes,
                         headers, size, future)
        return future

    def _serialize(self, which: str, topic: str, headers, data: Any, what: str
                   ) -> bytes | None:
        """Apply a serializer: a kafka-python ``Serializer`` object or a plain function.

        Differs from kafka-python on purpose: ``None`` (a tombstone value) is never passed to
        the serializer, so ``value=None`` stays null instead of becoming e.g. ``b"null"``."""
        serializer = self.config[which]
        if serializer is not None and data is not None:
            data = (serializer.serialize(topic, headers, data) if isinstance(serializer, Serializer)
                    else serializer(data))
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"The record {what} must be bytes after serialization, got "
                f"{type(data).__name__}: pass {which}=... (e.g. lambda v: json.dumps(v)."
                f"encode('utf-8')) or send bytes")
        return bytes(data) if data is not None else None

    @staticmethod
    def _check_headers(headers) -> list[tuple[str, bytes]]:
        headers = list(headers or [])
        for item in headers:
            if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                    or not (item[1] is None or isinstance(item[1], bytes))):
                raise TypeError(f"headers must be a list of (str, bytes) tuples, got {item!r}")
        return headers

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
                                          _MetadataView(self._transport))
            else:  # kafka-python 2's callable(key_bytes, all_partitions, available)
                chosen = custom(key_bytes, all_partitions, all_partitions)
            if chosen not in all_partitions:
                raise ValueError(f"The partitioner chose partition {chosen!r} for topic "
                                 f"'{topic}', which has partitions 0..{partitions - 1}")
            return chosen
        if key_bytes is None:
            return self._sticky.partition(topic, partitions)
        return partition_for_key(key_bytes, partitions)

    # --- the accumulator -----------------------------------------------------------------------
    def _append(self, tp: TopicPartition, timestamp: int, key, value, headers, size: int,
                future: FutureRecordMetadata) -> None:
        batch = self._open.get(tp)
        if batch is not None and batch.size + size > self.config["batch_size"]:
            self._send_batch(batch)
            batch = None
        if batch is None:
            batch = self._open[tp] = _OpenBatch(tp, self._transport.now_ms())
            self._transport.call_later(self.config["linger_ms"],
                                       lambda b=batch: self._on_linger_expired(b))
        batch.records.append(Record(len(batch.records), timestamp, key, value, headers))
        batch.futures.append((future, -1 if key is None else len(key),
                              -1 if value is None else len(value), serialized_header_size(headers)))
        batch.size += size
        self._unresolved += 1

    def _on_linger_expired(self, batch: _OpenBatch) -> None:
        if self._open.get(batch.tp) is batch:
            self._send_batch(batch)

    def _send_batch(self, batch: _OpenBatch) -> None:
        del self._open[batch.tp]
        topic, partition = batch.tp
        # (the topic may have been deleted meanwhile: the broker then answers the batch with
        # UnknownTopicOrPartitionError; nothing here may raise into the scheduler)
        if self._custom_partitioner is None and self._transport.has_topic(topic):
            self._sticky.on_batch_sent(topic, partition, self._transport.partitions_for(
                topic, False))
        self._transmit(batch)

    def _transmit(self, batch: _OpenBatch) -> None:
        record_batch = RecordBatch(batch.records,
                                   compression_type=self.config["compression_type"])
        batch.attempts += 1
        batch.sent_ms = self._transport.now_ms()
        self._in_flight += 1
        self._sensors["batch-size"].record(record_batch.size_in_bytes)
        self._sensors["records-per-request"].record(len(batch.records))
        if record_batch.codec:
            uncompressed = sum(_record_size(r.offset_delta, 0, r.key, r.value, r.headers)
                               for r in batch.records) + HEADER_SIZE
            self._sensors["compression-rate"].record(record_batch.size_in_bytes / uncompressed)
        self._transport.produce(batch.tp.topic, batch.tp.partition, record_batch, self._acks,
                                self.config["request_timeout_ms"],
                                lambda result: self._on_response(batch, result))
        if self._acks == 0:
            self._on_response(batch, ProduceResult())

    def _on_response(self, batch: _OpenBatch, result: ProduceResult) -> None:
        self._in_flight -= 1
        now = self._transport.now_ms()
        self._sensors["request-latency"].record(now - batch.sent_ms)
        error = result.error
        if error is not None:
            if self._should_retry(batch, error, now):
                self._sensors["record-retry"].record(len(batch.records))
                self._transport.call_later(self.config["retry_backoff_ms"],
                                           lambda: self._transmit(batch))
                return
            self._sensors["record-error"].record(len(batch.records))
            for future, *_ in batch.futures:
                future.failure(error)
        else:
            self._sensors["record-send"].record(len(batch.records))
            self._complete(batch, result)
        self._unresolved -= len(batch.futures)

    def _should_retry(self, batch: _OpenBatch, error: Exception, now: int) -> bool:
        return (getattr(error, "retriable", False)
                and batch.attempts <= self.config["retries"]
                and now - batch.first_ms < self.config["delivery_timeout_ms"])

    def _complete(self, batch: _OpenBatch, result: ProduceResult) -> None:
        topic, partition = tp = batch.tp
        base = result.base_offset
        append_time = result.log_append_time
        for record, (future, key_size, value_size, header_size) in zip(batch.records,
                                                                       batch.futures):
            offset = -1 if base == -1 else base + record.offset_delta
            timestamp = append_time if append_time != -1 else record.timestamp
            future.success(RecordMetadata(topic, partition, tp, offset, timestamp, None,
                                          key_size, value_size, header_size))

    # --- waiting and closing -------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Send every open batch now and wait until every sent record is resolved."""
        transport = self._transport
        with transport.lock:
            for batch in list(self._open.values()):
                self._send_batch(batch)
        timeout_ms = float("inf") if timeout is None else timeout * 1000
        if not transport.wait_for(lambda: self._unresolved == 0, timeout_ms):
            raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")

    def close(self, timeout: float | None = None) -> None:
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True

    def partitions_for(self, topic: str) -> set[int]:
        return set(range(self._transport.partitions_for(
            topic, self.config["allow_auto_create_topics"])))

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
                f"{self.config['linger_ms']}, open_batches={len(self._open)}, "
                f"in_flight={self._in_flight})")
