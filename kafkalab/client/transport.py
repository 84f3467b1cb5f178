"""The transport seam between clients and the engine (DESIGN §2.9, httpx style).

Clients never touch brokers or logs directly: they call these few request primitives with plain
values and get plain values (or Kafka errors) back. Produce is asynchronous and pays a network
round trip in simulated time; metadata, fetch and list-offsets answer at once (the consumer's
waiting is modelled by its poll loop). A fault-injecting wrapper and the wire client plug in
here later.

Invariant: every call runs under the cluster's lock.
"""
from __future__ import annotations

from typing import Callable

from ..cluster.broker import FetchResult, ProduceResult
from ..cluster.cluster import Cluster
from ..errors import KafkaConnectionError
from ..record import RecordBatch


class InProcessTransport:
    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.lock = cluster.lock

    # --- time ----------------------------------------------------------------------------------
    @property
    def simulated(self) -> bool:
        return self.cluster.clock.simulated

    def now_ms(self) -> int:
        return self.cluster.clock.now_ms()

    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False) -> bool:
        return self.cluster.driver.wait_for(predicate, timeout_ms, stop_when_idle)

    def call_later(self, delay_ms: float, callback: Callable[[], None]):
        with self.lock:
            return self.cluster.scheduler.call_later(delay_ms, callback)

    # --- metadata ------------------------------------------------------------------------------
    def partitions_for(self, topic: str, allow_auto_create: bool) -> int:
        """Partition count of ``topic`` (auto-creating it if the broker allows)."""
        with self.lock:
            return len(self.cluster.topic_for_client(topic, allow_auto_create).partitions)

    def topic_names(self, include_internal: bool = False) -> list[str]:
        with self.lock:
            return sorted(name for name, t in self.cluster.topics.items()
                          if include_internal or not t.internal)

    def has_topic(self, topic: str) -> bool:
        with self.lock:
            return topic in self.cluster.topics

    # --- data ----------------------------------------------------------------------------------
    def leader_for(self, topic: str, partition: int) -> int | None:
        """The broker a request for this partition goes to (None while it has no leader)."""
        with self.lock:
            return self.cluster.partition(topic, partition).leader

    def produce(self, node_id: int, batches: list[tuple[str, int, RecordBatch]], acks: int,
                timeout_ms: int,
                on_response: Callable[[dict[tuple[str, int], ProduceResult]], None]) -> None:
        """Send one produce request (batches of several partitions) to broker ``node_id``.

        ``on_response({(topic, partition): ProduceResult})`` runs one round trip after the last
        partition is answered — never for acks=0, nor when a fault drops the response.
        """
        cluster = self.cluster
        faults = cluster.faults
        topic = batches[0][0]
        latency = cluster.network_latency_ms + faults.extra_delay_ms(topic)
        results: dict[tuple[str, int], ProduceResult] = {}

        def arrive() -> None:
            dropped = any(faults.should_drop_response(t, p) for t, p, _ in batches)

            def answered(key: tuple[str, int], result: ProduceResult) -> None:
                results[key] = result
                if len(results) == len(batches) and acks != 0 and not dropped:
                    cluster.scheduler.call_later(latency, lambda: on_response(results))

            broker = cluster.brokers.get(node_id)
            for t, p, batch in batches:
                error = faults.request_error(t, p)
                if error is None and (broker is None or not broker.alive):
                    error = KafkaConnectionError(f"connection to broker {node_id} failed: it is down")
                if error is not None:
                    answered((t, p), ProduceResult(error=error))
                    continue
                broker.handle_produce(t, p, batch, acks, timeout_ms,
                                      lambda result, key=(t, p): answered(key, result))

        with self.lock:
            cluster.scheduler.call_later(latency, arrive)

    def fetch(self, topic: str, partition: int, offset: int, max_bytes: int) -> FetchResult:
        with self.lock:
            leader = self.cluster.partition(topic, partition).leader
            return self.cluster.brokers[leader].handle_fetch(topic, partition, offset, max_bytes)

    def high_watermark(self, topic: str, partition: int) -> int:
        with self.lock:
            return self.cluster.partition(topic, partition).high_watermark

    def list_offsets(self, topic: str, partition: int, timestamp_ms: int) -> tuple[int, int]:
        with self.lock:
            leader = self.cluster.partition(topic, partition).leader
            return self.cluster.brokers[leader].handle_list_offsets(topic, partition,
                                                                     timestamp_ms)


def transport_for(bootstrap_servers) -> InProcessTransport:
    from ..cluster import registry

    return InProcessTransport(registry.resolve(bootstrap_servers))
