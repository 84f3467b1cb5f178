"""The lab's DataFrames, built by the engine (:mod:`kafkalab.cluster.tables`), re-exported here
for the views that show them; and :func:`timestamp_text`, a Kafka timestamp as a learner reads
it."""
from datetime import datetime, timezone

from ..cluster.tables import (  # noqa: F401
    DESCRIBE_COLUMNS,
    GROUP_COLUMNS,
    RECORD_COLUMNS,
    consumer_group_frame,
    decoded_text,
    describe_topic_frame,
    records_frame,
)

__all__ = ["DESCRIBE_COLUMNS", "GROUP_COLUMNS", "RECORD_COLUMNS", "consumer_group_frame",
           "decoded_text", "describe_topic_frame", "records_frame", "timestamp_text"]


def timestamp_text(timestamp_ms: int, cluster=None) -> str:
    """A Kafka timestamp (ms since 1970, as Kafka shows it) as a date, and with ``cluster`` as
    its simulated time since that cluster started: ``2026-01-01 00:00:00 UTC (t = 0 d
    00:00:00)``."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if timestamp_ms % 1000:
        text += f".{timestamp_ms % 1000:03d}"
    text += " UTC"
    return f"{text} ({cluster.clock_text(timestamp_ms)})" if cluster is not None else text
