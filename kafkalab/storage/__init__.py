"""Partition storage: one storage protocol with backends by URL scheme (``memory://``), the
partition log over it, and each broker's log manager (its logs and their retention)."""
from .backends import open_log_storage, register_scheme
from .log import PartitionLog
from .log_manager import LogManager
from .protocol import LogStorage, SegmentInfo

__all__ = ["LogManager", "LogStorage", "PartitionLog", "SegmentInfo", "open_log_storage",
           "register_scheme"]
