"""Metrics with Kafka's names, shared by the brokers and the clients (see :mod:`.registry`)."""
from .registry import WINDOW_MS, Sensor

__all__ = ["Sensor", "WINDOW_MS"]
