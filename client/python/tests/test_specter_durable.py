"""Specter's own JSON files through cofferd (install(..., durable_files=True)): the bytes Specter's
writer would write, .bkp kept, users.json still Specter's; with cofferd down nothing is written;
and kill -9 of cofferd during a storm of Specter-style writes leaves every acknowledged file whole."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import unittest
from typing import Dict, List

from specter_support import HAVE_DEPS, SKIP_REASON, installed_standin, read_json



@unittest.skipUnless(HAVE_DEPS, SKIP_REASON)
class DurableFiles(unittest.TestCase):
    def setUp(self) -> None:
        self.daemon, self.client, self.app, _ = installed_standin(self, durable_files=True)
        self.addCleanup(self.unroute)
        self.web = self.app.test_client()
        self.file = lambda name: os.path.join(self.daemon.data_dir, name)

    def unroute(self) -> None:
        from cryptoadvance.specter import persistence
        persistence._write_json_file = getattr(persistence._write_json_file, "__wrapped__", persistence._write_json_file)

    def test_specters_writer_goes_through_cofferd(self) -> None:
        from cryptoadvance.specter import persistence

        persistence.own_writes.clear()
        first = {"auth": {"method": "usernamepassword"}, "n": 2 ** 60, "f": 1.0}
        persistence.write_json_file(first, self.file("config.json"))  # (Flask's test client would sort the keys)
        self.assertEqual(self.web.post("/config", json={"auth": {"method": "none"}}).status_code, 200)
        with open(self.file("config.json")) as f:
            self.assertEqual(f.read(), json.dumps({"auth": {"method": "none"}}, indent=4), "Specter's bytes")
        with open(self.file("config.json.bkp")) as f:
            self.assertEqual(f.read(), json.dumps(first, indent=4), "the previous version is .bkp")
        self.assertEqual(persistence.own_writes, [], "written by cofferd, not by Specter's writer")
        self.app.specter.user_manager.save()
        self.assertEqual(persistence.own_writes, [self.file("users.json")], "users.json stays Specter's")
        outside = os.path.join(os.path.dirname(self.daemon.data_dir), "elsewhere.json")
        persistence.write_json_file({"x": 1}, outside)
        self.assertEqual(read_json(outside), {"x": 1}, "outside the data dir: Specter's writer")

    def test_cofferd_down_writes_nothing(self) -> None:
        from cryptoadvance.specter import persistence

        self.web.post("/config", json={"v": 1})
        before = open(self.file("config.json"), "rb").read()
        self.daemon.stop()
        self.client.connect_timeout = 0.2
        with self.assertRaises(persistence.SpecterError) as caught:
            persistence.write_json_file({"v": 2}, self.file("config.json"))
        self.assertIn("not reachable", str(caught.exception))
        self.assertEqual(open(self.file("config.json"), "rb").read(), before, "nothing written behind cofferd's back")
        self.assertFalse(os.path.exists(self.file("config.json.bkp")))

    def test_kill_9_during_a_storm_of_writes(self) -> None:
        from cryptoadvance.specter import persistence

        os.makedirs(self.file("wallets/regtest"), exist_ok=True)
        names = [f"wallets/regtest/storm{i}.json" for i in range(4)]
        acked: Dict[str, int] = {}
        errors: List[str] = []
        stop = threading.Event()

        def writer(name: str) -> None:
            for seq in range(1, 5000):  # bounded in count, and stopped by the kill
                if stop.is_set():
                    return
                try:
                    persistence.write_json_file({"seq": seq, "pad": "x" * (seq % 700), "name": name}, self.file(name))
                except persistence.SpecterError as e:
                    errors.append(str(e))
                    return
                acked[name] = seq

        threads = [threading.Thread(target=writer, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(acked) < len(names) or min(acked.values()) < 20:
            self.assertLess(time.monotonic(), deadline, "the storm did not get going")
            time.sleep(0.01)
        self.daemon.stop(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(30)
        self.assertEqual(len(errors), len(names), "every writer saw the daemon go")
        for name in names:
            with open(self.file(name)) as f:
                stored = json.load(f)  # whole and parseable
            self.assertEqual(stored["name"], name)
            self.assertGreaterEqual(stored["seq"], acked[name], f"{name}: every acknowledged write is there")
            self.assertLessEqual(stored["seq"], acked[name] + 1, f"{name}: at most the one in flight beyond")
            with open(self.file(name + ".bkp")) as f:
                # The previous version, or the same one when the kill fell between the .bkp rotation and the rename.
                self.assertIn(json.load(f)["seq"], (stored["seq"] - 1, stored["seq"]), f"{name}.bkp: a good version")
        self.daemon.start()
        for name in names:  # the first write of each file after the restart sweeps its interrupted temp files
            persistence.write_json_file({"seq": 0, "name": name}, self.file(name))
        leftovers = [n for n in os.listdir(self.file("wallets/regtest")) if ".coffer-tmp-" in n]
        self.assertEqual(leftovers, [], "no temp file of an interrupted write is left")


if __name__ == "__main__":
    unittest.main()
