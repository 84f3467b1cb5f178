"""The transport seam between clients and the engine (DESIGN §2.9, httpx style).

Clients never touch brokers or logs directly: they call these few request primitives with plain
values and get plain values (or Kafka errors) back. Produce is asynchronous and pays a network
round trip in simulated time; metadata, fetch and list-offsets answer at once (the consumer's
waiting is modelled by its poll loop). A fault-injecting wrapper and the wire client plug in
here later.

On a wall-clock cluster, work a transport schedules for its client is *owned* by it: if that
work fails, the driver reports it (an event) and hands the error here, and the client's next
wait (``future.get``, ``flush``, ``poll``) raises it — instead of the driver dying and every
wait timing out.

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
        #: ``now_ms()``: the cluster clock's own method (a producer reads it once per record)
        self.now_ms = cluster.clock.now_ms
        #: errors of this client's scheduled work, for its next wait to raise (wall clock)
        self._failures: list[Exception] = []

    # --- time ----------------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], bool], timeout_ms: float,
                 stop_when_idle: bool = False, callbacks: bool = False) -> bool:
        """Until ``predicate()`` or the timeout (see the drivers; ``callbacks``: and the
        callbacks queued by then have run). Raises the error of this client's failed
        scheduled work, if any (wall clock), and ``KafkaConnectionError`` once the cluster is
        closed."""
        driver = self.cluster.driver
        if driver.simulated:  # failing work raises out of the wait that runs it
            return driver.wait_for(predicate, timeout_ms, stop_when_idle)
        failures = self._failures
        self._raise_failure()
        done = driver.wait_for(lambda: bool(failures) or predicate(), timeout_ms,
                               stop_when_idle, callbacks)
        self._raise_failure()
        return done

    def _raise_failure(self) -> None:
        with self.lock:
            error = self._failures.pop(0) if self._failures else None
        if error is not None:
            raise error

    def engine_failed(self, error: Exception) -> None:
        """The wall-clock driver: scheduled work of this client raised ``error``."""
        with self.lock:
            self._failures.append(error)

    def wake(self) -> None:
        """Make every waiter look at its condition again (e.g. its consumer was closed)."""
        self.cluster.driver.wake()

    def deferring_callbacks(self):
        """A context in which futures resolved by this thread run their callbacks outside the
        lock (wall clock: on the driver's callback thread; simulated time: at once)."""
        return self.cluster.driver.deferring()

    def call_later(self, delay_ms: float, callback: Callable[[], None]):
        with self.lock:
            return self.cluster.scheduler.call_later(delay_ms, callback, owner=self)

    # --- requests ------------------------------------------------------------------------------
    def _reachable(self, node_id: int | None) -> tuple[int | None, Exception | None, bool]:
        """(the broker a request goes to, the connection error if it is down, whether the
        request is lost on the way). ``None`` means any broker: a client tries the brokers it
        knows until one connects, as kafka-python's least loaded node."""
        cluster = self.cluster
        if node_id is None:
            node_id = next((b for b, broker in cluster.brokers.items() if broker.alive
                            and cluster.network.client_reaches(b)), None)
            if node_id is None:
                return None, KafkaConnectionError("no broker can be reached"), False
        broker = cluster.brokers.get(node_id)
        if broker is None or not broker.alive:
            return node_id, KafkaConnectionError(
                f"connection to broker {node_id} failed: it is down"), False
        return node_id, None, not cluster.network.client_reaches(node_id)

    def send(self, node_id: int | None, request, on_response: Callable[[object], None],
             extra_delay_ms: int = 0) -> None:
        """One request to broker ``node_id`` (None: any broker that answers), a network round
        trip in the cluster's time. ``on_response(response)`` runs when the answer is back;
        ``on_response(KafkaConnectionError)`` when the broker is down; never when the broker is
        cut off from clients or stops before answering (the client's request timeout decides),
        nor for a produce request with acks=0."""
        cluster = self.cluster
        latency = cluster.network_latency_ms + extra_delay_ms

        def back(response) -> None:
            cluster.scheduler.call_later(latency, lambda: on_response(response), owner=self)

        def arrive() -> None:
            node, error, lost = self._reachable(node_id)
            if error is not None:
                back(error)
                return
            if lost:
                cluster.events.emit(
                    "request.lost", f"a {request.API_NAME} request never reached broker {node}: "
                    "it is cut off from clients, so nothing is done and no answer comes back "
                    "(the client times out after request_timeout_ms)", broker=node,
                    api=request.API_NAME)
                return
            broker = cluster.brokers[node]

            def answer(response) -> None:
                if broker.alive and cluster.network.client_reaches(node):
                    back(response)

            broker.handle(request, answer)

        with self.lock:
            cluster.scheduler.call_later(latency, arrive, owner=self)

    def call(self, node_id: int | None, request):
        """A request answered at once (reads and admin requests, whose waiting the client
        models itself): the response. Raises ``KafkaConnectionError`` when the broker is down or
        cut off from clients."""
        with self.lock:
            node, error, lost = self._reachable(node_id)
            if lost:
                error = KafkaConnectionError(f"broker {node} cannot be reached: it is cut off "
                                             "from clients")
            if error is not None:
                raise error
            answer: list = []
            self.cluster.brokers[node].handle(request, answer.append)
            if not answer:
                raise RuntimeError(f"{request.API_NAME} is not answered at once; send() it")
            return answer[0]

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

    def init_producer_id(self, producer_id: int = -1, producer_epoch: int = -1,
                         reason: str = "") -> tuple[int, int]:
        """A new idempotent producer id, or (KIP-360) the next epoch of an existing one."""
        with self.lock:
            return self.cluster.init_producer_id(producer_id, producer_epoch, reason)

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
            def answered(key: tuple[str, int], result: ProduceResult) -> None:
                results[key] = result
                # acks=0 has no answer to lose: it does not use up a drop rule
                if len(results) < len(batches) or acks == 0 or any(
                        faults.should_drop_response(t, p, results[(t, p)].error)
                        for t, p, _ in batches):
                    return
                cluster.scheduler.call_later(latency, lambda: on_response(results),
                                             owner=self)

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
            cluster.scheduler.call_later(latency, arrive, owner=self)

    def fetch(self, topic: str, partition: int, offset: int, max_bytes: int) -> FetchResult:
        """Batches from the partition's leader; none while no leader can be reached (offline,
        crashed or cut off from clients), with the positions last known."""
        with self.lock:
            broker = self.cluster.client_leader(topic, partition)
            if broker is None:
                log = self.cluster.partition(topic, partition).view_log
                return FetchResult([], log.high_watermark, log.log_start_offset,
                                   log.log_end_offset)
            return broker.handle_fetch(topic, partition, offset, max_bytes)

    def high_watermark(self, topic: str, partition: int) -> int:
        """The leader's high watermark; -1 (unknown) while no leader can be reached."""
        with self.lock:
            if self.cluster.client_leader(topic, partition) is None:
                return -1
            return self.cluster.partition(topic, partition).high_watermark

    def list_offsets(self, topic: str, partition: int, timestamp_ms: int) -> tuple[int, int]:
        """Kafka's ListOffsets, answered by the leader. While no leader can be reached the
        earliest/latest offsets last known are given (kafka-python would retry until a
        leader is back; the consumer here does not retry, so it must not fail)."""
        with self.lock:
            broker = self.cluster.client_leader(topic, partition)
            if broker is None:
                log = self.cluster.partition(topic, partition).view_log
                if timestamp_ms == -2:
                    return log.log_start_offset, -1
                if timestamp_ms == -1:
                    return log.high_watermark, -1
                return -1, -1
            return broker.handle_list_offsets(topic, partition, timestamp_ms)

    # --- consumer groups -----------------------------------------------------------------------
    @property
    def groups(self):
        return self.cluster.group_coordinator

    def leave_group(self, group_id: str, member_id: str, reason: str) -> None:
        with self.lock:
            self.groups.leave_group(group_id, member_id, reason)

    def partitions_of(self, topic: str) -> set[int] | None:
        """kafka-python's ``ClusterMetadata.partitions_for_topic`` for assignors."""
        with self.lock:
            topic_obj = self.cluster.topics.get(topic)
            return None if topic_obj is None else set(range(len(topic_obj.partitions)))


def transport_for(bootstrap_servers) -> InProcessTransport:
    from ..cluster import registry

    return InProcessTransport(registry.resolve(bootstrap_servers))
