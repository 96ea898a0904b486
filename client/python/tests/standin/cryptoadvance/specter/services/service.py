"""Specter's Service base class, as extensions use it (class methods over app.specter's managers)."""

from flask import current_app as app


class ServiceAnnotationsStorage:
    """Specter's own: replaced by install()."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("Specter's own ServiceAnnotationsStorage was used: install() did not switch it")


class Service:
    id = None
    encrypt_data = False

    @classmethod
    def _storage_manager(cls):
        specter = app.specter
        return specter.service_encrypted_storage_manager if cls.encrypt_data else specter.service_unencrypted_storage_manager

    @classmethod
    def set_current_user_service_data(cls, data):
        cls._storage_manager().set_current_user_service_data(cls.id, data)

    @classmethod
    def update_current_user_service_data(cls, data):
        cls._storage_manager().update_current_user_service_data(cls.id, data)

    @classmethod
    def get_current_user_service_data(cls):
        return cls._storage_manager().get_current_user_service_data(service_id=cls.id)

    @classmethod
    def reserve_address(cls, wallet, address, label=None):
        cls.reserve_addresses(wallet, [address], label)

    @classmethod
    def reserve_addresses(cls, wallet, addresses, label=None):
        storage = ServiceAnnotationsStorage(service_id=cls.id, wallet=wallet)
        for address in addresses:
            storage.set_addr_annotations(address, {"service_id": cls.id, "label": label}, autosave=False)
        storage.save()

    @classmethod
    def unreserve_addresses(cls, wallet):
        storage = ServiceAnnotationsStorage(service_id=cls.id, wallet=wallet)
        for address in list(storage.get_all_addr_annotations()):
            storage.remove_addr_annotations(address, autosave=False)
        storage.save()
