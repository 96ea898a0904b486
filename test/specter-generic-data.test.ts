import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { havePython } from './helpers/specter-daemon.js';
import { copyDatadir, expected, passwordOf } from './helpers/specter-layout.js';
import { runPython } from './helpers/specter.js';

/**
 * docs.* over Specter's GenericDataManager files (issue 11 part 5), end to end: a real cofferd in
 * the specter layout, and a plain Python model of GenericDataManager (its behaviour restated from
 * specter-api §4 with `cryptography`'s Fernet, not Specter's code) writing and reading the same file.
 */
t.setTimeout(180_000);

// GenericDataManager restated: load() decrypts the declared fields that are not None; _save()
// encrypts a copy, adds encrypted_storage_version when fields are declared, and writes it the way
// persistence.write_json_file does (the file renamed to .bkp, then rewritten, indent=4).
const GENERIC_DATA_MODEL = String.raw`
import copy, json, os, sys
from cryptography.fernet import Fernet
a = json.load(sys.stdin)
path = os.path.join(a["dir"], *a["name"].split("/"))
key = a.get("key")
fields = a["encrypted_fields"]
def write_json_file(content, p):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    bkp = p + ".bkp"
    if os.path.isfile(p):
        if os.path.isfile(bkp):
            os.remove(bkp)
        os.rename(p, bkp)
    with open(p, "w") as f:
        json.dump(content, f, indent=4)
if a["op"] == "save":
    out = copy.deepcopy(a["data"])
    if key:
        for attr in fields:
            if attr in out and out[attr] is not None:
                out[attr] = Fernet(key).encrypt(out[attr].encode()).decode()
    if fields:
        out["encrypted_storage_version"] = 1
    write_json_file(out, path)
    print("{}")
else:
    raw = open(path).read()
    data = json.loads(raw)
    if key:
        if "encrypted_storage_version" in data and data["encrypted_storage_version"] != 1:
            raise Exception("Upgrading a previous encryption version is not yet implemented")
        for attr in fields:
            if attr in data and data[attr] is not None:
                data[attr] = Fernet(key).decrypt(data[attr].encode()).decode()
    print(json.dumps({"data": data, "raw": raw, "redumped": json.dumps(json.loads(raw), indent=4)}))
`;

interface PyRead {
  data: Record<string, unknown>;
  raw: string;
  redumped: string;
}

const bob = 'bob';
const bobKey = expected.users[bob]!.user_secret!;

t.test('a GenericDataManager file written by Python is served by cofferd, and what cofferd writes Python reads back', async (t) => {
  if (!havePython(t)) return;
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const name = 'plugins/swan.json';
  const model = (op: string, extra: Record<string, unknown> = {}) => ({ op, dir: dataDir, name, key: bobKey, encrypted_fields: ['api_key', 'unset'], ...extra });
  const first = { label: 'plain \u00e9', api_key: 'k-\u2603', count: 3, none: null, unset: null };
  runPython(GENERIC_DATA_MODEL, model('save', { data: first }));

  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();
  const { session } = await client.call('users.unlock', { username: bob, password: passwordOf(bob) });
  const read = await client.call('docs.get', { name, session });
  t.same(read.data, first, 'decrypted as Python wrote it (the version key is the format\'s, not data)');
  t.same(read.encryptedFields, ['api_key']);
  t.same(read.locked, []);
  const anonymous = await client.call('docs.get', { name });
  t.same(anonymous.locked, ['api_key'], 'without a session the encrypted field is locked');
  t.notOk('api_key' in anonymous.data);
  t.equal(anonymous.revision, read.revision);
  t.same((await client.call('docs.list', {})).docs.find((doc) => doc.name === name), { name, owner: null, encryptedFields: ['api_key'] });

  const before = readFileSync(path.join(dataDir, name), 'utf8');
  const second = { label: 'changed', api_key: 'new \u00fc secret', count: 4, extra: { nested: [1, 2.5, 'x'] }, unset: null };
  await client.call('docs.set', { name, data: second, encryptedFields: ['api_key', 'unset'], session, ifRevision: read.revision });
  const back = runPython<PyRead>(GENERIC_DATA_MODEL, model('read'));
  t.same(back.data, { ...second, encrypted_storage_version: 1 }, 'Python\'s model reads the same data back');
  t.match(back.raw, /"label": "changed"/, 'plain fields readable on disk');
  t.notMatch(back.raw, /secret/, 'the encrypted field is not');
  t.equal(back.raw, back.redumped, 'byte for byte json.dump(indent=4)');
  t.equal(readFileSync(path.join(dataDir, `${name}.bkp`), 'utf8'), before, '.bkp holds the previous version, as Specter keeps it');

  // Python writes again (a Specter save), cofferd serves it on the next read.
  runPython(GENERIC_DATA_MODEL, model('save', { data: { ...second, count: 5 } }));
  t.equal((await client.call('docs.get', { name, session })).data['count'], 5);

  // Names in words; reserved keys and non-string encrypted values refused.
  for (const bad of ['users.json', 'bob_services.json', 'wallets/w_svc.json', '../x.json', '.hidden.json', 'x.txt']) {
    await rejectsWith(t, client.call('docs.get', { name: bad }), 'INVALID_PARAMS', /\.json|users\.\*|services\.\*|annotations/);
  }
  await rejectsWith(t, client.call('docs.update', { name, patch: { encrypted_storage_version: 2 }, session }), 'INVALID_PARAMS', /encrypted_storage_version/);
  await rejectsWith(t, client.call('docs.update', { name, patch: { api_key: 7 }, session }), 'INVALID_PARAMS', /string or null/);
  t.ok(existsSync(path.join(dataDir, name)));
});
