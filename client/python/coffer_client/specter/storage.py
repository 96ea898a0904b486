"""Specter's service storage (``services/service_encrypted_storage.py``), served by cofferd.

Same class names, constructor signatures and semantics as Specter's (specter-api §2): one entry per
service id, values are JSON objects, ``get`` returns a fresh dict, ``set({})`` removes, ``update`` is
a shallow ``dict.update`` and ``update({})`` does nothing. What differs is where the data lives:
every call goes to cofferd, which writes Specter's own files durably and serializes every writer.
Nothing is cached here, so two Flask workers (or a restarted one) never see stale data.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Optional

from .binding import Binding, current_binding
from .errors import ServiceEncryptedStorageError, storage_error

logger = logging.getLogger(__name__)
JsonObject = Dict[str, Any]


class ServiceEncryptedStorage:
    """One user's encrypted service data (``<username>_services.json``), through their Coffer session."""

    encrypted = True

    def __init__(self, data_folder: str, user: Any, disable_decrypt: bool = False, *,
                 binding: Optional[Binding] = None) -> None:
        self.data_folder = data_folder
        self.user = user
        self.disable_decrypt = disable_decrypt
        self.binding = binding or current_binding()
        if self.encrypted and not disable_decrypt and self.binding.session_for(self.username) is None:
            raise storage_error(ServiceEncryptedStorageError,
                                f"User {self.username} must be authenticated with password before encrypted service data can be loaded")

    @property
    def username(self) -> str:
        return str(self.user.username)

    @property
    def data_file(self) -> str:
        return os.path.join(self.data_folder, f"{self.username}_services.json")

    @property
    def data(self) -> Dict[str, str]:
        """Which services have data, as Specter's ``data`` keys (values are never sent by cofferd
        without a session: each is a placeholder)."""
        ids = self.binding.plain(lambda: self.binding.client.encrypted_service_ids(self.username))
        return {sid: "<encrypted>" for sid in ids}

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.binding.client
        return self.binding.with_session(
            self.username, lambda token: getattr(client, method)(*args, session=token, **kwargs))

    def get_service_data(self, service_id: str) -> JsonObject:
        return dict(self._call("get_service_data", service_id))

    def set_service_data(self, service_id: str, data: JsonObject, autosave: bool = True) -> None:
        # Every call is saved at once: cofferd has no unsaved state to keep (autosave is accepted for
        # Specter's signature).
        self._call("set_service_data", service_id, data)

    def update_service_data(self, service_id: str, data: JsonObject, autosave: bool = True) -> None:
        if data == {}:
            return  # Specter's no-op: nothing saved
        self._call("update_service_data", service_id, data)

    def remove_service_data(self, service_id: str, autosave: bool = True) -> None:
        if service_id not in self._call("list_services"):
            logger.warning("service_id %s does not exist in the storage of %s", service_id, self.username)
            return
        self._call("remove_service_data", service_id)


class ServiceUnencryptedStorage(ServiceEncryptedStorage):
    """One user's unencrypted service data (``<username>_unencrypted_services.json``), by username."""

    encrypted = False

    def __init__(self, data_folder: str, user: Any, disable_decrypt: bool = False, *,
                 binding: Optional[Binding] = None) -> None:
        if not disable_decrypt:
            raise Exception("ServiceUnencryptedStorage needs to be initialized with disable_decrypt = True")
        super().__init__(data_folder, user, disable_decrypt=True, binding=binding)

    @property
    def data_file(self) -> str:
        return os.path.join(self.data_folder, f"{self.username}_unencrypted_services.json")

    @property
    def data(self) -> Dict[str, str]:
        client = self.binding.client
        ids = self.binding.plain(lambda: client.list_services(username=self.username))
        return {sid: "<stored>" for sid in ids}

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.binding.client
        return self.binding.plain(lambda: getattr(client, method)(*args, username=self.username, **kwargs))


class ServiceEncryptedStorageManager:
    """The current user's encrypted storage; "current" is Specter's ``user_manager.get_user()``."""

    storage_class = ServiceEncryptedStorage

    def __init__(self, data_folder: str, user_manager: Any, *, binding: Optional[Binding] = None) -> None:
        self.data_folder = data_folder
        self.user_manager = user_manager
        self.binding = binding or current_binding()
        # Specter keeps loaded storages here; ours hold no data, only who they are for.
        self.storage_by_user: Dict[Any, Any] = {}

    def _storage(self, user: Any, disable_decrypt: bool = False) -> ServiceEncryptedStorage:
        if self.storage_class is ServiceUnencryptedStorage:
            disable_decrypt = True
        return self.storage_class(self.data_folder, user, disable_decrypt, binding=self.binding)

    def get_raw_encrypted_data(self, user: Any) -> Dict[str, str]:
        """Which services have data for ``user``, without their secret (``user_has_encrypted_storage``)."""
        return self._storage(user, disable_decrypt=True).data

    def _get_current_user_service_storage(self) -> ServiceEncryptedStorage:
        user = self.user_manager.get_user()
        storage = self._storage(user)  # checked on every call: the session may have ended
        self.storage_by_user[user] = storage
        return storage

    def set_current_user_service_data(self, service_id: str, service_data: JsonObject) -> None:
        self._get_current_user_service_storage().set_service_data(service_id, service_data)

    def update_current_user_service_data(self, service_id: str, service_data: JsonObject) -> None:
        self._get_current_user_service_storage().update_service_data(service_id, service_data)

    def get_current_user_service_data(self, service_id: str) -> JsonObject:
        return self._get_current_user_service_storage().get_service_data(service_id)

    def unload_current_user(self) -> None:
        user = self.user_manager.get_user()
        if user and user in self.storage_by_user:
            self.storage_by_user[user] = None

    def delete_all_service_data(self, user: Any) -> None:
        """Wipes the user's service file, without their secret (their password was removed)."""
        self.storage_by_user.pop(user, None)
        binding, encrypted = self.binding, self.storage_class.encrypted
        removed = binding.plain(lambda: binding.client.wipe_service_data(str(user.username), encrypted=encrypted))
        logger.info("removed %d service entries of %s", removed, user.username)

    def remove_service_data(self, user: Any, service_id: str, autosave: bool = True) -> None:
        """Removes one service's entry; as in Specter, only for a user whose storage this process
        has used (a no-op otherwise)."""
        if self.storage_by_user.get(user) is None:
            logger.debug("Could not remove service data of %s: not loaded in this process", getattr(user, "id", user))
            return
        self._storage(user).remove_service_data(service_id, autosave=autosave)


class ServiceUnencryptedStorageManager(ServiceEncryptedStorageManager):
    storage_class = ServiceUnencryptedStorage

