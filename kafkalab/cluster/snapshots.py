"""Snapshots: what the engine hands its views — plain, frozen data taken at one instant.

A view (``kafkalab.viz``) draws a snapshot; it never reads the engine's live objects, and the
engine never imports a view. The engine's objects still show themselves in a notebook
(``_repr_html_``): they take a snapshot and ask :func:`render_html` for its HTML, which calls the
renderer registered for that snapshot's type. ``kafkalab/__init__`` registers the HTML views of
``kafkalab.viz.html`` (:func:`register_html`); with none registered, a snapshot shows as its
``repr``.

Invariant: a snapshot shares no mutable state with the engine (tuples, not lists), so a view
drawn later still shows the moment the snapshot was taken.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable

from ..structs import TopicPartition


@dataclass(frozen=True)
class PartitionSnapshot:
    """One partition as views show it: its replica set, and the positions and stored records
    (``(offset, key)``) of the log views show — the leader's, or the preferred replica's while
    the partition is offline."""

    topic: str
    index: int
    leader: int | None
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    log_start_offset: int
    high_watermark: int
    log_end_offset: int
    records: tuple[tuple[int, bytes | None], ...]

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.index}"

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.index)


@dataclass(frozen=True)
class TopicSnapshot:
    name: str
    internal: bool
    replication_factor: int
    partitions: tuple[PartitionSnapshot, ...]


@dataclass(frozen=True)
class BrokerSnapshot:
    id: int
    address: str
    alive: bool


@dataclass(frozen=True)
class TopicSummary:
    """A topic's line in the cluster's overview: ``records`` is the count its logs hold."""

    name: str
    partitions: int
    replication_factor: int
    records: int


@dataclass(frozen=True)
class ClusterSnapshot:
    brokers: tuple[BrokerSnapshot, ...]
    topics: tuple[TopicSummary, ...]  # by name
    controller_voters: tuple[int, ...]
    #: the active controller as views name it (``controller 1000``, ``broker 2`` or ``none``)
    active_controller: str
    #: True when the voters are controller-only nodes, False in combined mode
    dedicated_controllers: bool
    clock: str  # ``t = ...`` since the cluster started
    seed: int


@dataclass(frozen=True)
class EventsSnapshot:
    """The last events of an event log, as ``(clock, kind, text)``, and how many there are."""

    total: int
    last: tuple[tuple[str, str, str], ...]


# --- how snapshots show in a notebook ------------------------------------------------------------
_renderers: dict[type, Callable[[Any], str]] = {}


def register_html(snapshot_type: type, render: Callable[[Any], str]) -> None:
    """Show snapshots of ``snapshot_type`` with ``render(snapshot) -> html`` (set by the views)."""
    _renderers[snapshot_type] = render


def render_html(snapshot: Any) -> str:
    """The HTML of a snapshot, by the view registered for its type (else its ``repr``)."""
    render = _renderers.get(type(snapshot))
    if render is None:
        return f"<pre>{html.escape(repr(snapshot))}</pre>"
    return render(snapshot)
