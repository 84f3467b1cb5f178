"""A raw Kafka protocol client for the wire server's tests: frames in, frames out, no retries.

``RawClient(port)`` connects; ``request(message, version)`` sends one kafka-python request and
returns the decoded response; ``send(raw)`` writes any bytes; ``closed_by_server()`` says
whether the server closed the connection (EOF within a short wait).
"""
from __future__ import annotations

import socket
import struct


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.correlation_id = 0

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def frame(self, message, version: int, correlation_id: int | None = None) -> bytes:
        message.API_VERSION = version
        self.correlation_id += 1
        message.with_header(correlation_id=correlation_id or self.correlation_id,
                            client_id="raw-test")
        return message.encode(header=True, framed=True)

    def read_frame(self) -> bytes:
        size = struct.unpack(">i", self._read(4))[0]
        return self._read(size)

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def request(self, message, version: int):
        """Send ``message`` at ``version`` and decode the answer (with its header)."""
        self.send(self.frame(message, version))
        response_cls = type(message).__name__.replace("Request", "Response")
        module = __import__(type(message).__module__, fromlist=[response_cls])
        return getattr(module, response_cls).decode(self.read_frame(), version=version,
                                                    header=True)

    def closed_by_server(self, wait_s: float = 2.0) -> bool:
        self.sock.settimeout(wait_s)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def first_port(served) -> int:
    return next(iter(served.cluster.brokers.values())).port
