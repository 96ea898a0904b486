"""One exception class per reason: checked against the daemon's own table (rpc.discover), and each
daemon reason a client can provoke is provoked for real and raised as its class."""

from __future__ import annotations

import json
import socket
import unittest
from pathlib import Path

from support import FAST_KDF_ARGS, Daemon, SharedDaemonCase, temp_dir

import coffer_client as cc

# Reasons no well-behaved client can make a healthy daemon answer; the table walk covers their classes.
# READ_ONLY needs a Specter folder in follow mode: provoked in test/specter-users-follow.test.ts.
# FORBIDDEN needs a peer of another uid under a --policy: provoked in test/peer-scopes.test.ts.
NOT_PROVOKED = {"INTERNAL_ERROR", "SHUTTING_DOWN", "READ_ONLY", "FORBIDDEN"}


class ErrorTable(SharedDaemonCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.client = cc.CofferClient(cls.daemon.socket_path, timeout=10)
        cls.errors = cls.client.discover()["components"]["errors"]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        super().tearDownClass()

    def test_every_reason_of_the_daemon_has_its_class(self) -> None:
        self.assertGreater(len(self.errors), 15)
        for reason, entry in self.errors.items():
            with self.subTest(reason=reason):
                cls = cc.ERROR_CLASSES.get(reason)
                self.assertIsNotNone(cls, f"no class for {reason}")
                self.assertEqual(cls.code, entry["code"])
                self.assertEqual(cls.reason, reason)
                self.assertTrue(issubclass(cls, cc.CofferError))
                self.assertIn(cls.__name__, cc.__all__)
                raised = cc.error_from_wire({**entry, "data": {"reason": reason, "extra": 1}})
                self.assertIs(type(raised), cls)
                self.assertEqual((raised.code, raised.reason, raised.message), (entry["code"], reason, entry["message"]))
                self.assertEqual(raised.data, {"extra": 1}, "data without the reason")

    def test_no_class_without_a_reason_in_the_table(self) -> None:
        self.assertEqual(set(cc.ERROR_CLASSES) - set(self.errors), set())

    def test_classes_are_distinct_and_codes_unique(self) -> None:
        self.assertEqual(len(set(cc.ERROR_CLASSES.values())), len(cc.ERROR_CLASSES))
        self.assertEqual(len({cls.code for cls in cc.ERROR_CLASSES.values()}), len(cc.ERROR_CLASSES))

    def test_wire_errors_without_a_known_reason(self) -> None:
        by_code = cc.error_from_wire({"code": 1010, "message": "m"})
        self.assertIsInstance(by_code, cc.LockedError, "no data.reason: the code decides")
        newer = cc.error_from_wire({"code": 1999, "message": "future", "data": {"reason": "FUTURE", "x": 1}})
        self.assertIs(type(newer), cc.CofferError)
        self.assertEqual((newer.code, newer.reason, newer.data), (1999, "FUTURE", {"x": 1}))
        mismatch = cc.error_from_wire({"code": 7, "message": "m", "data": {"reason": "LOCKED"}})
        self.assertIs(type(mismatch), cc.CofferError, "a code that contradicts the reason is not trusted")
        self.assertIsInstance(cc.error_from_wire("nonsense"), cc.ProtocolViolationError)


class ProvokedForReal(unittest.TestCase):
    """Each daemon reason, answered by a real cofferd, arrives as its class."""

    def setUp(self) -> None:
        directory = temp_dir(self)
        self.rules = directory / "faults.json"
        self.rules.write_text("[]")
        args = [*FAST_KDF_ARGS, "--max-doc-bytes", "2048", "--fault-rules-file", str(self.rules)]
        self.daemon = Daemon(directory, args)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        self.client = cc.CofferClient(self.daemon.socket_path, timeout=10)
        self.addCleanup(self.client.close)
        self.client.create_user("alice", "pw")
        self.client.create_user("nopw")
        self.session = self.client.unlock("alice", "pw")["session"]

    def raw_reply(self, line: bytes) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.daemon.socket_path)
            sock.sendall(line)
            reply = b""
            while not reply.endswith(b"\n"):
                reply += sock.recv(65536)
        return json.loads(reply)

    def test_each_provocable_reason(self) -> None:
        c, s = self.client, self.session
        provoke = {
            "PARSE_ERROR": lambda: _raise(self.raw_reply(b"{nope\n")["error"]),
            "INVALID_REQUEST": lambda: _raise(self.raw_reply(b'{"jsonrpc":"1.0","id":1}\n')["error"]),
            "METHOD_NOT_FOUND": lambda: c.call("no.such", {}),
            "INVALID_PARAMS": lambda: c.call("daemon.status", {"verbose": True}),
            "NOT_FOUND": lambda: c.get_service_data("x", username="nobody"),
            "ALREADY_EXISTS": lambda: c.create_user("alice", "pw"),
            "CONFLICT": lambda: c.set_service_data("x", {"a": 1}, session=s, if_revision="stale"),
            "LOCKED": lambda: c.get_service_data("x", session="A" * 43),
            "BAD_PASSWORD": lambda: c.unlock("alice", "wrong"),
            "PASSWORD_REQUIRED": lambda: c.unlock("nopw", "any"),
            "RATE_LIMITED": self.rate_limit,
            "STORAGE_FAILED": self.fail_a_write,
            "CORRUPT": self.corrupt_a_file,
            "TOO_LARGE": lambda: c.set_service_data("x", {"a": "x" * 4000}, session=s),
            "BUSY": self.overfill,
        }
        daemon_reasons = {r for r, cls in cc.ERROR_CLASSES.items() if cls.code < 1100}
        self.assertEqual(daemon_reasons - set(provoke) - NOT_PROVOKED, set(), "every daemon reason is provoked")
        for reason, act in provoke.items():
            with self.subTest(reason=reason):
                with self.assertRaises(cc.ERROR_CLASSES[reason]) as caught:
                    act()
                self.assertEqual(caught.exception.reason, reason)
                self.assertEqual(caught.exception.code, cc.ERROR_CLASSES[reason].code)
                self.assertTrue(caught.exception.message)

    def test_conflict_and_rate_limited_carry_their_data(self) -> None:
        revision = self.client.set_service_data("x", {"a": 1}, session=self.session)
        with self.assertRaises(cc.ConflictError) as conflict:
            self.client.set_service_data("x", {"a": 2}, session=self.session, if_revision=None)
        self.assertEqual(conflict.exception.revision, revision)
        with self.assertRaises(cc.RateLimitedError) as limited:
            self.rate_limit()
        self.assertGreater(limited.exception.retry_after_s, 0)

    def rate_limit(self) -> None:
        for _ in range(8):
            try:
                self.client.unlock("alice", "wrong")
            except cc.BadPasswordError:
                continue

    def fail_a_write(self) -> None:
        self.rules.write_text(json.dumps([{"op": "rename", "fault": "EIO", "pathIncludes": "alice_"}]))
        self.client.set_service_data("disk", {"a": 1}, username="alice")

    def corrupt_a_file(self) -> None:
        self.client.create_user("bob")
        path = Path(self.daemon.data_dir) / "services" / "bob_unencrypted_services.json"
        path.write_text("{ not json")
        self.client.get_service_data("x", username="bob")

    def overfill(self) -> None:
        daemon = Daemon.started(self, [*FAST_KDF_ARGS, "--max-connections", "1"])
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hog:
            hog.connect(daemon.socket_path)
            # An idle connection would give its place to a new one; a subscriber keeps it.
            hog.sendall(b'{"jsonrpc":"2.0","id":1,"method":"watch.subscribe","params":{"topics":[{"scope":"users"}]}}\n')
            self.assertIn(b'"subscription"', hog.recv(65536))
            with cc.CofferClient(daemon.socket_path, timeout=5) as client:
                client.status()


def _raise(error: dict) -> None:
    raise cc.error_from_wire(error)


if __name__ == "__main__":
    unittest.main()
