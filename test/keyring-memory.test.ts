import t from 'tap';
import { SecretMemory } from '../daemon/src/crypto/secret-memory.js';
import { rejectsWith, throwsWith } from './helpers/assert.js';
import { openKeyring, secretOf, WatchedMemory } from './helpers/keyring.js';

const ALLOCATION_BYTES = 32 * 2 + 32 * 2; // [secret A | secret B | kek | next kek]
const isZero = (buf: Buffer): boolean => buf.every((byte) => byte === 0);

t.test('an unlocked secret is no-access while idle and readable only inside withSecret', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  await keyring.create('alice', 'correct horse');
  await keyring.unlock('alice', 'correct horse');
  t.equal(memory.live.size, 1, 'one live allocation for the unlocked user');
  t.same(memory.liveProtections(), ['noaccess'], 'no access while idle');
  const user = keyring.unlockedUser('alice')!;
  const seen = user.withSecret((secret) => {
    t.same(memory.liveProtections(), ['readonly'], 'read-only during the callback');
    t.equal(secret.length, 32);
    return Buffer.from(secret);
  });
  t.notOk(isZero(seen), 'the secret is 32 random bytes');
  t.same(memory.liveProtections(), ['noaccess'], 'protected again afterwards');
  t.throws(() => user.withSecret((secret) => Promise.resolve(secret)), /synchronous/, 'async callbacks are refused');
  t.throws(() => user.withSecret(() => {
    throw new Error('callback failed');
  }), /callback failed/);
  t.same(memory.liveProtections(), ['noaccess'], 'protected again however the callback ends');
  // Nested reads (the store reading two slots at once) keep the outer protection until the end.
  user.withSecret(() => user.withSecret(() => t.same(memory.liveProtections(), ['readonly'])));
  t.same(memory.liveProtections(), ['noaccess']);
});

t.test('users.lock zeroes the secret before freeing it, and a held user answers LOCKED', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  await keyring.create('alice', 'pw-alice');
  const { session } = await keyring.unlock('alice', 'pw-alice');
  const secret = secretOf(keyring, 'alice');
  const held = keyring.userForSession(session);
  memory.freedContents.length = 0;
  await keyring.lock('alice');
  t.equal(memory.live.size, 0, 'nothing left allocated');
  t.equal(memory.freedContents.length, 1);
  const freed = memory.freedContents[0]!;
  t.equal(freed.length, ALLOCATION_BYTES);
  t.ok(isZero(freed), 'every byte was zero when the allocation was freed');
  t.notOk(freed.includes(secret), 'the secret is not in the freed allocation');
  throwsWith(t, () => held.withSecret(() => 1), 'LOCKED', 'a user view held across the lock answers LOCKED');
  throwsWith(t, () => keyring.userForSession(session), 'LOCKED');
  t.equal(keyring.unlockedUser('alice'), undefined);
  // The same password opens the same secret again.
  await keyring.unlock('alice', 'pw-alice');
  t.same(secretOf(keyring, 'alice'), secret, 'same secret after lock and unlock');
});

t.test('sessions.end keeps the secret while another session lives and zeroes it with the last', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  await keyring.create('alice', 'pw');
  const first = await keyring.unlock('alice', 'pw');
  const second = await keyring.unlock('alice', 'pw');
  t.equal(memory.live.size, 1, 'a second unlock replaces the allocation, never adds one');
  t.equal(keyring.status().sessions, 2);
  memory.freedContents.length = 0;
  await keyring.endSession(first.session);
  t.ok(keyring.unlockedUser('alice'), 'still unlocked by the second session');
  t.equal(memory.freedContents.length, 0);
  await rejectsWith(t, keyring.endSession(first.session), 'LOCKED');
  await keyring.endSession(second.session);
  t.equal(keyring.unlockedUser('alice'), undefined);
  t.equal(memory.live.size, 0);
  t.ok(memory.freedContents.every(isZero), 'zeroed before free');
  t.same(keyring.status(), { total: 1, unlocked: 0, sessions: 0 });
});

