"""The transport seam between clients and the engine (DESIGN §2.9, httpx style).

Clients never touch brokers or logs directly: they call these few request primitives with plain
values and get plain values (or Kafka errors) back. Produce is asynchronous and pays a network
round trip in simulated time; metadata, fetch and list-offsets answer at once (the consumer's
waiting is modelled by its poll loop). Every client gets this transport wrapped in the fault lab's
:class:`~.fault_transport.FaultInjectingTransport` (:func:`transport_for`); the wire client plugs
in here later.

A client holds its transport, never the Cluster: besides requests, the transport gives it the
few services of the lab a client legitimately needs — time (``now_ms``, ``wait_for``,
``call_later``), the network's ``round_trip_ms``, ``warn_once`` for configs not acted on yet,
``register_client`` (for views and the fault lab), ``emit`` for the events that explain what a
client did, and a ``seeded_rng`` of its own.

On a wall-clock cluster, work a transport schedules for its client is *owned* by it: if that
work fails, the driver reports it (an event) and hands the error here, and the client's next
wait (``future.get``, ``flush``, ``poll``) raises it — instead of the driver dying and every
wait timing out.

Invariant: every call runs under the cluster's lock.
"""
from __future__ import annotations

import random
from typing import Callable

from ..cluster.cluster import Cluster
from ..errors import KafkaConnectionError
from .fault_transport import FaultInjectingTransport


class InProcessTransport:
    """A client's connection to an in-process cluster: requests carried to a broker's
    :class:`~kafkalab.api.kafka_apis.KafkaApis` and answers back, one network latency each way;
    it decides nothing about a request (invariants: see the module)."""

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

    def call_later(self, delay_ms: float, callback: Callable[[], None],
                   background: bool = False):
        """Run ``callback`` on the scheduler ``delay_ms`` from now, as this client's work;
        ``background`` work (heartbeats, a request's timeout) does not keep the simulated
        world busy."""
        with self.lock:
            return self.cluster.scheduler.call_later(delay_ms, callback, background=background,
                                                     owner=self)

    # --- the lab's services to a client --------------------------------------------------------
    def warn_once(self, key: str, message: str) -> None:
        """Warn once per cluster (per ``key``) about a config kafkalab accepts but does not act
        on yet."""
        with self.lock:
            self.cluster.warn_once(key, message)

    def register_client(self, client: object, on_crash=None) -> None:
        """Make ``client`` known to the lab (``cluster.clients``; ``on_crash`` is how
        ``faults.crash_consumer`` kills it)."""
        with self.lock:
            self.cluster.register_client(client, on_crash)

    def emit(self, kind: str, text: str, **data) -> None:
        """Explain what the client did into the lab's event log (a consumer's offset reset,
        a member's rejoin ...), as the engine explains what it does."""
        with self.lock:
            self.cluster.events.emit(kind, text, **data)

    def seeded_rng(self) -> random.Random:
        """A random generator of the client's own, seeded from the cluster's one RNG: the
        client's random choices (the sticky partitioner's) repeat with the cluster's seed."""
        with self.lock:
            return random.Random(self.cluster.rng.random())

    @property
    def round_trip_ms(self) -> int:
        """The time a request and its answer spend on the network. A client's request timer
        allows it on top of ``request_timeout_ms``, so that a broker's own timeout answer (which
        says why) arrives first."""
        return 2 * self.cluster.network_latency_ms

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


#: wrappers every new client's transport goes through, outermost last (e.g. the recording
#: transport of :func:`~.recording.record_requests`)
wrappers: list[Callable] = []


def transport_for(bootstrap_servers):
    """The transport of a client of the cluster ``bootstrap_servers`` names: in-process, through
    the cluster's fault lab, then through any :data:`wrappers`."""
    from ..cluster import registry

    cluster = registry.resolve(bootstrap_servers)
    transport = FaultInjectingTransport(InProcessTransport(cluster), cluster.faults)
    for wrap in wrappers:
        transport = wrap(transport)
    return transport
