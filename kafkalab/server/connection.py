"""One client connection's side of Kafka's protocol, without I/O (sans-I/O).

Bytes in (:meth:`Connection.receive`), one complete request frame at a time out
(:meth:`Connection.next_frame`), and for each frame a decision (:meth:`Connection.handle`):

* :class:`Reply` — answered here, with no broker involved: ApiVersions, SaslHandshake,
  SaslAuthenticate (then perhaps close, as Kafka does after a failed authentication);
* :class:`Dispatch` — engine requests for the broker (:mod:`.exchanges`), whose answers
  :meth:`Connection.encode` turns into the response frame;
* :class:`Close` — why the connection must close: a frame too big (``socket.request.max.bytes``,
  or Kafka's 512 KiB before authentication) or not a request at all, an API or version not
  served (Kafka closes the connection for those, answering only ApiVersions with
  UNSUPPORTED_VERSION), a body that does not decode, a request before SASL authentication.

Like Kafka's broker, a connection works on one request at a time: the next frame is taken only
once the previous one's answer is sent (Kafka mutes the channel meanwhile), so responses leave
in request order and a pipelining client waits in its own socket buffer.

Invariants: ``next_frame`` never returns more than one frame per answered request; every frame
taken gets exactly one decision; a frame never leaves the inbox partly.
"""
from __future__ import annotations

import struct
from typing import Any, NamedTuple

from kafka.protocol.metadata import ApiVersionsResponse
from kafka.protocol.sasl import SaslAuthenticateResponse, SaslHandshakeResponse

from .exchanges import Exchange, exchange_for
from .sasl import ILLEGAL_SASL_STATE, MAX_RECEIVE_SIZE, SASL_AUTHENTICATION_FAILED, SaslPlain
from .versions import (
    ADVERTISED_MIN_VERSION, API_VERSIONS_KEY, SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY, SERVED,
    is_served,
)

_SIZE = struct.Struct(">i")
_HEADER = struct.Struct(">hhi")  # api key, api version, correlation id
UNSUPPORTED_VERSION = 35


class Reply(NamedTuple):
    """A response frame made here; ``close`` after sending it."""

    frame: bytes
    close: bool = False


class Dispatch(NamedTuple):
    """Engine requests to run; their answers become the response to ``correlation_id``."""

    exchange: Exchange
    api_key: int
    api_version: int
    correlation_id: int


class Close(NamedTuple):
    """Close the connection now, for ``reason``."""

    reason: str


def _frame(message: Any, correlation_id: int) -> bytes:
    message.with_header(correlation_id=correlation_id)
    return message.encode(header=True, framed=True)


def api_versions_response(version: int, error_code: int = 0) -> Any:
    """What the server's ApiVersions answer lists (:data:`.versions.SERVED`, with
    :data:`.versions.ADVERTISED_MIN_VERSION`)."""
    entry = ApiVersionsResponse._struct.fields["api_keys"].data_class
    keys = [entry(version=version, api_key=key,
                  min_version=ADVERTISED_MIN_VERSION.get(key, api.min_version),
                  max_version=api.max_version) for key, api in sorted(SERVED.items())]
    return ApiVersionsResponse(version=version, error_code=error_code, api_keys=keys)


