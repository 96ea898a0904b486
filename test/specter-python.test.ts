import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { realFs } from '../daemon/src/disk/fs.js';
import {
  encodeBase64Text,
  fromJs,
  pyDumps,
  pyLoads,
  servicesFileName,
  verifyPasswordHash,
  walletsRootName,
  writeWithBackup,
  type EncryptedUserSecret,
  type PyObject,
} from '../daemon/src/specter/index.js';
import { UsersFile } from './helpers/specter-users-model.js';
import { inCI } from './helpers/python.js';
import { vectorSuite } from './helpers/specter-vector-suite.js';
import { generateVectors, pythonWithCryptography, runPython, tempDir } from './helpers/specter.js';
import { randomJson, rng } from './helpers/specter-random.js';

/**
 * Round trips against the real thing: pyca/cryptography's Fernet and Python's json module.
 * TS writes a data folder that Python reads as Specter would; Python writes one (Specter's way, with
 * real random IVs and times) that TS reads; and random values are dumped identically by both.
 */
if (!pythonWithCryptography && (process.env['COFFER_REQUIRE_PYTHON'] || inCI)) {
  t.fail('COFFER_REQUIRE_PYTHON is set (CI installed it) but no python3 with cryptography was found');
} else if (!pythonWithCryptography) {
  t.test('Python round trips', { skip: 'no python3 with the cryptography package (tried /usr/bin/python3, then python3): apt-get install -y python3-cryptography' }, async () => undefined);
} else {
  t.test('Python reads what TS writes: password, user secret, every service and file layout', async (t) => {
    await tsToPython(t);
  });
  t.test('TS reads what Python writes', async (t) => {
    await pythonToTs(t);
  });
  t.test('a vector set made by make_vectors.py with other seeds and passwords reads and rebuilds byte for byte', async (t) => {
    const dir = generateVectors(t);
    if (dir) vectorSuite(t, dir);
  });
  t.test('random values: Python json.dumps gives the same bytes as pyDumps, compact and indent=4', async (t) => {
    const values = Array.from({ length: 400 }, (_, i) => pyDumps(fromJs(randomJson(rng(i + 1)))));
    const result = runPython<{ mismatches: string[] }>(SAME_DUMPS, values.map((compact) => ({ compact, indented: pyDumps(pyLoads(compact), { indent: 4 }) })));
    t.same(result.mismatches, [], `${values.length} values`);
  });
}

const TRICKY = '{"b": 1, "10": [2.0, -0.0, 1e+16, 1e-05, 18446744073709551615], "caf\\u00e9": "\\ud83d\\ude80 \\u007f \\"q\\" \\\\", "__proto__": {}, "n": null}';
const PASSWORD = 'Zo\u00eb-\ud834\udd1e-p\u00e4ss';

async function tsToPython(t: Test): Promise<void> {
  const dir = tempDir(t);
  const users = await UsersFile.createDefault();
  const username = 'Zoë Ünicode';
  const { id, secret } = await users.register(username, PASSWORD);
  await writeWithBackup(realFs, path.join(dir, 'users.json'), users.encode());
  const enc = EncryptedServicesFile.empty();
  enc.set('swan', pyLoads(TRICKY) as PyObject, secret);
  enc.set('exfund', fromJs({ a: [1, 'x'] }) as PyObject, secret);
  enc.update('exfund', fromJs({ b: { c: 0.1 } }) as PyObject, secret);
  await writeWithBackup(realFs, path.join(dir, servicesFileName(username, 'encrypted')), enc.encode());
  const plain = UnencryptedServicesFile.empty();
  plain.set('spectrum', pyLoads(TRICKY) as PyObject);
  await writeWithBackup(realFs, path.join(dir, servicesFileName(username, 'unencrypted')), plain.encode());
  const root = path.join(dir, walletsRootName(id, false));
  mkdirSync(root);
  const ann = AnnotationsFile.empty();
  ann.setAddress('bc1qexample', pyLoads('{"reserved_by": "swan", "amount": 1.5e-05}'));
  await writeWithBackup(realFs, path.join(root, 'hot_wallet_swan.json'), ann.encode());

  const out = runPython<PythonView>(READ_AS_SPECTER, { dir, username, password: PASSWORD, wrong: PASSWORD.normalize('NFD') });
  t.equal(out.password_ok, true, 'Specter\'s password check');
  t.equal(out.wrong_ok, false, 'NFD spelling refused');
  t.equal(out.user_secret, encodeBase64Text(secret, 'urlsafe'), 'Python unlocks the same secret');
  t.same(out.wrong_secret_error, 'InvalidToken');
  for (const sid of enc.serviceIds()) t.equal(out.services[sid], enc.text(sid, secret), `Fernet token of ${sid}`);
  t.equal(out.unencrypted['spectrum'], plain.text('spectrum'));
  t.equal(out.services['swan'], TRICKY, 'inner text byte for byte, lossless values included');
  for (const [file, redumped] of Object.entries(out.redumped)) {
    t.equal(redumped, readFileSync(path.join(dir, file), 'latin1'), `${file} is a fixed point of json.load → json.dump(indent=4)`);
  }
  t.ok(Object.keys(out.redumped).length >= 4);
}

