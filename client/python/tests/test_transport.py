"""The transport: calls, timeouts, reconnecting across daemon restarts, bad frames, many threads."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import unittest

from support import Daemon, FakeDaemon, SharedDaemonCase, answer, temp_dir, wait_for

import coffer_client as cc


class CallsAgainstARealDaemon(SharedDaemonCase):
    # One daemon for the class (none of these tests stop it); a fresh client per test.
    def setUp(self) -> None:
        self.client = cc.CofferClient(self.daemon.socket_path, timeout=10)
        self.addCleanup(self.client.close)

    def test_call_returns_the_result(self) -> None:
        status = self.client.call("daemon.status", {})
        self.assertEqual(status["pid"], self.daemon.pid)
        self.assertEqual(self.client.status()["socket"], self.daemon.socket_path)

    def test_socket_path_defaults_to_the_environment(self) -> None:
        old = os.environ.get("COFFER_SOCKET")
        os.environ["COFFER_SOCKET"] = self.daemon.socket_path
        try:
            client = cc.CofferClient()
            self.addCleanup(client.close)
            self.assertEqual(client.socket_path, self.daemon.socket_path)
            self.assertEqual(client.status()["pid"], self.daemon.pid)
        finally:
            if old is None:
                del os.environ["COFFER_SOCKET"]
            else:
                os.environ["COFFER_SOCKET"] = old
        self.assertTrue(cc.CofferClient().socket_path.endswith(os.path.join(".coffer", "cofferd.sock")))

    def test_one_connection_serves_many_calls(self) -> None:
        before = self.client.status()["connections"]
        for _ in range(20):
            self.client.status()
        self.assertEqual(self.client.status()["connections"], before, "no new connection per call")

    def test_a_call_that_outlasts_its_timeout_raises_a_timeout_error(self) -> None:
        self.client.create_user("slow", "pw")
        with self.assertRaises(cc.CofferTimeoutError) as caught:
            self.client.call("users.unlock", {"username": "slow", "password": "pw"}, timeout=0.001)
        self.assertIsInstance(caught.exception, TimeoutError, "catchable as the builtin TimeoutError")
        self.assertEqual(caught.exception.reason, "TIMEOUT")
        self.assertEqual(self.client.status()["pid"], self.daemon.pid, "the next call works")

    def test_a_request_over_the_frame_limit_is_refused_before_sending(self) -> None:
        client = cc.CofferClient(self.daemon.socket_path, max_frame_bytes=4096)
        self.addCleanup(client.close)
        with self.assertRaises(cc.TooLargeError):
            client.call("daemon.status", {"pad": "x" * 5000})
        self.assertEqual(client.status()["pid"], self.daemon.pid)

    def test_closed_client_raises_closed(self) -> None:
        self.client.status()
        self.client.close()
        with self.assertRaises(cc.ClosedError):
            self.client.status()

    def test_context_manager_closes(self) -> None:
        with cc.CofferClient(self.daemon.socket_path) as client:
            client.status()
        with self.assertRaises(cc.ClosedError):
            client.status()


class Reconnecting(unittest.TestCase):
    def test_the_next_call_after_a_restart_reaches_the_new_daemon(self) -> None:
        daemon = Daemon.started(self)
        client = cc.CofferClient(daemon.socket_path, timeout=10)
        self.addCleanup(client.close)
        first = client.status()["pid"]
        daemon.restart()
        self.assertNotEqual(client.status()["pid"], first, "the stale idle connection was replaced")

    def test_a_call_made_while_the_daemon_is_down_waits_for_it(self) -> None:
        daemon = Daemon.started(self)
        client = cc.CofferClient(daemon.socket_path, timeout=15)
        self.addCleanup(client.close)
        client.status()
        daemon.stop()
        outcome: dict = {}
        waiter = threading.Thread(target=lambda: outcome.setdefault("status", client.status()))
        waiter.start()
        time.sleep(0.4)
        self.assertTrue(waiter.is_alive(), "still waiting while the daemon is down")
        daemon.start()
        waiter.join(15)
        self.assertEqual(outcome["status"]["pid"], daemon.pid)

    def test_a_daemon_that_stays_down_gives_unavailable_after_connect_timeout(self) -> None:
        client = cc.CofferClient(str(temp_dir(self) / "none.sock"), connect_timeout=0.3)
        started = time.monotonic()
        with self.assertRaises(cc.UnavailableError) as caught:
            client.status()
        self.assertGreaterEqual(time.monotonic() - started, 0.25)
        self.assertIn("none.sock", caught.exception.message)
        self.assertIn("COFFER_SOCKET", caught.exception.message, "says what to do next")

    def test_calls_in_flight_when_the_daemon_dies_raise_connection_lost_and_are_not_resent(self) -> None:
        daemon = Daemon.started(self)
        client = cc.CofferClient(daemon.socket_path, timeout=10, connect_timeout=0.5, max_connections=8)
        self.addCleanup(client.close)
        client.create_user("u", "pw")
        outcomes: list = []

        def unlock_loop() -> None:
            for _ in range(50):
                try:
                    client.call("users.unlock", {"username": "u", "password": "pw"})
                    outcomes.append("ok")
                except cc.CofferError as e:
                    outcomes.append(e.reason)
                    if e.reason in ("UNAVAILABLE",):
                        return

        threads = [threading.Thread(target=unlock_loop) for _ in range(6)]
        for thread in threads:
            thread.start()
        wait_for(lambda: outcomes.count("ok") >= 6)
        daemon.stop(signal.SIGKILL)
        for thread in threads:
            thread.join(20)
        self.assertIn("CONNECTION_LOST", outcomes)
        self.assertTrue(set(outcomes) <= {"ok", "CONNECTION_LOST", "UNAVAILABLE"}, set(outcomes))
        daemon.start()
        # No call was re-sent to the new daemon: it has no sessions at all.
        self.assertEqual(client.status()["sessions"], 0)

    def test_a_forked_child_uses_its_own_connections(self) -> None:
        daemon = Daemon.started(self)
        client = cc.CofferClient(daemon.socket_path, timeout=10)
        self.addCleanup(client.close)
        client.status()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                ok = all(client.status()["pid"] == daemon.pid for _ in range(20))
                os.write(write_end, b"ok" if ok else b"no")
            except BaseException as e:  # anything: report and leave without running the parent's cleanups
                os.write(write_end, repr(e).encode()[:200])
            os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        self.assertEqual(os.read(read_end, 256), b"ok")
        os.close(read_end)
        for _ in range(20):
            self.assertEqual(client.status()["pid"], daemon.pid, "the parent's connection still in step")


class ManyThreads(unittest.TestCase):
    def test_many_threads_share_one_client(self) -> None:
        daemon = Daemon.started(self)
        client = cc.CofferClient(daemon.socket_path, timeout=30, max_connections=4)
        self.addCleanup(client.close)
        client.create_user("t", None)
        errors: list = []

        def work(n: int) -> None:
            try:
                for i in range(25):
                    service = f"s{n}"
                    client.set_service_data(service, {"n": n, "i": i}, username="t")
                    data = client.get_service_data(service, username="t")
                    if data != {"n": n, "i": i}:
                        errors.append((n, i, data))
            except Exception as e:  # noqa: BLE001 - collected for the assertion
                errors.append(e)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(client.list_services(username="t")), 16)
        self.assertLessEqual(client.status()["connections"], 4, "never more than max_connections")

    def test_threads_beyond_the_pool_wait_their_turn_or_time_out(self) -> None:
        fake = FakeDaemon(temp_dir(self), lambda request: None)  # never answers
        self.addCleanup(fake.close)
        client = cc.CofferClient(fake.socket_path, max_connections=1)
        self.addCleanup(client.close)
        holder = threading.Thread(target=lambda: self.assertRaises(cc.CofferTimeoutError, client.call, "x", {}, 1.0))
        holder.start()
        wait_for(lambda: fake.connections == 1)
        with self.assertRaises(cc.CofferTimeoutError) as caught:
            client.call("y", {}, timeout=0.2)
        self.assertIn("max_connections", caught.exception.message)
        holder.join()


class BadFrames(unittest.TestCase):
    def fake(self, respond) -> cc.CofferClient:
        fake = FakeDaemon(temp_dir(self), respond)
        self.addCleanup(fake.close)
        client = cc.CofferClient(fake.socket_path, timeout=2, max_frame_bytes=1024)
        self.addCleanup(client.close)
        self.fake_daemon = fake
        return client

    def test_not_json(self) -> None:
        with self.assertRaises(cc.ProtocolViolationError):
            self.fake(lambda r: b"{nope\n").call("m", {})

    def test_not_json_rpc(self) -> None:
        with self.assertRaises(cc.ProtocolViolationError):
            self.fake(lambda r: b"[1, 2]\n").call("m", {})

    def test_over_the_frame_limit(self) -> None:
        with self.assertRaises(cc.ProtocolViolationError) as caught:
            self.fake(lambda r: b'"' + b"x" * 5000).call("m", {})
        self.assertIn("limit", caught.exception.message)

    def test_wrong_id(self) -> None:
        with self.assertRaises(cc.ProtocolViolationError):
            self.fake(lambda r: answer({**r, "id": r["id"] + 7}, 1)).call("m", {})

    def test_neither_result_nor_error(self) -> None:
        with self.assertRaises(cc.ProtocolViolationError):
            self.fake(lambda r: json.dumps({"jsonrpc": "2.0", "id": r["id"]}).encode() + b"\n").call("m", {})

    def test_notifications_and_blank_lines_are_skipped(self) -> None:
        note = b'{"jsonrpc":"2.0","method":"watch.changed","params":{}}\n\n'
        client = self.fake(lambda r: note + answer(r, {"ok": True}))
        self.assertEqual(client.call("m", {}), {"ok": True})

    def test_a_frame_split_across_writes(self) -> None:
        client = self.fake(lambda r: answer(r, "a" * 300))
        self.assertEqual(client.call("m", {}), "a" * 300)

    def test_a_parting_error_without_id(self) -> None:
        busy = b'{"jsonrpc":"2.0","id":null,"error":{"code":1041,"message":"busy","data":{"reason":"BUSY"}}}\n'
        with self.assertRaises(cc.BusyError):
            self.fake(lambda r: busy).call("m", {})

    def test_closed_mid_call(self) -> None:
        with self.assertRaises(cc.ConnectionLostError):
            self.fake(lambda r: b"CLOSE").call("m", {})

    def test_a_connection_left_out_of_step_is_not_reused(self) -> None:
        # The first request is never answered; the second one is.
        client = self.fake(lambda r: None if r["method"] == "first" else answer(r, r["method"]))
        with self.assertRaises(cc.CofferTimeoutError):
            client.call("first", {}, timeout=0.2)
        self.assertEqual(client.call("second", {}), "second")
        self.assertEqual(self.fake_daemon.connections, 2, "a new connection after the timeout")


if __name__ == "__main__":
    unittest.main()
