"""Specter's JSON writer, as it behaves: the old file renamed to .bkp, the new one written in place,
no fsync. Counts its own writes so a test can tell who wrote a file."""

import json
import os
import threading

fslock = threading.Lock()
own_writes = []


class SpecterError(Exception):
    pass


def read_json_file(path):
    with open(path) as f:
        return json.load(f)


def _write_json_file(content, path, lock=None):
    with lock or fslock:
        if os.path.isfile(path):
            os.replace(path, path + ".bkp")
        with open(path, "w") as f:
            json.dump(content, f, indent=4)
        own_writes.append(path)


def write_json_file(content, path, lock=None):
    _write_json_file(content, path, lock)
