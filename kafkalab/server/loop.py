"""The wire server's socket loop: one thread moving frames between sockets and brokers.

Each broker of a wall-clock cluster listens on its own port (``broker.port``: 9092, 9093 ...)
on 127.0.0.1 (and ::1 when the cluster advertises ``localhost``), so clients find leaders by
the Metadata answer and follow them when the lab kills a broker — its listener closes, its
connections drop, and it listens again when it restarts. The loop decides nothing about a
request: :class:`~.connection.Connection` says what a frame is, the broker's request layer
answers it (under the cluster's lock; answers that wait — acks=all, a long-poll fetch, a join
round — come back later from the cluster's driver thread through a queue and a wake-up socket).

Bounds, as Kafka's ``SocketServer``: ``max.connections`` per listener (more are closed at
once), ``queued.max.requests`` read but unanswered over all connections (past it no new frame
is taken), one request per connection at a time, and no reading beyond 64 KiB of read-ahead
from a connection unless its next frame is incomplete and may be taken now — a slow or hostile
client stalls only itself.
A request whose broker is cut off from clients gets no answer (the client times out), as on a
real network.

Invariants: the loop thread alone touches sockets and connections; an engine answer for a
connection that closed meanwhile is dropped; an exception in one connection's handling closes
that connection and never the loop.
"""
from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from typing import Any

from .connection import Close, Connection, Dispatch, Reply

log = logging.getLogger("kafkalab.server")

READ_AHEAD = 64 * 1024
_RECV = 256 * 1024
_TICK_S = 0.25  # how often listeners are matched to broker liveness without a broker event


class _Client:
    """One accepted socket: its protocol state, unsent bytes and the request in progress."""

    def __init__(self, sock: socket.socket, broker_id: int, connection: Connection):
        self.sock = sock
        self.broker_id = broker_id
        self.connection = connection
        self.outbox = bytearray()
        self.close_after_send = False
        self.closed = False
        self.dispatch: Dispatch | None = None
        self.answers: list = []
        self.waiting = 0  # engine answers still due for ``dispatch``
        self.events = 0  # the selector events registered


class _Listener:
    """The listening sockets of one broker (one per loopback address)."""

    def __init__(self, broker_id: int, port: int, hosts: tuple[str, ...]):
        self.broker_id = broker_id
        self.port = port
        self.hosts = hosts
        self.socks: list[socket.socket] = []
        self.clients: set[_Client] = set()

    def open(self) -> list[socket.socket]:
        for host in self.hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, self.port))
            except OSError as error:
                sock.close()
                if family == socket.AF_INET6:
                    continue  # no IPv6 loopback here: 127.0.0.1 is enough
                self.close()
                raise OSError(error.errno, f"cannot listen on {host}:{self.port} for broker "
                              f"{self.broker_id}: {error.strerror} (is another Kafka or "
                              "kafkalab serve running? choose another port)") from None
            sock.listen(128)
            sock.setblocking(False)
            self.socks.append(sock)
        return self.socks

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks = []


