import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferError } from '@coffer/protocol';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { CofferAccounts } from '../daemon/src/layout/coffer/accounts.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS, openKeyring } from './helpers/keyring.js';

t.setTimeout(120_000);

const codec = new CofferAccounts(KDF_INTERACTIVE);
const b64 = (n: number, fill = 1) => Buffer.alloc(n, fill).toString('base64');
const goodUser = () => ({
  kdf: { alg: 'argon2id13', opslimit: 2, memlimit: 67108864, salt: b64(16) },
  secret: { alg: 'xchacha20poly1305-ietf', nonce: b64(24), ciphertext: b64(48) },
});
const file = (users: unknown, extra: object = {}) =>
  Buffer.from(JSON.stringify({ format: 'coffer.users', version: 1, users, ...extra }));

/** Every way a users.json can be wrong; each must be CORRUPT, never a partial read. */
const corruptFiles: Array<[string, Buffer]> = [
  ['not JSON', Buffer.from('{"format":"coffer.users",')],
  ['empty', Buffer.alloc(0)],
  ['an array (the specter layout)', Buffer.from('[]')],
  ['unknown format', Buffer.from(JSON.stringify({ format: 'other', version: 1, users: {} }))],
  ['unknown version', Buffer.from(JSON.stringify({ format: 'coffer.users', version: 2, users: {} }))],
  ['unknown top-level key', file({}, { extra: true })],
  ['users not an object', file([])],
  ['invalid username (a path separator)', file({ 'a/b': goodUser() })],
  ['__proto__ as a username', Buffer.from('{"format":"coffer.users","version":1,"users":{"__proto__":{"kdf":null,"secret":null}}}')],
  ['constructor as a username', file({ constructor: { kdf: null, secret: null } })],
  ['user not an object', file({ alice: 'x' })],
  ['unknown user key', file({ alice: { ...goodUser(), admin: true } })],
  ['missing secret', file({ alice: { kdf: goodUser().kdf } })],
  ['secret without kdf', file({ alice: { kdf: null, secret: goodUser().secret } })],
  ['pending without kdf', file({ alice: { kdf: null, secret: null, pendingSecret: goodUser().secret } })],
  ['unknown kdf', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, alg: 'scrypt' } } })],
  ['opslimit as text', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, opslimit: '2' } } })],
  ['memlimit of 1 TiB', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, memlimit: 2 ** 40 } } })],
  ['short salt', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, salt: b64(15) } } })],
  ['salt not base64', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, salt: '!!!!' } } })],
  ['salt not text', file({ alice: { ...goodUser(), kdf: { ...goodUser().kdf, salt: 7 } } })],
  ['unknown cipher', file({ alice: { ...goodUser(), secret: { ...goodUser().secret, alg: 'aes' } } })],
  ['short nonce', file({ alice: { ...goodUser(), secret: { ...goodUser().secret, nonce: b64(12) } } })],
  ['long ciphertext', file({ alice: { ...goodUser(), secret: { ...goodUser().secret, ciphertext: b64(64) } } })],
  ['pending secret broken', file({ alice: { ...goodUser(), pendingSecret: { nonce: b64(24) } } })],
  ['kdf missing a key', file({ alice: { ...goodUser(), kdf: { alg: 'argon2id13', opslimit: 2, salt: b64(16) } } })],
];

t.test('the decoder refuses every malformed users.json with CORRUPT', async (t) => {
  for (const [name, bytes] of corruptFiles) {
    try {
      codec.decode(bytes);
      t.fail(`${name}: accepted`);
    } catch (error) {
      t.ok(error instanceof CofferError && error.reason === 'CORRUPT', name);
      t.notMatch((error as Error).message, /a b|constructor|__proto__/, `${name}: no name echoed`);
    }
  }
  t.same([...codec.decode(null)], [], 'no file: no users');
  t.same([...codec.decode(file({ alice: goodUser(), bob: { kdf: null, secret: null } })).keys()], ['alice', 'bob']);
  const round = codec.encode(codec.decode(file({ alice: { ...goodUser(), pendingSecret: goodUser().secret } })));
  t.ok(codec.facts(codec.decode(round).get('alice')!).rotationPending, 'a pending rotation round-trips');
});

