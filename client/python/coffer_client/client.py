"""CofferClient: a thread-safe pool of connections to cofferd, and one method per RPC."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, Dict, List, Optional, cast

from ._connection import _Connection
from .errors import (ClosedError, CofferTimeoutError, ProtocolViolationError, UnavailableError)

DEFAULT_SOCKET = "./.coffer/cofferd.sock"
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
JsonObject = Dict[str, Any]

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

    def lock(self, username: str, session: Optional[str] = None) -> None:
        """Ends every session of the user and zeroes their secret in the daemon. A peer without the
        admin right (cofferd --policy) proves it holds the user's session with ``session``."""
        self._object("users.lock", _params(username=username, session=session))

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

    def encrypted_service_ids(self, username: str) -> List[str]:
        """Which services have encrypted data for the user, without a session and without any value
        (Specter's ``user_has_encrypted_storage``)."""
        return cast(List[str], self._object("services.encrypted.ids", {"username": username})["services"])

    def wipe_service_data(self, username: str, *, encrypted: bool) -> int:
        """Removes all of the user's encrypted (or unencrypted) service data, without a session
        (Specter's ``delete_all_service_data``, run when a user's password is removed). Returns how
        many entries went."""
        kind = "encrypted" if encrypted else "unencrypted"
        return cast(int, self._object(f"services.{kind}.wipe", {"username": username})["removed"])

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

    # -- Specter's own JSON files (specter layout) ----------------------------------------------

    def write_file(self, path: str, text: str) -> int:
        """``files.write``: durably replaces a ``.json`` file of the Specter data dir (``path``
        relative to it) with exactly ``text``, keeping the previous version as ``.bkp``. Returns the
        bytes written."""
        return cast(int, self._object("files.write", {"path": path, "text": text})["bytes"])


def _params(**params: Any) -> JsonObject:
    """Drops unset optional params: None means "not given", except for ``ifRevision``, where None is
    "only if absent" and ``_UNSET`` means not given."""
    return {k: v for k, v in params.items()
            if v is not _UNSET and (v is not None or k == "ifRevision")}


def _owner(session: Optional[str], username: Optional[str]) -> "tuple[str, JsonObject]":
    if (session is None) == (username is None):
        raise TypeError("pass exactly one of session= (encrypted data) or username= (unencrypted data)")
    return ("encrypted", {"session": session}) if session is not None else ("unencrypted", {"username": username})