class Connection:
    """The protocol state of one client connection (see the module for the invariants)."""

    def __init__(self, max_request_bytes: int, sasl_users: dict[str, str] | None = None):
        self.max_request_bytes = max_request_bytes
        self.sasl = SaslPlain(sasl_users) if sasl_users is not None else None
        self.inbox = bytearray()
        #: a request is being answered: no next frame until its answer is sent
        self.busy = False

    @property
    def authenticated(self) -> bool:
        return self.sasl is None or self.sasl.authenticated

    def receive(self, data: bytes) -> None:
        self.inbox += data

    def next_frame(self) -> bytes | Close | None:
        """The next complete request frame (without its size), a :class:`Close` for a size
        that cannot be a request, or None (busy, or not all of it here yet)."""
        if self.busy or len(self.inbox) < 4:
            return None
        size = _SIZE.unpack_from(self.inbox)[0]
        limit = self.max_request_bytes if self.authenticated else MAX_RECEIVE_SIZE
        if size < 0 or size > limit:
            setting = ("socket.request.max.bytes" if self.authenticated
                       else "sasl.server.max.receive.size")
            return Close(f"Invalid receive (size = {size} larger than {limit}, the "
                         f"{setting})" if size > 0 else f"Invalid receive (size = {size})")
        if len(self.inbox) < 4 + size:
            return None
        frame = bytes(self.inbox[4:4 + size])
        del self.inbox[:4 + size]
        self.busy = True
        return frame

    def has_frame(self) -> bool:
        """A whole frame (or at least its size) waits in the inbox: reading more cannot help
        until it is taken."""
        if len(self.inbox) < 4:
            return False
        size = _SIZE.unpack_from(self.inbox)[0]
        return size < 0 or len(self.inbox) >= 4 + min(size, self.max_request_bytes + 1)

    def answered(self) -> None:
        """The answer to the current request is sent (or none is due): take the next."""
        self.busy = False

    def handle(self, frame: bytes) -> Reply | Dispatch | Close | None:
        """What to do with one request frame (None: nothing, no answer is due)."""
        if self.sasl is not None and self.sasl.stage == "raw_token":
            return self._raw_token(frame)
        if len(frame) < _HEADER.size:
            return Close(f"a request frame of {len(frame)} bytes cannot hold a request header")
        api_key, api_version, correlation_id = _HEADER.unpack_from(frame)
        if api_key == API_VERSIONS_KEY:
            return self._api_versions(frame, api_version, correlation_id)
        if not is_served(api_key, api_version):
            what = (f"version {api_version} of API {api_key}" if api_key in SERVED
                    else f"API key {api_key}")
            return Close(f"Unsupported {what}: see the ApiVersions answer for what is served")
        if not self.authenticated and api_key not in (SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY):
            return Close(f"Unexpected Kafka request of type {SERVED[api_key].request.name} "
                         "during SASL handshake")
        try:
            message = SERVED[api_key].request.decode(frame, version=api_version, header=True)
        except Exception as error:  # noqa: BLE001 — any malformed body closes, as in Kafka
            return Close(f"Error getting request for apiKey: {api_key}, apiVersion: "
                         f"{api_version}: {type(error).__name__}: {error}")
        if api_key == SASL_HANDSHAKE_KEY:
            return self._handshake(message, api_version, correlation_id)
        if api_key == SASL_AUTHENTICATE_KEY:
            return self._authenticate(message, api_version, correlation_id)
        try:
            exchange = exchange_for(message, api_version, message.header)
        except Exception as error:  # noqa: BLE001 — a request the engine cannot take
            return Close(f"Invalid {SERVED[api_key].request.name} request: "
                         f"{type(error).__name__}: {error}")
        if exchange.respond is None and not exchange.requests:
            return None
        return Dispatch(exchange, api_key, api_version, correlation_id)

    def encode(self, dispatch: Dispatch, answers: list) -> bytes:
        """The response frame for a dispatched request, from the engine's answers."""
        return _frame(dispatch.exchange.respond(answers), dispatch.correlation_id)

    # --- answered here --------------------------------------------------------------------------
    def _api_versions(self, frame: bytes, version: int, correlation_id: int) -> Reply | Close:
        api = SERVED[API_VERSIONS_KEY]
        if version > api.max_version:  # Kafka answers in v0, so the client can step down
            return Reply(_frame(api_versions_response(0, UNSUPPORTED_VERSION), correlation_id))
        try:
            api.request.decode(frame, version=version, header=True)
        except Exception as error:  # noqa: BLE001
            return Close(f"Error getting request for apiKey: {API_VERSIONS_KEY}, apiVersion: "
                         f"{version}: {type(error).__name__}: {error}")
        return Reply(_frame(api_versions_response(version), correlation_id))

    def _handshake(self, message: Any, version: int, correlation_id: int) -> Reply:
        if self.sasl is None:
            code = ILLEGAL_SASL_STATE
        else:
            code = self.sasl.handshake(message.mechanism, version)
        response = SaslHandshakeResponse(version=version, error_code=code,
                                         mechanisms=["PLAIN"] if self.sasl else [])
        return Reply(_frame(response, correlation_id), close=code != 0 and self.sasl is not None)

    def _authenticate(self, message: Any, version: int, correlation_id: int) -> Reply:
        if self.sasl is None or self.sasl.stage != "authenticate":
            state = ("this listener is PLAINTEXT (no SASL)" if self.sasl is None
                     else "SaslHandshake must come first" if self.sasl.stage == "handshake"
                     else "already authenticated")
            response = SaslAuthenticateResponse(
                version=version, error_code=ILLEGAL_SASL_STATE,
                error_message=f"Unexpected SaslAuthenticate request: {state}", auth_bytes=b"")
            return Reply(_frame(response, correlation_id), close=self.sasl is not None)
        failure = self.sasl.authenticate(message.auth_bytes)
        response = SaslAuthenticateResponse(
            version=version, error_code=0 if failure is None else SASL_AUTHENTICATION_FAILED,
            error_message=failure, auth_bytes=b"", session_lifetime_ms=0)
        return Reply(_frame(response, correlation_id), close=failure is not None)

    def _raw_token(self, frame: bytes) -> Reply | Close:
        failure = self.sasl.authenticate(frame)
        if failure is not None:
            return Close(failure)
        return Reply(_SIZE.pack(0))