t.test('a daemon on a corrupt users.json starts, answers users.* with CORRUPT, never rewrites it', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o700 });
  const usersFile = path.join(dataDir, 'users.json');
  const corrupt = Buffer.from('{"format":"coffer.users","version":1,"users":{"alice":{"kdf":null,"secret":null},');
  writeFileSync(usersFile, corrupt, { mode: 0o600 });
  const daemon = await startDaemon(t, { dir, args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const status = await client.call('daemon.status', {});
  t.same(status.users, { total: null, unlocked: 0 }, 'daemon.status still answers: how many users is unknown');
  t.same(status.corruptFiles, [usersFile], 'and names the file');
  for (const call of [
    () => client.call('users.list', {}),
    () => client.call('users.create', { username: 'bob', password: 'pw' }),
    () => client.call('users.create', { username: 'bob' }),
    () => client.call('users.unlock', { username: 'alice', password: 'pw' }),
    () => client.call('users.delete', { username: 'alice' }),
    () => client.call('users.changePassword', { username: 'alice', newPassword: 'pw' }),
    () => client.call('users.lock', { username: 'alice' }),
  ]) {
    await rejectsWith(t, call(), 'CORRUPT', /left untouched/);
  }
  t.same(readFileSync(usersFile), corrupt, 'byte-identical');
  t.match(daemon.logs, /users\.json does not parse.*file does not parse: it is left untouched/);

  // Once someone repairs the file, the daemon picks it up without a restart.
  writeFileSync(usersFile, file({ carol: { kdf: null, secret: null } }));
  t.same((await client.call('users.list', {})).users, [{ username: 'carol', hasPassword: false, unlocked: false }]);
});

t.test('a users.json broken by hand while the daemon runs is never overwritten', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  const { session } = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  const usersFile = path.join(daemon.dataDir, 'users.json');
  const good = readFileSync(usersFile);
  const broken = Buffer.from(good.toString('utf8').replace('"version": 1', '"version": 9'));
  writeFileSync(usersFile, broken);
  await rejectsWith(t, client.call('users.create', { username: 'bob' }), 'CORRUPT');
  t.same((await client.call('daemon.status', {})).corruptFiles, [usersFile], 'daemon.status names it');
  t.equal((await client.call('daemon.status', {})).users.total, null);
  await rejectsWith(t, client.call('users.rotateSecret', { session }), 'CORRUPT');
  await rejectsWith(t, client.call('users.changePassword', { username: 'alice', oldPassword: 'pw', newPassword: 'x' }), 'CORRUPT');
  t.same(readFileSync(usersFile), broken, 'byte-identical after every refused write');
  t.equal((await client.call('sessions.check', { session })).username, 'alice', 'live sessions keep working');
  t.same(await client.call('users.lock', { username: 'alice' }), {}, 'locking works from memory, file or not');
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
  await rejectsWith(t, client.call('users.lock', { username: 'alice' }), 'CORRUPT', /left untouched/);
  t.same(readFileSync(usersFile), broken);
  writeFileSync(usersFile, good.subarray(0, good.length - 7));
  await rejectsWith(t, client.call('users.list', {}), 'CORRUPT', /left untouched/);
  t.same((await client.call('daemon.status', {})).corruptFiles, [usersFile], 'truncated: named too');
  writeFileSync(usersFile, good);
  await client.call('users.create', { username: 'bob' });
  t.same((await client.call('daemon.status', {})).corruptFiles, [], 'repaired: no longer named');
  t.same((await client.call('users.list', {})).users.map((u) => u.username), ['alice', 'bob'], 'repaired: back to work');
});

t.test('in process: a corrupt file makes the directory answer CORRUPT too', async (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'users.json'), 'garbage');
  const { keyring } = await openKeyring(t, { dir });
  t.throws(() => keyring.requireUser('alice'), /does not parse/);
  t.same(keyring.status(), { total: null, unlocked: 0, sessions: 0 }, 'not 0 users: unknown');
});

t.test('a users.json deleted while the daemon runs: the accounts stay, and the next write puts the file back', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  const { session } = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  const usersFile = path.join(daemon.dataDir, 'users.json');
  rmSync(usersFile);
  t.same((await client.call('users.list', {})).users.map((u) => u.username), ['alice'], 'not emptied: alice is still known');
  t.equal((await client.call('sessions.check', { session })).username, 'alice', 'her session lives');
  t.same((await client.call('daemon.status', {})).users.total, 1);
  t.notOk(existsSync(usersFile), 'reads do not write');
  await client.call('users.create', { username: 'bob' });
  t.same(Object.keys(JSON.parse(readFileSync(usersFile, 'utf8')).users), ['alice', 'bob'], 'the next write put every account back');
  t.match(daemon.logs, /users\.json.*gone from disk: keeping its state in memory/);
  await daemon.restart();
  const again = await daemon.client();
  t.ok((await again.call('users.unlock', { username: 'alice', password: 'pw' })).session, 'and alice unlocks after a restart');
});
