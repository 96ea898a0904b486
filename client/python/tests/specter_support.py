"""Support for the Specter integration tests: a Specter folder made by the stand-in (standin/), a
real cofferd serving it in place, and the stand-in app with install() applied."""

from __future__ import annotations

import json
import os
import sys
import unittest
from pathlib import Path
from typing import Any, Dict, Tuple

from support import FAST_KDF_ARGS, HERE, Daemon, temp_dir

STANDIN = HERE / "standin"
sys.path.insert(0, str(STANDIN))

try:
    import cryptography  # noqa: F401
    import flask  # noqa: F401
    import flask_login  # noqa: F401
    HAVE_DEPS = True
except ImportError:
    HAVE_DEPS = False
    if os.environ.get("COFFER_REQUIRE_FLASK") == "1":
        raise

SKIP_REASON = "needs flask, flask_login and cryptography (apt-get install python3-flask python3-flask-login python3-cryptography)"
PASSWORD = "alice's pw \u00e9"


def specter_folder(case: unittest.TestCase) -> Daemon:
    """A Specter folder with users admin and alice (no secret yet: Specter makes it at first login),
    and a cofferd serving it (not started)."""
    from cryptoadvance.specter.managers.user_manager import UserManager

    daemon = Daemon(temp_dir(case), [*FAST_KDF_ARGS, "--layout", "specter"])
    case.addCleanup(daemon.stop)
    Path(daemon.data_dir).mkdir(parents=True)
    UserManager(daemon.data_dir).add_user("alice", PASSWORD)
    return daemon


def installed_standin(case: unittest.TestCase, **install_options: Any) -> Tuple[Daemon, Any, Any, Any]:
    """A started cofferd on a Specter folder, a client of it, and the stand-in app with install()
    applied (its own Binding, so tests never share the process's): (daemon, client, app, binding)."""
    import standin_app
    from coffer_client import CofferClient
    from coffer_client.specter import Binding, install

    daemon = specter_folder(case)
    daemon.start()
    client = CofferClient(daemon.socket_path, timeout=10, connect_timeout=1)
    case.addCleanup(client.close)
    app = standin_app.create_app(daemon.data_dir)
    binding = install(app, client=client, binding=Binding(), **install_options)
    return daemon, client, app, binding


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def entries(path: str) -> Dict[str, Any]:
    """A services file's entries (without the version marker)."""
    data = read_json(path) if os.path.exists(path) else {}
    return {k: v for k, v in data.items() if k != "encrypted_storage_version"}
