"""Specter Desktop's storage API served by cofferd (Coffer issue 12).

Classes with Specter's names, constructor signatures and semantics, which an extension may import
instead of Specter's; and ``install(app)``, which switches a running Specter to them with every
extension and Specter itself unchanged. See client/python/README.md ("Inside Specter Desktop").

    from coffer_client.specter import install
    install(app)                      # once, after Specter's app is built
"""

from __future__ import annotations

from .annotations import ServiceAnnotationsStorage
from .binding import Binding, default_binding
from .errors import CofferSessionEndedError, CofferUnavailableError, ServiceEncryptedStorageError
from .genericdata import GenericDataManager
from .install import check_secret_key, install
from .storage import (ServiceEncryptedStorage, ServiceEncryptedStorageManager, ServiceUnencryptedStorage,
                      ServiceUnencryptedStorageManager)

__all__ = [
    "ServiceEncryptedStorage", "ServiceUnencryptedStorage", "ServiceEncryptedStorageManager",
    "ServiceUnencryptedStorageManager", "ServiceAnnotationsStorage", "GenericDataManager",
    "ServiceEncryptedStorageError", "CofferUnavailableError", "CofferSessionEndedError",
    "install", "check_secret_key", "Binding", "default_binding",
]
