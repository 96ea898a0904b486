"""Test support: a real cofferd (the compiled daemon) in a temp dir, and a fake one for bad frames.

The daemon is ``node <repo>/daemon/dist/main.js`` (build it with ``npm run build``; ``npm test``
does). ``COFFER_NODE`` names the node binary (default: ``node`` on PATH), ``COFFER_REPO`` the repo
(default: found from this file's place).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Callable, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # coffer_client, when not pip-installed

REPO = Path(os.environ.get("COFFER_REPO") or HERE.parents[2])
NODE = os.environ.get("COFFER_NODE") or shutil.which("node") or "node"
# libsodium's INTERACTIVE Argon2id limits: the lowest the daemon accepts, fast enough for tests.
FAST_KDF_ARGS = ["--kdf-opslimit", "2", "--kdf-memlimit", str(64 * 1024 * 1024)]


def temp_dir(case: unittest.TestCase) -> Path:
    """A short temp dir (Unix socket paths are limited to 107 bytes), removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="coffer-py-"))
    case.addCleanup(shutil.rmtree, path, True)
    return path


class Daemon:
    """A real cofferd in a child process, restartable on the same data dir."""

    def __init__(self, directory: Path, args: Optional[List[str]] = None) -> None:
        self.dir = directory
        self.socket_path = str(directory / "run" / "cofferd.sock")
        self.data_dir = str(directory / "data")
        self.extra_args = list(args if args is not None else FAST_KDF_ARGS)
        self.proc: Optional[subprocess.Popen] = None
        self.log = ""

    @classmethod
    def started(cls, case: unittest.TestCase, args: Optional[List[str]] = None) -> "Daemon":
        daemon = cls(temp_dir(case), args)
        case.addCleanup(daemon.stop)
        daemon.start()
        return daemon

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> None:
        main = REPO / "daemon" / "dist" / "main.js"
        if not main.exists():
            raise RuntimeError(f"{main} is missing: run `npm run build` first")
        argv = [NODE, str(main), "--data-dir", self.data_dir, "--socket", self.socket_path,
                "--log-format", "json", *self.extra_args]
        self.proc = subprocess.Popen(argv, cwd=str(self.dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(self.proc, ready), daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            self.proc.kill()
            raise RuntimeError(f"cofferd did not start:\n{self.log}")

    def _pump(self, proc: subprocess.Popen, ready: threading.Event) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            self.log += line
            if '"msg":"listening"' in line:
                ready.set()
        proc.stdout.close()
        ready.set()  # exited: start() notices with poll()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


class SharedDaemonCase(unittest.TestCase):
    """A test class with one real daemon for all its tests (in its own temp dir), stopped and removed
    after the last. Subclasses open their clients after ``super().setUpClass()`` and close them
    before ``super().tearDownClass()``."""

    dir: str
    daemon: Daemon

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="coffer-py-")
        cls.daemon = Daemon(Path(cls.dir))
        try:
            cls.daemon.start()
        except BaseException:
            shutil.rmtree(cls.dir, True)
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.daemon.stop()
        shutil.rmtree(cls.dir, True)
        super().tearDownClass()


class FakeDaemon:
    """A Unix socket server that answers each request line with whatever ``respond`` returns
    (bytes written as they are; None: say nothing). For frames a real cofferd never sends."""

    def __init__(self, directory: Path, respond: Callable[[dict], Optional[bytes]]) -> None:
        self.socket_path = str(directory / "fake.sock")
        self.respond = respond
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.socket_path)
        self.server.listen(8)
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    reply = self.respond(json.loads(line))
                    if reply == b"CLOSE":
                        return
                    if reply is not None:
                        conn.sendall(reply)

    def close(self) -> None:
        self.server.close()


def answer(request: dict, result: object) -> bytes:
    return (json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}) + "\n").encode()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
