"""The errors Specter's storage raises, as extensions catch them.

Swan (and any extension) catches Specter's own ``ServiceEncryptedStorageError`` to send the user to
log in again. When Specter is loaded in this process, the errors raised here are instances of
Specter's class as well as of ours, so both ``except`` clauses match; without Specter (an extension
author's tests, a script) they are ours alone.
"""

from __future__ import annotations

import sys
import threading
from typing import Dict, Optional, Type

SPECTER_STORAGE_MODULE = "cryptoadvance.specter.services.service_encrypted_storage"


class ServiceEncryptedStorageError(Exception):
    """Specter's error for encrypted storage without a logged-in user: log in (again) with a password."""


class CofferUnavailableError(ServiceEncryptedStorageError):
    """cofferd cannot be reached (not running, restarting, wrong socket). Nothing was written."""


class CofferSessionEndedError(ServiceEncryptedStorageError):
    """The user's Coffer session ended (cofferd restarted, expiry, logout elsewhere): log in again."""


_combined: Dict[Type[Exception], Type[Exception]] = {}
_lock = threading.Lock()


def _specter_class() -> Optional[Type[Exception]]:
    module = sys.modules.get(SPECTER_STORAGE_MODULE)
    found = getattr(module, "ServiceEncryptedStorageError", None) if module is not None else None
    return found if isinstance(found, type) and issubclass(found, Exception) else None


def storage_error(cls: Type[ServiceEncryptedStorageError], message: str) -> Exception:
    """An instance of ``cls`` that is also Specter's ServiceEncryptedStorageError when Specter is loaded."""
    specter = _specter_class()
    if specter is None or issubclass(cls, specter):
        return cls(message)
    with _lock:
        both = _combined.get(cls)
        if both is None or not issubclass(both, specter):
            both = type(cls.__name__, (cls, specter), {"__module__": cls.__module__, "__doc__": cls.__doc__})
            _combined[cls] = both
    return both(message)
