"""Which socket the client talks to, and what to do when it cannot be reached.

The same lookup and advice as the TypeScript client and the ``coffer`` CLI
(client/src/socket-path.ts): an explicit path, else ``$COFFER_SOCKET``, else the first that exists of
the installed daemon's socket and the checkout's.
"""

from __future__ import annotations

import errno
import grp
import os
from typing import Mapping, Optional, Sequence

#: Where the systemd units put the socket (scripts/systemd/cofferd.socket).
SYSTEM_SOCKET = "/run/coffer/cofferd.sock"
#: cofferd's own default when started from a checkout (``npx cofferd``, ``npm start``).
DEVELOPMENT_SOCKET = "./.coffer/cofferd.sock"


def resolve_socket_path(given: Optional[str] = None, *, env: Optional[Mapping[str, str]] = None,
                        cwd: Optional[str] = None, candidates: Optional[Sequence[str]] = None) -> str:
    """The socket to use. An explicit choice (``given`` or a non-empty ``$COFFER_SOCKET``) is used
    as given, whether or not it exists yet (a daemon may be about to create it); otherwise the
    first well-known path that exists, or the checkout's, so the error names where ``npx cofferd``
    would listen."""
    base = os.getcwd() if cwd is None else cwd
    environment = os.environ if env is None else env
    explicit = given or environment.get("COFFER_SOCKET")
    if explicit:
        return os.path.normpath(os.path.join(base, explicit))
    paths = [os.path.normpath(os.path.join(base, p))
             for p in ((SYSTEM_SOCKET, DEVELOPMENT_SOCKET) if candidates is None else candidates)]
    for path in paths:
        if os.path.exists(path):
            return path
    return paths[-1] if paths else os.path.normpath(os.path.join(base, DEVELOPMENT_SOCKET))


def errno_name(error: OSError) -> str:
    """``ENOENT``, ``EACCES``, ...: the name the TypeScript client reports too."""
    if error.errno is not None and error.errno in errno.errorcode:
        return errno.errorcode[error.errno]
    return type(error).__name__


def unreachable_advice(socket_path: str, code: str) -> str:
    """What to do when ``socket_path`` cannot be reached, by errno name. EACCES names the group
    that owns the socket (or its directory, when that cannot be entered): joining it is the fix."""
    if code == "EACCES":
        group = _owning_group(socket_path) or _owning_group(os.path.dirname(socket_path))
        join = ("join the group that owns it" if group is None
                else f'join the group {group} (sudo usermod -aG {group} "$USER", then log in again)')
        return f"permission denied: cofferd runs, but this user may not connect; {join}, or run as the daemon's user"
    if code == "ENOENT":
        return ("nothing listens there: start cofferd (`npx cofferd` in the checkout, or "
                "`sudo systemctl start cofferd.socket`), or point COFFER_SOCKET (or socket_path) at its socket "
                f"(tried in order: socket_path, $COFFER_SOCKET, {SYSTEM_SOCKET}, {DEVELOPMENT_SOCKET})")
    return "start cofferd (`npx cofferd`), or point COFFER_SOCKET (or socket_path) at the socket it listens on"


def _owning_group(path: str) -> Optional[str]:
    """The name of the group owning ``path`` (its number when it has no name), or None if unreadable."""
    try:
        gid = os.stat(path).st_gid
    except OSError:
        return None
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
