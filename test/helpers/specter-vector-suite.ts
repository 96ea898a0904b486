import { readFileSync, readdirSync, statSync, existsSync, mkdirSync, cpSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { realFs } from '../../daemon/src/disk/fs.js';
import {
  fernetDecrypt,
  pyDumpFile,
  pyDumps,
  pyLoads,
  pyObject,
  readWithBackup,
  toJs,
  writeWithBackup,
  type FernetOptions,
  type PyObject,
  type PyValue,
} from '../../daemon/src/specter/index.js';
import { UsersFile } from './specter-users-model.js';
import { SpecterAccounts } from '../../daemon/src/layout/specter/accounts.js';
import { specterServicesCodec } from '../../daemon/src/layout/specter/services-codec.js';
import { specterAnnotationsCodec } from '../../daemon/src/layout/specter/annotations-codec.js';
import { at, saltBytesFromSeed, tempDir } from './specter.js';
import { encryptUserSecret } from './specter-user-secret.js';
import { EncryptedServicesFile, UnencryptedServicesFile } from './specter-services-model.js';
import { AnnotationsFile } from './specter-annotations-model.js';

/**
 * The vectors end to end, driven only by expected.json (a held-out set has other users, files and
 * ops): every file reads back to its plaintext, and the writer rebuilds every file byte for byte.
 * Run on the vectors folder, and on a set freshly made by make_vectors.py with other inputs.
 */
export function vectorSuite(t: Test, dir: string): void {
  const vectorBytes = (...parts: string[]): Buffer => readFileSync(path.join(dir, ...parts));
  const vectorPath = (...parts: string[]): string => path.join(dir, ...parts);
  const copyVectors = (t: Test, ...parts: string[]): string => {
    const d = tempDir(t);
    cpSync(vectorPath(...parts), d, { recursive: true });
    return d;
  };
  const expected = pyLoads(vectorBytes('expected.json').toString('utf8')) as PyObject;
  const meta = JSON.parse(vectorBytes('expected.json').toString('utf8')) as Record<string, Record<string, unknown>>;
  const userNames = [...(at(expected, 'users') as PyObject).keys()];
  const str = (v: PyValue): string => v as string;

  function secretOf(user: string): Buffer {
    return Buffer.from(str(at(expected, 'users', user, 'user_secret')), 'base64url');
  }

  const sf = at(expected, 'services_file') as PyObject;
  const uf = at(expected, 'unencrypted_services_file') as PyObject;
  const af = at(expected, 'annotations_file') as PyObject;
  const sfKey = secretOf(str(at(sf, 'user')));

  t.test("the daemon's own codecs read every Specter file and write it back byte for byte", async (t) => {
    const accounts = await SpecterAccounts.create();
    const users = vectorBytes('datadir', 'users.json');
    const decoded = accounts.decode(users);
    t.same([...decoded.keys()].sort(), [...userNames].sort(), 'users.json: every user');
    t.equal(accounts.encode(decoded).toString('latin1'), users.toString('latin1'), 'users.json re-encodes byte for byte');

    const encrypted = vectorBytes('datadir', str(at(sf, 'path')));
    const encryptedModel = specterServicesCodec(true).decode(encrypted);
    const texts = at(sf, 'plaintext_json_strings') as PyObject;
    t.same([...encryptedModel.entries.keys()], [...texts.keys()], 'encrypted services: the ids');
    for (const [sid, token] of encryptedModel.entries) {
      t.equal(fernetDecrypt(sfKey, token).toString('utf8'), str(texts.get(sid)!), `${sid}: the token opens to Specter's text`);
    }
    t.equal(specterServicesCodec(true).encode(encryptedModel).toString('latin1'), encrypted.toString('latin1'), 'encrypted services re-encode byte for byte');

    for (const file of [str(at(uf, 'path')), str(at(uf, 'bkp', 'path'))]) {
      const bytes = vectorBytes('datadir', file);
      const model = specterServicesCodec(false).decode(bytes);
      t.equal(specterServicesCodec(false).encode(model).toString('latin1'), bytes.toString('latin1'), `${file} re-encodes byte for byte`);
    }
    const plainTexts = at(uf, 'plaintext_json_strings') as PyObject;
    const plain = specterServicesCodec(false).decode(vectorBytes('datadir', str(at(uf, 'path'))));
    t.same(Object.fromEntries(plain.entries), Object.fromEntries([...plainTexts].map(([sid, text]) => [sid, str(text)])), "unencrypted services: Specter's texts");

    const annotations = vectorBytes('datadir', str(at(af, 'path')));
    const annotationsModel = specterAnnotationsCodec.decode(annotations);
    t.equal(pyDumps(new Map(annotationsModel.addrs) as PyObject), pyDumps(at(af, 'addrs')), 'annotations: addrs');
    t.equal(pyDumps(new Map(annotationsModel.txs) as PyObject), pyDumps(at(af, 'txs')), 'annotations: txs');
    t.equal(specterAnnotationsCodec.encode(annotationsModel).toString('latin1'), annotations.toString('latin1'), 'annotations re-encode byte for byte');
  });

  t.test('users.json: every user is there and the file re-encodes byte for byte', async (t) => {
    const bytes = vectorBytes('datadir', 'users.json');
    const users = UsersFile.parse(bytes);
    for (const name of userNames) t.equal(users.find(name)?.id, str(at(expected, 'users', name, 'user_id')), name);
    t.equal(users.encode().toString('latin1'), bytes.toString('latin1'));
  });

  t.test('encrypted services: every token decrypts to the exact inner text and data', async (t) => {
    const bytes = vectorBytes('datadir', str(at(sf, 'path')));
    const file = EncryptedServicesFile.parse(bytes);
    const texts = at(sf, 'plaintext_json_strings') as PyObject;
    t.same(file.serviceIds(), [...texts.keys()]);
    for (const [sid, text] of texts) {
      t.equal(file.text(sid, sfKey), text, `${sid} text`);
      t.equal(pyDumps(file.get(sid, sfKey)), pyDumps(at(sf, 'services', sid)), `${sid} data`);
      t.same(toJs(file.get(sid, sfKey)), JSON.parse(str(text)), `${sid} as plain JS`);
    }
    t.equal(file.encode().toString('latin1'), bytes.toString('latin1'), 're-encodes with the same tokens');
  });

  t.test('unencrypted services: strings parse to the data; ids deleted by the ops read as {}', async (t) => {
    const bytes = vectorBytes('datadir', str(at(uf, 'path')));
    const file = UnencryptedServicesFile.parse(bytes);
    const texts = at(uf, 'plaintext_json_strings') as PyObject;
    t.same(file.serviceIds(), [...texts.keys()]);
    for (const [sid, text] of texts) {
      t.equal(file.text(sid), text);
      t.equal(pyDumps(file.get(sid)), pyDumps(at(uf, 'services', sid)));
    }
    for (const op of at(uf, 'ops') as PyValue[]) {
      const sid = str(at(op, 1));
      if (!texts.has(sid)) t.equal(file.get(sid).size, 0, `${sid} reads as {}`);
    }
    t.equal(file.encode().toString('latin1'), bytes.toString('latin1'));
    const bkp = vectorBytes('datadir', str(at(uf, 'bkp', 'path')));
    t.equal(UnencryptedServicesFile.parse(bkp).encode().toString('latin1'), bkp.toString('latin1'));
  });

  t.test('annotations: addrs and txs as expected; absent address is null', async (t) => {
    const bytes = vectorBytes('datadir', str(at(af, 'path')));
    const file = AnnotationsFile.parse(bytes);
    t.equal(pyDumps(file.addresses()), pyDumps(at(af, 'addrs')));
    t.equal(pyDumps(file.txs()), pyDumps(at(af, 'txs')));
    for (const [addr, value] of at(af, 'addrs') as PyObject) t.equal(pyDumps(file.getAddress(addr)), pyDumps(value));
    for (const [txid, value] of at(af, 'txs') as PyObject) t.equal(pyDumps(file.getTx(txid)), pyDumps(value));
    t.equal(file.getAddress('not-an-address'), null);
    t.equal(file.encode().toString('latin1'), bytes.toString('latin1'));
  });

  t.test('users.json is rebuilt byte for byte: default admin, registered users, first-unlock state', async (t) => {
    const original = UsersFile.parse(vectorBytes('datadir', 'users.json'));
    const list = original.list();
    const users = await UsersFile.createDefault({ password: { saltBytes: Buffer.alloc(32) } });
    for (const summary of list) {
      const name = summary.username;
      const u = meta['users']![name] as Record<string, unknown> & { encrypted_user_secret: Record<string, unknown> | null };
      const pw = u['password'] as string;
      const password = { saltBytes: saltBytesFromSeed(u['password_salt_seed_hex'] as string) };
      if (summary.isAdmin) {
        t.equal(summary.id, 'admin');
        await users.changePassword(name, pw, null, { password }); // the default admin, with this salt
      } else {
        const { id } = await users.register(name, pw, { password });
        t.equal(id, summary.id, `${name}: id derived from the username`);
      }
      const e = u.encrypted_user_secret;
      if (e === null) {
        users.setUserSecret(name, null); // a user whose secret was never made or was cleared
      } else {
        const record = await encryptUserSecret(secretOf(name), pw, {
          salt: Buffer.from(e['kdf_salt_hex'] as string, 'hex'),
          iterations: e['iterations'] as number,
          fernet: { iv: Buffer.from(e['fernet_iv_hex'] as string, 'hex'), timestamp: e['fernet_timestamp'] as number },
        });
        users.setUserSecret(name, record); // first unlock
      }
      // What Specter's UI set later, which the vectors carry only inside the file.
      for (const key of ['jwt_tokens', 'services', 'config']) {
        const value = original.field(name, key);
        if (value !== undefined) users.setField(name, key, value);
      }
    }
    t.equal(users.encode().toString('latin1'), vectorBytes('datadir', 'users.json').toString('latin1'));
  });

  /**
   * An op as make_vectors.py replays it: `[verb, key, data, autosave?]`, `[remove, key, autosave?]`
   * or `[save]`; autosave defaults to true, as in Python.
   */
  function parseOp(op: PyValue, removeVerb: string): { verb: string; key: string; data: PyValue; autosave: boolean } {
    const [verb, key, ...rest] = op as [string, string, ...PyValue[]];
    const data = verb === removeVerb ? null : (rest.shift() ?? null);
    return { verb, key, data, autosave: rest[0] !== false };
  }

  /** Replays `[verb, sid, data, autosave]` ops the way Specter's storage classes run them, writing through writeWithBackup. */
  async function replayServices(
    target: string,
    ops: PyValue[],
    file: EncryptedServicesFile | UnencryptedServicesFile,
    save: () => Buffer,
  ): Promise<void> {
    if ((await readWithBackup(realFs, target)).source === 'none') await writeWithBackup(realFs, target, save()); // Specter writes {} on first open
    for (const op of ops) {
      const { verb, key: sid, data, autosave } = parseOp(op, 'remove');
      if (file instanceof EncryptedServicesFile) {
        if (verb === 'set') file.set(sid, data as PyObject, sfKey);
        else if (verb === 'update') file.update(sid, data as PyObject, sfKey);
        else file.remove(sid);
      } else {
        if (verb === 'set') file.set(sid, data as PyObject);
        else if (verb === 'update') file.update(sid, data as PyObject);
        else file.remove(sid);
      }
      if (autosave) await writeWithBackup(realFs, target, save());
    }
  }

  t.test('encrypted services: replaying the ops rebuilds the file byte for byte (fixed IVs and timestamps)', async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, str(at(sf, 'path')));
    const params = at(sf, 'fernet_params') as PyObject;
    // Only the last save's parameters are fixed; tokens of earlier saves are overwritten anyway.
    const fernetFor = (sid: string): FernetOptions =>
      params.has(sid) ? { iv: Buffer.from(str(at(params, sid, 'iv_hex')), 'hex'), timestamp: Number(pyDumps(at(params, sid, 'timestamp'))) } : {};
    const file = EncryptedServicesFile.empty();
    // Specter re-encrypts every token on each save; the vectors fix the IVs of the last save.
    await replayServices(target, at(sf, 'ops') as PyValue[], file, () => (file.reencryptAll(sfKey, fernetFor), file.encode()));
    t.equal(readFileSync(target, 'latin1'), vectorBytes('datadir', str(at(sf, 'path'))).toString('latin1'));
  });

  t.test('unencrypted services: replaying the ops rebuilds the file and its .bkp byte for byte', async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, str(at(uf, 'path')));
    const file = UnencryptedServicesFile.empty();
    await replayServices(target, at(uf, 'ops') as PyValue[], file, () => file.encode());
    t.equal(readFileSync(target, 'latin1'), vectorBytes('datadir', str(at(uf, 'path'))).toString('latin1'));
    t.equal(readFileSync(`${target}.bkp`, 'latin1'), vectorBytes('datadir', str(at(uf, 'bkp', 'path'))).toString('latin1'));
  });

  t.test('annotations: replaying the ops rebuilds the file byte for byte', async (t) => {
    const dir = tempDir(t);
    const target = path.join(dir, str(at(af, 'path')));
    mkdirSync(path.dirname(target), { recursive: true });
    await writeWithBackup(realFs, target, pyDumpFile(pyObject())); // Specter writes {} when it first opens the file
    const file = AnnotationsFile.fromValue((await readWithBackup(realFs, target)).value!);
    for (const op of at(af, 'ops') as PyValue[]) {
      const { verb, key, data, autosave } = parseOp(op, 'remove_addr');
      if (verb === 'set_addr') file.setAddress(key, data);
      else if (verb === 'remove_addr') file.removeAddress(key);
      else if (verb === 'set_tx') file.setTx(key, data);
      if (autosave) await writeWithBackup(realFs, target, file.encode()); // 'save' and autosaving ops
    }
    t.equal(readFileSync(target, 'latin1'), vectorBytes('datadir', str(at(af, 'path'))).toString('latin1'));
  });

  t.test('recovery: every case reads the .bkp content and leaves both files untouched', async (t) => {
    const older = at(expected, 'recovery', 'older_services') as PyObject;
    const cases = readdirSync(vectorPath('recovery')).filter((name) => statSync(vectorPath('recovery', name)).isDirectory());
    t.ok(cases.length >= 3);
    for (const name of cases) {
      const dir = copyVectors(t, 'recovery', name);
      const before = snapshot(dir);
      for (const bkpName of readdirSync(dir).filter((f) => f.endsWith('.bkp'))) {
        const target = path.join(dir, bkpName.slice(0, -'.bkp'.length));
        const read = await readWithBackup(realFs, target);
        t.equal(read.source, 'bkp', `${name}: from the .bkp`);
        const file = EncryptedServicesFile.fromValue(read.value!);
        t.same(file.serviceIds(), [...older.keys()]);
        for (const [sid, data] of older) t.equal(pyDumps(file.get(sid, sfKey)), pyDumps(data), `${name}: ${sid}`);
        t.equal(existsSync(target), name !== 'missing');
      }
      t.same(snapshot(dir), before, `${name}: nothing deleted, renamed or rewritten`);
    }
  });

}

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((f) => {
      const s = statSync(path.join(dir, f));
      return [f, `${s.ino}:${s.mtimeMs}:${readFileSync(path.join(dir, f)).toString('hex')}`];
    }),
  );
}