class WireLoop:
    """The socket loop of one served cluster (see the module for the bounds and invariants)."""

    def __init__(self, cluster: Any, sasl_users: dict[str, str] | None = None):
        self.cluster = cluster
        self.sasl_users = sasl_users
        config = cluster.config
        self.max_request_bytes = config["socket.request.max.bytes"]
        self.max_connections = config["max.connections"]
        self.max_queued = config["queued.max.requests"]
        self.selector = selectors.DefaultSelector()
        self.listeners = {
            broker.id: _Listener(broker.id, broker.port, ("127.0.0.1", "::1")
                                 if broker.host == "localhost" else ("127.0.0.1",))
            for broker in cluster.brokers.values()}
        self._answers: queue.SimpleQueue = queue.SimpleQueue()
        self._waker, self._wake_socket = socket.socketpair()
        self._waker.setblocking(False)
        self._wake_socket.setblocking(False)
        self._queued = 0  # dispatched requests not answered yet, over all clients
        #: clients that may take their next frame (their answer went out)
        self._to_serve: set[_Client] = set()
        self._stalled: set[_Client] = set()  # clients with a frame waiting for queue room
        self._stopping = threading.Event()
        self._brokers_changed = True  # a broker event came: match listeners to liveness
        self._thread: threading.Thread | None = None
        self._unsubscribe = None

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        with self.cluster.lock:
            for listener in self.listeners.values():
                if self.cluster.brokers[listener.broker_id].alive:
                    self._open(listener)
        self.selector.register(self._wake_socket, selectors.EVENT_READ, None)
        self._unsubscribe = self.cluster.events.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._run, name="kafkalab-wire-server",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every listener and connection and end the thread (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        try:
            self._waker.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending, or the loop is gone

    def _on_event(self, event: Any) -> None:
        if event.kind.startswith("broker."):
            self._brokers_changed = True
            self.wake()

    def _open(self, listener: _Listener) -> None:
        for sock in listener.open():
            self.selector.register(sock, selectors.EVENT_READ, listener)

    def _close_listener(self, listener: _Listener, why: str) -> None:
        for sock in listener.socks:
            self.selector.unregister(sock)
        listener.close()
        for client in list(listener.clients):
            self._close(client, why)

    # --- the loop -------------------------------------------------------------------------------
    def _run(self) -> None:
        next_check = 0.0
        try:
            while not self._stopping.is_set():
                for key, events in self.selector.select(_TICK_S):
                    self._guarded(key.data, self._on_ready, key, events)
                self._drain_answers()
                if self._brokers_changed or time.monotonic() >= next_check:
                    self._brokers_changed = False
                    next_check = time.monotonic() + _TICK_S
                    self._follow_brokers()
                self._serve_ready()
        finally:
            for listener in self.listeners.values():
                self._close_listener(listener, "server stopped")
            self.selector.close()
            self._waker.close()
            self._wake_socket.close()

    def _guarded(self, client: Any, work, *args) -> None:
        """Run ``work``; if it raises, close ``client`` (when it is one), never the loop."""
        try:
            work(*args)
        except Exception:  # noqa: BLE001 — one client's failure closes it only
            log.exception("wire server: closing a connection after an error")
            if isinstance(client, _Client):
                self._close(client, "internal error")

    def _serve_ready(self) -> None:
        """Let every client that may take its next frame take it (stalled ones while the
        queue has room)."""
        while self._to_serve or (self._stalled and self._queued < self.max_queued):
            if not self._to_serve:
                self._to_serve, self._stalled = self._stalled, set()
            client = self._to_serve.pop()
            self._guarded(client, self._serve_next, client)

    def _on_ready(self, key: selectors.SelectorKey, events: int) -> None:
        data = key.data
        if data is None:
            try:
                while self._wake_socket.recv(4096):
                    pass
            except BlockingIOError:
                pass
        elif isinstance(data, _Listener):
            self._accept(key.fileobj, data)
        else:
            if events & selectors.EVENT_WRITE:
                self._send(data)
            if events & selectors.EVENT_READ and not data.closed:
                self._read(data)

    def _follow_brokers(self) -> None:
        with self.cluster.lock:
            alive = {b: broker.alive for b, broker in self.cluster.brokers.items()}
        for broker_id, listener in self.listeners.items():
            if alive[broker_id] and not listener.socks:
                try:
                    self._open(listener)
                except OSError as error:
                    log.warning("wire server: broker %s cannot listen again: %s", broker_id,
                                error)
            elif not alive[broker_id] and listener.socks:
                self._close_listener(listener, f"broker {broker_id} is down")

    # --- connections ----------------------------------------------------------------------------
    def _accept(self, sock: socket.socket, listener: _Listener) -> None:
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, OSError):
            return
        if len(listener.clients) >= self.max_connections:
            log.info("wire server: broker %s refuses a connection: max.connections = %s "
                     "reached", listener.broker_id, self.max_connections)
            conn.close()
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(conn, listener.broker_id,
                         Connection(self.max_request_bytes, self.sasl_users))
        listener.clients.add(client)
        client.events = selectors.EVENT_READ
        self.selector.register(conn, client.events, client)

    def _close(self, client: _Client, why: str) -> None:
        if client.closed:
            return
        client.closed = True
        log.debug("wire server: closing a connection to broker %s: %s", client.broker_id, why)
        if client.waiting:
            self._queued -= 1
        self._to_serve.discard(client)
        self._stalled.discard(client)
        self.listeners[client.broker_id].clients.discard(client)
        if client.events:
            self.selector.unregister(client.sock)
        client.sock.close()

    def _want(self, client: _Client) -> None:
        """Register the events ``client`` needs now: read while it may take more input,
        write while it has bytes to send."""
        if client.closed:
            return
        events = 0
        connection = client.connection
        if not client.close_after_send and (
                len(connection.inbox) < READ_AHEAD
                or not connection.busy and not connection.has_frame()):
            events |= selectors.EVENT_READ
        if client.outbox:
            events |= selectors.EVENT_WRITE
        if events == client.events:
            return
        if not client.events:
            self.selector.register(client.sock, events, client)
        elif events:
            self.selector.modify(client.sock, events, client)
        else:  # nothing to do until the engine answers
            self.selector.unregister(client.sock)
        client.events = events

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError as error:
            self._close(client, str(error))
            return
        if not data:
            self._close(client, "the client closed the connection")
            return
        client.connection.receive(data)
        self._serve_next(client)

    def _send(self, client: _Client) -> None:
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            return
        except OSError as error:
            self._close(client, str(error))
            return
        del client.outbox[:sent]
        if client.outbox:
            return
        if client.close_after_send:
            self._close(client, "closed after its answer")
            return
        client.connection.answered()
        self._to_serve.add(client)  # taken by the loop, not here: no recursion per request

    def _reply(self, client: _Client, frame: bytes, close: bool = False) -> None:
        client.outbox += frame
        client.close_after_send = close
        self._send(client)
        self._want(client)

    # --- requests -------------------------------------------------------------------------------
    def _serve_next(self, client: _Client) -> None:
        """Take the client's next frame, if it may have one now, and act on it."""
        while not client.closed and not client.connection.busy:
            if self._queued >= self.max_queued:
                self._stalled.add(client)  # again once an answer makes room
                break
            frame = client.connection.next_frame()
            if frame is None:
                break
            if isinstance(frame, Close):
                self._close(client, frame.reason)
                return
            decision = client.connection.handle(frame)
            if decision is None:  # acks=0 with nothing to append: no answer is due
                client.connection.answered()
            elif isinstance(decision, Close):
                self._close(client, decision.reason)
                return
            elif isinstance(decision, Reply):
                self._reply(client, decision.frame, decision.close)
            else:
                self._dispatch(client, decision)
        self._want(client)

    def _dispatch(self, client: _Client, dispatch: Dispatch) -> None:
        cluster = self.cluster
        requests = dispatch.exchange.requests
        log.debug("wire server: broker %s takes API %s v%s (correlation id %s)",
                  client.broker_id, dispatch.api_key, dispatch.api_version,
                  dispatch.correlation_id)
        client.dispatch, client.answers = dispatch, [None] * len(requests)
        client.waiting = len(requests)
        if requests:
            self._queued += 1
        with cluster.lock:
            broker = cluster.brokers[client.broker_id]
            if not broker.alive:
                self._close(client, f"broker {broker.id} is down")
                return
            if not cluster.network.client_reaches(broker.id):
                cluster.events.emit(
                    "request.lost", f"a {requests[0].API_NAME if requests else 'Produce'} "
                    f"request never reached broker {broker.id}: it is cut off from clients, so "
                    "nothing is done and no answer comes back (the client times out)",
                    broker=broker.id)
                return
            for index, request in enumerate(requests):
                broker.handle(request, self._answer_to(client, dispatch, index, broker))
        if dispatch.exchange.respond is None:  # acks=0: the client expects nothing
            client.dispatch = None
            if client.waiting:
                client.waiting = 0
                self._queued -= 1
            client.connection.answered()
        elif not requests:
            self._complete(client)
        self._drain_answers()

    def _answer_to(self, client: _Client, dispatch: Dispatch, index: int, broker: Any):
        cluster = self.cluster

        def answer(response: Any) -> None:
            if broker.alive and cluster.network.client_reaches(broker.id):
                self._answers.put((client, dispatch, index, response))
                if threading.current_thread() is not self._thread:
                    self.wake()

        return answer

    def _drain_answers(self) -> None:
        while True:
            try:
                client, dispatch, index, response = self._answers.get_nowait()
            except queue.Empty:
                return
            if client.closed or client.dispatch is not dispatch:
                continue
            client.answers[index] = response
            client.waiting -= 1
            if client.waiting == 0:
                self._queued -= 1
                self._guarded(client, self._complete, client)

    def _complete(self, client: _Client) -> None:
        dispatch, answers = client.dispatch, client.answers
        client.dispatch, client.answers = None, []
        log.debug("wire server: broker %s answers API %s v%s (correlation id %s)",
                  client.broker_id, dispatch.api_key, dispatch.api_version,
                  dispatch.correlation_id)
        try:
            frame = client.connection.encode(dispatch, answers)
        except Exception:  # noqa: BLE001 — an answer that cannot be encoded closes the client
            log.exception("wire server: cannot encode the answer to API %s v%s",
                          dispatch.api_key, dispatch.api_version)
            self._close(client, "internal error")
            return
        self._reply(client, frame)
