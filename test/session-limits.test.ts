import t from 'tap';
import { SessionDigester } from '../daemon/src/crypto/session-token.js';
import { MAX_SESSIONS_PER_USER, SessionTable } from '../daemon/src/keyring/sessions.js';

t.test('a user past the session cap loses their least recently used session, and only that one', async (t) => {
  let now = 0;
  const table = new SessionTable({ ttlMs: 3600_000, idleMs: 600_000 }, () => now);
  const tokens: string[] = [];
  for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
    now += 1;
    tokens.push(table.open('alice', undefined, undefined).token);
  }
  table.open('bob');
  now += 1;
  t.ok(table.use(tokens[0]!, () => undefined), 'the oldest is used again, so it is not the least recent');
  now += 1;
  const extra = table.open('alice').token;
  t.equal(table.countFor('alice'), MAX_SESSIONS_PER_USER);
  t.equal(table.use(tokens[1]!, () => undefined), null, 'the least recently used one was ended');
  t.ok(table.use(tokens[0]!, () => undefined));
  t.ok(table.use(extra, () => undefined));
  t.equal(table.countFor('bob'), 1, 'other users keep theirs');
  t.equal(table.size, MAX_SESSIONS_PER_USER + 1);
  t.equal(table.endAllFor('alice'), MAX_SESSIONS_PER_USER);
  t.equal(table.size, 1);
});

t.test('tokens: 43 chars of base64url, only the canonical spelling matches, never stored', async (t) => {
  const table = new SessionTable({ ttlMs: 60_000, idleMs: 60_000 }, () => 0);
  const { token, info } = table.open('alice');
  t.match(token, /^[A-Za-z0-9_-]{43}$/);
  t.same(info, { username: 'alice', expiresAt: 60_000, idleExpiresAt: 60_000 });
  const digester = new SessionDigester();
  t.equal(digester.digest('A'.repeat(42)), null, 'too short');
  t.equal(digester.digest(token + 'A'), null, 'too long');
  t.not(digester.digest(token), token);
  t.not(new SessionDigester().digest(token), digester.digest(token), 'the hash key is per daemon run');
  t.equal(table.end('B'.repeat(42) + 'C'), null, 'unknown token');
  t.same(table.end(token), { username: 'alice', expired: false });
  t.equal(table.end(token), null, 'ended once');
});

t.test('idleExpiresAt never passes the absolute end', async (t) => {
  let now = 0;
  const table = new SessionTable({ ttlMs: 100_000, idleMs: 60_000 }, () => now);
  const { token } = table.open('alice');
  now = 70_000;
  t.equal(table.use(token, () => undefined), null, 'idle for 70 s of 60');
  const second = table.open('alice').token;
  now = 100_000 + 70_000 - 1;
  t.equal(table.use(second, () => undefined), null);
  now = 0;
  const third = table.open('alice').token;
  now = 50_000;
  t.same(table.use(third, () => undefined), { username: 'alice', expiresAt: 100_000, idleExpiresAt: 100_000 });
  let expiredFor = '';
  now = 100_000;
  t.equal(table.use(third, (username) => (expiredFor = username)), null);
  t.equal(expiredFor, 'alice', 'the owner of an expired session is reported');
});
