"""``install(app, specter=None, client=None)``: Specter's storage served by cofferd, called once after
Specter's Flask app is built (see client/python/README.md for the two ways to call it).

What it changes, all in memory (nothing in Specter's files or code; restart without it to go back):
- ``specter.service_encrypted_storage_manager`` / ``service_unencrypted_storage_manager`` become
  this package's managers, and ``Service.reserve_address(es)`` builds this package's
  ``ServiceAnnotationsStorage``;
- ``app.login`` runs Specter's own login first (Specter keeps owning users.json and makes the user
  secret when there is none), then ``users.unlock``; the session token goes to Flask's signed
  session cookie and to a per-process map;
- ``User.is_user_secret_decrypted`` is true while the user's Coffer session lives (a property on
  Specter's User class: the one place Specter and extensions ask);
- logout and ``User.delete_user_secret`` end the Coffer session;
- a ``ServiceEncryptedStorageError`` no extension caught becomes a page: "log in again" when the
  session ended, "Coffer is unavailable" when cofferd is down;
- with ``durable_files=True``, Specter's JSON writer goes through cofferd (durable.py).
"""

from __future__ import annotations

import functools
import html
import logging
import os
import sys
import time
from typing import Any, List, Optional

from ..client import CofferClient
from ..errors import CofferError
from .annotations import ServiceAnnotationsStorage
from .binding import OUTAGES, Binding, default_binding
from .durable import route_json_writes
from .errors import CofferUnavailableError, ServiceEncryptedStorageError
from .storage import ServiceEncryptedStorageManager, ServiceUnencryptedStorageManager

logger = logging.getLogger(__name__)
SERVICE_MODULE = "cryptoadvance.specter.services.service"
USER_MODULE = "cryptoadvance.specter.user"
FLASH_UNAVAILABLE = ("Coffer (cofferd) is not reachable: your extensions' encrypted data cannot be opened. "
                     "Start cofferd, then log in again.")


def install(app: Any, specter: Any = None, client: Optional[CofferClient] = None, *,
            durable_files: bool = False, binding: Optional[Binding] = None) -> Binding:
    """Switches a built Specter app to cofferd. Returns the binding (sessions, client) it uses."""
    specter = specter if specter is not None else app.specter
    binding = binding or default_binding
    if client is not None:
        binding.use(client)
    binding.user_manager = specter.user_manager
    check_secret_key(app)
    check_data_dir(binding, specter)
    _switch_managers(specter, binding)
    _patch_annotations(binding)
    _patch_user_class(_user_class(specter), binding)
    _wrap_login(app, specter, binding)
    _end_on_logout(app, binding)
    app.register_error_handler(ServiceEncryptedStorageError, functools.partial(_storage_error_page, app))
    if durable_files:
        route_json_writes(binding)
    app.extensions["coffer"] = binding
    return binding


def check_secret_key(app: Any) -> List[str]:
    """Warns (loudly) when Flask's SECRET_KEY cannot outlive the process: the session cookie, and so
    the Coffer session kept in it, would be lost at every restart. Returns the warnings."""
    problems: List[str] = []
    config_class = str(app.config.get("SPECTER_CONFIGURATION_CLASS_FULLNAME") or "")
    if not app.config.get("SECRET_KEY"):
        problems.append("Flask has no SECRET_KEY: no session cookie, so every request needs a new login")
    elif config_class.endswith("ProductionConfig") and not os.environ.get("SECRET_KEY"):
        problems.append("SECRET_KEY is random per process (Specter's ProductionConfig without $SECRET_KEY): "
                        "after every restart of Specter its users must log in again. Set SECRET_KEY in the "
                        "environment to a fixed random value to keep them logged in")
    for problem in problems:
        logger.warning("!!! COFFER: %s !!!", problem)
    return problems


def check_data_dir(binding: Binding, specter: Any) -> None:
    """cofferd must serve Specter's own folder, or extension data would not be where Specter keeps it."""
    folder = getattr(specter, "data_folder", None)
    try:
        served = binding.data_dir()
    except ServiceEncryptedStorageError:
        logger.warning("!!! COFFER: cofferd is not reachable now; Specter's extension data is unavailable until it runs !!!")
        return
    if folder and os.path.realpath(folder) != served:
        logger.warning("!!! COFFER: cofferd serves %s but Specter's data folder is %s: start cofferd with "
                       "--data-dir on Specter's folder !!!", served, folder)


