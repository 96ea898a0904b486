"""Specter's ``GenericDataManager`` (``managers/genericdata_manager.py``), served by cofferd's ``docs.*``.

Subclasses keep setting ``name_of_json_file`` (or overriding ``data_file``) and ``encrypted_fields``.
The file is addressed by its path relative to cofferd's data dir, in Specter's own format; its
encrypted fields are sealed by cofferd under the current user's secret (their Coffer session), so
``encryption_key`` only says whether they are to be encrypted: the key itself never leaves Specter.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional

from ..errors import NotFoundError
from .binding import Binding, current_binding
from .errors import ServiceEncryptedStorageError, storage_error


class GenericDataManager:
    name_of_json_file = "some_data.json"
    encrypted_fields: List[str] = []
    encrypted_storage_version = 1

    @classmethod
    def initial_data(cls) -> Dict[str, Any]:
        return {}

    def __init__(self, data_folder: str, encryption_key: Optional[bytes] = None, *,
                 binding: Optional[Binding] = None) -> None:
        self.data_folder = data_folder
        self.encryption_key = encryption_key
        self.binding = binding or current_binding()
        self.load()

    @property
    def data_file(self) -> str:
        return os.path.join(self.data_folder, self.__class__.name_of_json_file)

    @property
    def doc_name(self) -> str:
        """The file's path relative to cofferd's data dir (``docs.*`` address Specter's files so)."""
        return os.path.relpath(os.path.realpath(self.data_file), self.binding.data_dir())

    def _session(self) -> Optional[str]:
        if not (self.encryption_key and self.encrypted_fields):
            return None
        username = str(self.binding.current_user().username)
        token = self.binding.session_for(username)
        if token is None:
            raise storage_error(ServiceEncryptedStorageError,
                                f"User {username} must be authenticated with password before {self.doc_name} can be decrypted")
        return token

    def load(self) -> None:
        client, session = self.binding.client, self._session()
        try:
            found = self.binding.plain(lambda: client.get_doc(self.doc_name, session=session))
        except NotFoundError:
            self.data: Dict[str, Any] = self.__class__.initial_data()
            self._save()
            return
        self.data = dict(found["data"])
        self.data.pop("encrypted_storage_version", None)

    def _save(self) -> None:
        client, session = self.binding.client, self._session()
        fields = list(self.encrypted_fields) if session is not None else None
        data = copy.deepcopy(self.data)
        self.binding.plain(lambda: client.set_doc(self.doc_name, data, encrypted_fields=fields, session=session))
