"""The cluster: brokers, topics and partitions as replica sets, replication, events."""
from .cluster import Cluster
from .events import Event, EventLog

__all__ = ["Cluster", "Event", "EventLog"]
