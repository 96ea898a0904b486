import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { RawConnection } from './helpers/raw-socket.js';

t.setTimeout(120_000);

const verbs = ['get', 'set', 'update', 'delete', 'list'] as const;
const extra: Record<(typeof verbs)[number], object> = {
  get: { service: 'swan' },
  set: { service: 'swan', data: { a: 1 } },
  update: { service: 'swan', patch: { a: 1 } },
  delete: { service: 'swan' },
  list: {},
};

t.test('every services method: unknown user NOT_FOUND, unknown session LOCKED, bad names -32602', async (t) => {
  const daemon = await startDaemon(t);
  const conn = await RawConnection.open(daemon.socketPath);
  t.teardown(() => conn.close());
  let id = 0;
  const call = (method: string, params: object) => conn.request({ jsonrpc: '2.0', id: ++id, method, params });

  for (const verb of verbs) {
    const plain = await call(`services.unencrypted.${verb}`, { username: 'nobody', ...extra[verb] });
    t.equal(plain.error?.data?.reason, 'NOT_FOUND', `unencrypted.${verb}: NOT_FOUND`);
    const locked = await call(`services.encrypted.${verb}`, { session: 'A'.repeat(43), ...extra[verb] });
    t.equal(locked.error?.data?.reason, 'LOCKED', `encrypted.${verb}: LOCKED`);
    for (const username of ['../x', '__proto__', 'constructor', 'x'.repeat(65), 'a/b', 'a\\b', 'a\u0000b', '..', '.x']) {
      const reply = await call(`services.unencrypted.${verb}`, { username, ...extra[verb] });
      t.equal(reply.error?.code, -32602, `unencrypted.${verb} username ${JSON.stringify(username)}: -32602`);
    }
    if (verb !== 'list') {
      for (const service of ['../x', '__proto__', 'constructor', 'prototype', 'encrypted_storage_version', 'a b', '-x', 'a/b', 'x'.repeat(65)]) {
        const reply = await call(`services.unencrypted.${verb}`, { username: 'alice', ...extra[verb], service });
        t.equal(reply.error?.code, -32602, `${verb} service ${JSON.stringify(service)}: -32602`);
      }
    }
    const badSession = await call(`services.encrypted.${verb}`, { session: 'short', ...extra[verb] });
    t.equal(badSession.error?.code, -32602, 'a malformed session token is -32602');
  }
  const wrongTypes = await call('services.unencrypted.set', { username: 'alice', service: 'swan', data: [1, 2] });
  t.equal(wrongTypes.error?.code, -32602, 'data must be an object');
  t.match(wrongTypes.error?.message, /params\.data/);

  // Nothing was created for any of it.
  const services = path.join(daemon.dataDir, 'services');
  t.ok(!existsSync(services) || readdirSync(services).length === 0, 'no file was created');
});
