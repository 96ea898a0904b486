"""Python client for cofferd (JSON-RPC 2.0 over a Unix socket, one JSON message per line).

Stdlib only, Python 3.9+, one file on purpose: Specter Desktop (or any Flask app) can depend on it
with ``pip install ./client/python`` or simply vendor the file.

    from coffer_client import CofferClient, LockedError

    coffer = CofferClient()                      # $COFFER_SOCKET, else ./.coffer/cofferd.sock
    login = coffer.unlock("alice", password)     # {"session", "username", "expiresAt"}
    coffer.set_service_data("swan", {"token": "..."}, session=login["session"])

Semantics (the same as the TypeScript ``CofferClient``):

* Every call has a timeout (default 30 s). A call made while the daemon is down (e.g. restarting)
  waits for it to come back, up to ``connect_timeout`` (default: the call's timeout) and then raises
  ``UnavailableError``.
* A call in flight when the connection drops raises ``ConnectionLostError`` and is never re-sent:
  it may or may not have been applied, and retrying a write is the caller's decision.
* Thread safety: a small pool of connections, one per concurrently calling thread (up to
  ``max_connections``). Each call owns its connection from send to answer, so no reader thread or
  cross-thread hand-off is needed, timeouts are plain socket timeouts, and a slow call (an unlock
  spends ~0.5 s in Argon2id) never holds up the other threads' calls. Idle connections the daemon
  closed (it restarted) are noticed before reuse and replaced. After ``os.fork()`` the child drops
  the parent's connections instead of sharing them.
* Errors are ``CofferError`` subclasses, one per stable reason (``LockedError``, ``ConflictError``,
  ...), each with ``code``, ``reason``, ``message`` and ``data``.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Type, cast

__all__ = [
    "CofferClient", "CofferError", "ERROR_CLASSES", "DEFAULT_SOCKET", "DEFAULT_MAX_FRAME_BYTES",
    "ParseError", "InvalidRequestError", "MethodNotFoundError", "InvalidParamsError", "InternalError",
    "NotFoundError", "AlreadyExistsError", "ConflictError", "LockedError", "BadPasswordError",
    "PasswordRequiredError", "RateLimitedError", "StorageFailedError", "CorruptError", "ReadOnlyError", "TooLargeError",
    "ShuttingDownError", "BusyError", "UnavailableError", "CofferTimeoutError", "ConnectionLostError",
    "ProtocolViolationError", "ClosedError", "error_from_wire",
]

DEFAULT_SOCKET = "./.coffer/cofferd.sock"
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
JsonObject = Dict[str, Any]

# --------------------------------------------------------------------------------------------------
# Errors: one class per reason of protocol/src/errors.ts (a test checks them against rpc.discover).


class CofferError(Exception):
    """Any failure of a call, remote or local. Switch on the subclass (or ``reason``)."""

    code: int = 0
    reason: str = "UNKNOWN"
    default_message: str = "cofferd error"

    def __init__(self, message: Optional[str] = None, *, data: Optional[JsonObject] = None,
                 code: Optional[int] = None, reason: Optional[str] = None) -> None:
        self.message = message if message is not None else self.default_message
        self.data: JsonObject = dict(data or {})
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, code={self.code}, message={self.message!r})"


# Protocol faults (JSON-RPC 2.0 reserved codes).


class ParseError(CofferError):
    """PARSE_ERROR (-32700)."""
    code, reason = -32700, "PARSE_ERROR"
    default_message = "Parse error: the frame is not valid JSON"


class InvalidRequestError(CofferError):
    """INVALID_REQUEST (-32600)."""
    code, reason = -32600, "INVALID_REQUEST"
    default_message = "Invalid request: not a JSON-RPC 2.0 request object"


class MethodNotFoundError(CofferError):
    """METHOD_NOT_FOUND (-32601)."""
    code, reason = -32601, "METHOD_NOT_FOUND"
    default_message = "Method not found: see rpc.discover for the catalogue"


class InvalidParamsError(CofferError):
    """INVALID_PARAMS (-32602)."""
    code, reason = -32602, "INVALID_PARAMS"
    default_message = "Invalid params"


class InternalError(CofferError):
    """INTERNAL_ERROR (-32603)."""
    code, reason = -32603, "INTERNAL_ERROR"
    default_message = "Internal error: the daemon log has details"


# Application errors, answered by the daemon.


class NotFoundError(CofferError):
    """NOT_FOUND (1001)."""
    code, reason = 1001, "NOT_FOUND"
    default_message = "Not found: no such user, service, document or annotation"


class AlreadyExistsError(CofferError):
    """ALREADY_EXISTS (1002)."""
    code, reason = 1002, "ALREADY_EXISTS"
    default_message = "Already exists: choose another name"


class ConflictError(CofferError):
    """CONFLICT (1003)."""
    code, reason = 1003, "CONFLICT"
    default_message = "Conflict: the revision changed; re-read and retry"

    @property
    def revision(self) -> Optional[str]:
        """The entry's current revision (``data.revision``): re-read, then retry with it."""
        value = self.data.get("revision")
        return value if isinstance(value, str) else None


