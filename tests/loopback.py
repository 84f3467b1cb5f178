"""Free loopback ports for tests that start servers (``kafkalab serve``) on real sockets."""
from __future__ import annotations

import random
import socket


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 (and ::1, where it exists),
    from a random start, so a server a test starts never meets a client an earlier test left."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                    try:
                        sock = socket.socket(family, socket.SOCK_STREAM)
                    except OSError:
                        continue
                    socks.append(sock)
                    try:
                        sock.bind((host, port))
                    except OSError as error:
                        if family == socket.AF_INET6 and error.errno != 98:
                            continue  # no IPv6 loopback here
                        raise
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free run of loopback ports found")
