import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { RawConnection } from './helpers/raw-socket.js';
import { filesUnder } from './helpers/store.js';

t.setTimeout(120_000);

/**
 * Every name parameter of annotations.* and docs.* with names that could escape a folder or reach a
 * prototype: -32602 before any path is built, so nothing appears in the data dir.
 */

const ADDR = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const TXID = 'ab'.repeat(32);
const BAD_NAMES = ['../x', '..', '.x', '__proto__', 'constructor', 'prototype', 'x'.repeat(65), 'a/b', 'a\\b', 'a\u0000b', '', 'a\nb'];
const BAD_ADDRESSES = ['short', 'x'.repeat(91), '../../../../etc/passwd', 'bc1q/../../xxxxxxxxx', 'bc1q\u0000xxxxxxxxxxxx', '__proto__xxxxxxxxxx'];
const BAD_TXIDS = [ADDR, 'g'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `../${'a'.repeat(61)}`];

const annotationVerbs = {
  get: { kind: 'addr', id: ADDR },
  set: { kind: 'addr', id: ADDR, data: { label: 'x' } },
  update: { kind: 'addr', id: ADDR, patch: { label: 'x' } },
  delete: { kind: 'addr', id: ADDR },
} as const;
const docVerbs = { get: {}, set: { data: { a: 1 } }, update: { patch: { a: 1 } }, delete: {} } as const;

t.test('annotations.* and docs.*: every bad name is -32602 and creates nothing', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  // alice exists, so a refusal below is the name rule, not NOT_FOUND for an unknown user.
  await (await daemon.client()).call('users.create', { username: 'alice' });
  const filesBefore = filesUnder(daemon.dataDir);
  const conn = await RawConnection.open(daemon.socketPath);
  t.teardown(() => conn.close());
  let id = 0;
  const expectInvalid = async (method: string, params: object, what: string) => {
    const reply = await conn.request({ jsonrpc: '2.0', id: ++id, method, params });
    t.equal(reply.error?.code, -32602, `${method} ${what}: -32602`);
  };
  const base = { username: 'alice', wallet: 'hot', service: 'swan' };

  for (const [verb, rest] of Object.entries(annotationVerbs)) {
    const method = `annotations.${verb}`;
    for (const bad of BAD_NAMES) {
      await expectInvalid(method, { ...base, ...rest, username: bad }, `username ${JSON.stringify(bad)}`);
      await expectInvalid(method, { ...base, ...rest, wallet: bad }, `wallet ${JSON.stringify(bad)}`);
      await expectInvalid(method, { ...base, ...rest, service: bad }, `service ${JSON.stringify(bad)}`);
    }
    for (const wallet of ['Hot', 'Ünï', 'a b', '-a', 'a.b']) await expectInvalid(method, { ...base, ...rest, wallet }, `wallet ${wallet} (coffer layout)`);
    for (const service of ['encrypted_storage_version', 'a b', '-x', 'a.b', 'ünï']) await expectInvalid(method, { ...base, ...rest, service }, `service ${service}`);
    for (const bad of BAD_ADDRESSES) await expectInvalid(method, { ...base, ...rest, kind: 'addr', id: bad }, `address ${JSON.stringify(bad)}`);
    for (const bad of BAD_TXIDS) await expectInvalid(method, { ...base, ...rest, kind: 'tx', id: bad }, `txid ${JSON.stringify(bad)}`);
    await expectInvalid(method, { ...base, ...rest, kind: 'wallet' }, 'kind "wallet"');
  }
  await expectInvalid('annotations.get', { ...base, kind: 'addr' }, 'kind without id');
  await expectInvalid('annotations.get', { ...base, id: ADDR }, 'id without kind');
  await expectInvalid('annotations.set', { ...base, kind: 'addr', id: ADDR }, 'set without data');
  await expectInvalid('annotations.update', { ...base, kind: 'tx', id: TXID, patch: [1] }, 'a patch that is not an object');
  for (const bad of BAD_NAMES) {
    await expectInvalid('annotations.list', { username: bad }, `list username ${JSON.stringify(bad)}`);
    await expectInvalid('annotations.list', { username: 'alice', wallet: bad }, `list wallet ${JSON.stringify(bad)}`);
    await expectInvalid('annotations.list', { username: 'alice', service: bad }, `list service ${JSON.stringify(bad)}`);
  }

  for (const [verb, rest] of Object.entries(docVerbs)) {
    const method = `docs.${verb}`;
    for (const bad of [...BAD_NAMES, 'encrypted_storage_version', '-a', 'a b', 'a.b']) {
      await expectInvalid(method, { ...rest, name: bad }, `name ${JSON.stringify(bad)}`);
    }
    await expectInvalid(method, { ...rest, name: 'config', session: 'not-a-token' }, 'a malformed session');
    await expectInvalid(method, { ...rest, name: 'config', extra: 1 }, 'an unknown member');
  }
  await expectInvalid('docs.set', { name: 'config', data: [1] }, 'data that is not an object');
  await expectInvalid('docs.set', { name: 'config', data: {}, encryptedFields: ['a', 'a'] }, 'repeated encrypted fields');
  await expectInvalid('docs.set', { name: 'config', data: {}, encryptedFields: 'a' }, 'encryptedFields not a list');
  await expectInvalid('docs.update', { name: 'config', patch: null }, 'a null patch');
  await expectInvalid('docs.list', { name: 'x' }, 'list takes no params');

  t.same(filesUnder(daemon.dataDir), filesBefore, 'nothing was created in the data dir');
});

t.test('valid names of a user that does not exist: NOT_FOUND, nothing created', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  const base = { username: 'nobody', wallet: 'hot', service: 'swan' };
  const calls = [
    client.call('annotations.get', base),
    client.call('annotations.get', { ...base, kind: 'tx', id: TXID }),
    client.call('annotations.set', { ...base, kind: 'addr', id: ADDR, data: 1 }),
    client.call('annotations.update', { ...base, kind: 'addr', id: ADDR, patch: {} }),
    client.call('annotations.delete', { ...base, kind: 'addr', id: ADDR }),
    client.call('annotations.list', { username: 'nobody' }),
  ];
  for (const outcome of await Promise.allSettled(calls)) {
    t.equal(outcome.status === 'rejected' && (outcome.reason as { reason?: string }).reason, 'NOT_FOUND');
  }
  t.same(filesUnder(daemon.dataDir), []);
});