t.test('idle and absolute expiry end sessions and zero the secret (on use and by the sweep timer)', async (t) => {
  const memory = new WatchedMemory();
  let now = 1_000_000;
  const { keyring } = await openKeyring(t, { memory, now: () => now, sessionIdleS: 60, sessionTtlS: 600 });
  await keyring.create('alice', 'pw');
  await keyring.create('bob', 'pw');
  const a = await keyring.unlock('alice', 'pw');
  const b = await keyring.unlock('bob', 'pw', 300, 120);
  t.equal(b.expiresAt, now + 300_000, 'ttlS shortens the configured ttl');
  const long = await keyring.unlock('bob', 'pw', 99_999, 99_999);
  t.equal(long.expiresAt, now + 600_000, 'ttlS never extends it');
  t.equal(keyring.checkSession(long.session).idleExpiresAt, now + 60_000, 'nor does idleS extend the idle limit');

  now += 59_000;
  t.equal(keyring.checkSession(a.session).username, 'alice', 'used within the idle window');
  now += 59_000;
  t.equal(keyring.userForSession(a.session).username, 'alice', 'each use refreshes the idle timer');
  now += 61_000;
  throwsWith(t, () => keyring.userForSession(a.session), 'LOCKED', 'idle too long');
  t.equal(keyring.unlockedUser('alice'), undefined, 'expired on use: secret dropped at once');

  now += 121_000;
  throwsWith(t, () => keyring.checkSession(b.session), 'LOCKED', 'idleS shortened the idle limit');

  const c = await keyring.unlock('alice', 'pw');
  for (let i = 0; i < 11; i++) {
    now += 50_000;
    keyring.checkSession(c.session);
  }
  now += 50_000;
  throwsWith(t, () => keyring.checkSession(c.session), 'LOCKED', 'the absolute ttl ends even a busy session');
});

t.test('the sweep timer zeroes the secret of a user whose sessions expired unused', async (t) => {
  const memory = new WatchedMemory();
  let now = 5_000_000;
  const { keyring } = await openKeyring(t, { memory, now: () => now, sessionIdleS: 1 });
  await keyring.create('bob', 'pw');
  await keyring.unlock('bob', 'pw');
  await keyring.unlock('bob', 'pw');
  now += 1_500;
  // With a 1 s idle limit the sweep runs every 250 ms; nobody calls the keyring meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 600));
  t.equal(keyring.unlockedUser('bob'), undefined, 'zeroed without any call');
  t.equal(memory.live.size, 0);
  t.ok(memory.freedContents.every(isZero));
  t.same(keyring.status(), { total: 1, unlocked: 0, sessions: 0 });
});

t.test('a second login or a password change never invalidates what the store holds', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  await keyring.create('alice', 'pw');
  const { session } = await keyring.unlock('alice', 'pw');
  const held = keyring.userForSession(session);
  const secret = held.withSecret((s) => Buffer.from(s));
  await keyring.unlock('alice', 'pw');
  t.same(held.withSecret((s) => Buffer.from(s)), secret, 'still readable after a second unlock');
  await keyring.changePassword('alice', 'pw', 'pw2');
  t.same(held.withSecret((s) => Buffer.from(s)), secret, 'and after a password change');
  t.equal(memory.live.size, 1, 'still one allocation');
  // The kept keys took the new password's key: a rotation now wraps under it.
  await keyring.rotateSecret(session);
  await keyring.lock('alice');
  await keyring.unlock('alice', 'pw2');
  t.notSame(secretOf(keyring, 'alice'), secret, 'the rotated secret opens with the new password');
});

t.test('close (daemon shutdown) zeroes and frees every secret; later unlocks are refused', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  for (const name of ['a1', 'a2', 'a3']) {
    await keyring.create(name, `pw-${name}`);
    await keyring.unlock(name, `pw-${name}`);
    await keyring.unlock(name, `pw-${name}`);
  }
  t.equal(memory.live.size, 3, 'one allocation per unlocked user, however many sessions');
  keyring.close();
  t.equal(memory.live.size, 0);
  t.ok(memory.freedContents.length >= 3 && memory.freedContents.every(isZero));
  await rejectsWith(t, keyring.unlock('a1', 'pw-a1'), 'SHUTTING_DOWN');
  t.equal(memory.live.size, 0, 'the refused unlock freed its keys too');
});