class LockedError(CofferError):
    """LOCKED (1010)."""
    code, reason = 1010, "LOCKED"
    default_message = "Locked: no valid session; log in again"


class BadPasswordError(CofferError):
    """BAD_PASSWORD (1011)."""
    code, reason = 1011, "BAD_PASSWORD"
    default_message = "Wrong password"


class PasswordRequiredError(CofferError):
    """PASSWORD_REQUIRED (1012)."""
    code, reason = 1012, "PASSWORD_REQUIRED"
    default_message = "This needs a user with a password"


class RateLimitedError(CofferError):
    """RATE_LIMITED (1013)."""
    code, reason = 1013, "RATE_LIMITED"
    default_message = "Too many failed attempts; retry after retry_after_s seconds"

    @property
    def retry_after_s(self) -> Optional[float]:
        """Seconds to wait before the next attempt (``data.retryAfterS``)."""
        value = self.data.get("retryAfterS")
        return float(value) if isinstance(value, (int, float)) else None


class StorageFailedError(CofferError):
    """STORAGE_FAILED (1020)."""
    code, reason = 1020, "STORAGE_FAILED"
    default_message = "The write did not happen; stored data is as before"


class CorruptError(CofferError):
    """CORRUPT (1021)."""
    code, reason = 1021, "CORRUPT"
    default_message = "A file on disk does not parse or authenticate; it was left untouched"


class ReadOnlyError(CofferError):
    """READ_ONLY (1022): the file belongs to another program (Specter's users.json); change it there."""
    code, reason = 1022, "READ_ONLY"
    default_message = "Read-only: this file belongs to another program (Specter); change it there"


class TooLargeError(CofferError):
    """TOO_LARGE (1030)."""
    code, reason = 1030, "TOO_LARGE"
    default_message = "Too large: the frame or document is over its limit"


class ShuttingDownError(CofferError):
    """SHUTTING_DOWN (1040)."""
    code, reason = 1040, "SHUTTING_DOWN"
    default_message = "The daemon is stopping; retry after it restarts"


class BusyError(CofferError):
    """BUSY (1041)."""
    code, reason = 1041, "BUSY"
    default_message = "The daemon is at its connection limit"


# Transport states, raised only by clients.


class UnavailableError(CofferError):
    """UNAVAILABLE (1101)."""
    code, reason = 1101, "UNAVAILABLE"
    default_message = "Cannot reach cofferd: is it running, and is the socket path right?"


class CofferTimeoutError(CofferError, TimeoutError):
    """TIMEOUT (1102). Also a builtin TimeoutError."""
    code, reason = 1102, "TIMEOUT"
    default_message = "No answer from cofferd within the timeout"


class ConnectionLostError(CofferError):
    """CONNECTION_LOST (1103)."""
    code, reason = 1103, "CONNECTION_LOST"
    default_message = (
        "The connection to cofferd closed before the answer came; the call may or may not have been applied")