def _switch_managers(specter: Any, binding: Binding) -> None:
    for attr, cls in (("service_encrypted_storage_manager", ServiceEncryptedStorageManager),
                      ("service_unencrypted_storage_manager", ServiceUnencryptedStorageManager)):
        old = getattr(specter, attr, None)
        folder = getattr(old, "data_folder", None) or specter.data_folder
        setattr(specter, attr, cls(folder, specter.user_manager, binding=binding))


def _patch_annotations(binding: Binding) -> None:
    module = sys.modules.get(SERVICE_MODULE)
    if module is None:
        logger.warning("%s is not loaded: Service.reserve_address keeps Specter's annotations storage", SERVICE_MODULE)
        return
    module.ServiceAnnotationsStorage = functools.partial(ServiceAnnotationsStorage, binding=binding)


def _user_class(specter: Any) -> type:
    module = sys.modules.get(USER_MODULE)
    found = getattr(module, "User", None) if module is not None else None
    return found if isinstance(found, type) else type(specter.user_manager.admin)


def _patch_user_class(user_class: type, binding: Binding) -> None:
    """The least invasive place: one property and one method of the class, nothing per instance.
    A second install() (tests, a re-created app) replaces the first one's patch."""
    original_delete = getattr(user_class, "_coffer_original_delete", None) or user_class.delete_user_secret

    def is_user_secret_decrypted(self: Any) -> bool:
        return binding.is_live(str(self.username))

    @functools.wraps(original_delete)
    def delete_user_secret(self: Any, *args: Any, **kwargs: Any) -> Any:
        binding.forget(str(self.username))
        return original_delete(self, *args, **kwargs)

    user_class.is_user_secret_decrypted = property(is_user_secret_decrypted)  # type: ignore[attr-defined]
    user_class.delete_user_secret = delete_user_secret  # type: ignore[attr-defined]
    user_class._coffer_original_delete = original_delete  # type: ignore[attr-defined]


def _wrap_login(app: Any, specter: Any, binding: Binding) -> None:
    original = app.login

    @functools.wraps(original)
    def login(user_id: Any, password: Optional[str] = None, *args: Any, **kwargs: Any) -> Any:
        user = specter.user_manager.get_user(user_id)
        had_secret = bool(getattr(user, "encrypted_user_secret", None))
        result = original(user_id, password, *args, **kwargs)  # Specter's own login first
        if password:
            _unlock(binding, str(user.username), password, fresh_secret=not had_secret)
        return result

    app.login = login


def _unlock(binding: Binding, username: str, password: str, *, fresh_secret: bool) -> None:
    """users.unlock after Specter's login; a failure never undoes Specter's login (the user is told)."""
    previous = binding.session_for(username)
    if previous is not None:
        binding.forget(username)
    # A secret Specter made just now is in users.json; cofferd follows it but may not have seen it yet.
    attempts = 5 if fresh_secret else 1
    for attempt in range(attempts):
        try:
            login = binding.client.unlock(username, password)
            binding.remember(username, str(login["session"]))
            return
        except OUTAGES:
            logger.warning("cofferd is not reachable at login of %s", username)
            _flash(FLASH_UNAVAILABLE)
            return
        except CofferError as e:
            if attempt + 1 < attempts:
                time.sleep(0.2)
                continue
            logger.warning("cofferd refused to open the data of %s (%s)", username, e.reason)
            _flash(f"Coffer could not open your extensions' encrypted data ({e.reason}): {e.message}")


def _end_on_logout(app: Any, binding: Binding) -> None:
    from flask_login import user_logged_out

    def ended(sender: Any, user: Any = None, **extra: Any) -> None:
        if user is not None and getattr(user, "username", None) is not None:
            binding.forget(str(user.username))

    user_logged_out.connect(ended, app, weak=False)


def _flash(message: str) -> None:
    import flask
    if flask.has_request_context():
        flask.flash(message, "error")


def _storage_error_page(app: Any, error: Exception) -> Any:
    """An error no extension caught: cofferd down is a page that says so; no session is a login."""
    import flask
    if isinstance(error, CofferUnavailableError):
        page = f"<h1>Coffer is unavailable</h1><p>{html.escape(str(error))}</p>"
        return flask.Response(page, status=503, mimetype="text/html")
    flask.flash(str(error), "error")
    view = getattr(getattr(app, "login_manager", None), "login_view", None) or "login"
    return flask.redirect(flask.url_for(view, next=flask.request.path))