t.test('a wrong password and a created user leave no allocation behind', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory });
  await keyring.create('alice', 'pw');
  await rejectsWith(t, keyring.unlock('alice', 'nope'), 'BAD_PASSWORD');
  t.equal(memory.live.size, 0);
  t.ok(memory.mallocs >= 2 && memory.freedContents.every(isZero), 'scratch allocations were zeroed and freed');
});

t.test('SecretMemory refuses misuse instead of crashing the process', async (t) => {
  const memory = new WatchedMemory();
  const guarded = SecretMemory.allocate(8, memory);
  guarded.unsealed().fill(7);
  guarded.seal();
  t.throws(() => guarded.unsealed(), /sealed/);
  t.throws(() => guarded.read(() => guarded.write(() => 1)), /inside a read/);
  t.throws(() => guarded.read(() => guarded.destroy()), /while in use/);
  t.equal(guarded.read((buf) => buf[0]), 7);
  guarded.destroy();
  guarded.destroy();
  t.ok(guarded.isDestroyed);
  t.throws(() => guarded.read(() => 1), /released/);
  t.throws(() => guarded.seal(), /released/);
  t.throws(() => guarded.unsealed(), /released/);
  t.ok(isZero(memory.freedContents[0]!));
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('with a linger, reads close together cost one mprotect; idle, the secret is no-access again', async (t) => {
  const memory = new WatchedMemory();
  t.throws(() => SecretMemory.allocate(8, memory, -1), RangeError);
  const guarded = SecretMemory.allocate(8, memory, 150);
  guarded.unsealed().fill(9);
  guarded.seal();
  memory.protections.length = 0;
  for (let i = 0; i < 20; i++) t.equal(guarded.read((buf) => buf[0]), 9);
  t.same(memory.protections, ['readonly'], 'one mprotect for 20 reads');
  t.ok(guarded.isLingering);
  t.same(memory.liveProtections(), ['readonly']);
  // Reads keep it readable: each one starts the idle wait again.
  for (let i = 0; i < 5; i++) {
    await sleep(20);
    guarded.read((buf) => buf[0]);
  }
  t.same(memory.protections, ['readonly'], 'still one mprotect');
  await sleep(400);
  t.same(memory.protections, ['readonly', 'noaccess'], 'no-access once idle for the linger');
  t.notOk(guarded.isLingering);
  t.same(memory.liveProtections(), ['noaccess']);

  // A write while lingering ends no-access at once, with no timer left behind.
  guarded.read((buf) => buf[0]);
  guarded.write((buf) => buf.fill(1));
  t.notOk(guarded.isLingering);
  t.same(memory.liveProtections(), ['noaccess']);
  t.same(memory.protections.slice(2), ['readonly', 'readwrite', 'noaccess']);
  t.equal(guarded.read((buf) => buf[0]), 1);

  // Destroyed while lingering: zeroed and freed, and the pending timer never touches it.
  guarded.destroy();
  const before = memory.protections.length;
  await sleep(400);
  t.equal(memory.protections.length, before, 'no protection change after free');
  t.equal(memory.live.size, 0);
  t.ok(isZero(memory.freedContents[0]!));
});

t.test('an unlocked user with a linger: readable between close reads, no-access when idle, zeroed on lock', async (t) => {
  const memory = new WatchedMemory();
  const { keyring } = await openKeyring(t, { memory, secretLingerMs: 100 });
  await keyring.create('alice', 'correct horse');
  const { session } = await keyring.unlock('alice', 'correct horse');
  t.same(memory.liveProtections(), ['noaccess'], 'no access before the first read');
  const user = keyring.unlockedUser('alice')!;
  const first = user.withSecret((secret) => Buffer.from(secret));
  t.same(user.withSecret((secret) => Buffer.from(secret)), first);
  t.same(memory.liveProtections(), ['readonly']);
  await sleep(300);
  t.same(memory.liveProtections(), ['noaccess']);
  user.withSecret(() => undefined);
  await keyring.endSession(session);
  t.equal(memory.live.size, 0, 'the last session ended: freed even while lingering');
  t.ok(memory.freedContents.every(isZero), 'and zeroed');
});
