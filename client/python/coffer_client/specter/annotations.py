"""Specter's ``ServiceAnnotationsStorage`` (``<wallet alias>_<service id>.json`` beside the wallet),
served by cofferd's ``annotations.*``.

Specter keeps ``self.data = {"addrs": {...}, "txs": {...}}`` in memory and rewrites the whole file
on ``_save()``; callers mutate it directly or through ``set_*(..., autosave=False)`` and then call
``save()``. Here ``data`` is read from cofferd when the object is made, and ``save()`` sends only
what differs from that read (one call per changed address or transaction), so a concurrent writer's
other entries are never overwritten.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, Optional

from .binding import Binding, current_binding

KINDS = {"addrs": "addr", "txs": "tx"}


def owner_of_folder(folder: str, binding: Binding) -> str:
    """The username a wallets folder belongs to: ``wallets`` is the admin's, ``wallets_<user id>`` another user's."""
    name = os.path.basename(os.path.normpath(folder))
    if not name.startswith("wallets_"):
        return "admin"
    user_id = name[len("wallets_"):]
    manager = binding.user_manager
    user = manager.get_user(user_id) if manager is not None else None
    return str(getattr(user, "username", None) or user_id)


class ServiceAnnotationsStorage:
    def __init__(self, service_id: str, wallet: Any, *, binding: Optional[Binding] = None) -> None:
        self.service_id = service_id
        self.wallet = wallet
        self.binding = binding or current_binding()
        self.data_folder = wallet.manager.data_folder
        self.username = owner_of_folder(self.data_folder, self.binding)
        self.load()

    @property
    def data_file(self) -> str:
        return os.path.join(self.data_folder, f"{self.wallet.alias}_{self.service_id}.json")

    def load(self) -> None:
        client = self.binding.client
        stored = self.binding.plain(lambda: client.get_annotations(self.username, self.wallet.alias, self.service_id))
        self.data: Dict[str, Dict[str, Any]] = {"addrs": dict(stored.get("addrs") or {}), "txs": dict(stored.get("txs") or {})}
        self._saved = copy.deepcopy(self.data)

    def save(self) -> None:
        self._save()

    def _save(self) -> None:
        for key, kind in KINDS.items():
            now, before = self.data.get(key) or {}, self._saved.get(key) or {}
            for item in [i for i in before if i not in now]:
                self._send("delete", kind, item)
            for item, value in now.items():
                if item not in before or before[item] != value:
                    self._send("set", kind, item, value)
        self._saved = copy.deepcopy(self.data)

    def _send(self, verb: str, kind: str, item: str, *value: Any) -> None:
        client = self.binding.client
        method = getattr(client, f"{verb}_{'address' if kind == 'addr' else 'tx'}_annotation")
        self.binding.plain(lambda: method(self.username, self.wallet.alias, self.service_id, item, *value))

    def set_addr_annotations(self, addr: str, annotations: Any, autosave: bool = True) -> None:
        self.data["addrs"][addr] = annotations
        if autosave:
            self._save()

    def remove_addr_annotations(self, addr: str, autosave: bool = True) -> None:
        self.data["addrs"].pop(addr, None)
        if autosave:
            self._save()

    def get_addr_annotations(self, addr: str) -> Any:
        return self.data["addrs"].get(addr, None)

    def get_all_addr_annotations(self) -> Dict[str, Any]:
        return self.data["addrs"]

    def set_tx_annotations(self, txid: str, annotations: Any, autosave: bool = True) -> None:
        self.data["txs"][txid] = annotations
        if autosave:
            self._save()

    def get_tx_annotations(self, txid: str) -> Any:
        return self.data["txs"].get(txid, None)

    def get_all_tx_annotations(self) -> Dict[str, Any]:
        return self.data["txs"]
