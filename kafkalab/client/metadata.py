"""ClusterMetadata: what a client knows of the cluster — brokers, topics, partition leaders.

kafka-python's ``kafka.cluster.ClusterMetadata``, filled by Metadata requests instead of kept
in step with the cluster: a client routes each request by what it last heard. When a request
fails because the leader moved or is missing (``NOT_LEADER_OR_FOLLOWER``, ``LEADER_NOT_AVAILABLE``,
a connection error), the client calls :meth:`request_update` and the next
:meth:`maybe_update` asks a broker again; the cache is also refreshed once it is older than
``metadata_max_age_ms`` (kafka-python's default: 5 minutes), and every ``retry_backoff_ms``
while a topic the client follows is refused with a retriable error (it does not exist yet, or
has no leader yet). So a producer sees new partitions
of a topic only after a refresh, as with a real cluster.

Invariants: the cache changes only by a Metadata response; ``version`` grows whenever what it
holds of a topic (partitions, leaders, replicas) changes; a topic a response reported
with an error is forgotten.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..api.base import error_from
from ..api.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from ..errors import KafkaConnectionError, RetriableError
from ..structs import TopicPartition


@dataclass(frozen=True)
class PartitionMetadata:
    topic: str
    partition: int
    leader: int  # -1: no leader
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


class ClusterMetadata:
    """One client's view of the cluster, as Metadata requests answered it (invariants: see the
    module)."""

    def __init__(self, transport, metadata_max_age_ms: int = 300000,
                 allow_auto_create_topics: bool = True, retry_backoff_ms: int = 100):
        self._transport = transport
        self._max_age_ms = metadata_max_age_ms
        self._retry_backoff_ms = retry_backoff_ms
        #: the last answer refused a followed topic with a retriable error (not created yet,
        #: no leader yet): ask again every retry_backoff_ms, as kafka-python does
        self._retrying = False
        self._allow_auto_create = allow_auto_create_topics
        self._brokers: dict[int, tuple[str, int]] = {}
        self._partitions: dict[str, dict[int, PartitionMetadata]] = {}
        self._internal: set[str] = set()
        self._errors: dict[str, Exception] = {}  # topics the last answer refused, and why
        self._topics: set[str] = set()  # topics this client wants to know (kafka-python's)
        self._need_update = True
        self._last_refresh_ms: int | None = None
        self.controller_id: int | None = None
        self.cluster_id: str | None = None
        self.version = 0

    # --- kafka-python's reading API ----------------------------------------------------------
    def brokers(self) -> set[int]:
        return set(self._brokers)

    def topics(self, exclude_internal_topics: bool = True) -> set[str]:
        return {t for t in self._partitions
                if not (exclude_internal_topics and t in self._internal)}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        partitions = self._partitions.get(topic)
        return None if partitions is None else set(partitions)

    def leader_for_partition(self, tp: TopicPartition) -> int | None:
        """The leader as last heard (None: unknown topic or partition; -1: no leader)."""
        meta = self._partitions.get(tp.topic, {}).get(tp.partition)
        return None if meta is None else meta.leader

    def partition_metadata(self, tp: TopicPartition) -> PartitionMetadata | None:
        return self._partitions.get(tp.topic, {}).get(tp.partition)

    def topic_error(self, topic: str) -> Exception | None:
        """Why the last answer refused ``topic`` (e.g. UnknownTopicOrPartitionError), if so."""
        return self._errors.get(topic)

    # --- refreshing --------------------------------------------------------------------------
    def add_topic(self, topic: str) -> None:
        if topic not in self._topics:
            self._topics.add(topic)
            self._need_update = True

    def request_update(self) -> None:
        """Ask again at the next :meth:`maybe_update` (after an error that says the cache is
        stale)."""
        self._need_update = True

    def ttl(self) -> int:
        """Milliseconds until the cache needs refreshing (0: now)."""
        if self._need_update or self._last_refresh_ms is None:
            return 0
        wait = self._retry_backoff_ms if self._retrying else self._max_age_ms
        return max(0, self._last_refresh_ms + wait - self._transport.now_ms())

    def maybe_update(self) -> bool:
        """Refresh if asked to or too old; True if a Metadata request was answered."""
        if self.ttl() > 0:
            return False
        return self.update()

    def update(self, topics: list[str] | None = None, all_topics: bool = False) -> bool:
        """Send a Metadata request (for every topic this client follows, ``topics`` now
        among them, or for all topics) and take its answer; False if no broker could be
        reached."""
        self._topics.update(topics or ())
        wanted = None if all_topics else tuple(
            MetadataRequestTopic(t) for t in sorted(self._topics))
        try:
            response = self._transport.call(None, MetadataRequest(
                wanted, self._allow_auto_create))
        except KafkaConnectionError:
            return False
        self.update_metadata(response, replace_all=all_topics)
        return True

    def update_metadata(self, response: MetadataResponse, replace_all: bool = False) -> None:
        """Take a Metadata response (kafka-python's ``update_metadata``)."""
        self._brokers = {b.node_id: (b.host, b.port) for b in response.brokers}
        self.controller_id = None if response.controller_id == -1 else response.controller_id
        self.cluster_id = response.cluster_id
        answered = {t.name for t in response.topics}
        if replace_all:
            for gone in set(self._partitions) - answered:
                del self._partitions[gone]
                self.version += 1
        for topic in response.topics:
            if topic.error_code:
                self._errors[topic.name] = error_from(topic.error_code, topic.error_message)
                if self._partitions.pop(topic.name, None) is not None:
                    self.version += 1
                continue
            self._errors.pop(topic.name, None)
            partitions = {p.partition_index: PartitionMetadata(
                topic.name, p.partition_index, p.leader_id, p.leader_epoch,
                tuple(p.replica_nodes), tuple(p.isr_nodes)) for p in topic.partitions}
            if partitions != self._partitions.get(topic.name):
                self.version += 1
            self._partitions[topic.name] = partitions
            if topic.is_internal:
                self._internal.add(topic.name)
        self._need_update = False
        self._retrying = any(isinstance(self._errors.get(t), RetriableError) for t in self._topics)
        self._last_refresh_ms = self._transport.now_ms()
