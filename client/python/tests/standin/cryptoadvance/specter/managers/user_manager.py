"""Specter's UserManager: owns users.json, rewrites it whole on every change; get_user() is the current user."""

import os

from flask_login import current_user

from ..persistence import read_json_file, write_json_file
from ..user import User, hash_password


class UserManager:
    def __init__(self, data_folder):
        self.data_folder = data_folder
        self.path = os.path.join(data_folder, "users.json")
        records = read_json_file(self.path) if os.path.isfile(self.path) else [
            {"id": "admin", "username": "admin", "password": hash_password("admin"), "is_admin": True}]
        self.users = [User(r["id"], r["username"], r["password"], r.get("is_admin", False),
                           r.get("encrypted_user_secret"), r.get("services"), self, r.get("config"),
                           r.get("jwt_tokens")) for r in records]
        if not os.path.isfile(self.path):
            self.save()

    @property
    def admin(self):
        return self.get_by_uid("admin")

    def get_user(self, user=None):
        if user is None:
            user = current_user
        if isinstance(user, str):
            return self.get_by_uid(user)
        if user and not user.is_anonymous and user in self.users:
            return self.get_by_uid(user.id)
        return self.admin

    def get_by_uid(self, uid):
        return next((u for u in self.users if u.id == uid), None)

    def add_user(self, user_id, password):
        user = User(user_id, user_id, hash_password(password), manager=self)
        self.users.append(user)
        self.save()
        return user

    def save(self):
        write_json_file([u.json for u in self.users], self.path)
