import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { CofferFieldCipher, placeBytes, type FieldPlace } from '../daemon/src/crypto/field-cipher.js';
import { revisionOf } from '../daemon/src/crypto/revision.js';
import { CofferError } from '@coffer/protocol';

const cipher = new CofferFieldCipher();
const secret = randomBytes(32);
const here: FieldPlace = { username: 'alice', kind: 'services', key: ['swan'] };

function corrupt(t: Test, fn: () => unknown, what: string): void {
  try {
    fn();
    t.fail(`${what}: decrypted`);
  } catch (error) {
    t.ok(error instanceof CofferError && error.reason === 'CORRUPT', `${what}: CORRUPT`);
  }
}

t.test('round trip, fresh nonce each time, token shape', async (t) => {
  const a = cipher.encrypt(secret, here, Buffer.from('{"k":"v"}'));
  const b = cipher.encrypt(secret, here, Buffer.from('{"k":"v"}'));
  t.match(a, /^cf1:[A-Za-z0-9+/]+=*$/);
  t.not(a, b, 'same plaintext, different token');
  t.equal(cipher.decrypt(secret, here, a).toString(), '{"k":"v"}');
  t.equal(cipher.decrypt(secret, here, cipher.encrypt(secret, here, Buffer.alloc(0))).length, 0);
});

t.test('a token moved to another user, file kind, key or secret does not open', async (t) => {
  const token = cipher.encrypt(secret, here, Buffer.from('secret data'));
  corrupt(t, () => cipher.decrypt(secret, { ...here, username: 'bob' }, token), 'other user');
  corrupt(t, () => cipher.decrypt(secret, { ...here, key: ['exfund'] }, token), 'other service');
  corrupt(t, () => cipher.decrypt(secret, { ...here, kind: 'docs' }, token), 'other file kind');
  corrupt(t, () => cipher.decrypt(randomBytes(32), here, token), 'other secret');
  const raw = Buffer.from(token.slice(4), 'base64');
  raw[raw.length - 1]! ^= 1;
  corrupt(t, () => cipher.decrypt(secret, here, `cf1:${raw.toString('base64')}`), 'flipped bit');
  corrupt(t, () => cipher.decrypt(secret, here, 'cf1:AAAA'), 'too short');
  corrupt(t, () => cipher.decrypt(secret, here, 'gAAAAAB-fernet'), 'wrong prefix');
});

t.test('place encoding is unambiguous', async (t) => {
  t.equal(placeBytes({ username: 'a', kind: 'docs', key: ['b', 'c\0d'] }).toString(), 'coffer.v1\0a\0docs\0b\0c\0d');
  t.throws(() => placeBytes({ username: 'a', kind: 'docs', key: ['b\0c', 'd'] }), 'a NUL before the last part is refused');
  t.throws(() => placeBytes({ username: 'a\0b', kind: 'services', key: ['d'] }));
  t.equal(placeBytes(here).toString(), 'coffer.v1\0alice\0services\0swan');
});

t.test('revisions: stable, scoped, opaque', async (t) => {
  t.equal(revisionOf('s', 'x'), revisionOf('s', 'x'));
  t.not(revisionOf('s', 'x'), revisionOf('s', 'y'));
  t.not(revisionOf('s1', 'x'), revisionOf('s2', 'x'));
  t.match(revisionOf('s', 'x'), /^[A-Za-z0-9_-]{22}$/);
});
