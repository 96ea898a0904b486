"""cofferd's errors: one class per stable reason of protocol/src/errors.ts (a test checks them
against rpc.discover), and the mapping from a JSON-RPC ``error`` member to them."""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

JsonObject = Dict[str, Any]

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


class ForbiddenError(CofferError):
    """FORBIDDEN (1014): this peer's scope (cofferd --policy) does not allow the call; nothing was done."""
    code, reason = 1014, "FORBIDDEN"
    default_message = "Forbidden: this peer's scope (cofferd --policy) does not allow the call; nothing was done"


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
        PasswordRequiredError, RateLimitedError, ForbiddenError, StorageFailedError, CorruptError, ReadOnlyError, TooLargeError,
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
