"""SASL/PLAIN on the wire server: off by default, a user list turns it on (SASL_PLAINTEXT)."""
from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError
from kafka.protocol.metadata import ApiVersionsRequest, MetadataRequest
from kafka.protocol.sasl import SaslAuthenticateRequest, SaslHandshakeRequest

from wire_helpers import RawClient, first_port

USERS = {"alice": "alice-secret"}


def _sasl(served, user: str, password: str) -> dict:
    return {"bootstrap_servers": served.bootstrap_servers, "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN", "sasl_plain_username": user,
            "sasl_plain_password": password}


def test_kafka_python_with_the_right_password_produces(serve_cluster):
    served = serve_cluster(sasl_users=USERS)
    assert served.listeners[0].startswith("SASL_PLAINTEXT://")
    producer = KafkaProducer(**_sasl(served, "alice", "alice-secret"))
    assert producer.send("orders", b"signed").get(timeout=10).offset == 0
    producer.close()


def test_a_wrong_password_is_refused(serve_cluster):
    served = serve_cluster(sasl_users=USERS)
    with pytest.raises(KafkaError):
        KafkaAdminClient(**_sasl(served, "alice", "wrong"), request_timeout_ms=3000,
                         api_version_auto_timeout_ms=3000)
    client = RawClient(first_port(served))
    assert client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1).error_code == 0
    answer = client.request(SaslAuthenticateRequest(auth_bytes=b"\0alice\0wrong"), 2)
    assert answer.error_code == 58  # SASL_AUTHENTICATION_FAILED
    assert answer.error_message == "Authentication failed: Invalid username or password"
    assert client.closed_by_server()


def test_a_request_before_authentication_closes_the_connection(serve_cluster):
    served = serve_cluster(sasl_users=USERS)
    client = RawClient(first_port(served))
    assert client.request(ApiVersionsRequest(), 3).error_code == 0  # allowed first
    client.send(client.frame(MetadataRequest(topics=None), 11))
    assert client.closed_by_server()


def test_an_unsupported_mechanism_is_named_and_the_connection_closed(serve_cluster):
    served = serve_cluster(sasl_users=USERS)
    client = RawClient(first_port(served))
    answer = client.request(SaslHandshakeRequest(mechanism="SCRAM-SHA-512"), 1)
    assert (answer.error_code, answer.mechanisms) == (33, ["PLAIN"])
    assert client.closed_by_server()


def test_a_handshake_v0_takes_one_raw_token(serve_cluster):
    served = serve_cluster(sasl_users=USERS)
    client = RawClient(first_port(served))
    assert client.request(SaslHandshakeRequest(mechanism="PLAIN"), 0).error_code == 0
    token = b"\0alice\0alice-secret"
    client.send(len(token).to_bytes(4, "big") + token)
    assert client.read_frame() == b""  # an empty token: authenticated
    assert client.request(MetadataRequest(topics=None), 11).brokers


def test_sasl_requests_on_a_plaintext_listener_get_illegal_sasl_state(serve_cluster):
    client = RawClient(first_port(serve_cluster()))
    assert client.request(SaslHandshakeRequest(mechanism="PLAIN"), 1).error_code == 34
    assert client.request(MetadataRequest(topics=None), 11).brokers  # still connected
