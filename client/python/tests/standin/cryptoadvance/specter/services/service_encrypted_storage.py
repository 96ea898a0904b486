"""Specter's storage module: its error class, and stock managers that must never be used once
install() ran (they fail loudly, so a test that reaches one fails)."""


class ServiceEncryptedStorageError(Exception):
    pass


class StockManager:
    def __init__(self, data_folder, user_manager):
        self.data_folder = data_folder
        self.user_manager = user_manager

    def __getattr__(self, name):
        raise AssertionError(f"Specter's own storage manager was used ({name}): install() did not switch it")
