"""Python client for cofferd (JSON-RPC 2.0 over a Unix socket, one JSON message per line).

Stdlib only, Python 3.9+, a small package: Specter Desktop (or any Flask app) can depend on it
with ``pip install ./client/python`` or simply vendor the ``coffer_client`` folder.
``coffer_client.specter`` serves Specter's storage classes from cofferd (see its docstring).

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

from .client import DEFAULT_MAX_FRAME_BYTES, DEFAULT_SOCKET, CofferClient, JsonObject
from .errors import (ERROR_CLASSES, AlreadyExistsError, BadPasswordError, BusyError, ClosedError,
                     CofferError, CofferTimeoutError, ConflictError, ConnectionLostError, CorruptError, ForbiddenError,
                     InternalError, InvalidParamsError, InvalidRequestError, LockedError,
                     MethodNotFoundError, NotFoundError, ParseError, PasswordRequiredError,
                     ProtocolViolationError, RateLimitedError, ReadOnlyError, ShuttingDownError, StorageFailedError,
                     TooLargeError, UnavailableError, error_from_wire)


__all__ = [
    "CofferClient", "CofferError", "ERROR_CLASSES", "DEFAULT_SOCKET", "DEFAULT_MAX_FRAME_BYTES",
    "ParseError", "InvalidRequestError", "MethodNotFoundError", "InvalidParamsError", "InternalError",
    "NotFoundError", "AlreadyExistsError", "ConflictError", "LockedError", "BadPasswordError",
    "PasswordRequiredError", "RateLimitedError", "ForbiddenError", "StorageFailedError", "CorruptError", "ReadOnlyError", "TooLargeError",
    "ShuttingDownError", "BusyError", "UnavailableError", "CofferTimeoutError", "ConnectionLostError",
    "ProtocolViolationError", "ClosedError", "error_from_wire",
]
