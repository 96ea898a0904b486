"""Specter's User as far as storage goes: password hash, Fernet-wrapped user secret (PBKDF2-HMAC-SHA256)."""

import base64
import binascii
import hashlib
import os

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

SECRET_ITERATIONS = 390000


def hash_password(password):
    salt = binascii.b2a_base64(hashlib.sha256(os.urandom(60)).digest()).strip()
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 10000)
    return {"salt": salt.decode(), "pwdhash": binascii.b2a_base64(digest).strip().decode()}


def verify_password(stored, password):
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), stored["salt"].encode(), 10000)
    return digest == binascii.a2b_base64(stored["pwdhash"])


def _kek(password, salt, iterations):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return base64.urlsafe_b64encode(kdf.derive(password.encode()))


class User:
    def __init__(self, id, username, password_hash, is_admin=False, encrypted_user_secret=None, services=None,
                 manager=None, config=None, jwt_tokens=None):
        self.id = id
        self.username = username
        self.password_hash = password_hash
        self.is_admin = is_admin
        self.encrypted_user_secret = encrypted_user_secret
        self.plaintext_user_secret = None
        self.services = services or []
        self.config = config or {}
        self.jwt_tokens = jwt_tokens or {}
        self.manager = manager
        self.is_authenticated = True
        self.is_active = True
        self.is_anonymous = False

    def get_id(self):
        return self.id

    @property
    def is_user_secret_decrypted(self):
        return self.plaintext_user_secret is not None

    def _encrypt_user_secret(self, password):
        salt = os.urandom(16)
        token = Fernet(_kek(password, salt, SECRET_ITERATIONS)).encrypt(self.plaintext_user_secret)
        self.encrypted_user_secret = {"token": token.decode(), "salt": base64.b64encode(salt).decode(),
                                      "iterations": SECRET_ITERATIONS}

    def decrypt_user_secret(self, password):
        if not self.encrypted_user_secret:
            self.plaintext_user_secret = Fernet.generate_key()
            self._encrypt_user_secret(password)
            self.save_info()
            return
        record = self.encrypted_user_secret
        kek = _kek(password, base64.b64decode(record["salt"]), record["iterations"])
        self.plaintext_user_secret = Fernet(kek).decrypt(record["token"].encode())

    def delete_user_secret(self, autosave=True):
        self.encrypted_user_secret = None
        self.plaintext_user_secret = None
        if autosave:
            self.save_info()

    def save_info(self):
        self.manager.save()

    @property
    def json(self):
        record = {"id": self.id, "username": self.username, "password": self.password_hash, "is_admin": self.is_admin,
                  "jwt_tokens": self.jwt_tokens, "encrypted_user_secret": self.encrypted_user_secret,
                  "services": self.services}
        if not self.is_admin:
            record["config"] = self.config
        return record
