"""The Flask example, in process (Flask's test client) against a real cofferd: every failure a user
can meet is a page with a message, never a 500. The restart story with real processes over HTTP is
test/flask-restart.test.ts."""

from __future__ import annotations

import itertools
import os
import re
import sys
import unittest

from support import HERE, SharedDaemonCase

import coffer_client as cc

try:
    import flask  # noqa: F401
    HAVE_FLASK = True
except ImportError:
    HAVE_FLASK = False
    if os.environ.get("COFFER_REQUIRE_FLASK") == "1":
        raise

sys.path.insert(0, str(HERE.parent / "examples"))
KEY = "k" * 40


@unittest.skipUnless(HAVE_FLASK, "Flask is not installed for this python (apt-get install python3-flask)")
class FlaskExample(SharedDaemonCase):
    # One daemon for the class; each test logs in as its own user, so their sessions never mix.
    names = itertools.count()

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.coffer = cc.CofferClient(cls.daemon.socket_path, timeout=10, connect_timeout=0.5)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.coffer.close()
        super().tearDownClass()

    def setUp(self) -> None:
        import flask_app

        self.flask_app = flask_app
        self.alice = f"alice{next(self.names)}"
        self.coffer.create_user(self.alice, "pw")
        self.app = flask_app.create_app(self.coffer, KEY)
        self.web = self.app.test_client()

    def unlocked(self) -> bool:
        """Whether this test's user has a live session in the daemon."""
        return next(u["unlocked"] for u in self.coffer.list_users() if u["username"] == self.alice)

    def csrf(self, path: str = "/login") -> str:
        page = self.web.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf" value="([^"]+)"', page)
        assert match, page
        return match.group(1)

    def log_in(self, password: str = "pw", username: str = ""):
        return self.web.post("/login", data={"csrf": self.csrf(), "username": username or self.alice,
                                             "password": password})

    def test_refuses_to_start_without_a_stable_secret_key(self) -> None:
        old = os.environ.pop("FLASK_SECRET_KEY", None)
        try:
            with self.assertRaises(SystemExit) as caught:
                self.flask_app.create_app(self.coffer)
            self.assertIn("FLASK_SECRET_KEY", str(caught.exception.code))
            with self.assertRaises(SystemExit):
                self.flask_app.create_app(self.coffer, "short")
        finally:
            if old is not None:
                os.environ["FLASK_SECRET_KEY"] = old

    def test_login_edit_logout(self) -> None:
        self.assertEqual(self.web.get("/").location, "/login")
        self.assertEqual(self.log_in().status_code, 302)
        token = self.csrf("/services/notes")
        self.web.post("/services/notes/update", data={"csrf": token, "key": "seed", "value": '{"words": 12}'})
        self.web.post("/services/notes/update", data={"csrf": token, "key": "memo", "value": "plain text"})
        page = self.web.get("/services/notes").get_data(as_text=True)
        self.assertIn("&#34;words&#34;: 12", page)
        self.assertIn("plain text", page)
        self.assertTrue(self.unlocked())
        self.web.post("/logout", data={"csrf": token})
        self.assertFalse(self.unlocked(), "logout ended the Coffer session")
        self.assertEqual(self.web.get("/services/notes").location, "/login")

    def test_replace_all_is_compare_and_set(self) -> None:
        self.log_in()
        token = self.csrf("/services/notes")
        response = self.web.post("/services/notes/replace", data={"csrf": token, "data": '{"a": 1}', "revision": ""})
        self.assertEqual(response.status_code, 302)
        stale = self.web.post("/services/notes/replace", data={"csrf": token, "data": '{"a": 2}', "revision": ""})
        self.assertEqual(stale.status_code, 302)
        page = self.web.get("/services/notes").get_data(as_text=True)
        self.assertIn("changed meanwhile", page)
        self.assertIn("&#34;a&#34;: 1", page, "the concurrent edit was not lost")
        bad = self.web.post("/services/notes/replace", data={"csrf": token, "data": "[1]"}, follow_redirects=True)
        self.assertIn("must be a JSON object", bad.get_data(as_text=True))
        empty = self.web.post("/services/notes/update", data={"csrf": token, "key": ""}, follow_redirects=True)
        self.assertIn("Give a key", empty.get_data(as_text=True))

    def test_login_failures_are_messages(self) -> None:
        self.coffer.create_user("nopw")
        cases = [("wrong", self.alice, 401, "Wrong username or password"),
                 ("pw", "nobody", 401, "Wrong username or password"),
                 ("pw", "no/slash", 401, "Wrong username or password"),
                 ("any", "nopw", 403, "has no password")]
        for password, username, status, text in cases:
            with self.subTest(username=username):
                response = self.log_in(password, username)
                self.assertEqual(response.status_code, status)
                self.assertIn(text, response.get_data(as_text=True))
        for _ in range(6):
            response = self.log_in("wrong")
        self.assertEqual(response.status_code, 429)
        self.assertIn("Too many failed attempts", response.get_data(as_text=True))

    def test_a_form_without_our_csrf_token_is_refused(self) -> None:
        response = self.web.post("/login", data={"username": self.alice, "password": "pw"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.unlocked())

    def test_a_stale_session_goes_back_to_login_with_a_message(self) -> None:
        self.log_in()
        self.coffer.lock(self.alice)  # as a daemon restart does: the session is no longer valid
        response = self.web.get("/services/notes")
        self.assertEqual((response.status_code, response.location), (302, "/login"))
        self.assertIn("Please log in again", self.web.get("/login").get_data(as_text=True))
        token = self.csrf()
        self.assertEqual(self.web.post("/logout", data={"csrf": token}).status_code, 302)

    def test_logout_after_the_session_ended(self) -> None:
        self.log_in()
        token = self.csrf("/services/notes")
        self.coffer.lock(self.alice)
        self.assertEqual(self.web.post("/logout", data={"csrf": token}).location, "/login")

    def test_daemon_down_is_a_clear_page(self) -> None:
        # A client on a socket nobody listens on (stopping the real daemon is in flask-restart.test.ts).
        down = cc.CofferClient(os.path.join(self.dir, "down.sock"), connect_timeout=0.2)
        web = self.flask_app.create_app(down, KEY).test_client()
        page = web.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        response = web.post("/login", data={"csrf": token, "username": self.alice, "password": "pw"})
        self.assertEqual(response.status_code, 503)
        page = response.get_data(as_text=True)
        self.assertIn("Coffer is unavailable", page)
        self.assertNotIn("Traceback", page)

    def test_other_daemon_errors_are_pages(self) -> None:
        self.log_in()
        self.assertEqual(self.web.get("/services/not.a.service").status_code, 400)
        big = "x" * (9 * 1024 * 1024)
        token = self.csrf("/services/notes")
        response = self.web.post("/services/notes/update", data={"csrf": token, "key": "k", "value": big})
        self.assertEqual(response.status_code, 502)
        self.assertIn("TOO_LARGE", response.get_data(as_text=True))


if __name__ == "__main__":
    unittest.main()
