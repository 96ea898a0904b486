import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  createPasswordHash,
  deriveKek,
  encodeBase64Text,
  fernetDecrypt,
  fernetEncrypt,
  needsIterationUpgrade,
  newUserSecret,
  pyDumpFile,
  USER_SECRET_ITERATIONS,
  userSecretValue,
  verifyPasswordHash,
  type EncryptedUserSecret,
} from '../daemon/src/specter/index.js';
import { UsersFile } from './helpers/specter-users-model.js';
import { rejectsWith } from './helpers/assert.js';
import { saltBytesFromSeed, vectorBytes, vectorMeta } from './helpers/specter.js';
import { decryptUserSecret, encryptUserSecret } from './helpers/specter-user-secret.js';

interface ExpectedUser {
  password: string;
  user_id: string;
  password_salt_seed_hex: string;
  user_secret?: string;
  encrypted_user_secret: null | {
    kdf_salt_hex: string;
    iterations: number;
    kek_fernet_key: string;
    fernet_timestamp: number;
    fernet_iv_hex: string;
    plaintext: string;
  };
  wrong_passwords?: Record<string, string>;
}
interface Expected {
  users: Record<string, ExpectedUser>;
  encrypted_user_secret_legacy_iterations: {
    file: string;
    user: string;
    kdf_salt_hex: string;
    iterations: number;
    fernet_timestamp: number;
    fernet_iv_hex: string;
    plaintext: string;
  };
}

const expected = vectorMeta<Expected>('expected.json');
const users = UsersFile.parse(vectorBytes('datadir', 'users.json'));
const withSecrets = Object.entries(expected.users).filter(([, u]) => u.encrypted_user_secret !== null);

