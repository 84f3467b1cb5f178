"""Kafka's wire protocol in front of a kafkalab cluster: :func:`serve` and ``kafkalab serve``.

:mod:`.versions` (what is served), :mod:`.convert` and :mod:`.exchanges` (kafka-python's messages
to and from the request layer's), :mod:`.records` (produce batches checked), :mod:`.sasl`,
:mod:`.connection` (one connection, sans-I/O), :mod:`.loop` (the socket loop), :mod:`.serve`.
"""
from .serve import ServedCluster, serve

__all__ = ["ServedCluster", "serve"]