async function pythonToTs(t: Test): Promise<void> {
  const dir = tempDir(t);
  const made = runPython<PythonMade>(WRITE_AS_SPECTER, { dir, username: 'Ädmin Two', password: PASSWORD, tricky: TRICKY });
  const users = UsersFile.parse(readFileSync(path.join(dir, 'users.json')));
  t.equal(users.encode().toString('latin1'), readFileSync(path.join(dir, 'users.json'), 'latin1'), 'users.json re-encodes byte for byte');
  const user = users.find(made.username);
  t.equal(user?.id, made.id);
  t.ok(await verifyPasswordHash(users.passwordHash(made.username), PASSWORD));
  t.notOk(await verifyPasswordHash(users.passwordHash(made.username), PASSWORD.normalize('NFD')));
  const record = users.userSecret(made.username) as EncryptedUserSecret;
  t.equal(record.iterations, made.iterations, 'iterations read from the record');
  const secret = await decryptUserSecret(record, PASSWORD);
  t.equal(encodeBase64Text(secret, 'urlsafe'), made.user_secret);
  const encBytes = readFileSync(path.join(dir, servicesFileName(made.username, 'encrypted')));
  const enc = EncryptedServicesFile.parse(encBytes);
  for (const [sid, text] of Object.entries(made.texts)) {
    t.equal(enc.text(sid, secret), text, `${sid} decrypts`);
    t.equal(pyDumps(enc.get(sid, secret)), text, `${sid} re-dumps as Python did`);
  }
  t.equal(enc.encode().toString('latin1'), encBytes.toString('latin1'), 'unchanged tokens kept byte for byte');
  const plainBytes = readFileSync(path.join(dir, servicesFileName(made.username, 'unencrypted')));
  const plain = UnencryptedServicesFile.parse(plainBytes);
  for (const [sid, text] of Object.entries(made.texts)) t.equal(pyDumps(plain.get(sid)), text);
  t.equal(plain.encode().toString('latin1'), plainBytes.toString('latin1'));
  const annPath = path.join(dir, walletsRootName(made.id, false), 'w_swan.json');
  const ann = AnnotationsFile.parse(readFileSync(annPath));
  t.equal(pyDumps(ann.getAddress('bc1qexample')), made.annotation);
  t.equal(ann.encode().toString('latin1'), readFileSync(annPath, 'latin1'));
}

interface PythonView {
  password_ok: boolean;
  wrong_ok: boolean;
  user_secret: string;
  wrong_secret_error: string;
  services: Record<string, string>;
  unencrypted: Record<string, string>;
  redumped: Record<string, string>;
}
interface PythonMade {
  username: string;
  id: string;
  iterations: number;
  user_secret: string;
  texts: Record<string, string>;
  annotation: string;
}

/**
 * Runs the vectors' own generator with new inputs: another seed (so other salts, IVs, secrets) and
 * other passwords. Returns the folder, or undefined after failing the test if the script changed shape.
 */
