"""Specter's service storage, side by side: a plain model and cofferd must agree on every operation.

``SpecterStorageModel`` is written from Specter's storage API as documented (specter-api.md §2-§3:
``ServiceEncryptedStorage`` / ``ServiceUnencryptedStorage`` and their managers), not from its code.
Each test runs the same operations on the model, over one copy of a Specter folder, and on a real
``cofferd --layout specter`` over another copy, then asserts equal results and equal files: the same
ids in the same order, the version key where Specter puts it, and every entry's stored JSON text
equal byte for byte once decrypted (Fernet under the user's secret, as Specter reads it).

Values are the hard ones: ints past 2**53, floats Python writes as ``1.0``/``-0.0``/``1e-05``,
integer-like keys in insertion order, non-ASCII and escapes, ``None`` stored by a shallow update.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import unittest
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from support import REPO, Daemon, FAST_KDF_ARGS, temp_dir

from coffer_client import CofferClient, CofferError

try:
    from cryptography.fernet import Fernet

    HAVE_CRYPTO = True
except ImportError:  # pragma: no cover - CI installs it (python3-cryptography)
    HAVE_CRYPTO = False

VECTORS = REPO / "test" / "specter-vectors"
VERSION_KEY = "encrypted_storage_version"
REQUIRED = os.environ.get("COFFER_REQUIRE_FLASK") == "1"  # set under CI, where .ci/run installs it

# Values Python's json keeps exactly and a lossy JSON layer would not.
HARD = {
    "msat": 2**60,
    "huge": 2**100,
    "neg_huge": -(2**100),
    "one": 1.0,
    "neg_zero": -0.0,
    "tiny": 1e-05,
    "big_float": 1e16,
    "tenth": 0.1,
    "ordered": {"10": "ten", "2": "two", "a": "a", "1": "one"},
    "text": "café ₿ 🚀 \u2028 \"q\" \\ </script>\ttab",
    "list": [2**64, 1.5, None, True, {"z": 1, "0": 2}],
}


class SpecterStorageModel:
    """One user's services file as Specter's storage class keeps it: a dict of service id -> the
    ``json.dumps`` text of the value (encrypted files: Fernet tokens on disk, text in memory), saved
    whole as ``json.dump(indent=4)`` after every change."""

    def __init__(self, path: Path, fernet: Optional["Fernet"]) -> None:
        self.path = path
        self.fernet = fernet
        self.data: Dict[str, Any] = {}
        if path.exists():
            self.data = json.loads(path.read_text("utf-8"))
            if fernet is not None:
                for sid in self.ids():
                    if self.data[sid]:
                        self.data[sid] = fernet.decrypt(self.data[sid].encode()).decode()

    def ids(self) -> List[str]:
        return [sid for sid in self.data if sid != VERSION_KEY]

    # §2: the storage's four operations.
    def get(self, sid: str) -> Any:
        text = self.data.get(sid)
        return json.loads(text) if text else {}

    def set(self, sid: str, value: Any) -> None:
        if value == {} and sid in self.data:
            del self.data[sid]
        else:
            self.data[sid] = json.dumps(value)
        self.save()

    def update(self, sid: str, value: Any) -> None:
        if value == {}:
            return  # a no-op: nothing is saved
        current = json.loads(self.data[sid]) if sid in self.data else {}
        current.update(value)  # shallow; None is stored as null
        self.data[sid] = json.dumps(current)
        self.save()

    def remove(self, sid: str) -> None:
        if sid not in self.data:
            return
        del self.data[sid]
        self.save()

    # §1: the managers' secret-less operations.
    def wipe(self) -> None:
        self.data = {}
        self.save()

    def save(self) -> None:
        # The version key is written whenever the file holds a service. The unencrypted storage has no
        # key, so it writes its live dict and the key joins it (and keeps its place from then on);
        # the encrypted one writes an encrypted copy, so the key is added to each copy only.
        if self.fernet is None and self.ids():
            self.data[VERSION_KEY] = 1
        out = copy.deepcopy(self.data)
        if self.fernet is not None:
            for sid in self.ids():
                out[sid] = self.fernet.encrypt(out[sid].encode()).decode()
            if self.ids():
                out[VERSION_KEY] = 1
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=4)


def decrypted_file(path: Path, fernet: Optional["Fernet"]) -> List[Any]:
    """A services file as (key, stored text) pairs in file order, entries opened as Specter opens them."""
    if not path.exists():
        return []
    pairs = json.loads(path.read_text("utf-8"), object_pairs_hook=list)
    opened = []
    for key, value in pairs:
        if fernet is not None and key != VERSION_KEY and isinstance(value, str) and value:
            value = fernet.decrypt(value.encode()).decode()
        opened.append((key, value))
    return opened


@unittest.skipUnless(HAVE_CRYPTO or REQUIRED, "python's cryptography is missing (apt-get install python3-cryptography)")
class SpecterSemanticsTest(unittest.TestCase):
    """cofferd and the model, over two copies of the vectors' Specter folder."""

    def setUp(self) -> None:
        self.assertTrue(HAVE_CRYPTO, "python3-cryptography is required here")
        self.expected = json.loads((VECTORS / "expected.json").read_text("utf-8"))
        root = temp_dir(self)
        self.model_dir = root / "model"
        shutil.copytree(VECTORS / "datadir", self.model_dir)
        daemon_dir = root / "d"
        shutil.copytree(VECTORS / "datadir", daemon_dir / "data")
        self.daemon = Daemon(daemon_dir, ["--layout", "specter", *FAST_KDF_ARGS])
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        self.coffer_dir = Path(self.daemon.data_dir)
        self.client = CofferClient(self.daemon.socket_path)
        self.addCleanup(self.client.close)
        self.user = self.expected["services_file"]["user"]
        self.fernet = Fernet(self.expected["users"][self.user]["user_secret"].encode())
        password = self.expected["users"][self.user]["password"]
        self.session = self.client.call("users.unlock", {"username": self.user, "password": password})["session"]

    def file_name(self, username: str, encrypted: bool) -> str:
        return f"{username}_services.json" if encrypted else f"{username}_unencrypted_services.json"

    def model(self, username: str, encrypted: bool) -> SpecterStorageModel:
        return SpecterStorageModel(self.model_dir / self.file_name(username, encrypted), self.fernet if encrypted else None)

    def who(self, username: str, encrypted: bool) -> Dict[str, str]:
        return {"session": self.session} if encrypted else {"username": username}

    def assert_same_files(self, username: str, encrypted: bool, step: str) -> None:
        fernet = self.fernet if encrypted else None
        name = self.file_name(username, encrypted)
        self.assertEqual(
            decrypted_file(self.coffer_dir / name, fernet), decrypted_file(self.model_dir / name, fernet), f"{name} after {step}"
        )

    def run_ops(self, username: str, encrypted: bool, ops: List[Any]) -> None:
        """Runs each (verb, sid, value) on both and compares what they answer and hold after it."""
        kind = "encrypted" if encrypted else "unencrypted"
        for verb, sid, value in ops:
            step = f"{verb}({sid!r}, {value!r})"
            model = self.model(username, encrypted)  # reloaded each step: what Specter reads from disk
            params: Dict[str, Any] = {**self.who(username, encrypted), "service": sid}
            if verb == "get":
                got = self.client.call(f"services.{kind}.get", params)["data"]
                self.assertEqual(got, model.get(sid), step)
                # Exactness beyond ==: 1.0 vs 1, key order, -0.0.
                self.assertEqual(json.dumps(got), json.dumps(model.get(sid)), f"{step}: same JSON text")
            elif verb == "set":
                model.set(sid, value)
                self.client.call(f"services.{kind}.set", {**params, "data": value})
            elif verb == "update":
                model.update(sid, value)
                self.client.call(f"services.{kind}.update", {**params, "patch": value, "shallow": True})
            elif verb == "remove":
                model.remove(sid)
                self.client.call(f"services.{kind}.delete", params)
            elif verb == "ids":
                got = self.client.call("services.encrypted.ids", {"username": username})["services"]
                self.assertEqual(got, model.ids(), step)
            elif verb == "wipe":
                model.wipe()
                self.client.call(f"services.{kind}.wipe", {"username": username})
            else:  # pragma: no cover - a typo in a table below
                raise AssertionError(verb)
            self.assert_same_files(username, encrypted, step)

    def table(self, sid: str) -> List[Any]:
        """Every row of §2, on one service id (a Python identifier, as Specter's extensions use)."""
        return [
            ("get", sid, None),                             # absent: {}
            ("set", sid, {"a": 1}),
            ("get", sid, None),
            ("set", sid, HARD),                             # replaces whole
            ("get", sid, None),
            ("update", sid, {"a": None, "ordered": {"b": 1}, "new": 2**70}),  # shallow; None stored
            ("get", sid, None),
            ("update", sid, {}),                            # no-op, nothing saved
            ("get", sid, None),
            ("set", sid, {}),                               # present: deleted
            ("get", sid, None),
            ("set", sid, {}),                               # absent: stores "{}"
            ("get", sid, None),
            ("update", f"{sid}_new", {"x": 1.0}),           # absent: starts from {}
            ("remove", f"{sid}_new", None),
            ("remove", f"{sid}_never", None),               # absent: no-op
            ("set", f"{sid}_2", {"10": 1, "2": 2}),
            ("get", f"{sid}_2", None),
        ]

    def test_encrypted_storage_every_operation(self) -> None:
        ops = self.table("test_service") + [("ids", "-", None), ("get", "swan", None), ("update", "swan", {"refreshed_at": 2**53 + 1})]
        self.run_ops(self.user, True, ops)

    def test_unencrypted_storage_every_operation(self) -> None:
        carol = self.expected["unencrypted_services_file"]["user"]
        self.run_ops(carol, False, self.table("reckless_swan"))

    def test_unencrypted_storage_by_username_alone(self) -> None:
        # Specter's unencrypted storage never checks that the user exists.
        self.run_ops("somebody not in users.json", False, self.table("my_ext"))

    def test_without_the_secret_ids_and_wipes(self) -> None:
        self.run_ops(self.user, True, [("set", "test_service", {"k": "v"}), ("ids", "-", None)])
        self.client.call("sessions.end", {"session": self.session})
        # Encrypted access without a live session is Specter's ServiceEncryptedStorageError: LOCKED.
        with self.assertRaises(CofferError) as caught:
            self.client.call("services.encrypted.get", {"session": self.session, "service": "swan"})
        self.assertEqual(caught.exception.reason, "LOCKED")
        self.run_ops(self.user, True, [("ids", "-", None), ("wipe", "-", None), ("ids", "-", None)])
        self.run_ops(self.user, False, [("set", "devhelp", {"on": True}), ("wipe", "-", None)])


if __name__ == "__main__":  # pragma: no cover
    unittest.main()
