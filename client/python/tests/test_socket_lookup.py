"""Which socket the Python client talks to (socket_path, $COFFER_SOCKET, /run/coffer/cofferd.sock,
./.coffer/cofferd.sock: the first that exists) and what it says when it cannot reach it: the same
lookup and advice as the TypeScript client and the CLI (test/socket-lookup.test.ts)."""

from __future__ import annotations

import grp
import json
import os
import subprocess
import sys
import unittest

from support import FAST_KDF_ARGS, HERE, Daemon, temp_dir

import coffer_client as cc
from coffer_client.socket_path import unreachable_advice

NOBODY = 65534


class Lookup(unittest.TestCase):
    def test_the_order_given_then_environment_then_the_first_well_known_path_that_exists(self) -> None:
        self.assertEqual((cc.SYSTEM_SOCKET, cc.DEVELOPMENT_SOCKET), ("/run/coffer/cofferd.sock", "./.coffer/cofferd.sock"))
        d = str(temp_dir(self))
        system = os.path.join(d, "run", "cofferd.sock")
        local = ".coffer/cofferd.sock"
        lookup = dict(cwd=d, env={}, candidates=[system, local])
        self.assertEqual(cc.resolve_socket_path(**lookup), os.path.join(d, local), "none exists: the checkout path")
        os.mkdir(os.path.join(d, ".coffer"))
        open(os.path.join(d, local), "w").close()
        self.assertEqual(cc.resolve_socket_path(**lookup), os.path.join(d, local), "only the checkout one exists")
        os.mkdir(os.path.dirname(system))
        open(system, "w").close()
        self.assertEqual(cc.resolve_socket_path(**lookup), system, "the installed one wins when both exist")
        from_env = dict(lookup, env={"COFFER_SOCKET": "elsewhere.sock"})
        self.assertEqual(cc.resolve_socket_path(**from_env), os.path.join(d, "elsewhere.sock"), "$COFFER_SOCKET beats both, even if absent")
        self.assertEqual(cc.resolve_socket_path("/x/given.sock", **from_env), "/x/given.sock", "socket_path beats $COFFER_SOCKET")
        self.assertEqual(cc.resolve_socket_path(**dict(lookup, env={"COFFER_SOCKET": ""})), system, "an empty $COFFER_SOCKET counts as unset")
        self.assertEqual(cc.resolve_socket_path(cwd=d, env={}, candidates=[]), os.path.join(d, ".coffer", "cofferd.sock"))

    def test_the_client_finds_the_checkout_socket_from_the_working_directory(self) -> None:
        root = temp_dir(self)
        work = root / "work"
        work.mkdir()
        daemon = Daemon(root, FAST_KDF_ARGS)
        daemon.socket_path = str(work / ".coffer" / "cofferd.sock")
        daemon.start()
        self.addCleanup(daemon.stop)
        env = {k: v for k, v in os.environ.items() if k != "COFFER_SOCKET"}
        code = "import coffer_client as cc, json; print(json.dumps(cc.CofferClient(timeout=10).status()['pid']))"
        out = subprocess.run([sys.executable, "-c", code], cwd=str(work), env=dict(env, PYTHONPATH=str(HERE.parent)),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), daemon.pid)


class Advice(unittest.TestCase):
    def test_nothing_there_says_how_to_start_it_and_the_order_tried(self) -> None:
        missing = str(temp_dir(self) / "none.sock")
        client = cc.CofferClient(missing, connect_timeout=0.1)
        self.addCleanup(client.close)
        with self.assertRaises(cc.UnavailableError) as caught:
            client.status()
        message = caught.exception.message
        self.assertIn(f"Cannot reach cofferd at {missing} (ENOENT): nothing listens there", message)
        self.assertIn("start cofferd (`npx cofferd` in the checkout, or `sudo systemctl start cofferd.socket`)", message)
        self.assertIn("tried in order: socket_path, $COFFER_SOCKET, /run/coffer/cofferd.sock, ./.coffer/cofferd.sock", message)
        self.assertNotIn("npm start", message)
        self.assertEqual(caught.exception.data, {"errno": "ENOENT"})

    def test_not_a_socket_gives_the_errno_and_the_general_advice(self) -> None:
        not_socket = temp_dir(self) / "file.sock"
        not_socket.write_text("not a socket")
        client = cc.CofferClient(str(not_socket), connect_timeout=0.1)
        self.addCleanup(client.close)
        with self.assertRaises(cc.UnavailableError) as caught:
            client.status()
        self.assertIn("(ECONNREFUSED): start cofferd (`npx cofferd`), or point COFFER_SOCKET", caught.exception.message)

    def test_permission_denied_names_the_group_that_owns_the_socket_or_its_directory(self) -> None:
        d = temp_dir(self)
        sock = d / "cofferd.sock"
        sock.write_text("")
        group = grp.getgrgid(os.stat(str(sock)).st_gid).gr_name
        self.assertIn(f'join the group {group} (sudo usermod -aG {group} "$USER", then log in again)',
                      unreachable_advice(str(sock), "EACCES"))
        # A socket that cannot be seen: its directory's group.
        self.assertIn(f"join the group {group}", unreachable_advice(str(d / "x.sock"), "EACCES"))
        self.assertIn("join the group that owns it", unreachable_advice("/nonexistent-coffer/x/y.sock", "EACCES"))

    @unittest.skipUnless(hasattr(os, "getuid") and os.getuid() == 0, "needs root to run the client as another user")
    def test_permission_denied_for_real_as_another_user(self) -> None:
        root = temp_dir(self)
        daemon = Daemon(root, [*FAST_KDF_ARGS, "--socket-group", "4242"])
        daemon.start()
        self.addCleanup(daemon.stop)
        os.chmod(str(root), 0o755)
        os.chmod(daemon.socket_path.rsplit("/", 1)[0], 0o711)
        code = ("import coffer_client as cc\ntry:\n cc.CofferClient(connect_timeout=0.2).status()\n"
                "except cc.UnavailableError as e:\n print(e.message)")
        # The system python: a per-user one (pyenv under /root) is not nobody's to run.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        out = subprocess.run([python, "-c", code], env={"COFFER_SOCKET": daemon.socket_path, "PYTHONPATH": str(HERE.parent)},
                             capture_output=True, text=True, timeout=60, user=NOBODY, group=NOBODY, cwd="/")
        self.assertIn("(EACCES): permission denied: cofferd runs, but this user may not connect; join the group 4242", out.stdout, out.stderr)
