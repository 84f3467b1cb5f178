"""SASL/PLAIN authentication of a wire connection, as Kafka's ``SaslServerAuthenticator`` does it.

With a user list the listener is SASL_PLAINTEXT: a client first sends ApiVersions (optional),
then SaslHandshake naming a mechanism, then its credentials — in SaslAuthenticate requests
(handshake v1), or as one raw length-prefixed token (handshake v0). Only PLAIN is enabled.
Without a user list the listener is PLAINTEXT and both SASL requests are answered with
ILLEGAL_SASL_STATE, as Kafka's request layer answers them there.

Invariants: a connection is ``authenticated`` only after a PLAIN token whose user and password
match the list; any other request before that closes the connection; a failed exchange closes
it after its answer.
"""
from __future__ import annotations

import hmac

MECHANISMS = ("PLAIN",)

#: error codes (kafka.errors): UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE,
#: SASL_AUTHENTICATION_FAILED
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58

#: Kafka's ``sasl.server.max.receive.size``: the largest frame before authentication
MAX_RECEIVE_SIZE = 524288


class SaslPlain:
    """One connection's SASL/PLAIN exchange (see the module for the invariants).

    ``stage`` is ``"handshake"`` (nothing yet), ``"authenticate"`` (a SaslAuthenticate is
    due), ``"raw_token"`` (handshake v0: a raw token is due) or ``"done"``."""

    def __init__(self, users: dict[str, str]):
        self._users = users
        self.stage = "handshake"

    @property
    def authenticated(self) -> bool:
        return self.stage == "done"

    def handshake(self, mechanism: str, version: int) -> int:
        """The error code of a SaslHandshake for ``mechanism`` (0: go on)."""
        if self.stage != "handshake":
            return ILLEGAL_SASL_STATE
        if mechanism not in MECHANISMS:
            return UNSUPPORTED_SASL_MECHANISM
        self.stage = "authenticate" if version >= 1 else "raw_token"
        return 0

    def authenticate(self, token: bytes) -> str | None:
        """Check a PLAIN token (``[authzid] NUL user NUL password``); None when it passes,
        else the reason, as Kafka words it."""
        parts = bytes(token).split(b"\x00")
        if len(parts) != 3:
            return ("Invalid SASL/PLAIN response: expected 3 tokens, got "
                    f"{len(parts)}")
        _authzid, user, password = (part.decode("utf-8", "replace") for part in parts)
        expected = self._users.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return "Authentication failed: Invalid username or password"
        self.stage = "done"
        return None
