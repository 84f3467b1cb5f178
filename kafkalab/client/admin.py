"""KafkaAdminClient: kafka-python's admin API over the in-process engine.

Every call is a request through the client's transport to a broker's request layer: CreateTopics,
DeleteTopics, CreatePartitions, DescribeConfigs, IncrementalAlterConfigs (or AlterConfigs),
Metadata and DescribeCluster. kafka-python sends the controller's requests (CreateTopics,
DeleteTopics, CreatePartitions) to ``metadata.controller_id`` — in KRaft a broker, which forwards
them to the active controller; every broker forwards them the same way, so here the first broker
that answers takes them. A broker's own configs are asked of that broker, as kafka-python does.

Results have kafka-python's shapes (dicts named after the protocol's fields), and errors are
raised as kafka-python raises them (``raise_errors=True``), with the broker's reason.

Invariant: each topic or config resource of a call is done or refused on its own, as by Kafka;
a refused one changes nothing, and with ``raise_errors`` the first refusal is raised once the
broker has answered for all of them.
"""
from __future__ import annotations

from typing import Any

from kafka import IsolationLevel
from kafka.admin import (
    AlterConfigOp,
    ConfigFilterType,
    ConfigResource,
    ConfigResourceType,
    ConfigSourceType,
    ConfigType,
    NewPartitions,
    NewTopic,
)
from kafka.admin.client import KafkaAdminClient as _KafkaPythonAdmin
from kafka.protocol.consumer.metadata import (
    ConsumerProtocolAssignment,
    ConsumerProtocolSubscription,
)

from ..api.base import error_from
from ..api.messages.cluster import DescribeClusterRequest
from ..api.messages.configs import (
    AlterableConfig,
    AlterConfigsRequest,
    AlterConfigsResource,
    DescribeConfigsRequest,
    DescribeConfigsResource,
    DescribeConfigsResourceResult,
    IncrementalAlterableConfig,
    IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResource,
)
from ..api.messages.groups import (
    CONSUMER_PROTOCOL_TYPE,
    DeleteGroupsRequest,
    DescribeGroupsRequest,
    FindCoordinatorRequest,
    ListGroupsRequest,
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
)
from ..api.messages.metadata import MetadataRequest, MetadataRequestTopic, MetadataResponse
from ..api.messages.topics import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreatePartitionsAssignment,
    CreatePartitionsRequest,
    CreatePartitionsTopic,
    CreateTopicsRequest,
    DeleteTopicsRequest,
)
from ..config import kafka_string
from ..errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, NoError
from ..structs import OffsetAndMetadata, TopicPartition
from .config import merge_config
from .list_offsets import list_offsets, offset_for
from .metadata import ClusterMetadata
from .transport import transport_for

DEFAULT_CONFIG = dict(_KafkaPythonAdmin.DEFAULT_CONFIG)


def _config_value(value: Any) -> str | None:
    """A config value as the protocol carries it: Kafka's string (``True`` -> ``"true"``)."""
    return None if value is None else kafka_string(value)


def _creatable(name: str, num_partitions: int = -1, replication_factor: int = -1,
               assignments: dict | None = None, configs: dict | None = None) -> CreatableTopic:
    return CreatableTopic(
        name, num_partitions, replication_factor,
        tuple(CreatableReplicaAssignment(p, tuple(brokers))
              for p, brokers in (assignments or {}).items()),
        tuple(CreatableTopicConfig(k, _config_value(v)) for k, v in (configs or {}).items()))


def _creatable_topics(new_topics) -> tuple[CreatableTopic, ...]:
    """kafka-python accepts names, a {name: options} dict, or NewTopic objects."""
    if isinstance(new_topics, dict):
        topics = [_creatable(name, o.get("num_partitions", -1), o.get("replication_factor", -1),
                             o.get("assignments"), o.get("configs"))
                  for name, o in new_topics.items()]
    else:
        topics = []
        for t in new_topics:
            if isinstance(t, str):
                topics.append(_creatable(t))
            elif isinstance(t, NewTopic):
                topics.append(_creatable(t.name, t.num_partitions, t.replication_factor,
                                         t.replica_assignments, t.topic_configs))
            else:
                raise TypeError(f"create_topics() takes topic names, NewTopic objects or a "
                                f"dict, not {t!r}")
    if not topics:
        raise ValueError(f"No valid topics found in new_topics: {new_topics}")
    return tuple(topics)


