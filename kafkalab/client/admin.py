"""KafkaAdminClient: kafka-python's admin API over the in-process engine.

Results have kafka-python's shapes (dicts named after the protocol's fields), and errors are
raised as kafka-python raises them (``raise_errors=True``), with a reason.

Invariant: a call that raises has changed nothing (topics are validated before any is created).
"""
from __future__ import annotations

from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.admin.client import KafkaAdminClient as _KafkaPythonAdmin

from ..config import TOPIC_CONFIGS, kafka_string
from ..errors import InvalidRequestError, KafkaError
from .config import merge_config
from .transport import transport_for

DEFAULT_CONFIG = dict(_KafkaPythonAdmin.DEFAULT_CONFIG)

_CONFIG_TYPES = {"int": "LONG", "bool": "BOOLEAN", "string": "STRING", "list": "LIST",
                 "double": "DOUBLE"}


def _topic_specs(new_topics) -> list[dict[str, Any]]:
    """kafka-python accepts names, a {name: options} dict, or NewTopic objects."""
    if isinstance(new_topics, dict):
        return [{"name": name, "num_partitions": o.get("num_partitions", -1),
                 "replication_factor": o.get("replication_factor", -1),
                 "assignments": o.get("assignments") or None, "configs": o.get("configs", {})}
                for name, o in new_topics.items()]
    specs = []
    for t in new_topics:
        if isinstance(t, str):
            specs.append({"name": t, "num_partitions": -1, "replication_factor": -1,
                          "assignments": None, "configs": {}})
        elif isinstance(t, NewTopic):
            specs.append({"name": t.name, "num_partitions": t.num_partitions,
                          "replication_factor": t.replication_factor,
                          "assignments": t.replica_assignments or None,
                          "configs": t.topic_configs})
        else:
            raise TypeError(f"create_topics() takes topic names, NewTopic objects or a dict, "
                            f"not {t!r}")
    if not specs:
        raise ValueError(f"No valid topics found in new_topics: {new_topics}")
    return specs


