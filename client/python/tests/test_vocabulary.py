"""The helpers in Specter's vocabulary, and users, sessions, annotations and docs, against a real
daemon: their semantics are Specter's (specter-format §9), not just "some call happened"."""

from __future__ import annotations

import unittest

from support import SharedDaemonCase

import coffer_client as cc

ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TXID = "ab" * 32


class Vocabulary(SharedDaemonCase):
    # One daemon for the class: these tests use their own users and services.
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.client = cc.CofferClient(cls.daemon.socket_path, timeout=10)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()
        super().tearDownClass()

    def user(self, name: str, password: str = "pw") -> str:
        """Creates ``name`` and returns a session of theirs."""
        self.client.create_user(name, password)
        return self.client.unlock(name, password)["session"]

    def test_get_service_data_of_an_absent_service_is_empty(self) -> None:
        session = self.user("v-absent")
        self.assertEqual(self.client.get_service_data("swan", session=session), {})
        self.assertEqual(self.client.get_service("swan", session=session), {"data": {}, "revision": None})
        self.assertEqual(self.client.get_service_data("swan", username="v-absent"), {})

    def test_set_replaces_and_empty_removes(self) -> None:
        session = self.user("v-set")
        self.client.set_service_data("swan", {"a": {"b": 1}, "c": 2}, session=session)
        self.client.set_service_data("swan", {"a": {"x": 1}}, session=session)
        self.assertEqual(self.client.get_service_data("swan", session=session), {"a": {"x": 1}})
        self.assertEqual(self.client.list_services(session=session), ["swan"])
        self.assertIsNone(self.client.set_service_data("swan", {}, session=session))
        self.assertEqual(self.client.list_services(session=session), [], "{} removes the entry, as in Specter")

    def test_update_is_shallow_like_specter(self) -> None:
        session = self.user("v-update")
        self.client.set_service_data("swan", {"a": {"x": 1, "y": 2}, "b": 1}, session=session)
        after = self.client.update_service_data("swan", {"a": {"x": 9}, "c": None}, session=session)
        expected = {"a": {"x": 9}, "b": 1, "c": None}
        self.assertEqual(after, expected, "nested objects replaced, not merged; None stored as null")
        self.assertEqual(list(after), ["a", "b", "c"], "existing keys keep their place, new ones are appended")
        self.assertEqual(self.client.get_service_data("swan", session=session), expected)

    def test_update_of_an_absent_service_creates_it_and_an_empty_patch_is_a_no_op(self) -> None:
        self.client.create_user("v-plain")
        self.assertEqual(self.client.update_service_data("notes", {"k": [1]}, username="v-plain"), {"k": [1]})
        before = self.client.get_service("notes", username="v-plain")["revision"]
        self.client.update_service_data("notes", {}, username="v-plain")
        self.assertEqual(self.client.get_service("notes", username="v-plain")["revision"], before, "no write")

    def test_remove_service_data(self) -> None:
        session = self.user("v-remove")
        self.client.remove_service_data("never", session=session)  # absent: a no-op, not an error
        self.client.set_service_data("swan", {"a": 1}, session=session)
        self.client.remove_service_data("swan", session=session)
        self.assertEqual(self.client.get_service_data("swan", session=session), {})
        self.client.set_service_data("swan", {"a": 1}, username="v-remove")
        self.client.remove_service_data("swan", username="v-remove")
        self.assertEqual(self.client.list_services(username="v-remove"), [])

    def test_encrypted_and_unencrypted_are_separate(self) -> None:
        session = self.user("v-both")
        self.client.set_service_data("swan", {"secret": 1}, session=session)
        self.client.set_service_data("swan", {"public": 1}, username="v-both")
        self.assertEqual(self.client.get_service_data("swan", session=session), {"secret": 1})
        self.assertEqual(self.client.get_service_data("swan", username="v-both"), {"public": 1})

    def test_exactly_one_owner(self) -> None:
        with self.assertRaises(TypeError):
            self.client.get_service_data("swan")
        with self.assertRaises(TypeError):
            self.client.get_service_data("swan", session="s", username="u")

    def test_compare_and_set(self) -> None:
        session = self.user("v-cas")
        first = self.client.set_service_data("swan", {"a": 1}, session=session, if_revision=None)
        with self.assertRaises(cc.ConflictError):
            self.client.set_service_data("swan", {"a": 2}, session=session, if_revision=None)
        second = self.client.update_service_data("swan", {"b": 1}, session=session, if_revision=first)
        self.assertEqual(second, {"a": 1, "b": 1})
        with self.assertRaises(cc.ConflictError):
            self.client.remove_service_data("swan", session=session, if_revision=first)

    def test_sessions(self) -> None:
        session = self.user("v-session")
        self.assertEqual(self.client.check_session(session)["username"], "v-session")
        self.client.end_session(session)
        with self.assertRaises(cc.LockedError):
            self.client.check_session(session)
        with self.assertRaises(cc.LockedError):
            self.client.get_service_data("swan", session=session)
        again = self.client.unlock("v-session", "pw", ttl_s=60, idle_s=30)
        self.client.lock("v-session")
        with self.assertRaises(cc.LockedError):
            self.client.check_session(again["session"])
        # The holder of a session may lock its user (what a peer without the admin right must do).
        held = self.client.unlock("v-session", "pw")["session"]
        self.client.lock("v-session", session=held)
        with self.assertRaises(cc.LockedError):
            self.client.check_session(held)

    def test_users(self) -> None:
        self.client.create_user("v-user", "old")
        listed = {u["username"]: u for u in self.client.list_users()}
        self.assertEqual(listed["v-user"], {"username": "v-user", "hasPassword": True, "unlocked": False})
        self.client.change_password("v-user", "new", old_password="old")
        with self.assertRaises(cc.BadPasswordError):
            self.client.unlock("v-user", "old")
        session = self.client.unlock("v-user", "new")["session"]
        self.client.set_service_data("swan", {"kept": True}, session=session)
        self.client.rotate_secret(session)
        self.assertEqual(self.client.get_service_data("swan", session=session), {"kept": True})
        self.client.delete_user("v-user", "new")
        self.assertNotIn("v-user", [u["username"] for u in self.client.list_users()])
        self.client.create_user("v-first")
        self.client.change_password("v-first", "pw")  # a first password: no old one
        self.assertTrue(self.client.unlock("v-first", "pw")["session"])

    def test_annotations_by_address_and_tx(self) -> None:
        c = self.client
        c.create_user("v-ann")
        self.assertIsNone(c.get_address_annotation("v-ann", "w1", "swan", ADDRESS))
        c.set_address_annotation("v-ann", "w1", "swan", ADDRESS, {"label": "cold", "n": 1})
        self.assertEqual(c.update_address_annotation("v-ann", "w1", "swan", ADDRESS, {"n": None}), {"label": "cold"})
        revision = c.set_tx_annotation("v-ann", "w1", "swan", TXID, {"note": "rent"})
        self.assertEqual(c.update_tx_annotation("v-ann", "w1", "swan", TXID, {"x": 1}, if_revision=revision),
                         {"note": "rent", "x": 1})
        self.assertEqual(c.get_tx_annotation("v-ann", "w1", "swan", TXID), {"note": "rent", "x": 1})
        both = c.get_annotations("v-ann", "w1", "swan")
        self.assertEqual((both["addrs"], list(both["txs"])), ({ADDRESS: {"label": "cold"}}, [TXID]))
        self.assertEqual(len(c.list_annotations("v-ann")), 2)
        self.assertEqual(c.list_annotations("v-ann", wallet="w2"), [])
        c.delete_address_annotation("v-ann", "w1", "swan", ADDRESS)
        c.delete_tx_annotation("v-ann", "w1", "swan", TXID)
        self.assertEqual(c.list_annotations("v-ann", wallet="w1", service="swan"), [])

    def test_docs_with_encrypted_fields(self) -> None:
        c = self.client
        session = self.user("v-docs")
        c.set_doc("wallet-meta", {"name": "w", "xpub": "secret"}, encrypted_fields=["xpub"], session=session)
        public = c.get_doc("wallet-meta")
        self.assertEqual((public["data"], public["locked"]), ({"name": "w"}, ["xpub"]))
        self.assertEqual(c.get_doc("wallet-meta", session)["data"], {"name": "w", "xpub": "secret"})
        self.assertEqual(c.update_doc("wallet-meta", {"name": "v"}, session=session), {"name": "v", "xpub": "secret"})
        with self.assertRaises(cc.LockedError):
            c.update_doc("wallet-meta", {"xpub": "other"})
        self.assertIn({"name": "wallet-meta", "owner": "v-docs", "encryptedFields": ["xpub"]}, c.list_docs())
        c.delete_doc("wallet-meta", session=session)
        with self.assertRaises(cc.NotFoundError):
            c.get_doc("wallet-meta")


if __name__ == "__main__":
    unittest.main()
