"""One connection to cofferd, owned by one call at a time (see CofferClient's pool)."""

from __future__ import annotations

import json
import os
import select
import socket
import time
from typing import Any, Dict

from .errors import (CofferError, CofferTimeoutError, ConnectionLostError, ProtocolViolationError,
                     TooLargeError, error_from_wire)

JsonObject = Dict[str, Any]

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