// Specter's own steps (user.py, util.encryption, service_encrypted_storage.py), restated.
const READ_AS_SPECTER = String.raw`
import base64, binascii, hashlib, json, os, sys
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
a = json.load(sys.stdin)
d = a["dir"]
def check(stored, pw):
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), stored["salt"].encode(), 10000)
    return dk == binascii.a2b_base64(stored["pwdhash"])
def kek(rec, pw):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=base64.b64decode(rec["salt"]), iterations=rec["iterations"])
    return base64.urlsafe_b64encode(kdf.derive(pw.encode("utf-8")))
users = json.load(open(os.path.join(d, "users.json")))
u = [x for x in users if x["username"] == a["username"]][0]
rec = u["encrypted_user_secret"]
secret = Fernet(kek(rec, a["password"])).decrypt(rec["token"].encode())
try:
    Fernet(kek(rec, a["wrong"])).decrypt(rec["token"].encode()); wrong = "ok"
except InvalidToken:
    wrong = "InvalidToken"
enc = json.load(open(os.path.join(d, a["username"] + "_services.json")))
assert enc["encrypted_storage_version"] == 1
services = {k: Fernet(secret).decrypt(v.encode()).decode() for k, v in enc.items() if k != "encrypted_storage_version"}
for text in services.values(): json.loads(text)
unenc = json.load(open(os.path.join(d, a["username"] + "_unencrypted_services.json")))
unencrypted = {k: v for k, v in unenc.items() if k != "encrypted_storage_version"}
redumped = {}
for root, _, files in os.walk(d):
    for f in files:
        p = os.path.join(root, f)
        redumped[os.path.relpath(p, d)] = json.dumps(json.load(open(p)), indent=4)
print(json.dumps({"password_ok": check(u["password"], a["password"]), "wrong_ok": check(u["password"], a["wrong"]),
    "user_secret": secret.decode(), "wrong_secret_error": wrong, "services": services, "unencrypted": unencrypted,
    "redumped": redumped}))
`;

const WRITE_AS_SPECTER = String.raw`
import base64, binascii, hashlib, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
a = json.load(sys.stdin)
d, name, pw = a["dir"], a["username"], a["password"]
salt = binascii.b2a_base64(hashlib.sha256(os.urandom(60)).digest()).strip()
pwdhash = binascii.b2a_base64(hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), salt, 10000)).strip().decode()
secret = Fernet.generate_key()
iterations = 100_123  # above the 100 000 floor (a lower count is refused as CORRUPT), and not Specter's default
kdf_salt = os.urandom(16)
kek = base64.urlsafe_b64encode(PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=kdf_salt, iterations=iterations).derive(pw.encode("utf-8")))
uid = "\u00e4dmin_two"
users = [{"id": "admin", "username": "admin", "password": {"salt": salt.decode(), "pwdhash": pwdhash}, "is_admin": True,
          "jwt_tokens": {}, "encrypted_user_secret": None, "services": []},
         {"id": uid, "username": name, "password": {"salt": salt.decode(), "pwdhash": pwdhash}, "is_admin": False, "jwt_tokens": {},
          "encrypted_user_secret": {"token": Fernet(kek).encrypt(secret).decode(), "salt": base64.b64encode(kdf_salt).decode(), "iterations": iterations},
          "services": ["swan"], "config": {"explorers": {"main": "", "test": "", "regtest": "", "signet": ""}, "hwi_bridge_url": "/hwi/api/"}}]
data = {"swan": json.loads(a["tricky"]), "exfund": {"x": [1.5, "\u00e9\U0001F680", {"2": 1, "1": 2}], "y": 12345678901234567890}}
texts = {k: json.dumps(v) for k, v in data.items()}
def dump(obj, *parts):
    p = os.path.join(d, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f: json.dump(obj, f, indent=4)
dump(users, "users.json")
enc = {k: Fernet(secret).encrypt(t.encode()).decode() for k, t in texts.items()}
enc["encrypted_storage_version"] = 1
dump(enc, name + "_services.json")
unenc = dict(texts); unenc["encrypted_storage_version"] = 1
dump(unenc, name + "_unencrypted_services.json")
ann = {"addrs": {"bc1qexample": {"reserved_by": "swan", "amount": 1.5e-05, "t": 1789473600}}, "txs": {}}
dump(ann, "wallets_" + uid, "w_swan.json")
print(json.dumps({"username": name, "id": uid, "iterations": iterations, "user_secret": secret.decode(), "texts": texts,
                  "annotation": json.dumps(ann["addrs"]["bc1qexample"])}))
`;

const SAME_DUMPS = String.raw`
import json, sys
mismatches = []
for c in json.load(sys.stdin):
    v = json.loads(c["compact"])
    if json.dumps(v) != c["compact"] or json.dumps(v, indent=4) != c["indented"]:
        mismatches.append(c["compact"])
print(json.dumps({"mismatches": mismatches}))
`;
import { decryptUserSecret } from './helpers/specter-user-secret.js';
import { EncryptedServicesFile, UnencryptedServicesFile } from './helpers/specter-services-model.js';
import { AnnotationsFile } from './helpers/specter-annotations-model.js';
