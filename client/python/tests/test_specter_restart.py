"""The restart story over HTTP, with real processes: the stand-in Specter app (standin_app.py, with
install()) and cofferd serving its folder. Log in, store encrypted extension data, SIGKILL Flask,
start it again with the same SECRET_KEY: the same cookie reads the data, no new login. Logout ends
the Coffer session; a cofferd restart sends the user to the login page."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional, Tuple

from specter_support import HAVE_DEPS, PASSWORD, SKIP_REASON, STANDIN, specter_folder


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@unittest.skipUnless(HAVE_DEPS, SKIP_REASON)
class RestartOverHttp(unittest.TestCase):
    def setUp(self) -> None:
        self.daemon = specter_folder(self)
        self.daemon.start()
        self.port = free_port()
        self.jar = http.cookiejar.CookieJar()
        self.web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.flask: Optional[subprocess.Popen] = None
        self.addCleanup(self.kill_flask)

    def start_flask(self) -> None:
        env = {**os.environ, "SECRET_KEY": "a fixed key for the restart test", "COFFER_SOCKET": self.daemon.socket_path,
               "PYTHONDONTWRITEBYTECODE": "1"}
        self.flask = subprocess.Popen([sys.executable, str(STANDIN / "standin_app.py"), self.daemon.data_dir, str(self.port)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the stand-in app did not start")

    def kill_flask(self) -> None:
        if self.flask is not None and self.flask.poll() is None:
            self.flask.send_signal(signal.SIGKILL)
            self.flask.wait(10)

    def request(self, path: str, data: Any = None, form: bool = False) -> Tuple[int, str, str]:
        """(status, body, Location) of one request with the cookie jar; redirects are not followed."""
        url = f"http://127.0.0.1:{self.port}{path}"
        body, headers = None, {}
        if data is not None:
            body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        try:
            with self.web.open(urllib.request.Request(url, body, headers), timeout=20) as response:
                return response.status, response.read().decode(), response.headers.get("Location") or ""
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers.get("Location") or ""

    def login(self) -> None:
        status, body, _ = self.request("/login", {"username": "alice", "password": PASSWORD}, form=True)
        self.assertEqual(status, 200, body)

    def test_the_restart_story(self) -> None:
        self.start_flask()
        self.login()
        self.assertEqual(self.request("/ext/swan", {"op": "set", "data": {"api_key": "s3cret", "n": 7}})[0], 200)

        self.kill_flask()  # SIGKILL: nothing of Flask's memory survives, only the cookie in the browser
        self.start_flask()
        status, body, _ = self.request("/ext/swan")
        self.assertEqual((status, json.loads(body)), (200, {"api_key": "s3cret", "n": 7}), "same cookie, data still there")
        self.assertEqual(json.loads(self.request("/status")[1])["decrypted"], True)

        status, _, location = self.request("/logout")
        self.assertEqual((status, urllib.parse.urlparse(location).path), (302, "/login"))
        self.assertEqual(self.request("/ext/swan")[0], 302, "logged out: no access")
        self.login()
        self.assertEqual(json.loads(self.request("/ext/swan")[1]), {"api_key": "s3cret", "n": 7})

        self.daemon.restart()  # every Coffer session ends with cofferd
        status, _, location = self.request("/swan")
        self.assertEqual((status, urllib.parse.urlparse(location).path), (302, "/login"), "Swan's flow: log in again")
        status, _, location = self.request("/ext/swan")
        self.assertEqual((status, urllib.parse.urlparse(location).path), (302, "/login"), "any page: log in again")
        self.login()
        self.assertEqual(json.loads(self.request("/ext/swan")[1]), {"api_key": "s3cret", "n": 7})


if __name__ == "__main__":
    unittest.main()
