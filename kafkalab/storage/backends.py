"""Log backends by storage URL scheme (as Tansu picks its storage): ``memory://`` today.

:func:`open_log_storage` reads the scheme of a URL — a broker's ``log.dirs`` — and asks the
backend registered for it for one replica's :class:`~.protocol.LogStorage`. A new backend
(``file://`` later) registers its factory with :func:`register_scheme`; nobody who opens logs
changes.

Invariant: each scheme has exactly one factory; an unknown or malformed URL is refused with a
``ValueError`` naming the schemes there are.
"""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from .memory import MemoryLogStorage
from .protocol import LogStorage

#: ``factory(url, topic, partition, now_ms) -> LogStorage``
StorageFactory = Callable[[str, str, int, Callable[[], int]], LogStorage]

_SCHEMES: dict[str, StorageFactory] = {}


def register_scheme(scheme: str, factory: StorageFactory) -> None:
    """Open logs of URLs ``scheme://...`` with ``factory``."""
    if scheme in _SCHEMES:
        raise ValueError(f"storage scheme {scheme}:// already has a backend")
    _SCHEMES[scheme] = factory


def known_schemes() -> list[str]:
    return sorted(_SCHEMES)


def check_url(url: str) -> str:
    """The scheme of a storage URL, or ``ValueError`` saying which URLs are allowed."""
    scheme = urlsplit(url).scheme if isinstance(url, str) and "://" in url else ""
    if scheme not in _SCHEMES:
        known = ", ".join(f"{s}://" for s in known_schemes())
        raise ValueError(f"log storage URL {url!r} has no known scheme: use one of {known} "
                         f"(log.dirs names where brokers keep their logs)")
    return scheme


def open_log_storage(url: str, topic: str, partition: int, now_ms: Callable[[], int]
                     ) -> LogStorage:
    """A new, empty log of ``topic``-``partition`` in the backend ``url`` names."""
    return _SCHEMES[check_url(url)](url, topic, partition, now_ms)


register_scheme("memory", lambda url, topic, partition, now_ms:
                MemoryLogStorage(f"{topic}-{partition}", now_ms))
