"""A consumer group's state as the coordinator sees it (Kafka's GroupMetadata).

States, in Kafka's words::

    Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
      ▲                  ▲      │                                     │ leader's SyncGroup
      │ last member      │      └──────── member left, rejoin ◀──── Stable ◀┘
      └── leaves ────────┘                                        (Dead: deleted)

Invariants: ``generation`` only grows; in CompletingRebalance and Stable the ``leader`` is a
member; every member of a Stable group has an assignment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable


class GroupState(str, Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(frozen=True)
class JoinResult:
    """A JoinGroup response: the leader also gets every member's subscription."""

    error: Exception | None = None
    generation: int = -1
    protocol: str | None = None
    leader_id: str = ""
    member_id: str = ""
    members: tuple = ()  # ((member_id, group_instance_id, metadata bytes), ...) — leader only


@dataclass(frozen=True)
class SyncResult:
    error: Exception | None = None
    assignment: bytes = b""


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_callback: Callable[[JoinResult], None] | None = None
    sync_callback: Callable[[SyncResult], None] | None = None
    session_timer: Any = None

    def metadata_for(self, protocol: str) -> bytes:
        return dict(self.protocols)[protocol]


@dataclass
class Group:
    group_id: str
    state: GroupState = GroupState.EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    join_timer: Any = None
    initial_delay: bool = False  # the first rebalance of an empty group waits its full delay
    new_member_added: bool = False  # a new member came during a new group's initial delay
    initial_remaining_ms: int = 0  # how much longer the initial delay may still be extended
    fenced: dict[str, str] = field(default_factory=dict)  # replaced static member id -> instance
    assignment_pending: bool = False  # the leader's assignment is being stored (SyncGroup)
    state_since_ms: int = 0

    def supported_protocols(self) -> set[str]:
        """Assignors every member can use (a new member must share one)."""
        sets = [set(name for name, _ in m.protocols) for m in self.members.values()]
        return set.intersection(*sets) if sets else set()

    def choose_protocol(self) -> str:
        """Kafka's rule: each member votes for its most preferred common protocol."""
        common = self.supported_protocols()
        votes: dict[str, int] = {}
        for member in self.members.values():
            choice = next(name for name, _ in member.protocols if name in common)
            votes[choice] = votes.get(choice, 0) + 1
        return max(sorted(votes), key=lambda name: votes[name])

    def all_joined(self) -> bool:
        return all(m.join_callback is not None for m in self.members.values())

    def member_by_instance(self, instance_id: str) -> Member | None:
        return next((m for m in self.members.values() if m.group_instance_id == instance_id),
                    None)
