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

from ..errors import FencedInstanceIdError, IllegalGenerationError, UnknownMemberIdError


class GroupState(str, Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass
class Member:
    """One member as the coordinator knows it. Invariant: at most one JoinGroup and one
    SyncGroup of it wait at a time (a new one answers the old one first)."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    #: the answer to its JoinGroup / SyncGroup still waiting (Kafka's awaitingJoinFuture /
    #: awaitingSyncFuture): called with the response once the round gets that far
    awaiting_join: Callable[[Any], None] | None = None
    awaiting_sync: Callable[[Any], None] | None = None
    session_timer: Any = None

    def metadata_for(self, protocol: str) -> bytes:
        return dict(self.protocols)[protocol]


@dataclass
class Group:
    """A group as its coordinator holds it (see the states above). Invariant: a join round
    waits in the purgatory (``pending_join``) only while the group is PreparingRebalance."""

    group_id: str
    state: GroupState = GroupState.EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    #: the join round waiting in the coordinator's purgatory (a DelayedJoin), if any
    pending_join: Any = None
    new_member_added: bool = False  # a new member came during a new group's initial delay
    fenced: dict[str, str] = field(default_factory=dict)  # replaced static member id -> instance
    #: member ids handed out with MEMBER_ID_REQUIRED (KIP-394), not joined yet
    pending_members: set[str] = field(default_factory=set)
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
        return all(m.awaiting_join is not None for m in self.members.values())

    def member_by_instance(self, instance_id: str) -> Member | None:
        return next((m for m in self.members.values() if m.group_instance_id == instance_id),
                    None)


def check_member(group: Group | None, group_id: str, generation: int,
                 member_id: str) -> Exception | None:
    """Why a request of ``member_id`` for ``generation`` is refused (None: it may go on):
    a fenced old instance of a static member, a member the group does not know, or one that
    speaks for another generation."""
    if group is not None and member_id in group.fenced:
        return FencedInstanceIdError(
            f"member {member_id} (static member {group.fenced[member_id]}) was replaced by a "
            f"newer instance with the same group_instance_id in group {group_id}: it is "
            "fenced and must stop")
    if group is None or member_id not in group.members:
        return UnknownMemberIdError(f"member {member_id or '(none)'} is not in group "
                                    f"{group_id}; it must rejoin")
    if generation != group.generation:
        return IllegalGenerationError(
            f"member {member_id} speaks for generation {generation}, but group {group_id} "
            f"is at generation {group.generation}: a rebalance happened in between")
    return None