class ProtocolViolationError(CofferError):
    """PROTOCOL_VIOLATION (1104)."""
    code, reason = 1104, "PROTOCOL_VIOLATION"
    default_message = "cofferd sent something that is not JSON-RPC 2.0"


class ClosedError(CofferError):
    """CLOSED (1105)."""
    code, reason = 1105, "CLOSED"
    default_message = "The client was closed"


ERROR_CLASSES: Dict[str, Type[CofferError]] = {
    cls.reason: cls for cls in (
        ParseError, InvalidRequestError, MethodNotFoundError, InvalidParamsError, InternalError,
        NotFoundError, AlreadyExistsError, ConflictError, LockedError, BadPasswordError,
        PasswordRequiredError, RateLimitedError, StorageFailedError, CorruptError, ReadOnlyError, TooLargeError,
        ShuttingDownError, BusyError, UnavailableError, CofferTimeoutError, ConnectionLostError,
        ProtocolViolationError, ClosedError,
    )
}
_CLASS_BY_CODE = {cls.code: cls for cls in ERROR_CLASSES.values()}


def error_from_wire(error: Any) -> CofferError:
    """The exception for a JSON-RPC ``error`` member. An unknown reason (a newer daemon) stays
    visible as a plain ``CofferError`` with the reason and code it came with, rather than guessed."""
    if not isinstance(error, dict):
        return ProtocolViolationError(f"cofferd sent a malformed error: {error!r}")
    data = dict(error["data"]) if isinstance(error.get("data"), dict) else {}
    reason = data.pop("reason", None)
    code = error.get("code")
    message = error.get("message") if isinstance(error.get("message"), str) else None
    cls = ERROR_CLASSES.get(reason) if isinstance(reason, str) else None
    if cls is None and reason is None and isinstance(code, int):
        cls = _CLASS_BY_CODE.get(code)
    if cls is not None and (not isinstance(code, int) or code == cls.code):
        return cls(message, data=data)
    return CofferError(message, data=data, code=code if isinstance(code, int) else 0,
                       reason=reason if isinstance(reason, str) else "UNKNOWN")


# --------------------------------------------------------------------------------------------------
# One connection: owned by one call at a time.