def _partitions_topic(name: str, spec) -> CreatePartitionsTopic:
    """kafka-python's forms: a total count, ``{count, assignments}``, or NewPartitions."""
    if isinstance(spec, NewPartitions):
        count, assignments = spec.total_count, spec.new_assignments
    elif isinstance(spec, dict):
        count, assignments = spec["count"], spec.get("assignments")
    else:
        count, assignments = spec, None
    return CreatePartitionsTopic(name, count, None if assignments is None else tuple(
        CreatePartitionsAssignment(tuple(brokers)) for brokers in assignments))


def _outcome(entry, name_key: str = "name") -> dict:
    return {name_key: entry.name, "error_code": entry.error_code,
            "error_message": entry.error_message}


def _raise_first(entries, raise_errors: bool = True) -> None:
    """Raise the error of the first refused entry (kafka-python's ``raise_errors``)."""
    if raise_errors:
        for entry in entries:
            error = error_from(entry.error_code, entry.error_message)
            if error is not None:
                raise error


def _by_node(resources) -> list[tuple[int | None, list[ConfigResource]]]:
    """kafka-python's routing of config requests: a broker's configs go to that broker, the
    others to any broker (None)."""
    groups: dict[int | None, list[ConfigResource]] = {}
    for resource in resources:
        node = None
        if resource.resource_type in (ConfigResourceType.BROKER,
                                      ConfigResourceType.BROKER_LOGGER):
            try:
                node = int(resource.name)
            except ValueError:
                raise ValueError("Broker resource names must be an integer or a string "
                                 "represented integer") from None
        groups.setdefault(node, []).append(resource)
    return list(groups.items())


def _operations(configs) -> list[tuple[str, int, str | None]]:
    """kafka-python's ``{name: value}`` or ``{name: (op, value)}`` as (name, op code, value);
    a DELETE carries no value."""
    if not configs:
        return []
    if not isinstance(configs, dict):
        raise TypeError("alter_configs requires configs as a dict of {key: (op, value)} or "
                        "{key: value} (interpreted as SET)")
    out = []
    for name, op_value in configs.items():
        op, value = op_value if isinstance(op_value, tuple) else (AlterConfigOp.SET, op_value)
        code = AlterConfigOp.value_for(op)
        out.append((name, code, None if code == AlterConfigOp.DELETE else _config_value(value)))
    return out


def _config_entry(config: DescribeConfigsResourceResult) -> dict:
    """One described config in kafka-python's shape (sources and types by name)."""
    return {"value": config.value, "read_only": config.read_only,
            "config_source": ConfigSourceType(config.config_source).name,
            "is_sensitive": config.is_sensitive,
            "synonyms": [{"name": s.name, "value": s.value,
                          "source": ConfigSourceType(s.source).name} for s in config.synonyms],
            "config_type": ConfigType(config.config_type).name,
            "documentation": config.documentation}


def _skipped(config: DescribeConfigsResourceResult, config_filter: ConfigFilterType) -> bool:
    """kafka-python's filter: MODIFIED keeps what was set dynamically (not defaults, not static
    broker settings), DYNAMIC what may be altered, DEFAULT and STATIC what they say."""
    if config_filter is ConfigFilterType.DYNAMIC and config.read_only:
        return True
    return config_filter.should_skip(ConfigSourceType(config.config_source))