function rawSecret(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

t.test('every user\'s password verifies, as a string or as UTF-8 bytes', async (t) => {
  for (const [name, u] of Object.entries(expected.users)) {
    const hash = users.passwordHash(name);
    t.ok(await verifyPasswordHash(hash, u.password), name);
    t.ok(await verifyPasswordHash(hash, Buffer.from(u.password, 'utf8')), `${name} (Buffer)`);
  }
});

t.test('wrong passwords fail, the NFD spelling included (never normalised)', async (t) => {
  for (const [name, u] of Object.entries(expected.users)) {
    const hash = users.passwordHash(name);
    for (const [label, wrong] of Object.entries(u.wrong_passwords ?? {})) t.notOk(await verifyPasswordHash(hash, wrong), `${name} ${label}`);
    t.notOk(await verifyPasswordHash(hash, u.password.normalize('NFD') === u.password ? `${u.password}x` : u.password.normalize('NFD')));
    t.notOk(await verifyPasswordHash(hash, ''));
  }
});

t.test('the hash is rebuilt byte for byte from the salt seed; malformed hashes never match', async (t) => {
  for (const [name, u] of Object.entries(expected.users)) {
    const made = await createPasswordHash(u.password, { saltBytes: saltBytesFromSeed(u.password_salt_seed_hex) });
    t.same(made, users.passwordHash(name), name);
  }
  const fresh = await createPasswordHash('pw');
  t.match(fresh.salt, /^[A-Za-z0-9+/]{43}=$/);
  t.ok(await verifyPasswordHash(fresh, 'pw'));
  t.notOk(await verifyPasswordHash({ ...fresh, pwdhash: fresh.pwdhash.slice(4) }, 'pw'), 'short hash');
  t.notOk(await verifyPasswordHash({ ...fresh, pwdhash: 'not base64!' }, 'pw'), 'junk hash');
  await t.rejects(createPasswordHash('pw', { saltBytes: Buffer.alloc(16) }), RangeError);
});

t.test('unlock: the KEK matches, the token gives the 32 secret bytes', async (t) => {
  for (const [name, u] of withSecrets) {
    const record = users.userSecret(name) as EncryptedUserSecret;
    const e = u.encrypted_user_secret!;
    t.equal(record.iterations, e.iterations);
    const kek = await deriveKek(u.password, Buffer.from(e.kdf_salt_hex, 'hex'), e.iterations);
    t.equal(encodeBase64Text(kek, 'urlsafe'), e.kek_fernet_key, `${name} KEK`);
    t.equal(fernetDecrypt(kek, record.token).toString('ascii'), e.plaintext, `${name} token plaintext is the 44-char key text`);
    const secret = await decryptUserSecret(record, u.password);
    t.equal(secret.length, 32);
    t.equal(encodeBase64Text(secret, 'urlsafe'), u.user_secret, name);
    t.notOk(needsIterationUpgrade(record));
  }
});

t.test('wrong passwords fail the HMAC: BAD_PASSWORD, never a crash', async (t) => {
  for (const [name, u] of withSecrets) {
    const record = users.userSecret(name) as EncryptedUserSecret;
    for (const [label, wrong] of Object.entries(u.wrong_passwords ?? {})) {
      await rejectsWith(t, decryptUserSecret(record, wrong), 'BAD_PASSWORD', new RegExp('Wrong password'));
      t.pass(`${name} ${label}`);
    }
  }
});

t.test('the encrypted record is rebuilt byte for byte with the fixed salt, IV and timestamp', async (t) => {
  for (const [name, u] of withSecrets) {
    const e = u.encrypted_user_secret!;
    const made = await encryptUserSecret(rawSecret(u.user_secret!), u.password, {
      salt: Buffer.from(e.kdf_salt_hex, 'hex'),
      iterations: e.iterations,
      fernet: { iv: Buffer.from(e.fernet_iv_hex, 'hex'), timestamp: e.fernet_timestamp },
    });
    t.same(made, users.userSecret(name), name);
  }
});

t.test('legacy iteration count: read from the record; the record file is rebuilt byte for byte', async (t) => {
  const legacy = expected.encrypted_user_secret_legacy_iterations;
  const u = expected.users[legacy.user]!;
  const bytes = vectorBytes(legacy.file);
  const record = JSON.parse(bytes.toString('utf8')) as EncryptedUserSecret;
  t.equal(record.iterations, legacy.iterations);
  t.ok(needsIterationUpgrade(record) === legacy.iterations < USER_SECRET_ITERATIONS);
  const secret = await decryptUserSecret(record, u.password);
  t.equal(encodeBase64Text(secret, 'urlsafe'), legacy.plaintext);
  for (const wrong of Object.values(u.wrong_passwords ?? {})) await rejectsWith(t, decryptUserSecret(record, wrong), 'BAD_PASSWORD');
  const made = await encryptUserSecret(secret, u.password, {
    salt: Buffer.from(legacy.kdf_salt_hex, 'hex'),
    iterations: legacy.iterations,
    fernet: { iv: Buffer.from(legacy.fernet_iv_hex, 'hex'), timestamp: legacy.fernet_timestamp },
  });
  t.equal(pyDumpFile(userSecretValue(made)).toString('ascii'), bytes.toString('ascii'));
});

t.test('a new record: 390000 iterations, 24-char salt, 140-char token, same secret back', async (t) => {
  const secret = newUserSecret();
  const copy = Buffer.from(secret);
  const record = await encryptUserSecret(secret, 'pässwörd 𝄞');
  t.same(secret, copy, 'the caller\'s secret is not touched');
  t.equal(record.iterations, USER_SECRET_ITERATIONS);
  t.match(record.salt, /^[A-Za-z0-9+/]{22}==$/);
  t.match(record.token, /^gAAAAA[A-Za-z0-9_-]{134}$/);
  t.same(await decryptUserSecret(record, Buffer.from('pässwörd 𝄞')), secret);
  await rejectsWith(t, decryptUserSecret(record, 'pa\u0308sswo\u0308rd 𝄞'), 'BAD_PASSWORD');
  await t.rejects(encryptUserSecret(randomBytes(16), 'pw'), RangeError);
});

t.test('malformed records are CORRUPT, not BAD_PASSWORD', async (t) => {
  const secret = newUserSecret();
  const good = await encryptUserSecret(secret, 'pw', { iterations: 100_000 });
  await rejectsWith(t, decryptUserSecret({ ...good, iterations: 0 }, 'pw'), 'CORRUPT', /iteration/);
  // The KDF floor (issue 13): below 100 000 iterations is a tampered record, whatever the password.
  await rejectsWith(t, decryptUserSecret({ ...good, iterations: 99_999 }, 'pw'), 'CORRUPT', /below the floor of 100000/);
  await rejectsWith(t, decryptUserSecret({ ...good, iterations: 1.5 }, 'pw'), 'CORRUPT', /iteration/);
  await rejectsWith(t, decryptUserSecret({ ...good, iterations: 1e9 }, 'pw'), 'CORRUPT', /iteration/);
  await rejectsWith(t, decryptUserSecret({ ...good, salt: 'not base64' }, 'pw'), 'CORRUPT', /salt/);
  await rejectsWith(t, decryptUserSecret({ ...good, salt: '' }, 'pw'), 'CORRUPT', /salt/);
  // A token that authenticates but holds something other than a Fernet key.
  const kek = await deriveKek('pw', Buffer.from(good.salt, 'base64'), 100_000);
  for (const plaintext of [Buffer.from('short'), Buffer.alloc(44, 0x41), Buffer.from(`${'A'.repeat(43)}!`)]) {
    const token = fernetEncrypt(kek, plaintext);
    await rejectsWith(t, decryptUserSecret({ ...good, token }, 'pw'), 'CORRUPT', /Fernet key/);
  }
});
