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
    def produce(self, topic: str, partition: int, batch: RecordBatch, acks: int,
                timeout_ms: int, on_response: Callable[[ProduceResult], None]) -> None:
        """Send a batch to the partition leader; ``on_response`` runs one round trip later
        (never, for acks=0)."""
        cluster = self.cluster
        latency = cluster.network_latency_ms

        def respond(result: ProduceResult) -> None:
            if acks != 0:
                cluster.scheduler.call_later(latency, lambda: on_response(result))

        def arrive() -> None:
            try:
                leader = cluster.partition(topic, partition).leader
                broker = cluster.brokers[leader]
            except Exception as error:
                respond(ProduceResult(error=error))
                return
            broker.handle_produce(topic, partition, batch, acks, timeout_ms, respond)

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