class KafkaAdminClient:
    """kafka-python's KafkaAdminClient on an in-process transport.

    Invariants: its topic, config and cluster calls talk to brokers only through
    ``self._transport`` — one request per broker asked (plus a DescribeConfigs first for
    ``alter_configs(incremental=False)``); it keeps no state between calls.
    """

    DEFAULT_CONFIG = DEFAULT_CONFIG

    def __init__(self, **configs: Any):
        self.config = merge_config(DEFAULT_CONFIG, configs, "KafkaAdminClient")
        self._transport = transport_for(self.config["bootstrap_servers"])

    def _validate_timeout(self, timeout_ms) -> int:
        return timeout_ms or self.config["request_timeout_ms"]

    def _send_to_controller(self, request):
        """A controller request: answered by the first broker that can be reached, which
        forwards it (kafka-python sends it to ``metadata.controller_id``, a broker in KRaft)."""
        return self._transport.call(None, request)

    def _metadata(self, topics) -> MetadataResponse:
        """kafka-python's ``_get_cluster_metadata``: a Metadata request that creates nothing
        (``topics`` None: all topics)."""
        wanted = None if topics is None else tuple(MetadataRequestTopic(t) for t in topics)
        return self._transport.call(None, MetadataRequest(wanted,
                                                          allow_auto_topic_creation=False))

    # --- topics --------------------------------------------------------------------------------
    def create_topics(self, new_topics, timeout_ms=None, validate_only=False, raise_errors=True,
                      wait_for_metadata=False) -> dict:
        """Kafka's CreateTopics: each topic is created or refused on its own. A created topic
        is in every broker's metadata with a leader per partition at once, so
        ``wait_for_metadata`` has nothing to wait for."""
        if validate_only and wait_for_metadata:
            raise ValueError("validate_only and wait_for_metadata are mutually exclusive")
        response = self._send_to_controller(CreateTopicsRequest(
            _creatable_topics(new_topics), self._validate_timeout(timeout_ms), validate_only))
        _raise_first(response.topics, raise_errors)
        return {"topics": [_outcome(t) for t in response.topics]}

    def delete_topics(self, topics, timeout_ms=None, raise_errors=True) -> dict:
        response = self._send_to_controller(DeleteTopicsRequest(
            tuple(topics), self._validate_timeout(timeout_ms)))
        _raise_first(response.responses, raise_errors)
        return {"topics": [_outcome(r) for r in response.responses]}

    def list_topics(self) -> list[str]:
        return [t.name for t in self._metadata(None).topics]

    def describe_topics(self, topics=None) -> list[dict]:
        """Each topic's partitions: leader, epoch, replicas, ISR and offline replicas.
        Differs from kafka-python: a topic that does not exist raises
        UnknownTopicOrPartitionError instead of coming back with its error code."""
        response = self._metadata(None if topics is None else list(topics))
        _raise_first(response.topics)
        return [{"error_code": 0, "name": t.name, "is_internal": t.is_internal,
                 "partitions": [{"error_code": p.error_code, "partition_index": p.partition_index,
                                 "leader_id": p.leader_id, "leader_epoch": p.leader_epoch,
                                 "replica_nodes": list(p.replica_nodes),
                                 "isr_nodes": list(p.isr_nodes),
                                 "offline_replicas": list(p.offline_replicas)}
                                for p in t.partitions]}
                for t in response.topics]

    def create_partitions(self, topic_partitions, timeout_ms=None, validate_only=False,
                          raise_errors=True) -> dict:
        response = self._send_to_controller(CreatePartitionsRequest(
            tuple(_partitions_topic(name, spec) for name, spec in topic_partitions.items()),
            self._validate_timeout(timeout_ms), validate_only))
        _raise_first(response.results, raise_errors)
        return {"results": [_outcome(r, "topic_name") for r in response.results]}

    # --- configs -------------------------------------------------------------------------------
    def describe_configs(self, config_resources, include_synonyms=False,
                         config_filter="modified") -> dict:
        """``{resource type: {name: {config: {...}}}}`` filtered as kafka-python filters
        (``config_filter``: modified, dynamic, all, default or static). A resource's
        ``configs`` names the configs wanted (None: all; empty: none).

        Differs from kafka-python on purpose: a resource the broker refuses (a topic that
        does not exist) raises its error instead of coming back empty, and each config comes
        with its documentation (kafka-python does not ask for it).
        """
        config_filter = ConfigFilterType.build_from(config_filter)
        out: dict[str, dict] = {}
        for node, resources in _by_node(config_resources):
            request = DescribeConfigsRequest(
                tuple(DescribeConfigsResource(int(r.resource_type), r.name,
                                              None if r.configs is None else tuple(r.configs))
                      for r in resources),
                include_synonyms=include_synonyms, include_documentation=True)
            results = self._transport.call(node, request).results
            _raise_first(results)
            for result in results:
                kind = ConfigResourceType(result.resource_type).name.lower()
                out.setdefault(kind, {})[result.resource_name] = {
                    c.name: _config_entry(c) for c in result.configs
                    if not _skipped(c, config_filter)}
        return out

    def alter_configs(self, config_resources, validate_only=False, raise_on_unknown=True,
                      incremental=None) -> dict:
        """Change configs, all or nothing per resource: ``{name: value}`` sets,
        ``{name: (AlterConfigOp.DELETE, None)}`` returns a config to its default, APPEND and
        SUBTRACT add to or remove from a list config (``cleanup.policy``).

        As kafka-python with a broker that has it, this sends IncrementalAlterConfigs;
        ``incremental=False`` sends AlterConfigs, which replaces *all* of a resource's configs,
        so the client first adds the resource's other modified configs, as kafka-python does.

        Returns kafka-python's ``{"topic": {name: "OK"}}``. Differs from kafka-python on
        purpose: a refused change (unknown name, invalid value, a broker config) raises its
        error (``InvalidConfigurationError``, ``InvalidRequestError``) saying what is allowed,
        instead of coming back as an error string in the result that is easy to overlook. The
        broker checks every name, so ``raise_on_unknown`` adds nothing.
        """
        out: dict[str, dict] = {}
        for node, resources in _by_node(config_resources):
            if incremental is False:
                request = AlterConfigsRequest(
                    tuple(self._replacing(r) for r in resources), validate_only)
            else:
                request = IncrementalAlterConfigsRequest(tuple(
                    IncrementalAlterConfigsResource(
                        int(r.resource_type), r.name,
                        tuple(IncrementalAlterableConfig(*op) for op in _operations(r.configs)))
                    for r in resources), validate_only)
            responses = self._transport.call(node, request).responses
            _raise_first(responses)
            for response in responses:
                kind = ConfigResourceType(response.resource_type).name.lower()
                out.setdefault(kind, {})[response.resource_name] = "OK"
        return out

    def _replacing(self, resource: ConfigResource) -> AlterConfigsResource:
        """An AlterConfigs entry: the configs given (SET only) plus the resource's other
        modified configs, which AlterConfigs would otherwise return to their defaults."""
        given = {}
        for name, op, value in _operations(resource.configs):
            if op != AlterConfigOp.SET:
                raise ValueError(f"Non-incremental AlterConfigsRequest does not support "
                                 f"operation {AlterConfigOp(op).name} (SET only)")
            given[name] = value
        described = self.describe_configs([ConfigResource(resource.resource_type, resource.name)])
        current = described[resource.resource_type.name.lower()][resource.name]
        kept = {name: c["value"] for name, c in current.items()
                if name not in given and c["value"] is not None}
        return AlterConfigsResource(int(resource.resource_type), resource.name, tuple(
            AlterableConfig(name, value) for name, value in (given | kept).items()))

    # --- consumer groups (kafka-python 3 names; 2.x names below) ---------------------------------
    # As kafka-python: ListGroups goes to every broker; the other group requests go to the
    # group's coordinator, found with FindCoordinator (or ``group_coordinator_id`` if given).
    def _coordinator_of(self, group_id: str, group_coordinator_id: int | None = None) -> int:
        """kafka-python's ``_find_coordinator_id``: raises the FindCoordinator error (e.g.
        CoordinatorNotAvailableError while the group's offsets partition has no leader)."""
        if group_coordinator_id is not None:
            return group_coordinator_id
        found = self._transport.call(None, FindCoordinatorRequest(group_id))
        error = error_from(found.error_code, found.error_message)
        if error is not None:
            raise error
        return found.node_id

    def _send_and_wait(self, node: int, request):
        """A request that waits for the offsets partition to store its records (OffsetCommit,
        DeleteGroups): sent, and waited for up to ``request_timeout_ms``."""
        answer: list = []
        self._transport.send(node, request, answer.append)
        timeout_ms = self.config["request_timeout_ms"]
        if not self._transport.wait_for(lambda: bool(answer), timeout_ms):
            raise KafkaTimeoutError(f"{request.API_NAME} to broker {node} got no answer within "
                                    f"request_timeout_ms={timeout_ms} ms")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def list_groups(self, broker_ids=None, states_filter=None, types_filter=None) -> list[dict]:
        """Every group of every broker (ListGroups to each; a broker that cannot be reached
        holds no group it could coordinate, so it is skipped)."""
        request = ListGroupsRequest(tuple(states_filter or ()), tuple(types_filter or ()))
        nodes = broker_ids or sorted(b.node_id for b in self._metadata(()).brokers)
        listed = []
        for node in nodes:
            try:
                response = self._transport.call(node, request)
            except KafkaConnectionError:
                continue
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                raise error
            listed.extend(response.groups)
        # a standalone group (commits only, never a member) has no protocol type in Kafka
        return [{"group_id": g.group_id, "protocol_type": g.protocol_type,
                 "group_state": g.group_state, "group_type": g.group_type}
                for g in sorted(listed, key=lambda g: g.group_id)]

    def describe_groups(self, group_ids, group_coordinator_id=None,
                        include_authorized_operations=False) -> dict[str, dict]:
        """DescribeGroups to each group's coordinator; a consumer group's member metadata and
        assignment decoded as kafka-python decodes them. A group nobody knows is Dead."""
        out = {}
        for group_id in group_ids:
            node = self._coordinator_of(group_id, group_coordinator_id)
            [g] = self._transport.call(node, DescribeGroupsRequest(
                (group_id,), include_authorized_operations)).groups
            error = error_from(g.error_code, g.error_message)
            if error is not None:
                raise error
            consumer = g.protocol_type == CONSUMER_PROTOCOL_TYPE
            members = [{"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                        "client_id": m.client_id, "client_host": m.client_host,
                        "member_metadata": (ConsumerProtocolSubscription.decode(
                            m.member_metadata) if consumer else m.member_metadata)
                        if m.member_metadata else None,
                        "member_assignment": (ConsumerProtocolAssignment.decode(
                            m.member_assignment) if consumer else m.member_assignment)
                        if m.member_assignment else None}
                       for m in g.members]
            out[group_id] = {"group_id": group_id, "group_state": g.group_state,
                             "protocol_type": g.protocol_type,
                             "protocol_data": g.protocol_data, "members": members,
                             "authorized_operations": None, "error": None}
        return out

    def list_group_offsets(self, group_specs) -> dict[str, dict]:
        """OffsetFetch to each group's coordinator: ``{group: {TopicPartition:
        OffsetAndMetadata}}`` for the partitions asked (None: every committed one) that have
        a committed offset."""
        if isinstance(group_specs, str):
            group_specs = {group_specs: None}
        elif not isinstance(group_specs, dict):
            group_specs = {g: None for g in group_specs}
        out = {}
        for group_id, partitions in group_specs.items():
            topics = None
            if partitions is not None:
                by_topic: dict[str, list[int]] = {}
                for tp in partitions:
                    by_topic.setdefault(tp.topic, []).append(tp.partition)
                topics = tuple(OffsetFetchRequestTopic(t, tuple(ps))
                               for t, ps in by_topic.items())
            response = self._transport.call(self._coordinator_of(group_id),
                                            OffsetFetchRequest(group_id, topics))
            error = error_from(response.error_code, response.error_message)
            if error is not None:
                raise error
            out[group_id] = {TopicPartition(t.name, p.partition_index): OffsetAndMetadata(
                p.committed_offset, p.metadata or "", p.committed_leader_epoch)
                for t in response.topics for p in t.partitions if p.committed_offset >= 0}
        return out

    def delete_groups(self, group_ids, group_coordinator_id=None) -> dict[str, Exception | None]:
        """Delete empty groups and their committed offsets (DeleteGroups to each group's
        coordinator); a non-empty group is refused. ``{group: error or None}``."""
        out: dict[str, Exception | None] = {}
        for group_id in group_ids:
            try:
                node = self._coordinator_of(group_id, group_coordinator_id)
                [result] = self._send_and_wait(node, DeleteGroupsRequest((group_id,))).results
                out[group_id] = error_from(result.error_code, result.error_message)
            except KafkaError as error:
                out[group_id] = error
        return out

    def _commit(self, group_id: str, offsets, group_coordinator_id: int | None) -> None:
        """OffsetCommit from outside the group (generation -1, no member id) to its
        coordinator, acknowledged once stored; raises the first partition's error."""
        by_topic: dict[str, list[OffsetCommitRequestPartition]] = {}
        for tp, om in offsets.items():
            by_topic.setdefault(tp.topic, []).append(OffsetCommitRequestPartition(
                tp.partition, om.offset, om.leader_epoch, om.metadata))
        node = self._coordinator_of(group_id, group_coordinator_id)
        response = self._send_and_wait(node, OffsetCommitRequest(group_id, tuple(
            OffsetCommitRequestTopic(t, tuple(ps)) for t, ps in by_topic.items())))
        for t in response.topics:
            for p in t.partitions:
                error = error_from(p.error_code, p.error_message)
                if error is not None:
                    raise error

    def alter_group_offsets(self, group_id, offsets, group_coordinator_id=None) -> dict:
        """Set a group's committed offsets; the group must have no active members."""
        offsets = {tp: o if isinstance(o, OffsetAndMetadata) else OffsetAndMetadata(o, "", -1)
                   for tp, o in offsets.items()}
        self._commit(group_id, offsets, group_coordinator_id)
        return {tp: NoError for tp in offsets}

    def reset_group_offsets(self, group_id, offset_specs, group_coordinator_id=None) -> dict:
        """Reset committed offsets to the earliest/latest offset, a time, or a number —
        ``kafka-consumer-groups --reset-offsets --to-earliest|--to-latest|--to-datetime``.
        Each target is clamped to the partition's [log start, high watermark]."""
        from kafka.admin import OffsetSpec, OffsetTimestamp

        targets = {}
        with self._transport.lock:
            for tp, spec in offset_specs.items():
                start = offset_for(self._transport, tp, -2).offset
                end = offset_for(self._transport, tp, -1).offset
                if isinstance(spec, OffsetTimestamp):
                    found = offset_for(self._transport, tp, int(spec)).offset
                    offset = end if found == -1 else found
                elif spec is OffsetSpec.EARLIEST:
                    offset = start
                elif spec is OffsetSpec.LATEST:
                    offset = end
                elif isinstance(spec, int) and not isinstance(spec, OffsetSpec):
                    offset = spec
                else:
                    raise ValueError(f"reset target for {tp} must be OffsetSpec.EARLIEST, "
                                     f"OffsetSpec.LATEST, OffsetTimestamp(ms) or an int, "
                                     f"not {spec!r}")
                targets[tp] = OffsetAndMetadata(min(max(offset, start), end), "", -1)
        self._commit(group_id, targets, group_coordinator_id)
        return targets

    # kafka-python 2.x names, as the lesson's generation of tutorials uses them
    def list_consumer_groups(self, broker_ids=None) -> list[tuple[str, str]]:
        return [(g["group_id"], g["protocol_type"]) for g in self.list_groups()]

    def describe_consumer_groups(self, group_ids, group_coordinator_id=None,
                                 include_authorized_operations=False) -> list[dict]:
        described = self.describe_groups(group_ids)
        return [described[g] for g in group_ids]

    def list_consumer_group_offsets(self, group_id, group_coordinator_id=None,
                                    partitions=None) -> dict:
        return self.list_group_offsets({group_id: partitions})[group_id]

    def delete_consumer_groups(self, group_ids, group_coordinator_id=None) -> list[tuple]:
        return [(g, type(e) if e is not None else NoError)
                for g, e in self.delete_groups(group_ids).items()]

    # --- offsets -------------------------------------------------------------------------------
    def list_partition_offsets(self, topic_partition_specs,
                               isolation_level=IsolationLevel.READ_UNCOMMITTED,
                               timeout_ms=None) -> dict:
        """kafka-python's ListOffsets by spec: ``{TopicPartition: OffsetSpec.EARLIEST,
        OffsetSpec.LATEST, OffsetTimestamp(ms) or a time in ms}`` -> ``{TopicPartition:
        OffsetAndTimestamp}`` (offset -1 when no record is that new), each partition asked of
        its leader with fresh metadata. A partition refused or without a reachable leader
        raises its error (kafka-python retries NOT_LEADER_OR_FOLLOWER until ``timeout_ms``;
        in-process metadata is never stale, so there is nothing to retry)."""
        for tp, spec in topic_partition_specs.items():
            if not isinstance(spec, int):
                raise TypeError(f"Unsupported ts type {type(spec)}, expected int or OffsetSpec "
                                f"(for {tp})")
        metadata = ClusterMetadata(self._transport, allow_auto_create_topics=False)
        metadata.update(sorted({tp.topic for tp in topic_partition_specs}))
        found, failed = list_offsets(
            self._transport, metadata, {tp: int(spec) for tp, spec in
                                        topic_partition_specs.items()},
            IsolationLevel.build_from(isolation_level).value)
        for tp, error in failed.items():
            reason = error.args[0] if error.args else type(error).__name__
            raise type(error)(f"ListOffsetsRequest failed for {tp}: {reason}")
        return found

    # --- records -------------------------------------------------------------------------------
    def delete_records(self, records_to_delete, timeout_ms=None, partition_leader_id=None
                       ) -> dict:
        """Kafka's DeleteRecords, as kafka-python: ``{TopicPartition: offset}`` (-1: the high
        watermark) -> ``{TopicPartition: {"partition_index", "low_watermark", "error_code"}}``.

        Each partition's leader moves its log start offset to the offset and answers once its
        followers on live brokers have followed (``low_watermark``); older segments go at the
        next retention check. Partitions answered NOT_LEADER_OR_FOLLOWER (or whose leader is
        missing or down) are retried with fresh metadata until ``timeout_ms`` (default
        ``request_timeout_ms``) — unless ``partition_leader_id`` names the broker to ask. A
        refused partition raises its error (several: ``BrokerResponseError``), as kafka-python.
        """
        from ..api.messages.records import (
            DeleteRecordsPartition,
            DeleteRecordsRequest,
            DeleteRecordsTopic,
        )
        from ..errors import (
            BrokerResponseError,
            KafkaTimeoutError,
            LeaderNotAvailableError,
            NotLeaderForPartitionError,
            UnknownTopicOrPartitionError,
        )
        from ..structs import TopicPartition

        timeout_ms = self._validate_timeout(timeout_ms)
        transport = self._transport
        deadline = transport.now_ms() + timeout_ms
        pending, results, errors = set(records_to_delete), {}, {}
        while pending:
            if partition_leader_id is None:
                leaders = {}
                for topic in self._metadata(sorted({tp.topic for tp in pending})).topics:
                    for p in topic.partitions:
                        tp = TopicPartition(topic.name, p.partition_index)
                        if tp in pending:
                            leaders.setdefault(p.leader_id, set()).add(tp)
                unknown = pending - set().union(*leaders.values())
                if unknown:
                    raise UnknownTopicOrPartitionError(
                        "The following partitions are not known: "
                        + ", ".join(str(tp) for tp in sorted(unknown)))
            else:
                leaders = {partition_leader_id: set(pending)}
            retry = leaders.pop(-1, set())  # offline: ask again once a leader is elected
            if retry and transport.now_ms() >= deadline:
                raise LeaderNotAvailableError(
                    f"DeleteRecords: {', '.join(str(tp) for tp in sorted(retry))} had no "
                    f"leader within timeout_ms={timeout_ms}")
            remaining = max(deadline - transport.now_ms(), 0)
            answers: list = []
            for leader, tps in leaders.items():
                topics = {}
                for tp in sorted(tps):
                    topics.setdefault(tp.topic, []).append(
                        DeleteRecordsPartition(tp.partition, records_to_delete[tp]))
                request = DeleteRecordsRequest(
                    tuple(DeleteRecordsTopic(t, tuple(ps)) for t, ps in topics.items()),
                    remaining)
                transport.send(leader, request, lambda r, tps=tps: answers.append((tps, r)))
            if not transport.wait_for(lambda: len(answers) == len(leaders),
                                      remaining + transport.round_trip_ms):
                raise KafkaTimeoutError(f"DeleteRecords: broker(s) {sorted(leaders)} did not "
                                        f"answer within timeout_ms={timeout_ms}")
            for tps, answer in answers:
                if isinstance(answer, Exception):  # the leader is down or missing
                    if partition_leader_id is not None or transport.now_ms() >= deadline:
                        raise answer
                    retry |= tps
                    continue
                for topic in answer.topics:
                    for p in topic.partitions:
                        tp = TopicPartition(topic.name, p.partition_index)
                        if (p.error_code == NotLeaderForPartitionError.errno
                                and partition_leader_id is None
                                and transport.now_ms() < deadline):
                            retry.add(tp)
                            continue
                        results[tp] = {"partition_index": p.partition_index,
                                       "low_watermark": p.low_watermark,
                                       "error_code": p.error_code}
                        if p.error_code:
                            errors[tp] = error_from(p.error_code, p.error_message)
            pending = retry
            if pending:  # kafka-python's retry_backoff_ms before asking again
                transport.wait_for(lambda: False, min(self.config["retry_backoff_ms"],
                                                      max(deadline - transport.now_ms(), 0)))
        if len(errors) == 1:
            [(tp, error)] = errors.items()
            raise type(error)(f"Error deleting records from topic {tp.topic} partition "
                              f"{tp.partition}: {error}")
        if errors:
            raise BrokerResponseError(
                "The following errors occured when trying to delete records: " + ", ".join(
                    f"{tp.topic}(partition={tp.partition}): {type(e).__name__}: {e}"
                    for tp, e in errors.items()))
        return results

    # --- cluster -------------------------------------------------------------------------------
    def describe_cluster(self) -> dict:
        """The cluster's id, its brokers and a ``controller_id``, in kafka-python's
        DescribeCluster shape.

        As in KRaft Kafka, ``controller_id`` is **a live broker's id**, not the active
        controller's: clients cannot reach the controller quorum (brokers forward controller
        requests to it), so a broker answers with a live, unfenced broker (Kafka picks one at
        random; kafkalab the lowest id, so runs are repeatable), or -1 if there is none. The
        active controller itself is ``cluster.controller.active`` (``controller 1000`` with a
        dedicated quorum), which the events and the architecture picture show.
        """
        response = self._transport.call(None, DescribeClusterRequest(
            include_fenced_brokers=True))
        _raise_first([response])
        # a stopped broker, or one the controller fenced, is listed as fenced
        return {"cluster_id": response.cluster_id, "controller_id": response.controller_id,
                "brokers": [{"broker_id": b.broker_id, "host": b.host, "port": b.port,
                             "rack": b.rack, "is_fenced": b.is_fenced}
                            for b in response.brokers]}

    def close(self) -> None:
        """Nothing to release in-process."""
