"""The delayed-operation purgatory (Kafka's ``DelayedOperationPurgatory``): requests that wait.

A request that cannot be answered yet — a produce with ``acks=all`` until its records are
replicated to the ISR, a fetch with ``max_wait_ms`` until ``min_bytes`` are there, a JoinGroup
until the round completes — becomes a :class:`DelayedOperation` watched under one or more keys
(e.g. ``("topic", partition)``). Whoever changes what an operation waits for calls
:meth:`Purgatory.check_and_complete` with the key; each watched operation then tries to
complete. An operation that has not completed by its timeout expires: it completes anyway
(``on_expiration`` then ``on_complete``), as in Kafka.

Invariants: an operation completes exactly once — by ``try_complete`` succeeding, by
:meth:`DelayedOperation.force_complete`, or by expiring — and is then no longer watched; its
timer is cancelled when it completes before the timeout.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable


class DelayedOperation:
    """One waiting request. Subclasses implement :meth:`try_complete` (call
    :meth:`force_complete` and return True when done), :meth:`on_complete` (send the answer)
    and, optionally, :meth:`on_expiration`."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self.completed = False
        self._timer = None
        self._purgatory: Purgatory | None = None

    def try_complete(self) -> bool:
        raise NotImplementedError

    def on_complete(self) -> None:
        raise NotImplementedError

    def on_expiration(self) -> None:
        """The timeout passed before the operation could complete."""

    def force_complete(self) -> bool:
        """Complete now (once); True if this call completed it."""
        if self.completed:
            return False
        self.completed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._purgatory is not None:
            self._purgatory._unwatch(self)
        self.on_complete()
        return True

    def _expire(self) -> None:
        if not self.completed:
            self.on_expiration()
            self.force_complete()


class Purgatory:
    """Operations of one kind (``name``: Produce, Fetch, Rebalance ...) waiting on keys."""

    def __init__(self, name: str, scheduler: Any):
        self.name = name
        self._scheduler = scheduler
        self._watchers: dict[Hashable, list[DelayedOperation]] = {}
        self._keys: dict[int, tuple[Hashable, ...]] = {}

    def try_complete_else_watch(self, operation: DelayedOperation,
                                keys: Iterable[Hashable]) -> bool:
        """Complete ``operation`` at once if it can; else watch it under ``keys`` until it
        completes or ``timeout_ms`` passes. True if it completed at once."""
        if operation.try_complete():
            return True
        keys = tuple(keys)
        operation._purgatory = self
        self._keys[id(operation)] = keys
        for key in keys:
            self._watchers.setdefault(key, []).append(operation)
        operation._timer = self._scheduler.call_later(operation.timeout_ms, operation._expire)
        return False

    def check_and_complete(self, key: Hashable) -> int:
        """Let every operation watched under ``key`` try to complete; how many did."""
        watching = self._watchers.get(key)
        if not watching:
            return 0
        done = 0
        for operation in list(watching):
            if not operation.completed and operation.try_complete():
                done += 1
        return done

    def watched(self, key: Hashable) -> list[DelayedOperation]:
        """The operations still waiting under ``key`` (views and tests)."""
        return list(self._watchers.get(key, ()))

    def complete_all(self, key: Hashable) -> None:
        """Complete every operation under ``key`` now (e.g. the partition left this broker)."""
        for operation in list(self._watchers.get(key, ())):
            operation.force_complete()

    def __len__(self) -> int:
        return len(self._keys)

    def _unwatch(self, operation: DelayedOperation) -> None:
        for key in self._keys.pop(id(operation), ()):
            watching = self._watchers.get(key)
            if watching is not None:
                watching.remove(operation)
                if not watching:
                    del self._watchers[key]
