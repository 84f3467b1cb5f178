"""Partition storage: one storage protocol with backends by URL scheme (``memory://``), the
partition log over it, and each broker's log manager (its logs, their retention and their log
cleaner)."""
from .backends import open_log_storage, register_scheme
from .cleaner import LogCleaner
from .cleaner_manager import CleanerState
from .cleaning import CleanerStats
from .log import PartitionLog
from .log_manager import LogManager
from .protocol import LogStorage, SegmentInfo

__all__ = ["CleanerState", "CleanerStats", "LogCleaner", "LogManager", "LogStorage",
           "PartitionLog", "SegmentInfo", "open_log_storage", "register_scheme"]