class _Connection:
    def __init__(self, sock: socket.socket, max_frame_bytes: int) -> None:
        self.sock = sock
        self.max_frame_bytes = max_frame_bytes
        self.buffer = bytearray()
        self.next_id = 1
        self.pid = os.getpid()
        # False from a request's send until its whole answer is read: a connection left out of step
        # (timeout, broken frame, parting error) may still deliver a late answer, so it is never reused.
        self.in_step = True

    def looks_dropped(self) -> bool:
        """True when the idle socket is readable: EOF (the daemon closed it) or something unasked
        (a parting error). Either way it must not carry the next call."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        return bool(self.buffer) or bool(poller.poll(0))

    def exchange(self, method: str, params: Any, deadline: float) -> Any:
        """Sends one request and returns the result of its response (or raises its error)."""
        request_id = self.next_id
        self.next_id += 1
        frame = _encode({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        if len(frame) > self.max_frame_bytes:
            raise TooLargeError(f"The request is over the frame limit of {self.max_frame_bytes} bytes")
        self.in_step = False
        try:
            self.sock.settimeout(_remaining(deadline))
            self.sock.sendall(frame)
            while True:
                message = self._read_message(deadline)
                if isinstance(message, dict) and "method" in message and "id" not in message:
                    continue  # a notification (watch.changed): this client does not subscribe
                if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                    raise ProtocolViolationError(f"cofferd sent a message that is not JSON-RPC 2.0: {message!r:.200}")
                if message.get("id") is None and "error" in message:
                    raise error_from_wire(message["error"])  # id-less: the daemon is closing (TOO_LARGE, BUSY)
                if message.get("id") != request_id:
                    raise ProtocolViolationError(f"cofferd answered id {message.get('id')!r}, expected {request_id}")
                self.in_step = True
                if "error" in message:
                    raise error_from_wire(message["error"])
                if "result" not in message:
                    self.in_step = False
                    raise ProtocolViolationError("cofferd sent a response with neither result nor error")
                return message["result"]
        except CofferError:
            raise  # (CofferTimeoutError is an OSError too: keep it from the clauses below)
        except socket.timeout as e:
            raise CofferTimeoutError(f"No answer from cofferd to {method} within the timeout; "
                                     "the call may or may not have been applied") from e
        except OSError as e:
            raise ConnectionLostError(f"The connection to cofferd broke during {method} ({e}); "
                                      "the call may or may not have been applied") from e

    def _read_message(self, deadline: float) -> Any:
        while True:
            newline = self.buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self.buffer[:newline])
                del self.buffer[:newline + 1]
                if not line.strip():
                    continue
                if len(line) > self.max_frame_bytes:
                    raise ProtocolViolationError("cofferd sent a frame over the limit")
                try:
                    return json.loads(line.decode("utf-8"))
                except ValueError as e:
                    raise ProtocolViolationError(f"cofferd sent a frame that is not JSON: {e}") from e
            if len(self.buffer) > self.max_frame_bytes:
                raise ProtocolViolationError("cofferd sent a frame over the limit")
            self.sock.settimeout(_remaining(deadline))
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionLostError("The connection to cofferd closed before the answer came; "
                                          "the call may or may not have been applied")
            self.buffer += chunk

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _encode(message: JsonObject) -> bytes:
    # json.dumps escapes control characters, so a frame never contains a raw newline.
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("deadline passed")
    return remaining


_UNSET: Any = object()


# --------------------------------------------------------------------------------------------------
# The client: a pool of connections, and calls.


class CofferClient:
    """A thread-safe cofferd client. Connects lazily: creating one never fails for a daemon that is
    not up yet (a Flask app may start first); calls wait for it, up to ``connect_timeout``."""

    def __init__(self, socket_path: Optional[str] = None, *, timeout: float = 30.0,
                 connect_timeout: Optional[float] = None, max_connections: int = 8,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.socket_path = os.path.abspath(socket_path or os.environ.get("COFFER_SOCKET") or DEFAULT_SOCKET)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.max_frame_bytes = max_frame_bytes
        self._cond = threading.Condition()
        self._idle: List[_Connection] = []
        self._open = 0  # idle + in use
        self._pid = os.getpid()
        self._closed = False

    def __enter__(self) -> "CofferClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes idle connections now and busy ones when their call ends; later calls raise ClosedError."""
        with self._cond:
            self._closed = True
            for conn in self._idle:
                conn.close()
            self._open -= len(self._idle)
            self._idle.clear()
            self._cond.notify_all()

    def call(self, method: str, params: Optional[JsonObject] = None, timeout: Optional[float] = None) -> Any:
        """Calls ``method`` with ``params`` (an object) and returns its result, or raises CofferError.
        ``timeout`` (seconds) covers waiting for a connection, sending and the answer."""
        started = time.monotonic()
        deadline = started + (self.timeout if timeout is None else timeout)
        conn = self._checkout(started, deadline)
        try:
            return conn.exchange(method, {} if params is None else params, deadline)
        finally:
            self._release(conn)

    # -- the pool ---------------------------------------------------------------------------------

    def _checkout(self, started: float, deadline: float) -> _Connection:
        with self._cond:
            if self._pid != os.getpid():
                # Forked: the parent's sockets are shared with it; forget them (close only our fds).
                for conn in self._idle:
                    conn.close()
                self._idle, self._open, self._pid = [], 0, os.getpid()
            while True:
                if self._closed:
                    raise ClosedError()
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.looks_dropped():
                        return conn
                    conn.close()  # the daemon closed it (restart, idle limit): replace it
                    self._open -= 1
                if self._open < self.max_connections:
                    self._open += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CofferTimeoutError(f"All {self.max_connections} connections to cofferd stayed busy "
                                             "for the whole timeout; raise max_connections")
                self._cond.wait(remaining)
        try:
            return self._connect(started, deadline)
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def _connect(self, started: float, deadline: float) -> _Connection:
        """Opens a connection, retrying while the daemon is down (it may be restarting)."""
        wait_until = deadline if self.connect_timeout is None else min(deadline, started + self.connect_timeout)
        delay = 0.025
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(0.05, wait_until - time.monotonic()))
                sock.connect(self.socket_path)
                return _Connection(sock, self.max_frame_bytes)
            except OSError as e:
                sock.close()
                problem = e.strerror or type(e).__name__
            if self._closed:
                raise ClosedError()
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                raise UnavailableError(
                    f"Cannot reach cofferd at {self.socket_path} ({problem}): start it (npm start), "
                    "or set COFFER_SOCKET to the socket it listens on")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)

    def _release(self, conn: _Connection) -> None:
        with self._cond:
            if conn.in_step and not self._closed and conn.pid == self._pid:
                self._idle.append(conn)
            else:
                conn.close()
                if conn.pid == self._pid:
                    self._open -= 1
            self._cond.notify()

    def _object(self, method: str, params: Optional[JsonObject] = None) -> JsonObject:
        """``call`` for a method whose result is an object (every one today): checks that it is."""
        result = self.call(method, params)
        if not isinstance(result, dict):
            raise ProtocolViolationError(f"cofferd answered {method} with {type(result).__name__}, not an object")
        return result

    # -- the daemon -------------------------------------------------------------------------------

    def status(self) -> JsonObject:
        """``daemon.status``: version, paths and counters."""
        return self._object("daemon.status")

    def discover(self) -> JsonObject:
        """``rpc.discover``: the method catalogue and error table as an OpenRPC document."""
        return self._object("rpc.discover")

    # -- users and sessions -----------------------------------------------------------------------

    def create_user(self, username: str, password: Optional[str] = None) -> JsonObject:
        """Creates a user (with a password: one who can have encrypted data). ``AlreadyExistsError``."""
        return self._object("users.create", _params(username=username, password=password))

    def list_users(self) -> List[JsonObject]:
        """Every user as ``{username, hasPassword, unlocked}``."""
        return cast(List[JsonObject], self._object("users.list")["users"])

    def delete_user(self, username: str, password: Optional[str] = None) -> None:
        """Deletes a user and all their data; needs their password if they have one."""
        self._object("users.delete", _params(username=username, password=password))

    def change_password(self, username: str, new_password: str, old_password: Optional[str] = None) -> None:
        """Re-wraps the user's secret under a new password (``old_password`` None: a first password)."""
        self._object("users.changePassword",
                  _params(username=username, oldPassword=old_password, newPassword=new_password))

    def unlock(self, username: str, password: str, *, ttl_s: Optional[int] = None,
               idle_s: Optional[int] = None) -> JsonObject:
        """Logs in: ``{session, username, expiresAt}``. Keep ``session`` in the web session; it
        survives restarts of the web layer (not of cofferd). ``BadPasswordError``, ``RateLimitedError``."""
        return self._object("users.unlock", _params(username=username, password=password, ttlS=ttl_s, idleS=idle_s))

    def lock(self, username: str) -> None:
        """Ends every session of the user and zeroes their secret in the daemon."""
        self._object("users.lock", {"username": username})

    def rotate_secret(self, session: str) -> None:
        """Replaces the session user's secret and re-encrypts their data under it."""
        self._object("users.rotateSecret", {"session": session})

    def check_session(self, session: str) -> JsonObject:
        """``{username, expiresAt, idleExpiresAt}`` of a live session (and refreshes its idle timer);
        ``LockedError`` when it ended, expired, or the daemon restarted: log in again."""
        return self._object("sessions.check", {"session": session})

    def end_session(self, session: str) -> None:
        """Logout. The user's last session ending zeroes their secret."""
        self._object("sessions.end", {"session": session})

    # -- service data, in Specter's vocabulary ----------------------------------------------------
    # Encrypted data is addressed by session, unencrypted data by username: pass exactly one.

    def get_service(self, service: str, *, session: Optional[str] = None,
                    username: Optional[str] = None) -> JsonObject:
        """``{data, revision}``; an absent service is ``{data: {}, revision: None}``."""
        kind, who = _owner(session, username)
        return self._object(f"services.{kind}.get", {**who, "service": service})

    def get_service_data(self, service: str, *, session: Optional[str] = None,
                         username: Optional[str] = None) -> JsonObject:
        """Specter's ``get_service_data``: the service's data, ``{}`` when absent."""
        return cast(JsonObject, self.get_service(service, session=session, username=username)["data"])

    def set_service_data(self, service: str, data: JsonObject, *, session: Optional[str] = None,
                         username: Optional[str] = None, if_revision: Any = _UNSET) -> Optional[str]:
        """Specter's ``set_service_data``: replaces the data (``{}`` removes it); returns the new
        revision. ``if_revision`` (a revision, or None for "only if absent") makes it compare-and-set:
        ``ConflictError`` (with ``.revision``) when it changed."""
        kind, who = _owner(session, username)
        result = self._object(f"services.{kind}.set", _params(**who, service=service, data=data, ifRevision=if_revision))
        return cast(Optional[str], result["revision"])

    def update_service_data(self, service: str, patch: JsonObject, *, session: Optional[str] = None,
                            username: Optional[str] = None, if_revision: Any = _UNSET) -> JsonObject:
        """Specter's ``update_service_data``: a shallow update (each top-level key of ``patch``
        replaces the stored one, nested objects are not merged, None is stored as null). Returns the
        data after it."""
        kind, who = _owner(session, username)
        result = self._object(f"services.{kind}.update",
                              _params(**who, service=service, patch=patch, shallow=True, ifRevision=if_revision))
        return cast(JsonObject, result["data"])

    def remove_service_data(self, service: str, *, session: Optional[str] = None,
                            username: Optional[str] = None, if_revision: Any = _UNSET) -> None:
        """Specter's ``remove_service_data``: removes the service's data (absent is not an error)."""
        kind, who = _owner(session, username)
        self._object(f"services.{kind}.delete", _params(**who, service=service, ifRevision=if_revision))

    def list_services(self, *, session: Optional[str] = None, username: Optional[str] = None) -> List[str]:
        """The ids of the services that have data."""
        kind, who = _owner(session, username)
        return cast(List[str], self._object(f"services.{kind}.list", who)["services"])

    # -- annotations (per user, wallet and service; by address or by txid) -------------------------

    def get_annotations(self, username: str, wallet: str, service: str) -> JsonObject:
        """``{addrs: {address: data}, txs: {txid: data}, revision}`` of one wallet and service."""
        return self._object("annotations.get", {"username": username, "wallet": wallet, "service": service})

    def list_annotations(self, username: str, wallet: Optional[str] = None,
                         service: Optional[str] = None) -> List[JsonObject]:
        """Every annotation of a user as ``{wallet, service, kind, id}``."""
        entries = self._object("annotations.list", _params(username=username, wallet=wallet, service=service))["entries"]
        return cast(List[JsonObject], entries)

    def get_address_annotation(self, username: str, wallet: str, service: str, address: str) -> Any:
        """One address's annotation, None when absent."""
        return self._annotation("get", username, wallet, service, "addr", address)["data"]

    def set_address_annotation(self, username: str, wallet: str, service: str, address: str, data: Any,
                               if_revision: Any = _UNSET) -> str:
        """Replaces one address's annotation; returns the file's new revision."""
        result = self._annotation("set", username, wallet, service, "addr", address, data=data, ifRevision=if_revision)
        return cast(str, result["revision"])

    def update_address_annotation(self, username: str, wallet: str, service: str, address: str,
                                  patch: JsonObject, if_revision: Any = _UNSET) -> Any:
        """Merge-patches (RFC 7396) one address's annotation; returns it after."""
        return self._annotation("update", username, wallet, service, "addr", address, patch=patch,
                                ifRevision=if_revision)["data"]

    def delete_address_annotation(self, username: str, wallet: str, service: str, address: str,
                                  if_revision: Any = _UNSET) -> None:
        """Removes one address's annotation (absent is not an error)."""
        self._annotation("delete", username, wallet, service, "addr", address, ifRevision=if_revision)

    def get_tx_annotation(self, username: str, wallet: str, service: str, txid: str) -> Any:
        """One transaction's annotation, None when absent."""
        return self._annotation("get", username, wallet, service, "tx", txid)["data"]

    def set_tx_annotation(self, username: str, wallet: str, service: str, txid: str, data: Any,
                          if_revision: Any = _UNSET) -> str:
        """Replaces one transaction's annotation; returns the file's new revision."""
        result = self._annotation("set", username, wallet, service, "tx", txid, data=data, ifRevision=if_revision)
        return cast(str, result["revision"])

    def update_tx_annotation(self, username: str, wallet: str, service: str, txid: str, patch: JsonObject,
                             if_revision: Any = _UNSET) -> Any:
        """Merge-patches (RFC 7396) one transaction's annotation; returns it after."""
        return self._annotation("update", username, wallet, service, "tx", txid, patch=patch,
                                ifRevision=if_revision)["data"]

    def delete_tx_annotation(self, username: str, wallet: str, service: str, txid: str,
                             if_revision: Any = _UNSET) -> None:
        """Removes one transaction's annotation (absent is not an error)."""
        self._annotation("delete", username, wallet, service, "tx", txid, ifRevision=if_revision)

    def _annotation(self, verb: str, username: str, wallet: str, service: str, kind: str, id: str,
                    **more: Any) -> JsonObject:
        return self._object(f"annotations.{verb}",
                         _params(username=username, wallet=wallet, service=service, kind=kind, id=id, **more))

    # -- generic documents (Specter's GenericDataManager) ----------------------------------------

    def get_doc(self, name: str, session: Optional[str] = None) -> JsonObject:
        """``{data, encryptedFields, locked, revision}``: encrypted fields are in ``data`` only with
        their owner's session, else named in ``locked``. ``NotFoundError`` when absent."""
        return self._object("docs.get", _params(name=name, session=session))

    def set_doc(self, name: str, data: JsonObject, *, encrypted_fields: Optional[List[str]] = None,
                session: Optional[str] = None, if_revision: Any = _UNSET) -> Optional[str]:
        """Replaces a document; ``encrypted_fields`` are sealed under the session's user."""
        result = self._object("docs.set", _params(name=name, data=data, encryptedFields=encrypted_fields,
                                                  session=session, ifRevision=if_revision))
        return cast(Optional[str], result["revision"])

    def update_doc(self, name: str, patch: JsonObject, *, session: Optional[str] = None,
                   if_revision: Any = _UNSET) -> JsonObject:
        """Merge-patches (RFC 7396) a document; returns its data as this caller may see it."""
        result = self._object("docs.update", _params(name=name, patch=patch, session=session, ifRevision=if_revision))
        return cast(JsonObject, result["data"])

    def delete_doc(self, name: str, *, session: Optional[str] = None, if_revision: Any = _UNSET) -> None:
        """Removes a document (absent is not an error)."""
        self._object("docs.delete", _params(name=name, session=session, ifRevision=if_revision))

    def list_docs(self) -> List[JsonObject]:
        """Every document as ``{name, owner, encryptedFields}``."""
        return cast(List[JsonObject], self._object("docs.list")["docs"])


def _params(**params: Any) -> JsonObject:
    """Drops unset optional params: None means "not given", except for ``ifRevision``, where None is
    "only if absent" and ``_UNSET`` means not given."""
    return {k: v for k, v in params.items()
            if v is not _UNSET and (v is not None or k == "ifRevision")}


def _owner(session: Optional[str], username: Optional[str]) -> "tuple[str, JsonObject]":
    if (session is None) == (username is None):
        raise TypeError("pass exactly one of session= (encrypted data) or username= (unencrypted data)")
    return ("encrypted", {"session": session}) if session is not None else ("unencrypted", {"username": username})
