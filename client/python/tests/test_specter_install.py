"""coffer_client.specter through install(), in process: the stand-in Specter app (standin/) on a
real cofferd serving its folder. Every storage method of specter-api §1-§2, checked in the files a
stock Specter would read (Fernet under the user's secret, Specter's JSON)."""

from __future__ import annotations

import json
import os
import unittest

from specter_support import HAVE_DEPS, PASSWORD, SKIP_REASON, entries, installed_standin, read_json, specter_folder



@unittest.skipUnless(HAVE_DEPS, SKIP_REASON)
class InstalledSpecter(unittest.TestCase):
    def setUp(self) -> None:
        self.daemon, self.client, self.app, self.binding = installed_standin(self)
        self.web = self.app.test_client()
        self.specter = self.app.specter
        self.file = lambda name: os.path.join(self.daemon.data_dir, name)

    def login(self) -> None:
        response = self.web.post("/login", data={"username": "alice", "password": PASSWORD})
        self.assertEqual(response.status_code, 200, response.get_data(as_text=True))

    def in_request(self):
        """A request context as alice (Flask-Login's user), without the session cookie: the
        per-process session map is what serves it."""
        from flask_login import login_user
        context = self.app.test_request_context()
        context.push()
        self.addCleanup(context.pop)
        login_user(self.specter.user_manager.get_user("alice"))
        return self.specter.user_manager.get_user("alice")

    def test_login_makes_the_secret_and_opens_a_coffer_session(self) -> None:
        self.assertIsNone(read_json(self.file("users.json"))[1]["encrypted_user_secret"])
        self.login()
        self.assertIsNotNone(read_json(self.file("users.json"))[1]["encrypted_user_secret"], "Specter made the secret")
        self.assertEqual(self.web.get("/status").get_json(), {"user": "alice", "decrypted": True})
        self.assertTrue(next(u["unlocked"] for u in self.client.list_users() if u["username"] == "alice"))

    def test_every_encrypted_storage_method(self) -> None:
        from cryptography.fernet import Fernet
        from standin_app import SwanService

        self.login()
        user = self.in_request()
        self.assertEqual(SwanService.get_current_user_service_data(), {})
        value = {"token": "t\u00e9", "msat": 2 ** 40, "order": {"a": 1, "b": 2}, "nested": {"a": 1}}
        SwanService.set_current_user_service_data(value)
        got = SwanService.get_current_user_service_data()
        self.assertEqual(got, value)
        got["token"] = "changed here only"
        self.assertEqual(SwanService.get_current_user_service_data()["token"], "t\u00e9", "a fresh dict every call")
        # What stock Specter reads: a Fernet token of json.dumps(value) under the user's secret.
        token = entries(self.file("alice_services.json"))["swan"]
        self.assertEqual(Fernet(user.plaintext_user_secret).decrypt(token.encode()).decode(), json.dumps(value))

        SwanService.update_current_user_service_data({"nested": {"b": 2}, "token": None})
        after = SwanService.get_current_user_service_data()
        self.assertEqual(after["nested"], {"b": 2}, "shallow: a nested dict replaces the old one whole")
        self.assertIn("token", after)
        self.assertIsNone(after["token"], "None is stored as null, not a deletion")
        before = os.stat(self.file("alice_services.json")).st_mtime_ns
        SwanService.update_current_user_service_data({})
        self.assertEqual(os.stat(self.file("alice_services.json")).st_mtime_ns, before, "update({}) saves nothing")

        manager = self.specter.service_encrypted_storage_manager
        self.assertEqual(list(manager.get_raw_encrypted_data(user)), ["swan"])
        storage = manager._get_current_user_service_storage()
        storage.remove_service_data("absent")  # a warning, no error
        manager.remove_service_data(user, "swan")
        self.assertEqual(SwanService.get_current_user_service_data(), {})
        self.assertEqual(entries(self.file("alice_services.json")), {})
        SwanService.set_current_user_service_data({"x": 1})
        SwanService.set_current_user_service_data({})
        self.assertEqual(manager.get_raw_encrypted_data(user), {}, "set({}) removes the entry")
        manager.unload_current_user()
        self.assertIsNone(manager.storage_by_user[user])
        manager.remove_service_data(user, "swan")  # unloaded: a no-op, as in Specter

    def test_values_are_exact_as_pythons_json(self) -> None:
        """specter-api §2: big ints, 1.0 and key order come back as stored (needs cofferd's lossless values)."""
        from standin_app import SwanService

        self.login()
        self.in_request()
        value = {"msat": 2 ** 60, "f": 1.0, "order": {"10": 1, "2": 2}}
        SwanService.set_current_user_service_data(value)
        self.assertEqual(json.dumps(SwanService.get_current_user_service_data()), json.dumps(value))

    def test_every_unencrypted_storage_method_and_annotations(self) -> None:
        from standin_app import DevhelpService

        self.login()
        self.web.post("/ext/test_service", json={"op": "set", "data": {"a": 1, "b": {"c": 2}}})
        self.web.post("/ext/test_service", json={"op": "update", "data": {"b": {"d": 3}}})
        self.assertEqual(self.web.get("/ext/test_service").get_json(), {"a": 1, "b": {"d": 3}})
        on_disk = entries(self.file("alice_unencrypted_services.json"))
        self.assertEqual(json.loads(on_disk["test_service"]), {"a": 1, "b": {"d": 3}}, "Specter's format: a JSON string")
        user = self.in_request()
        manager = self.specter.service_unencrypted_storage_manager
        self.assertEqual(list(manager.get_raw_encrypted_data(user)), ["test_service"])
        self.assertEqual(DevhelpService.get_current_user_service_data()["a"], 1)

        self.web.post("/reserve", json={"addresses": ["bc1qaaaaaaaaaaaaaaaaaaaa", "bc1qbbbbbbbbbbbbbbbbbbbb"], "label": "Swan \u20bf"})
        stored = read_json(self.file("wallets_alice/hot_wallet_test_service.json"))
        self.assertEqual(stored["addrs"]["bc1qaaaaaaaaaaaaaaaaaaaa"], {"service_id": "test_service", "label": "Swan \u20bf"})
        self.assertEqual(sorted(stored["addrs"]), ["bc1qaaaaaaaaaaaaaaaaaaaa", "bc1qbbbbbbbbbbbbbbbbbbbb"])
        self.web.post("/reserve", json={"unreserve": True})
        self.assertEqual(read_json(self.file("wallets_alice/hot_wallet_test_service.json"))["addrs"], {})

        manager.delete_all_service_data(user)
        self.assertEqual(self.web.get("/ext/test_service").get_json(), {})

    def test_generic_data_manager_with_encrypted_fields(self) -> None:
        from cryptography.fernet import Fernet
        from standin_app import OtpManager

        self.login()
        response = self.web.post("/otp", json={"secret": "JBSWY3DPEHPK3PXP", "label": "phone"})
        self.assertEqual(response.get_json()["data"], {"secret": "JBSWY3DPEHPK3PXP", "label": "phone"})
        stored = read_json(self.file("otp.json"))  # Specter's format, in Specter's folder
        self.assertEqual((stored["label"], stored["encrypted_storage_version"]), ("phone", 1), "plain fields stay readable")
        self.assertNotIn("JBSW", stored["secret"], "encrypted fields do not")
        user = self.in_request()
        self.assertEqual(Fernet(user.plaintext_user_secret).decrypt(stored["secret"].encode()), b"JBSWY3DPEHPK3PXP",
                         "sealed as Specter seals them: Fernet under the user's secret")
        again = OtpManager(self.daemon.data_dir, encryption_key=b"per-user", binding=self.binding)
        self.assertEqual(again.data, {"secret": "JBSWY3DPEHPK3PXP", "label": "phone"}, "a new instance reads the plaintext")

    def test_no_session_is_specters_error_and_swan_sends_to_login(self) -> None:
        from cryptoadvance.specter.services.service_encrypted_storage import ServiceEncryptedStorageError
        from standin_app import SwanService
        from coffer_client.specter import ServiceEncryptedStorage

        self.login()
        self.web.get("/logout")
        self.assertFalse(next(u["unlocked"] for u in self.client.list_users() if u["username"] == "alice"),
                         "logout ended the Coffer session")
        user = self.in_request()
        with self.assertRaises(ServiceEncryptedStorageError):
            SwanService.get_current_user_service_data()
        with self.assertRaises(ServiceEncryptedStorageError):
            ServiceEncryptedStorage(self.daemon.data_dir, user, binding=self.binding)
        self.assertFalse(user.is_user_secret_decrypted)

    def test_an_ended_session_sends_to_login(self) -> None:
        self.login()
        self.web.post("/ext/swan", json={"op": "set", "data": {"k": "v"}})
        self.client.lock("alice")  # every session of alice ends (as after a cofferd restart)
        self.assertEqual(self.web.get("/status").get_json()["decrypted"], False)
        response = self.web.get("/swan")
        self.assertEqual((response.status_code, response.location), (302, "/login"), "Swan's own flow")
        response = self.web.get("/ext/swan")
        self.assertEqual(response.status_code, 302, "uncaught: install()'s handler sends to login")
        self.assertTrue(response.location.startswith("/login"))
        self.login()
        self.assertEqual(self.web.get("/ext/swan").get_json(), {"k": "v"}, "after a new login the data is there")

    def test_password_removed_wipes_the_encrypted_data(self) -> None:
        self.login()
        self.web.post("/ext/swan", json={"op": "set", "data": {"k": "v"}})
        self.assertEqual(list(entries(self.file("alice_services.json"))), ["swan"])
        self.web.post("/ext/test_service", json={"op": "set", "data": {"kept": True}})
        self.assertEqual(self.web.post("/remove-password").status_code, 200)
        self.assertIsNone(read_json(self.file("users.json"))[1]["encrypted_user_secret"], "Specter dropped the secret")
        self.assertEqual(self.web.get("/ext/test_service").get_json(), {"kept": True}, "unencrypted data is not touched")
        self.assertEqual(entries(self.file("alice_services.json")), {}, "delete_all_service_data wiped the file")
        self.assertEqual(self.client.encrypted_service_ids("alice"), [])
        self.assertFalse(next(u["unlocked"] for u in self.client.list_users() if u["username"] == "alice"))

    def test_cofferd_down_is_specters_locked_error_and_a_page(self) -> None:
        from cryptoadvance.specter.services.service_encrypted_storage import ServiceEncryptedStorageError
        from standin_app import DevhelpService
        from coffer_client.specter import CofferUnavailableError

        self.login()
        self.web.post("/ext/test_service", json={"op": "set", "data": {"k": 1}})
        self.web.post("/ext/swan", json={"op": "set", "data": {"k": 1}})
        files = {name: open(self.file(name), "rb").read() for name in ("alice_services.json", "alice_unencrypted_services.json")}
        self.daemon.stop()
        self.client.connect_timeout = 0.2
        response = self.web.post("/ext/swan", json={"op": "set", "data": {"k": 2}})
        self.assertEqual(response.status_code, 503)
        self.assertIn("Coffer is unavailable", response.get_data(as_text=True))
        self.assertEqual(self.web.get("/swan").status_code, 302, "Swan catches it as locked storage")
        self.in_request()
        with self.assertRaises(ServiceEncryptedStorageError) as caught:
            DevhelpService.set_current_user_service_data({"k": 3})
        self.assertIsInstance(caught.exception, CofferUnavailableError)
        for name, content in files.items():
            self.assertEqual(open(self.file(name), "rb").read(), content, f"{name}: nothing written behind cofferd's back")
        # Logging in while cofferd is down: Specter's login still works, the user is told, storage stays locked.
        self.web.get("/logout")
        self.login()
        self.assertEqual(self.web.get("/status").get_json()["decrypted"], False)
        with self.web.session_transaction() as session:
            self.assertIn("Coffer (cofferd) is not reachable", str(session.get("_flashes")))


