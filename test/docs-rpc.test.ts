import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { filesUnder } from './helpers/store.js';

t.setTimeout(120_000);

/** docs.* over the wire against a real cofferd: what needs no user (plain documents). */

const NO_SUCH_SESSION = 'A'.repeat(43);

t.test('plain documents end to end; revisions survive a restart; a passed session must be valid', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await t.test('a session that is passed must be valid: LOCKED for every verb, nothing written', async (t) => {
    await lockedForEveryVerb(t, client, daemon.dataDir);
  });
  await rejectsWith(t, client.call('docs.get', { name: 'settings' }), 'NOT_FOUND');
  const { revision } = await client.call('docs.set', { name: 'settings', data: { theme: 'dark', __proto__x: 1 }, ifRevision: null });
  await rejectsWith(t, client.call('docs.set', { name: 'settings', data: {}, ifRevision: null }), 'CONFLICT', /re-read/);
  const updated = await client.call('docs.update', { name: 'settings', patch: JSON.parse('{"__proto__":{"p":1},"theme":null}'), ifRevision: revision });
  t.equal(JSON.stringify(updated.data), '{"__proto__x":1,"__proto__":{"p":1}}', '__proto__ in a patch is data, over the wire too');
  t.same(await client.call('docs.list', {}), { docs: [{ name: 'settings', owner: null, encryptedFields: [] }] });

  await daemon.restart();
  const again = await daemon.client();
  const read = await again.call('docs.get', { name: 'settings' });
  t.same(read, { data: JSON.parse('{"__proto__x":1,"__proto__":{"p":1}}'), encryptedFields: [], locked: [], revision: updated.revision });
  t.same(await again.call('docs.delete', { name: 'settings', ifRevision: updated.revision }), { revision: null });
  t.same(filesUnder(path.join(daemon.dataDir, 'docs')), []);
});

async function lockedForEveryVerb(t: Test, client: CofferClient, dataDir: string): Promise<void> {
  await client.call('docs.set', { name: 'd', data: { a: 1 } });
  const file = path.join(dataDir, 'docs', 'd.json');
  const before = readFileSync(file);
  await rejectsWith(t, client.call('docs.get', { name: 'd', session: NO_SUCH_SESSION }), 'LOCKED');
  await rejectsWith(t, client.call('docs.set', { name: 'd', data: { a: 2 }, session: NO_SUCH_SESSION }), 'LOCKED');
  await rejectsWith(t, client.call('docs.update', { name: 'd', patch: { a: 2 }, session: NO_SUCH_SESSION }), 'LOCKED');
  await rejectsWith(t, client.call('docs.delete', { name: 'd', session: NO_SUCH_SESSION }), 'LOCKED');
  await rejectsWith(t, client.call('docs.set', { name: 'd', data: { a: 1, pin: '1' }, encryptedFields: ['pin'] }), 'LOCKED', /need a session/);
  t.same(readFileSync(file), before, 'the document is as it was');
  t.same((await client.call('docs.get', { name: 'd' })).data, { a: 1 });
  await client.call('docs.delete', { name: 'd' });
}

t.test('a write failing in the file system (--fault-rules-file), or over --max-doc-bytes: error, previous document intact', async (t) => {
  const rules = path.join(tempDir(t), 'faults.json');
  const daemon = await startDaemon(t, { args: ['--fault-rules-file', rules, '--max-doc-bytes', '4096'] });
  const client = await daemon.client();
  const { revision } = await client.call('docs.set', { name: 'd', data: { v: 'old' } });
  const file = path.join(daemon.dataDir, 'docs', 'd.json');
  const before = readFileSync(file);
  for (const rule of [
    { op: 'fsync', fault: 'EIO', pathIncludes: 'docs' },
    { op: 'write', fault: 'short', pathIncludes: 'docs' },
    { op: 'rename', fault: 'ENOSPC', pathIncludes: 'docs' },
    { op: 'unlink', fault: 'EIO', pathIncludes: 'docs' },
  ]) {
    writeFileSync(rules, JSON.stringify([rule]));
    const attempt =
      rule.op === 'unlink' ? client.call('docs.delete', { name: 'd' }) : client.call('docs.update', { name: 'd', patch: { v: 'new' } });
    await rejectsWith(t, attempt, 'STORAGE_FAILED', /did not happen/);
    rmSync(rules);
    t.same(await client.call('docs.get', { name: 'd' }), { data: { v: 'old' }, encryptedFields: [], locked: [], revision }, `${rule.op}: previous value`);
    t.same(readFileSync(file), before, `${rule.op}: file unchanged`);
    t.same(filesUnder(daemon.dataDir), ['docs/d.json'], `${rule.op}: no temp file left`);
  }

  // --max-doc-bytes: the encoded file, not the request, is what is measured.
  const big = 'x'.repeat(5000);
  await rejectsWith(t, client.call('docs.update', { name: 'd', patch: { big } }), 'TOO_LARGE', /limit of 4096 bytes \(cofferd --max-doc-bytes, COFFER_MAX_DOC_BYTES\); nothing was written/);
  await rejectsWith(t, client.call('docs.set', { name: 'other', data: { big } }), 'TOO_LARGE');
  t.same(readFileSync(file), before, 'TOO_LARGE: file unchanged');
  t.notOk(existsSync(path.join(daemon.dataDir, 'docs', 'other.json')), 'TOO_LARGE: no new file');
  t.same((await client.call('docs.get', { name: 'd' })).data, { v: 'old' });
});
