"""Records of the internal topic ``__consumer_offsets``, in Kafka's binary formats.

A group's committed offsets and its membership are stored as records of this compacted topic,
so they outlive consumers and can be read like any topic. The partition of a group is
``abs(java_hash(group_id)) % 50`` as in Kafka.

Schemas (Kafka's ``GroupCoordinatorRecordSerde``)::

    OffsetCommitKey   v1: group string, topic string, partition int32
    OffsetCommitValue v3: offset int64, leader_epoch int32, metadata string,
                          commit_timestamp int64
    GroupMetadataKey  v2: group string
    GroupMetadataValue v3: protocol_type string, generation int32, protocol string?,
                          leader string?, current_state_timestamp int64,
                          members [member_id string, group_instance_id string?,
                                   client_id string, client_host string,
                                   rebalance_timeout int32, session_timeout int32,
                                   subscription bytes, assignment bytes]

A null value (tombstone) deletes a key when the topic is compacted.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

TOPIC = "__consumer_offsets"
PARTITIONS = 50


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode`` (UTF-16 code units, 32-bit overflow)."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def partition_for(group_id: str, partitions: int = PARTITIONS) -> int:
    """Kafka's ``Utils.abs(groupId.hashCode()) % groupMetadataTopicPartitionCount``.

    ``Utils.abs`` is ``Math.abs`` with ``Integer.MIN_VALUE -> 0`` — not the partitioner's
    ``toPositive`` (``& 0x7fffffff``), which differs for negative hash codes."""
    h = java_string_hash(group_id)
    return (0 if h == -2**31 else abs(h)) % partitions


# --- primitive writers and readers ---------------------------------------------------------------
def _str(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    raw = s.encode("utf-8")
    return struct.pack(">h", len(raw)) + raw


def _bytes(b: bytes) -> bytes:
    return struct.pack(">i", len(b)) + b


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def blob(self) -> bytes:
        n = self.take(">i")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


# --- offset commits ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetCommit:
    group: str
    topic: str
    partition: int
    offset: int | None  # None: a tombstone (the offset was deleted or expired)
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp: int = -1


def encode_offset_commit(c: OffsetCommit) -> tuple[bytes, bytes | None]:
    key = struct.pack(">h", 1) + _str(c.group) + _str(c.topic) + struct.pack(">i", c.partition)
    if c.offset is None:
        return key, None
    value = (struct.pack(">hqi", 3, c.offset, c.leader_epoch) + _str(c.metadata)
             + struct.pack(">q", c.commit_timestamp))
    return key, value


# --- group metadata ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberRecord:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True)
class GroupMetadataRecord:
    group: str
    protocol_type: str = "consumer"
    generation: int = 0
    protocol: str | None = None
    leader: str | None = None
    state_timestamp: int = -1
    members: tuple[MemberRecord, ...] = ()
    deleted: bool = False  # a tombstone: the group is gone


def encode_group_metadata(g: GroupMetadataRecord) -> tuple[bytes, bytes | None]:
    key = struct.pack(">h", 2) + _str(g.group)
    if g.deleted:
        return key, None
    value = (struct.pack(">h", 3) + _str(g.protocol_type) + struct.pack(">i", g.generation)
             + _str(g.protocol) + _str(g.leader) + struct.pack(">q", g.state_timestamp)
             + struct.pack(">i", len(g.members)))
    for m in g.members:
        value += (_str(m.member_id) + _str(m.group_instance_id) + _str(m.client_id)
                  + _str(m.client_host)
                  + struct.pack(">ii", m.rebalance_timeout_ms, m.session_timeout_ms)
                  + _bytes(m.subscription) + _bytes(m.assignment))
    return key, value


def encode(record: "OffsetCommit | GroupMetadataRecord") -> tuple[bytes, bytes | None]:
    """The key and value of either kind of record."""
    if isinstance(record, OffsetCommit):
        return encode_offset_commit(record)
    return encode_group_metadata(record)


def decode(key: bytes, value: bytes | None) -> OffsetCommit | GroupMetadataRecord:
    """Decode a ``__consumer_offsets`` record into an OffsetCommit or a GroupMetadataRecord."""
    r = _Reader(key)
    version = r.take(">h")
    if version in (0, 1):
        group, topic, partition = r.string(), r.string(), r.take(">i")
        if value is None:
            return OffsetCommit(group, topic, partition, None)
        v = _Reader(value)
        v.take(">h")
        offset, epoch = v.take(">q"), v.take(">i")
        return OffsetCommit(group, topic, partition, offset, epoch, v.string() or "",
                            v.take(">q"))
    if version == 2:
        group = r.string()
        if value is None:
            return GroupMetadataRecord(group, deleted=True)
        v = _Reader(value)
        v.take(">h")
        protocol_type, generation = v.string(), v.take(">i")
        protocol, leader, ts = v.string(), v.string(), v.take(">q")
        members = []
        for _ in range(v.take(">i")):
            members.append(MemberRecord(v.string(), v.string(), v.string(), v.string(),
                                        v.take(">i"), v.take(">i"), v.blob(), v.blob()))
        return GroupMetadataRecord(group, protocol_type, generation, protocol, leader, ts,
                                   tuple(members))
    raise ValueError(f"unknown __consumer_offsets key version {version}")
