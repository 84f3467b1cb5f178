"""What a consumer hands out of a fetched partition: never control batches (transaction
markers), and under ``isolation_level='read_committed'`` no batch of an aborted transaction —
kafka-python's and Java's fetcher logic.

The broker returns, with a ``read_committed`` fetch, the aborted transactions that have records
among the batches (producer id, first offset). Walking the batches in offset order, a producer
enters the *aborted* set when the walk reaches its aborted transaction's first offset, and leaves
it at its ABORT marker; its transactional batches in between are skipped.

Invariants: the batches kept are in offset order, a subset of those given; a non-transactional
batch is always kept.
"""
from __future__ import annotations

from typing import Sequence

from ..record import RecordBatch
from ..record.control import ControlRecordType, marker_of


def visible_batches(batches: Sequence[RecordBatch], aborted) -> Sequence[RecordBatch]:
    """The batches of a fetched partition whose records a consumer may see (see the module);
    ``aborted``: the fetch's aborted transactions, None for ``read_uncommitted``."""
    if not any(batch.is_transactional for batch in batches):
        return batches  # the common case: nothing to filter
    if aborted is None:
        return [batch for batch in batches if not batch.is_control]
    starts = sorted((t.first_offset, t.producer_id) for t in aborted)
    next_start = 0
    aborted_producers: set[int] = set()
    kept = []
    for batch in batches:
        if batch.is_transactional:
            while next_start < len(starts) and starts[next_start][0] <= batch.last_offset:
                aborted_producers.add(starts[next_start][1])
                next_start += 1
            if batch.producer_id in aborted_producers:
                if batch.is_control and marker_of(batch).type is ControlRecordType.ABORT:
                    aborted_producers.discard(batch.producer_id)
                continue
        if not batch.is_control:
            kept.append(batch)
    return kept
