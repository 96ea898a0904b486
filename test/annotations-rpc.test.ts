import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { filesUnder } from './helpers/store.js';

t.setTimeout(120_000);

/** annotations.* over the wire against a real cofferd with real users. */

const ADDR = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const TXID = 'c0ffee'.repeat(10) + 'beef';

t.test('every verb end to end; CAS; list; persists across a restart; a deleted user takes them along', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice' });
  await client.call('users.create', { username: 'bob' });
  const hot = { username: 'alice', wallet: 'hot', service: 'swan' };

  t.same(await client.call('annotations.get', hot), { addrs: {}, txs: {}, revision: null });
  t.same(await client.call('annotations.get', { ...hot, kind: 'addr', id: ADDR }), { data: null, revision: null });
  const { revision: r1 } = await client.call('annotations.set', { ...hot, kind: 'addr', id: ADDR, data: { label: 'x' }, ifRevision: null });
  await rejectsWith(t, client.call('annotations.set', { ...hot, kind: 'tx', id: TXID, data: 1, ifRevision: null }), 'CONFLICT');
  const up = await client.call('annotations.update', { ...hot, kind: 'tx', id: TXID, patch: JSON.parse('{"__proto__":{"a":1}}'), ifRevision: r1 });
  t.equal(JSON.stringify(up.data), '{"__proto__":{"a":1}}', '__proto__ in a patch is data');
  const stale = await rejectsWith(t, client.call('annotations.delete', { ...hot, kind: 'addr', id: ADDR, ifRevision: r1 }), 'CONFLICT');
  t.equal(stale.data['revision'], up.revision);
  await client.call('annotations.set', { username: 'alice', wallet: 'cold', service: 'swan', kind: 'addr', id: ADDR, data: 2 });
  await client.call('annotations.set', { username: 'bob', wallet: 'hot', service: 'swan', kind: 'addr', id: ADDR, data: 3 });
  t.same(await client.call('annotations.list', { username: 'alice' }), {
    entries: [
      { wallet: 'cold', service: 'swan', kind: 'addr', id: ADDR },
      { wallet: 'hot', service: 'swan', kind: 'addr', id: ADDR },
      { wallet: 'hot', service: 'swan', kind: 'tx', id: TXID },
    ],
  });
  t.same((await client.call('annotations.list', { username: 'alice', wallet: 'hot', service: 'swan' })).entries.length, 2);

  await daemon.restart();
  const again = await daemon.client();
  const all = await again.call('annotations.get', hot);
  t.equal(all.revision, up.revision, 'the revision survives a restart');
  t.equal(JSON.stringify(all), JSON.stringify({ addrs: { [ADDR]: { label: 'x' } }, txs: { [TXID]: JSON.parse('{"__proto__":{"a":1}}') }, revision: up.revision }));
  t.same(await again.call('annotations.delete', { ...hot, kind: 'addr', id: ADDR, ifRevision: up.revision }).then((r) => typeof r.revision), 'string');

  await again.call('users.delete', { username: 'alice' });
  await rejectsWith(t, again.call('annotations.get', hot), 'NOT_FOUND');
  t.same(filesUnder(path.join(daemon.dataDir, 'wallets')), ['bob/hot_swan.json'], "the deleted user's annotations went with them");
});

t.test('faults and limits: STORAGE_FAILED and TOO_LARGE leave the previous file in place', async (t) => {
  const rules = path.join(tempDir(t), 'faults.json');
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--fault-rules-file', rules, '--max-doc-bytes', '4096'] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice' });
  const hot = { username: 'alice', wallet: 'hot', service: 'swan' };
  await client.call('annotations.set', { ...hot, kind: 'addr', id: ADDR, data: { v: 'old' } });
  const file = path.join(daemon.dataDir, 'wallets', 'alice', 'hot_swan.json');
  const before = readFileSync(file);
  const { revision } = await client.call('annotations.get', hot);

  for (const rule of [
    { op: 'fsync', fault: 'EIO', pathIncludes: 'wallets' },
    { op: 'rename', fault: 'ENOSPC', pathIncludes: 'wallets' },
    { op: 'unlink', fault: 'EIO', pathIncludes: 'wallets' },
  ]) {
    writeFileSync(rules, JSON.stringify([rule]));
    const attempt =
      rule.op === 'unlink'
        ? client.call('annotations.delete', { ...hot, kind: 'addr', id: ADDR })
        : client.call('annotations.update', { ...hot, kind: 'addr', id: ADDR, patch: { v: 'new' } });
    await rejectsWith(t, attempt, 'STORAGE_FAILED');
    rmSync(rules);
    t.same(await client.call('annotations.get', { ...hot, kind: 'addr', id: ADDR }), { data: { v: 'old' }, revision }, `${rule.op}: previous value`);
    t.same(readFileSync(file), before, `${rule.op}: file unchanged`);
  }
  await rejectsWith(t, client.call('annotations.set', { ...hot, kind: 'tx', id: TXID, data: 'x'.repeat(5000) }), 'TOO_LARGE');
  await rejectsWith(t, client.call('annotations.set', { ...hot, wallet: 'new', kind: 'tx', id: TXID, data: 'x'.repeat(5000) }), 'TOO_LARGE');
  t.same(readFileSync(file), before, 'TOO_LARGE: nothing written');
  t.notOk(existsSync(path.join(daemon.dataDir, 'wallets', 'alice', 'new_swan.json')));
  t.same(filesUnder(path.join(daemon.dataDir, 'wallets')), ['alice/hot_swan.json'], 'no temp file left');
});
