"""Specter's JSON writer routed through cofferd's ``files.write`` (``install(..., durable_files=True)``).

Specter writes config.json, wallets, devices and its other JSON files by renaming the old file to
``.bkp`` and rewriting in place, without fsync (``persistence._write_json_file``); after a power cut
users find empty files. Routed, the same bytes (``json.dumps(content, indent=4)``) are written by
cofferd: temp file, fsync, previous version kept as ``.bkp``, atomic rename, folder fsync, one writer
at a time per file. Files outside cofferd's data dir and the ones Specter keeps owning (users.json)
still go through Specter's own writer. With cofferd down, the write fails as Specter's does when it
cannot save (SpecterError): nothing is written behind cofferd's back.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Callable, Optional

from ..errors import CofferError
from .binding import OUTAGES, Binding
from .errors import ServiceEncryptedStorageError

logger = logging.getLogger(__name__)
PERSISTENCE_MODULE = "cryptoadvance.specter.persistence"
ROUTED_MARK = "_coffer_routed"


def routed_path(binding: Binding, path: str) -> Optional[str]:
    """The path relative to cofferd's data dir if cofferd is to write it, else None."""
    full = os.path.realpath(path)
    root = binding.data_dir()
    if not full.startswith(root + os.sep) or not full.endswith(".json"):
        return None
    relative = os.path.relpath(full, root).replace(os.sep, "/")
    top = "/" not in relative
    if top and (relative == "users.json" or relative.endswith("_services.json")):
        return None  # users.json stays Specter's; services files are cofferd's own (never Specter's writer)
    return relative


def route_json_writes(binding: Binding, persistence: Any = None) -> Callable[..., None]:
    """Replaces ``persistence._write_json_file`` (which every Specter JSON write goes through);
    returns the original."""
    module = persistence or sys.modules.get(PERSISTENCE_MODULE)
    if module is None:
        import importlib
        module = importlib.import_module(PERSISTENCE_MODULE)
    current = module._write_json_file
    # A second install() replaces the first one's routing (never wraps it twice).
    original = getattr(current, "__wrapped__") if getattr(current, ROUTED_MARK, False) else current
    failure = getattr(module, "SpecterError", RuntimeError)

    def _write_json_file(content: Any, path: str, lock: Any = None) -> None:
        try:
            relative = routed_path(binding, path)
        except ServiceEncryptedStorageError as e:  # cofferd's data dir is not known yet: it is down
            raise failure(f"Error: {path} could not be saved: {e}") from None
        if relative is None:
            original(content, path, lock)
            return
        text = json.dumps(content, indent=4)
        try:
            binding.client.write_file(relative, text)
        except OUTAGES as e:
            raise failure(f"Error: {path} could not be saved: Coffer (cofferd) is not reachable ({e.reason}); "
                          "start it, then retry. Nothing was written") from None
        except CofferError as e:
            raise failure(f"Error: {path} could not be saved ({e.reason}: {e.message})") from None

    setattr(_write_json_file, ROUTED_MARK, True)
    setattr(_write_json_file, "__wrapped__", original)
    module._write_json_file = _write_json_file
    logger.info("Specter's JSON files under %s are written durably by cofferd", binding.data_dir())
    return original
