"""Where the Specter classes find cofferd, the current user, and each user's Coffer session.

A session token is kept in two places: Flask's signed session cookie (so it survives a restart of
the Flask process: same ``SECRET_KEY``, same cookie, same Coffer session) and a per-process map by
username (for work outside a request: background threads, the first request after login). One
``Binding`` serves a process; ``install()`` configures it, and the classes work without it too
(then cofferd is found through ``$COFFER_SOCKET``, then the default socket).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable, Dict, Optional, TypeVar

from ..client import CofferClient
from ..errors import (BusyError, CofferError, CofferTimeoutError, ConnectionLostError, LockedError,
                      ShuttingDownError, UnavailableError)
from .errors import CofferSessionEndedError, CofferUnavailableError, ServiceEncryptedStorageError, storage_error

logger = logging.getLogger(__name__)
T = TypeVar("T")

COOKIE_KEY = "coffer"
# Errors that mean "cofferd is not there right now": the storage is as locked as Specter's without a secret.
OUTAGES = (UnavailableError, ConnectionLostError, CofferTimeoutError, ShuttingDownError, BusyError)


def _flask() -> Any:
    """Flask's module when a request is being served, else None (scripts, threads, no Flask at all)."""
    try:
        import flask
    except ImportError:  # pragma: no cover - Specter always has Flask
        return None
    return flask if flask.has_request_context() else None


class Binding:
    def __init__(self, client: Optional[CofferClient] = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._by_user: Dict[str, str] = {}
        # Set by install(): Specter's user_manager, for "the current user".
        self.user_manager: Any = None
        self._data_dir: Optional[str] = None

    @property
    def client(self) -> CofferClient:
        with self._lock:
            if self._client is None:
                # A short connect wait: a page must not hang for 30 s while cofferd is down.
                self._client = CofferClient(connect_timeout=2.0)
            return self._client

    def use(self, client: CofferClient) -> None:
        with self._lock:
            self._client = client
            self._data_dir = None

    def data_dir(self) -> str:
        """cofferd's data dir, as it reports it (asked once)."""
        if self._data_dir is None:
            status = self.plain(lambda: self.client.status())
            self._data_dir = os.path.realpath(str(status["dataDir"]))
        return self._data_dir

    def current_user(self) -> Any:
        if self.user_manager is None:
            from flask import current_app
            return current_app.specter.user_manager.get_user()
        return self.user_manager.get_user()

    # -- sessions ---------------------------------------------------------------------------------

    def session_for(self, username: str) -> Optional[str]:
        flask = _flask()
        if flask is not None:
            entry = flask.session.get(COOKIE_KEY)
            if isinstance(entry, dict) and entry.get("username") == username and isinstance(entry.get("session"), str):
                return entry["session"]
        with self._lock:
            return self._by_user.get(username)

    def remember(self, username: str, token: str) -> None:
        flask = _flask()
        if flask is not None:
            flask.session[COOKIE_KEY] = {"username": username, "session": token}
        with self._lock:
            self._by_user[username] = token

    def forget(self, username: str, *, end: bool = True) -> None:
        """Drops the user's session here; ``end``: also ends it in cofferd (logout). Never raises."""
        token = self.session_for(username)
        flask = _flask()
        if flask is not None:
            entry = flask.session.get(COOKIE_KEY)
            if isinstance(entry, dict) and entry.get("username") == username:
                flask.session.pop(COOKIE_KEY, None)
        with self._lock:
            self._by_user.pop(username, None)
        if end and token is not None:
            try:
                self.client.end_session(token)
            except CofferError as e:  # already ended, or cofferd down: it is gone either way
                logger.info("Coffer session of %s not ended in cofferd (%s)", username, e.reason)

    def is_live(self, username: str) -> bool:
        """Whether the user has a Coffer session cofferd still honours (checked once per request)."""
        token = self.session_for(username)
        if token is None:
            return False
        flask = _flask()
        checked: Dict[str, bool] = {}
        if flask is not None:
            checked = flask.g.setdefault("coffer_checked", {})
            if token in checked:
                return checked[token]
        try:
            self.client.check_session(token)
            live = True
        except LockedError:
            self.forget(username, end=False)
            live = False
        except OUTAGES:
            live = False
        checked[token] = live
        return live

    # -- calls ------------------------------------------------------------------------------------

    def with_session(self, username: str, call: Callable[[str], T]) -> T:
        """Runs an encrypted-storage call with the user's session, turning "no session" and outages
        into Specter's ServiceEncryptedStorageError (so extensions send the user to log in)."""
        token = self.session_for(username)
        if token is None:
            raise storage_error(ServiceEncryptedStorageError,
                                f"User {username} must be authenticated with password before encrypted service data can be loaded")
        try:
            return call(token)
        except LockedError:
            self.forget(username, end=False)
            raise storage_error(CofferSessionEndedError,
                                f"The Coffer session of {username} ended (cofferd restarted or it expired): log in again") from None
        except OUTAGES as e:
            raise unavailable(e) from None

    def plain(self, call: Callable[[], T]) -> T:
        """An unencrypted-storage call: an outage is the same error as for encrypted storage."""
        try:
            return call()
        except OUTAGES as e:
            raise unavailable(e) from None


def unavailable(e: CofferError) -> Exception:
    return storage_error(CofferUnavailableError,
                         f"Coffer (cofferd) is not reachable, so extension data cannot be read or saved ({e.reason}): "
                         "start cofferd or check COFFER_SOCKET; nothing was written")


# The process's binding: the classes use it unless given another.
default_binding = Binding()


def current_binding() -> Binding:
    """The binding ``install()`` put on the Flask app serving this request, else the process's. So
    Specter's own code, which builds storage and ``GenericDataManager`` objects without a binding,
    reaches the cofferd that ``install()`` was given."""
    flask = _flask()
    if flask is not None:
        found = flask.current_app.extensions.get("coffer")
        if isinstance(found, Binding):
            return found
    return default_binding
