"""Partition storage: segments, indexes, the partition log and retention."""
from .log import PartitionLog
from .segment import LogSegment

__all__ = ["LogSegment", "PartitionLog"]
