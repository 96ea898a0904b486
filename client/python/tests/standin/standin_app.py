"""A Flask app built the way Specter's server.py builds its own (see README.md), with two
extensions and a GenericDataManager subclass. As a program it serves HTTP on a port, after
``install()``, for the restart tests:

    python3 standin_app.py DATA_FOLDER PORT [--durable]     # $SECRET_KEY, $COFFER_SOCKET
"""

import os
import sys
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # coffer_client, when not pip-installed

from flask import Flask, jsonify, redirect, request, url_for  # noqa: E402
from flask_login import LoginManager, current_user, login_required, login_user, logout_user  # noqa: E402

from cryptoadvance.specter.managers.user_manager import UserManager  # noqa: E402
from cryptoadvance.specter.persistence import write_json_file  # noqa: E402
from cryptoadvance.specter.services.service import Service  # noqa: E402
from cryptoadvance.specter.services.service_encrypted_storage import ServiceEncryptedStorageError, StockManager  # noqa: E402
from cryptoadvance.specter.user import verify_password  # noqa: E402

from coffer_client.specter import GenericDataManager  # noqa: E402


class SwanService(Service):
    """An extension with secrets: Swan-like, it sends the user to log in when storage is locked."""
    id = "swan"
    encrypt_data = True


class DevhelpService(Service):
    id = "test_service"
    encrypt_data = False


class OtpManager(GenericDataManager):
    name_of_json_file = "otp.json"
    encrypted_fields = ["secret"]


EXTENSIONS = {cls.id: cls for cls in (SwanService, DevhelpService)}


def wallet_of(specter, user):
    folder = os.path.join(specter.data_folder, "wallets" if user.id == "admin" else f"wallets_{user.id}")
    os.makedirs(folder, exist_ok=True)
    return SimpleNamespace(alias="hot_wallet", manager=SimpleNamespace(data_folder=folder))


def delete_services_with_encrypted_storage(specter, user):
    """Specter's ServiceManager flow when a user's password is removed: each encrypted service's
    entry removed (if there is encrypted storage), the secret deleted, then the orphaned file wiped."""
    manager = specter.service_encrypted_storage_manager
    for service in (s for s in EXTENSIONS.values() if s.encrypt_data):
        if manager.get_raw_encrypted_data(user) != {}:  # user_has_encrypted_storage
            manager.remove_service_data(user, service.id, autosave=True)
    user.delete_user_secret(autosave=True)
    manager.delete_all_service_data(user)


def create_app(data_folder, secret_key="stand-in key", config_class="cryptoadvance.specter.config.DevelopmentConfig"):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key
    app.config["SPECTER_CONFIGURATION_CLASS_FULLNAME"] = config_class
    login_manager = LoginManager(app)
    login_manager.login_view = "login"
    specter = SimpleNamespace(data_folder=data_folder, user_manager=UserManager(data_folder))
    specter.service_encrypted_storage_manager = StockManager(data_folder, specter.user_manager)
    specter.service_unencrypted_storage_manager = StockManager(data_folder, specter.user_manager)

    @login_manager.user_loader
    def user_loader(user_id):
        return specter.user_manager.get_user(user_id)

    def login(user_id, password=None):  # server.py's app.login
        user = user_loader(user_id)
        login_user(user)
        if password:
            user.decrypt_user_secret(password)

    app.login = login
    app.specter = specter
    _routes(app, specter)
    return app


def _routes(app, specter):
    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return "login page", 200
        user = specter.user_manager.get_user(request.form["username"])
        if user is None or not verify_password(user.password_hash, request.form["password"]):
            return "bad password", 401
        app.login(user.id, request.form["password"])
        return "logged in", 200

    @app.route("/logout")
    def logout():
        current_user.plaintext_user_secret = None  # auth.py's logout
        logout_user()
        return redirect(url_for("login"))

    @app.route("/status")
    @login_required
    def status():
        user = specter.user_manager.get_user()
        return jsonify(user=user.username, decrypted=user.is_user_secret_decrypted)

    @app.route("/ext/<sid>", methods=["GET", "POST"])
    @login_required
    def ext(sid):
        service = EXTENSIONS[sid]
        if request.method == "POST":
            body = request.get_json()
            getattr(service, f"{body['op']}_current_user_service_data")(body["data"])
        return jsonify(service.get_current_user_service_data())

    @app.route("/swan")
    @login_required
    def swan():  # Swan's own flow: a locked storage means "log in again"
        try:
            return jsonify(SwanService.get_current_user_service_data())
        except ServiceEncryptedStorageError:
            return redirect(url_for("login"))

    @app.route("/reserve", methods=["POST"])
    @login_required
    def reserve():
        wallet = wallet_of(specter, specter.user_manager.get_user())
        body = request.get_json()
        if body.get("unreserve"):
            DevhelpService.unreserve_addresses(wallet)
        else:
            DevhelpService.reserve_addresses(wallet, body["addresses"], body.get("label"))
        return "ok"

    @app.route("/otp", methods=["GET", "POST"])
    @login_required
    def otp():
        user = specter.user_manager.get_user()
        manager = OtpManager(specter.data_folder, encryption_key=b"per-user")
        if request.method == "POST":
            manager.data.update(request.get_json())
            manager._save()
        return jsonify(user=user.username, data=manager.data)

    @app.route("/remove-password", methods=["POST"])
    @login_required
    def remove_password():  # settings: auth switched to "none"
        delete_services_with_encrypted_storage(specter, specter.user_manager.get_user())
        return "ok"

    @app.route("/config", methods=["POST"])
    def config():
        write_json_file(request.get_json(), os.path.join(specter.data_folder, "config.json"))
        return "ok"


if __name__ == "__main__":
    from coffer_client.specter import install

    folder, port = sys.argv[1], int(sys.argv[2])
    application = create_app(folder, os.environ["SECRET_KEY"])
    install(application, durable_files="--durable" in sys.argv)
    application.run("127.0.0.1", port, threaded=True, use_reloader=False)
