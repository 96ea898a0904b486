import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { pyDumpFile, pyLoads, type PyObject } from '../../daemon/src/specter/index.js';
import { rejectsWith } from './assert.js';
import { inCI } from './python.js';
import { pythonWithCryptography, runPython } from './specter.js';
import type { Expected } from './specter-layout.js';

/**
 * End-to-end checks of a daemon serving a Specter folder made by make_vectors.py (the shared set,
 * or one generated with other seeds and passwords): everything its expected.json says must read
 * back through the RPC surface. Returns a live session per unlocked user.
 */
export async function checkServesVectors(t: Test, client: CofferClient, dataDir: string, expected: Expected): Promise<Map<string, string>> {
  const sessions = new Map<string, string>();
  const usersFile = path.join(dataDir, 'users.json');
  const status = await client.call('daemon.status', {});
  t.equal(status.layout, 'specter', 'daemon.status says specter');
  const listed = (await client.call('users.list', {})).users.map((u) => u.username);
  t.same(Object.keys(expected.users).filter((name) => !listed.includes(name)), [], 'every user of the vectors is listed');

  for (const [username, user] of Object.entries(expected.users)) {
    for (const [kind, wrong] of Object.entries(user.wrong_passwords ?? {})) {
      await rejectsWith(t, client.call('users.unlock', { username, password: wrong }), 'BAD_PASSWORD');
      t.pass(`${username}: wrong password (${kind}) refused`);
    }
    const before = readFileSync(usersFile);
    const { session } = await client.call('users.unlock', { username, password: user.password });
    sessions.set(username, session);
    const after = readFileSync(usersFile);
    if (user.user_secret !== undefined) {
      t.same(after, before, `${username}: unlocking writes nothing`);
      continue;
    }
    // Specter's first unlock of a user without a secret: one is made; only that value changes.
    const users = pyLoads(before.toString('utf8')) as PyObject[];
    const now = (pyLoads(after.toString('utf8')) as PyObject[]).find((u) => u.get('username') === username)!;
    t.ok(now.get('encrypted_user_secret'), `${username}: a secret was recorded at first unlock`);
    users.find((u) => u.get('username') === username)!.set('encrypted_user_secret', now.get('encrypted_user_secret')!);
    t.same(after, pyDumpFile(users), `${username}: every other byte of users.json as it was`);
  }

  const svc = expected.services_file;
  const session = sessions.get(svc.user)!;
  t.same((await client.call('services.encrypted.list', { session })).services.sort(), Object.keys(svc.services).sort());
  for (const [service, data] of Object.entries(svc.services)) {
    t.same((await client.call('services.encrypted.get', { session, service })).data, data, `${svc.user}: ${service} decrypts as expected.json says`);
  }
  const plain = expected.unencrypted_services_file;
  for (const [service, data] of Object.entries(plain.services)) {
    t.same((await client.call('services.unencrypted.get', { username: plain.user, service })).data, data, `${plain.user}: unencrypted ${service}`);
  }
  t.same(await client.call('services.unencrypted.get', { username: plain.user, service: 'not-there' }), { data: {}, revision: null });

  const ann = expected.annotations_file;
  const onDisk = JSON.parse(readFileSync(path.join(dataDir, ann.path), 'utf8')) as { addrs: object; txs: object };
  const all = (await client.call('annotations.get', { username: ann.user, wallet: ann.wallet_alias, service: ann.service_id })) as { addrs: object; txs: object };
  t.same({ addrs: all.addrs, txs: all.txs }, onDisk, `${ann.user}: annotations in ${path.dirname(ann.path)}/`);
  t.equal((await client.call('annotations.list', { username: ann.user })).entries.length, Object.keys(onDisk.addrs).length + Object.keys(onDisk.txs).length);
  return sessions;
}

/** What the Python side is asked to confirm about a folder the daemon wrote. */
export interface PythonExpectations {
  dir: string;
  passwords: Record<string, string>;
  encrypted: Record<string, Record<string, unknown>>;
  unencrypted: Record<string, Record<string, unknown>>;
  /** Annotations files (relative paths) and their content. */
  annotations: Record<string, unknown>;
}

/** Skips without Python, except where CI says it installed it (then a missing Python fails). */
export function havePython(t: Test): boolean {
  if (pythonWithCryptography) return true;
  if (process.env['COFFER_REQUIRE_PYTHON'] || inCI) t.fail('COFFER_REQUIRE_PYTHON is set but no python3 with cryptography was found');
  else t.comment('SKIPPED: no python3 with the cryptography package (apt-get install -y python3-cryptography)');
  return false;
}

/**
 * Python's `cryptography` Fernet and `json` read the folder as Specter does: login hashes, the
 * user secrets, every token and text, every annotations file; and every `.json` / `.json.bkp` file
 * parses with json.load and is a fixed point of json.dump(indent=4). Returns the problems found.
 */
export function pythonReadBack(expect: PythonExpectations): string[] {
  return runPython<{ problems: string[] }>(READ_BACK, expect).problems;
}

const READ_BACK = String.raw`
import base64, binascii, hashlib, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
a = json.load(sys.stdin)
d = a["dir"]
problems = []
users = {u["username"]: u for u in json.load(open(os.path.join(d, "users.json"), encoding="utf-8"))}
secrets = {}
for name, pw in a["passwords"].items():
    u = users[name]
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), u["password"]["salt"].encode(), 10000)
    if dk != binascii.a2b_base64(u["password"]["pwdhash"]):
        problems.append(name + ": login hash does not match")
    rec = u["encrypted_user_secret"]
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=base64.b64decode(rec["salt"]), iterations=rec["iterations"])
    secrets[name] = Fernet(base64.urlsafe_b64encode(kdf.derive(pw.encode("utf-8")))).decrypt(rec["token"].encode())
def services(name, suffix):
    return json.load(open(os.path.join(d, name + suffix), encoding="utf-8"))
for name, want in a["encrypted"].items():
    f = services(name, "_services.json")
    if want and f.get("encrypted_storage_version") != 1:
        problems.append(name + ": no encrypted_storage_version 1")
    if sorted(k for k in f if k != "encrypted_storage_version") != sorted(want):
        problems.append(name + ": services " + repr(list(f)))
    for sid, data in want.items():
        got = json.loads(Fernet(secrets[name]).decrypt(f[sid].encode()).decode("utf-8"))
        if got != data:
            problems.append(name + "/" + sid + ": " + repr(got))
for name, want in a["unencrypted"].items():
    f = services(name, "_unencrypted_services.json")
    for sid, data in want.items():
        if json.loads(f[sid]) != data:
            problems.append(name + "/" + sid + " (unencrypted): " + repr(f[sid]))
for rel, want in a["annotations"].items():
    if json.load(open(os.path.join(d, rel), encoding="utf-8")) != want:
        problems.append(rel + ": annotations differ")
for root, dirs, files in os.walk(d):
    for fn in files:
        if not (fn.endswith(".json") or fn.endswith(".json.bkp")):
            continue
        p = os.path.join(root, fn)
        text = open(p, encoding="utf-8").read()
        if json.dumps(json.loads(text), indent=4) != text:
            problems.append(os.path.relpath(p, d) + ": not what json.dump(indent=4) writes")
print(json.dumps({"problems": problems}))
`;
