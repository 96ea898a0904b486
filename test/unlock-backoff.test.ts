import t from 'tap';
import { CofferError } from '@coffer/protocol';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { KdfPool } from '../daemon/src/crypto/kdf-pool.js';
import { UnlockBackoff } from '../daemon/src/keyring/backoff.js';
import { CofferAccounts } from '../daemon/src/layout/coffer/accounts.js';
import { KeyedMutex } from '../daemon/src/base/keyed-mutex.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS, openKeyring } from './helpers/keyring.js';

t.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('brute force over the socket gets RATE_LIMITED with retryAfterS, even for the right password', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'right' });
  await client.call('users.create', { username: 'bob', password: 'bob' });
  for (let i = 0; i < 4; i++) {
    await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: `guess${i}` }), 'BAD_PASSWORD');
  }
  const limited = await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'guess' }), 'RATE_LIMITED');
  t.equal(limited.code, 1013);
  t.equal(limited.data['retryAfterS'], 1, 'first counted failure: 1 s');
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'right' }), 'RATE_LIMITED');
  // The other password checks are the same oracle and are limited the same way.
  await rejectsWith(t, client.call('users.changePassword', { username: 'alice', oldPassword: 'right', newPassword: 'x' }), 'RATE_LIMITED');
  await rejectsWith(t, client.call('users.delete', { username: 'alice', password: 'right' }), 'RATE_LIMITED');
  t.ok((await client.call('users.unlock', { username: 'bob', password: 'bob' })).session, 'other users are not affected');

  await sleep(1100);
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'guess5' }), 'BAD_PASSWORD');
  const doubled = await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'right' }), 'RATE_LIMITED');
  t.equal(doubled.data['retryAfterS'], 2, 'the next failure doubles the wait');
  await sleep(2100);
  t.ok((await client.call('users.unlock', { username: 'alice', password: 'right' })).session, 'the right password after the wait');
  // Success resets: three free failures again.
  for (let i = 0; i < 3; i++) {
    await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'typo' }), 'BAD_PASSWORD');
  }
  t.match(daemon.logs, /"reason":"RATE_LIMITED"/);
});

t.test('backoff policy: free failures, doubling, cap, forgetting, bounded memory', async (t) => {
  let now = 0;
  const backoff = new UnlockBackoff(() => now, { freeFailures: 2, baseMs: 1000, maxMs: 5000, forgetAfterMs: 60_000, maxEntries: 3 });
  const retryAfter = (name: string): number | undefined => {
    try {
      backoff.check(name);
      return undefined;
    } catch (error) {
      return (error as CofferError).data['retryAfterS'] as number;
    }
  };
  backoff.fail('a');
  backoff.fail('a');
  t.equal(retryAfter('a'), undefined, 'the free failures cost nothing');
  const waits = [];
  for (let i = 0; i < 5; i++) {
    backoff.fail('a');
    waits.push(retryAfter('a'));
    now += 10_000;
  }
  t.same(waits, [1, 2, 4, 5, 5], 'doubling up to the cap');
  now += 60_000;
  backoff.fail('a');
  t.equal(retryAfter('a'), undefined, 'after forgetAfterMs the count starts over');
  backoff.fail('a');
  backoff.fail('a');
  t.equal(retryAfter('a'), 1);
  backoff.succeed('a');
  t.equal(retryAfter('a'), undefined, 'success clears');
  for (const name of ['b', 'c', 'd', 'e']) backoff.fail(name);
  t.equal(backoff.tracked, 3, 'at most maxEntries names are tracked');
  now += 61_000;
  backoff.prune();
  t.equal(backoff.tracked, 0, 'prune drops stale records');
});

t.test('a blocked name is refused before any Argon2id work, even for calls already queued', async (t) => {
  const inner = new CofferAccounts(KDF_INTERACTIVE);
  let opens = 0;
  // The real codec, counting how often a password is actually hashed.
  const codec = Object.assign(Object.create(inner) as CofferAccounts, {
    open: (...args: Parameters<CofferAccounts['open']>) => {
      opens++;
      return inner.open(...args);
    },
  });
  const { keyring } = await openKeyring(t, {
    codec,
    unlockConcurrency: 1,
    backoff: { freeFailures: 1, baseMs: 60_000, maxMs: 60_000, forgetAfterMs: 3600_000, maxEntries: 100 },
  });
  await keyring.create('alice', 'right');
  // Ten guesses at once: they queue behind each other; after the second failure the rest must stop.
  const guesses = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => keyring.unlock('alice', `g${i}`)));
  const reasons = guesses.map((g) => (g.status === 'rejected' ? (g.reason as CofferError).reason : 'ok'));
  t.same(reasons.slice(0, 2), ['BAD_PASSWORD', 'BAD_PASSWORD']);
  t.same(new Set(reasons.slice(2)), new Set(['RATE_LIMITED']));
  t.equal(opens, 2, 'only two passwords were hashed');
  await rejectsWith(t, keyring.unlock('alice', 'right'), 'RATE_LIMITED');
  t.equal(opens, 2, 'a blocked call never reaches the KDF');
  // Issue 13: an unknown user answers like a wrong password, after a decoy KDF run (not an open).
  await rejectsWith(t, keyring.unlock('nobody', 'x'), 'BAD_PASSWORD', /^Wrong password$/);
  t.equal(opens, 2, 'an unknown user opens no record');
});

t.test('the KDF pool runs at most N jobs at once, in arrival order', async (t) => {
  t.throws(() => new KdfPool(0), /positive/);
  const pool = new KdfPool(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const releases: Array<() => void> = [];
  const jobs = Array.from({ length: 5 }, (_, i) =>
    pool.run(async () => {
      order.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      return i;
    }),
  );
  await sleep(10);
  t.equal(pool.active, 2);
  t.equal(pool.queued, 3);
  while (releases.length > 0 || running > 0) {
    releases.shift()?.();
    await sleep(5);
  }
  t.same(await Promise.all(jobs), [0, 1, 2, 3, 4]);
  t.same(order, [0, 1, 2, 3, 4], 'first come, first served');
  t.equal(peak, 2, 'never more than the concurrency');
  t.equal(pool.active, 0);
  await t.rejects(pool.run(async () => Promise.reject(new Error('job failed'))), /job failed/);
  t.equal(pool.active, 0, 'a failed job frees its slot');
});

t.test('the keyed mutex serializes one key and lets others through', async (t) => {
  const mutex = new KeyedMutex();
  const events: string[] = [];
  const job = (key: string, tag: string, ms: number) =>
    mutex.run(key, async () => {
      events.push(`${tag}+`);
      await sleep(ms);
      events.push(`${tag}-`);
    });
  await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 1)]);
  t.same(events.slice(0, 2), ['a1+', 'b1+'], 'another key does not wait');
  t.ok(events.indexOf('a2+') > events.indexOf('a1-'), 'the same key waits its turn');
  await t.rejects(mutex.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  await mutex.run('a', async () => events.push('after'));
  t.equal(events.at(-1), 'after', 'a failed job releases the key');
});
