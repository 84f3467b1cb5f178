"""Which APIs, at which versions, the wire server serves: what its ApiVersions answer says.

The versions are Kafka 3.0's (the broker's ApiVersions answer, as kafka-python's
``BROKER_API_VERSIONS[(3, 0)]`` records it) for every client-facing API kafkalab's request layer
answers — Kafka 3.0 is the last broker whose Fetch and Metadata need no topic ids, which
kafkalab's topics do not have — with three differences. Produce starts at v3 and Fetch at v4,
as in Kafka 4.0: the first versions that carry only v2 record batches (kafkalab stores no older
message format, so it could not answer the older versions faithfully); the answer lists Produce
from v0 all the same, as Kafka 4.0's does (:data:`ADVERTISED_MIN_VERSION`). Broker-internal APIs
(LeaderAndIsr, WriteTxnMarkers ...) are not served to clients, as a KRaft broker does not.

Invariants: every entry names kafka-python's request and response classes of that API key, and
its version range lies within what kafka-python can encode.
"""
from __future__ import annotations

from typing import NamedTuple

from kafka.protocol.admin import (
    AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DeleteGroupsRequest, DeleteGroupsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ListGroupsRequest,
    ListGroupsResponse,
)
from kafka.protocol.consumer import (
    FetchRequest, FetchResponse, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListOffsetsRequest,
    ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    SyncGroupRequest, SyncGroupResponse,
)
from kafka.protocol.metadata import (
    ApiVersionsRequest, ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    MetadataRequest, MetadataResponse,
)
from kafka.protocol.producer import (
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProduceRequest, ProduceResponse, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
)
from kafka.protocol.sasl import (
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
)


class ServedApi(NamedTuple):
    """One API the server answers: kafka-python's classes for it and the versions served."""

    request: type
    response: type
    min_version: int
    max_version: int


def _served(request: type, response: type, min_version: int, max_version: int) -> ServedApi:
    return ServedApi(request, response, min_version, max_version)


#: API key -> what is served
SERVED: dict[int, ServedApi] = {api.request.API_KEY: api for api in (
    _served(ProduceRequest, ProduceResponse, 3, 9),
    _served(FetchRequest, FetchResponse, 4, 12),
    _served(ListOffsetsRequest, ListOffsetsResponse, 0, 7),
    _served(MetadataRequest, MetadataResponse, 0, 11),
    _served(OffsetCommitRequest, OffsetCommitResponse, 0, 8),
    _served(OffsetFetchRequest, OffsetFetchResponse, 0, 8),
    _served(FindCoordinatorRequest, FindCoordinatorResponse, 0, 4),
    _served(JoinGroupRequest, JoinGroupResponse, 0, 7),
    _served(HeartbeatRequest, HeartbeatResponse, 0, 4),
    _served(LeaveGroupRequest, LeaveGroupResponse, 0, 4),
    _served(SyncGroupRequest, SyncGroupResponse, 0, 5),
    _served(DescribeGroupsRequest, DescribeGroupsResponse, 0, 5),
    _served(ListGroupsRequest, ListGroupsResponse, 0, 4),
    _served(SaslHandshakeRequest, SaslHandshakeResponse, 0, 1),
    _served(ApiVersionsRequest, ApiVersionsResponse, 0, 3),
    _served(CreateTopicsRequest, CreateTopicsResponse, 0, 7),
    _served(DeleteTopicsRequest, DeleteTopicsResponse, 0, 6),
    _served(DeleteRecordsRequest, DeleteRecordsResponse, 0, 2),
    _served(InitProducerIdRequest, InitProducerIdResponse, 0, 4),
    _served(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, 0, 4),
    _served(AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 0, 3),
    _served(AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 0, 3),
    _served(EndTxnRequest, EndTxnResponse, 0, 3),
    _served(TxnOffsetCommitRequest, TxnOffsetCommitResponse, 0, 3),
    _served(DescribeConfigsRequest, DescribeConfigsResponse, 0, 4),
    _served(AlterConfigsRequest, AlterConfigsResponse, 0, 2),
    _served(SaslAuthenticateRequest, SaslAuthenticateResponse, 0, 2),
    _served(CreatePartitionsRequest, CreatePartitionsResponse, 0, 3),
    _served(DeleteGroupsRequest, DeleteGroupsResponse, 0, 2),
    _served(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 0, 1),
    _served(DescribeClusterRequest, DescribeClusterResponse, 0, 1),
)}

#: API key -> the lowest version the ApiVersions answer lists, where it is below the lowest
#: served: Produce is listed from v0 though only v3+ is served (older versions close the
#: connection), as Kafka 4.0 does (``ApiKeys.PRODUCE_API_VERSIONS_RESPONSE_MIN_VERSION``,
#: KAFKA-18659): librdkafka before 2.11.1 (Debian's kcat) compresses only for a broker that
#: lists Produce v0, and sends every batch uncompressed otherwise.
ADVERTISED_MIN_VERSION: dict[int, int] = {ProduceRequest.API_KEY: 0}

API_VERSIONS_KEY = ApiVersionsRequest.API_KEY
SASL_HANDSHAKE_KEY = SaslHandshakeRequest.API_KEY
SASL_AUTHENTICATE_KEY = SaslAuthenticateRequest.API_KEY


def is_served(api_key: int, api_version: int) -> bool:
    api = SERVED.get(api_key)
    return api is not None and api.min_version <= api_version <= api.max_version