@unittest.skipUnless(HAVE_DEPS, SKIP_REASON)
class WithoutInstall(unittest.TestCase):
    def test_classes_find_cofferd_through_coffer_socket(self) -> None:
        from types import SimpleNamespace
        from coffer_client.specter import (Binding, ServiceEncryptedStorage, ServiceEncryptedStorageError,
                                           ServiceUnencryptedStorage)

        daemon = specter_folder(self)
        daemon.start()
        old = os.environ.get("COFFER_SOCKET")
        os.environ["COFFER_SOCKET"] = daemon.socket_path
        self.addCleanup(lambda: os.environ.pop("COFFER_SOCKET") if old is None else os.environ.update(COFFER_SOCKET=old))
        binding = Binding()
        self.addCleanup(binding.client.close)
        carol = SimpleNamespace(username="carol")  # unencrypted storage never checks the user exists
        storage = ServiceUnencryptedStorage(daemon.data_dir, carol, disable_decrypt=True, binding=binding)
        storage.set_service_data("devhelp", {"n": 1})
        self.assertEqual(storage.get_service_data("devhelp"), {"n": 1})
        self.assertEqual(binding.client.socket_path, daemon.socket_path)
        with self.assertRaises(ServiceEncryptedStorageError):
            ServiceEncryptedStorage(daemon.data_dir, carol, binding=binding)
        with self.assertRaises(Exception):
            ServiceUnencryptedStorage(daemon.data_dir, carol, binding=binding)

    def test_secret_key_warnings(self) -> None:
        from types import SimpleNamespace
        from coffer_client.specter import check_secret_key

        production = {"SECRET_KEY": "random", "SPECTER_CONFIGURATION_CLASS_FULLNAME": "cryptoadvance.specter.config.ProductionConfig"}
        old = os.environ.pop("SECRET_KEY", None)
        try:
            self.assertIn("random per process", check_secret_key(SimpleNamespace(config=production))[0])
            os.environ["SECRET_KEY"] = "fixed"
            self.assertEqual(check_secret_key(SimpleNamespace(config=production)), [])
        finally:
            os.environ.pop("SECRET_KEY", None)
            if old is not None:
                os.environ["SECRET_KEY"] = old
        self.assertIn("no SECRET_KEY", check_secret_key(SimpleNamespace(config={}))[0])


if __name__ == "__main__":
    unittest.main()
