import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { checkServesVectors, havePython, pythonReadBack } from './helpers/specter-daemon.js';
import type { Expected } from './helpers/specter-layout.js';
import { generateVectors, runPython } from './helpers/specter.js';

/**
 * The reverse round trip: Specter folders made by Python (make_vectors.py with new seeds and
 * passwords, plus a user added the way Specter's own code adds one, with a name of spaces and
 * Unicode) are served by cofferd exactly as written; what the daemon then writes, Python reads.
 */
t.setTimeout(120_000);

const ZOE = { username: 'Zo\u00eb van D\u00fcren', id: 'zo\u00eb_van_d\u00fcren', password: 'zo\u00eb \ud83d\udd11 pw' };
const ZOE_DATA = {
  encrypted: { exfund: { api_key: 'k-\u00e9', rate: 1e-5, ids: [1, 2, 3], nested: { ok: true, none: null } } },
  unencrypted: { spectrum: { host: 'electrum.example', port: 50002 } },
  annotations: { addrs: { bc1qzoezoezoezoezoe: { reserved_by: 'exfund', amount: 1.5e-5 } }, txs: {} },
};

// Specter's own registration and storage steps (user.py, user_manager.py, service_encrypted_storage.py,
// service_annotations_storage.py) restated, with real random salts, IVs and times.
const ADD_USER_AS_SPECTER = String.raw`
import base64, hashlib, json, os, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
a = json.load(sys.stdin)
d = a["dir"]
def dump(rel, obj):
    p = os.path.join(d, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        json.dump(obj, f, indent=4)
salt = base64.b64encode(hashlib.sha256(os.urandom(60)).digest()).decode()
pwdhash = base64.b64encode(hashlib.pbkdf2_hmac("sha256", a["password"].encode("utf-8"), salt.encode(), 10000)).decode()
user_secret = Fernet.generate_key()
kdf_salt = os.urandom(16)
kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=kdf_salt, iterations=390000)
kek = base64.urlsafe_b64encode(kdf.derive(a["password"].encode("utf-8")))
users = json.load(open(os.path.join(d, "users.json")))
users.append({
    "id": a["id"], "username": a["username"], "password": {"salt": salt, "pwdhash": pwdhash}, "is_admin": False,
    "jwt_tokens": {}, "encrypted_user_secret": {"token": Fernet(kek).encrypt(user_secret).decode(), "salt": base64.b64encode(kdf_salt).decode(), "iterations": 390000},
    "services": ["exfund"], "config": {"explorers": {"main": "", "test": "", "regtest": "", "signet": ""}, "hwi_bridge_url": "/hwi/api/"},
})
dump("users.json", users)
f = Fernet(user_secret)
enc = {sid: f.encrypt(json.dumps(v).encode()).decode() for sid, v in a["data"]["encrypted"].items()}
enc["encrypted_storage_version"] = 1
dump(a["username"] + "_services.json", enc)
plain = {sid: json.dumps(v) for sid, v in a["data"]["unencrypted"].items()}
plain["encrypted_storage_version"] = 1
dump(a["username"] + "_unencrypted_services.json", plain)
dump("wallets_" + a["id"] + "/h\u00f6t_wallet_exfund.json", a["data"]["annotations"])
print("{}")
`;

t.test('folders Python makes are served as they are; what the daemon writes back, Python reads', async (t) => {
  if (!havePython(t)) return;
  const generated = generateVectors(t);
  if (!generated) return;
  const expected = JSON.parse(readFileSync(path.join(generated, 'expected.json'), 'utf8')) as Expected;
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  cpSync(path.join(generated, 'datadir'), dataDir, { recursive: true });
  runPython(ADD_USER_AS_SPECTER, { dir: dataDir, ...ZOE, data: ZOE_DATA });

  // users.json is written (first-unlock secrets, upgrades, users.*): the daemon owns it, as with no Specter running.
  const daemon = await startDaemon(t, { dir, coverage: false, args: ['--specter-users', 'manage'] });
  const client = await daemon.client();
  await checkServesVectors(t, client, dataDir, expected);

  const { session } = await client.call('users.unlock', { username: ZOE.username, password: ZOE.password });
  t.same((await client.call('services.encrypted.get', { session, service: 'exfund' })).data, ZOE_DATA.encrypted.exfund, 'a name with spaces and Unicode: its encrypted file');
  t.same((await client.call('services.unencrypted.get', { username: ZOE.username, service: 'spectrum' })).data, ZOE_DATA.unencrypted.spectrum);
  const ann = (await client.call('annotations.get', { username: ZOE.username, wallet: 'h\u00f6t_wallet', service: 'exfund' })) as { addrs: object; txs: object };
  t.same({ addrs: ann.addrs, txs: ann.txs }, ZOE_DATA.annotations, `annotations in wallets_${ZOE.id}/`);

  await client.call('services.encrypted.update', { session, service: 'exfund', patch: { rate: 2e-5, added: '\u2603' }, shallow: true });
  await client.call('services.encrypted.set', { session, service: 'swan', data: { token: 't' } });
  await client.call('services.unencrypted.delete', { username: ZOE.username, service: 'spectrum' });
  await client.call('annotations.delete', { username: ZOE.username, wallet: 'h\u00f6t_wallet', service: 'exfund', kind: 'addr', id: 'bc1qzoezoezoezoezoe' });
  const problems = pythonReadBack({
    dir: dataDir,
    passwords: { [ZOE.username]: ZOE.password },
    encrypted: { [ZOE.username]: { exfund: { ...ZOE_DATA.encrypted.exfund, rate: 2e-5, added: '\u2603' }, swan: { token: 't' } } },
    unencrypted: { [ZOE.username]: {} },
    annotations: { [`wallets_${ZOE.id}/h\u00f6t_wallet_exfund.json`]: { addrs: {}, txs: {} } },
  });
  t.same(problems, [], 'Python reads the daemon\'s writes to the Python-made files');
});
