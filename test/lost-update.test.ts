import t from 'tap';
import { CofferError } from '@coffer/protocol';
import type { CofferClient } from '@coffer/client';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS as FAST_KDF } from './helpers/keyring.js';

t.setTimeout(300_000);

const CLIENTS = 50;
const CONNECTIONS = 5;
// Each successful CAS on the shared counter is one durable write (only one CAS of a group commit
// can match), so the run is about ROUNDS x CLIENTS fsyncs long: 16 in npm test (800 contended
// increments, ~40 s here), more with COFFER_LOST_UPDATE_ROUNDS=200 for a long run.
const ROUNDS = Number(process.env['COFFER_LOST_UPDATE_ROUNDS'] ?? 16);

/**
 * One CAS loop: read, compute, write only if nothing changed in between; on CONFLICT, back off a
 * random few milliseconds (as any CAS client under contention should) and retry.
 */
async function casIncrement(client: CofferClient, session: string, service: string): Promise<number> {
  for (let attempts = 1; ; attempts++) {
    const current = await client.call('services.encrypted.get', { session, service });
    const next = ((current.data['counter'] as number | undefined) ?? 0) + 1;
    try {
      await client.call('services.encrypted.update', { session, service, patch: { counter: next }, ifRevision: current.revision });
      return attempts;
    } catch (error) {
      if (!(error instanceof CofferError && error.reason === 'CONFLICT')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempts, 64)));
    }
  }
}

t.test('no lost update: 50 clients on 5 connections, distinct-key increments and CAS on a shared counter', async (t) => {
  // Without coverage hooks (faster): thousands of CAS retries, and coverage comes from other tests.
  const daemon = await startDaemon(t, { args: FAST_KDF, coverage: false });
  const admin = await daemon.client();
  await admin.call('users.create', { username: 'alice', password: 'correct horse' });
  const { session } = await admin.call('users.unlock', { username: 'alice', password: 'correct horse' });
  const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => daemon.client()));
  const service = 'shared';
  let casAttempts = 0;

  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const client = connections[c % CONNECTIONS]!;
      const key = `k${c}`;
      for (let round = 0; round < ROUNDS; round++) {
        // Only this client writes its key, so read-then-update needs no CAS: a lost update here
        // would be the daemon dropping one client's merge while applying another's.
        const current = await client.call('services.encrypted.get', { session, service });
        const mine = ((current.data[key] as number | undefined) ?? 0) + 1;
        await client.call('services.encrypted.update', { session, service, patch: { [key]: mine } });
        const attempts = await casIncrement(client, session, service);
        casAttempts += attempts;
      }
    }),
  );

  const expected: Record<string, number> = { counter: CLIENTS * ROUNDS };
  for (let c = 0; c < CLIENTS; c++) expected[`k${c}`] = ROUNDS;
  const check = (data: Record<string, unknown>, when: string) => {
    t.equal(data['counter'], CLIENTS * ROUNDS, `${when}: the shared counter counted every CAS`);
    const wrong = Object.keys(expected).filter((k) => data[k] !== expected[k]);
    t.same(wrong, [], `${when}: every distinct key is exactly ${ROUNDS}`);
  };
  check((await admin.call('services.encrypted.get', { session, service })).data, 'live');
  // Fifty clients reading then writing one counter collide: at least one CONFLICT was answered and
  // retried (otherwise this test never exercised compare-and-set under contention).
  t.ok(casAttempts > CLIENTS * ROUNDS, `CAS was contended: ${casAttempts} attempts for ${CLIENTS * ROUNDS} increments`);
  const { writes } = await admin.call('daemon.status', {});
  t.equal(writes.failed, 0);
  t.ok(writes.committed < CLIENTS * ROUNDS * 2, `${CLIENTS * ROUNDS * 2} acknowledged updates took ${writes.committed} durable writes`);

  // After a restart the data comes from disk only.
  await daemon.restart();
  const fresh = await daemon.client();
  const again = await fresh.call('users.unlock', { username: 'alice', password: 'correct horse' });
  check((await fresh.call('services.encrypted.get', { session: again.session, service })).data, 'after restart');
});