class KafkaAdminClient:
    DEFAULT_CONFIG = DEFAULT_CONFIG

    def __init__(self, **configs: Any):
        self.config = merge_config(DEFAULT_CONFIG, configs, "KafkaAdminClient")
        self._transport = transport_for(self.config["bootstrap_servers"])
        self._cluster = self._transport.cluster

    # --- topics --------------------------------------------------------------------------------
    def create_topics(self, new_topics, timeout_ms=None, validate_only=False, raise_errors=True,
                      wait_for_metadata=False) -> dict:
        results = []
        with self._cluster.lock:
            for spec in _topic_specs(new_topics):
                error = self._create_one(spec, validate_only)
                if error is not None and raise_errors:
                    raise error
                results.append({"name": spec["name"],
                                "error_code": 0 if error is None else error.errno,
                                "error_message": None if error is None else str(error)})
        return {"topics": results}

    def _create_one(self, spec: dict, validate_only: bool) -> KafkaError | None:
        cluster = self._cluster
        try:
            cluster.create_topic(spec["name"], spec["num_partitions"],
                                 spec["replication_factor"], spec["configs"],
                                 spec["assignments"], validate_only=validate_only)
        except KafkaError as error:
            return error
        return None

    def delete_topics(self, topics, timeout_ms=None, raise_errors=True) -> dict:
        results = []
        with self._cluster.lock:
            for name in topics:
                try:
                    self._cluster.delete_topic(name)
                    results.append({"name": name, "error_code": 0, "error_message": None})
                except KafkaError as error:
                    if raise_errors:
                        raise
                    results.append({"name": name, "error_code": error.errno,
                                    "error_message": str(error)})
        return {"topics": results}

    def list_topics(self) -> list[str]:
        return self._transport.topic_names(include_internal=True)

    def describe_topics(self, topics=None) -> list[dict]:
        with self._cluster.lock:
            names = self.list_topics() if topics is None else list(topics)
            return [self._describe_one(name) for name in names]

    def _describe_one(self, name: str) -> dict:
        topic = self._cluster.topic(name)
        return {"error_code": 0, "name": name, "is_internal": topic.internal,
                "partitions": [{"error_code": 0, "partition_index": p.index,
                                "leader_id": -1 if p.leader is None else p.leader,
                                "leader_epoch": p.leader_epoch, "replica_nodes": list(p.replicas),
                                "isr_nodes": list(p.isr),
                                "offline_replicas": [b for b in p.replicas
                                                     if not self._cluster.brokers[b].alive]}
                               for p in topic.partitions]}

    def create_partitions(self, topic_partitions, timeout_ms=None, validate_only=False,
                          raise_errors=True) -> dict:
        results = []
        with self._cluster.lock:
            for name, spec in topic_partitions.items():
                total = spec.total_count if isinstance(spec, NewPartitions) else \
                    spec["count"] if isinstance(spec, dict) else spec
                try:
                    self._cluster.create_partitions(name, total, validate_only=validate_only)
                    results.append({"topic_name": name, "error_code": 0, "error_message": None})
                except KafkaError as error:
                    if raise_errors:
                        raise
                    results.append({"topic_name": name, "error_code": error.errno,
                                    "error_message": str(error)})
        return {"results": results}

    # --- configs -------------------------------------------------------------------------------
    def describe_configs(self, config_resources, include_synonyms=False,
                         config_filter="modified") -> dict:
        if config_filter not in ("modified", "all", "dynamic", "MODIFIED", "ALL", "DYNAMIC"):
            raise ValueError(f"config_filter must be 'modified', 'dynamic' or 'all', not "
                             f"{config_filter!r}")
        out: dict[str, dict] = {}
        with self._cluster.lock:
            for resource in config_resources:
                kind, entries = self._describe_resource(resource, config_filter.lower())
                out.setdefault(kind, {})[resource.name] = entries
        return out

    def _describe_resource(self, resource: ConfigResource, config_filter: str):
        if resource.resource_type == ConfigResourceType.TOPIC:
            config = self._cluster.topic(resource.name).config
            names = list(resource.configs) if resource.configs else sorted(TOPIC_CONFIGS)
            entries = {}
            for name in names:
                if name not in TOPIC_CONFIGS:
                    continue
                source = config.source(name)
                if config_filter == "modified" and source == "DEFAULT_CONFIG":
                    continue
                entries[name] = {"value": kafka_string(config[name]), "read_only": False,
                                 "config_source": source, "is_sensitive": False,
                                 "synonyms": [], "config_type": _CONFIG_TYPES[
                                     TOPIC_CONFIGS[name].type],
                                 "documentation": TOPIC_CONFIGS[name].doc}
            return "topic", entries
        if resource.resource_type == ConfigResourceType.BROKER:
            from ..config import BROKER_CONFIGS

            broker = self._cluster.config
            return "broker", {name: {"value": kafka_string(broker[name]), "read_only": True,
                                     "config_source": "STATIC_BROKER_CONFIG"
                                     if name in broker.overrides else "DEFAULT_CONFIG",
                                     "is_sensitive": False, "synonyms": [],
                                     "config_type": _CONFIG_TYPES[BROKER_CONFIGS[name].type],
                                     "documentation": BROKER_CONFIGS[name].doc}
                              for name in sorted(BROKER_CONFIGS)
                              if config_filter != "modified" or name in broker.overrides}
        raise InvalidRequestError(f"describe_configs supports TOPIC and BROKER resources, not "
                                  f"{resource.resource_type!r}")

    def alter_configs(self, config_resources, validate_only=False, raise_on_unknown=True,
                      incremental=None) -> dict:
        """Set (or with ``('DELETE', None)`` remove) topic configs, all or nothing per topic.

        Returns kafka-python's ``{"topic": {name: "OK"}}``. Differs from kafka-python on
        purpose: a refused change (unknown name, invalid value) raises
        ``InvalidConfigurationError`` saying what is allowed, instead of coming back as an error
        string in the result that is easy to overlook.
        """
        out: dict[str, dict] = {}
        with self._cluster.lock:
            for resource in config_resources:
                if resource.resource_type != ConfigResourceType.TOPIC:
                    raise InvalidRequestError("alter_configs changes TOPIC resources; broker "
                                              "configs are fixed when the Cluster is created")
                to_set, to_delete = {}, []
                for name, value in (resource.configs or {}).items():
                    op, value = value if isinstance(value, tuple) else ("SET", value)
                    if str(getattr(op, "name", op)).upper() == "DELETE":
                        to_delete.append(name)
                    else:
                        to_set[name] = value
                topic = self._cluster.topic(resource.name)
                if validate_only:
                    from ..config import TopicConfig

                    TopicConfig(topic.config.broker, topic.config.overrides).alter(to_set,
                                                                                   to_delete)
                else:
                    self._cluster.alter_topic_config(resource.name, to_set, to_delete)
                out.setdefault("topic", {})[resource.name] = "OK"
        return out

    # --- consumer groups (kafka-python 3 names; 2.x names below) ---------------------------------
    def list_groups(self, broker_ids=None, states_filter=None, types_filter=None) -> list[dict]:
        with self._cluster.lock:
            groups = self._cluster.group_coordinator.groups.values()
            # a standalone group (commits only, never a member) has no protocol type in Kafka
            return [{"group_id": g.group_id, "protocol_type": g.protocol_type or "",
                     "group_state": g.state.value, "group_type": "classic"}
                    for g in sorted(groups, key=lambda g: g.group_id)
                    if not states_filter or g.state.value in states_filter]

    def describe_groups(self, group_ids, group_coordinator_id=None,
                        include_authorized_operations=False) -> dict[str, dict]:
        from kafka.protocol.consumer.metadata import (
            ConsumerProtocolAssignment,
            ConsumerProtocolSubscription,
        )

        out = {}
        with self._cluster.lock:
            groups = self._cluster.group_coordinator.groups
            for group_id in group_ids:
                g = groups.get(group_id)
                if g is None:
                    out[group_id] = {"group_id": group_id, "group_state": "Dead",
                                     "protocol_type": "", "protocol_data": "", "members": [],
                                     "authorized_operations": None, "error": None}
                    continue
                members = [{"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                            "client_id": m.client_id, "client_host": m.client_host,
                            "member_metadata": ConsumerProtocolSubscription.decode(
                                m.metadata_for(g.protocol)) if g.protocol else None,
                            "member_assignment": ConsumerProtocolAssignment.decode(m.assignment)
                            if m.assignment else None}
                           for m in g.members.values()]
                out[group_id] = {"group_id": group_id, "group_state": g.state.value,
                                 "protocol_type": g.protocol_type or "",
                                 "protocol_data": g.protocol or "",
                                 "members": members, "authorized_operations": None,
                                 "error": None}
        return out

    def list_group_offsets(self, group_specs) -> dict[str, dict]:
        if isinstance(group_specs, str):
            group_specs = {group_specs: None}
        elif not isinstance(group_specs, dict):
            group_specs = {g: None for g in group_specs}
        with self._cluster.lock:
            coordinator = self._cluster.group_coordinator
            return {g: coordinator.fetch_offsets(g, partitions)
                    for g, partitions in group_specs.items()}

    def delete_groups(self, group_ids, group_coordinator_id=None) -> dict[str, Exception | None]:
        """Delete empty groups and their committed offsets; a non-empty group is refused."""
        out = {}
        with self._cluster.lock:
            for group_id in group_ids:
                try:
                    self._cluster.group_coordinator.delete_group(group_id)
                    out[group_id] = None
                except KafkaError as error:
                    out[group_id] = error
        return out

    def alter_group_offsets(self, group_id, offsets, group_coordinator_id=None) -> dict:
        """Set a group's committed offsets; the group must have no active members."""
        from ..structs import OffsetAndMetadata

        offsets = {tp: o if isinstance(o, OffsetAndMetadata) else OffsetAndMetadata(o, "", -1)
                   for tp, o in offsets.items()}
        with self._cluster.lock:
            self._cluster.group_coordinator.commit_offsets(group_id, -1, "", offsets)
        from ..errors import NoError

        return {tp: NoError for tp in offsets}

    def reset_group_offsets(self, group_id, offset_specs, group_coordinator_id=None) -> dict:
        """Reset committed offsets to the earliest/latest offset, a time, or a number —
        ``kafka-consumer-groups --reset-offsets --to-earliest|--to-latest|--to-datetime``.
        Each target is clamped to the partition's [log start, high watermark]."""
        from kafka.admin import OffsetSpec, OffsetTimestamp

        from ..structs import OffsetAndMetadata

        targets = {}
        with self._cluster.lock:
            for tp, spec in offset_specs.items():
                start, _ = self._transport.list_offsets(tp.topic, tp.partition, -2)
                end, _ = self._transport.list_offsets(tp.topic, tp.partition, -1)
                if isinstance(spec, OffsetTimestamp):
                    found, _ = self._transport.list_offsets(tp.topic, tp.partition, int(spec))
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
            self._cluster.group_coordinator.commit_offsets(group_id, -1, "", targets)
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
        from ..errors import NoError

        return [(g, type(e) if e is not None else NoError)
                for g, e in self.delete_groups(group_ids).items()]

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
        with self._cluster.lock:
            fenced = self._cluster.controller.fenced
            # a stopped broker, or one the controller fenced, is listed as fenced
            brokers = [{"broker_id": b.id, "host": b.host, "port": b.port, "rack": None,
                        "is_fenced": not b.alive or b.id in fenced}
                       for b in self._cluster.brokers.values()]
            alive = [b["broker_id"] for b in brokers if not b["is_fenced"]]
            return {"cluster_id": f"kafkalab-{self._cluster.seed}",
                    "controller_id": min(alive) if alive else -1,
                    "brokers": brokers}

    def close(self) -> None:
        """Nothing to release in-process."""
