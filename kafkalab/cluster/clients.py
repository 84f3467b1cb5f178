"""The clients a cluster knows: every producer and consumer registers itself with its cluster.

The lab's faults act on a client through this registry, never through the client's private
methods: a client that can crash registers a crash hook (what dying on the spot means for it:
a consumer stops heartbeating, commits nothing and sends no LeaveGroup), and
``cluster.faults.crash_consumer(consumer)`` calls that hook.

Invariant: the registry never keeps a client alive (weak references only, hooks included).
"""
from __future__ import annotations

import inspect
import weakref
from typing import Callable, Iterator


class ClientRegistry:
    def __init__(self):
        self._clients: weakref.WeakSet = weakref.WeakSet()
        # client -> its crash hook, held weakly (a bound method of the client)
        self._crash_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def register(self, client: object, on_crash: Callable[[], None] | None = None) -> None:
        """Know ``client``; ``on_crash`` (a bound method of it) makes it crash on the spot."""
        self._clients.add(client)
        if on_crash is not None:
            if not inspect.ismethod(on_crash) or on_crash.__self__ is not client:
                raise TypeError("on_crash must be a method of the client it crashes (the "
                                "registry holds it weakly, with the client)")
            self._crash_hooks[client] = weakref.WeakMethod(on_crash)

    def crash(self, client: object) -> None:
        """Run ``client``'s crash hook; ValueError if it registered none with this cluster."""
        ref = self._crash_hooks.get(client)
        hook = ref() if ref is not None else None
        if hook is None:
            raise ValueError(f"{client!r} is not a client of this cluster that can crash "
                             "(its producers and consumers can)")
        hook()

    def __iter__(self) -> Iterator[object]:
        return iter(list(self._clients))

    def __len__(self) -> int:
        return len(self._clients)
