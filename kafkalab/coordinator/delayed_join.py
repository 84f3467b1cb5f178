"""A group's join round waiting in the coordinator's purgatory (Kafka's DelayedJoin and
InitialDelayedJoin).

A rebalance waits for every known member to send JoinGroup again, for at most the longest
rebalance timeout of its members; members that did not rejoin by then are removed. The first
rebalance of an empty group waits ``group.initial.rebalance.delay.ms`` instead — and again while
new members keep arriving, up to the rebalance timeout — so a fleet of consumers starting
together causes one rebalance, not one per consumer.

Invariants: an operation completes once (see :mod:`..api.purgatory`); completing it hands the
group to its state machine's ``complete_join``, which does nothing if the group left
PreparingRebalance or the coordinator no longer holds it.
"""
from __future__ import annotations

from typing import Protocol

from ..api.purgatory import DelayedOperation
from .group import Group


class JoinRounds(Protocol):
    """What a join round calls back in its group's state machine."""

    def complete_join(self, group: Group) -> None: ...

    def initial_delay_elapsed(self, group: Group, remaining_ms: int) -> None: ...


class DelayedJoin(DelayedOperation):
    """Completes as soon as every member has rejoined, or when the rebalance timeout passes."""

    def __init__(self, machine: JoinRounds, group: Group, timeout_ms: int):
        super().__init__(timeout_ms)
        self.machine = machine
        self.group = group

    def try_complete(self) -> bool:
        return self.group.all_joined() and self.force_complete()

    def on_complete(self) -> None:
        self.machine.complete_join(self.group)


class InitialDelayedJoin(DelayedJoin):
    """Waits its whole delay (however many members joined); then, if new members came
    meanwhile and ``remaining_ms`` of the rebalance timeout is left, waits once more."""

    def __init__(self, machine: JoinRounds, group: Group, delay_ms: int,
                 remaining_ms: int):
        super().__init__(machine, group, delay_ms)
        self.remaining_ms = remaining_ms

    def try_complete(self) -> bool:
        return False

    def on_complete(self) -> None:
        self.machine.initial_delay_elapsed(self.group, self.remaining_ms)
