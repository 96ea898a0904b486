import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import sodium from 'sodium-native';
import { startDaemon, type DaemonProcess } from './helpers/daemon.js';
import { contextAt, describeHits, scanProcess, type ScanResult } from './helpers/memscan.js';

/**
 * Issue 13 §3: the key derived from the password, the user secret, the password and decrypted values
 * are looked for in the whole memory of a real daemon (/proc/<pid>/mem, as root), at each moment of
 * a user's life. Keys are idle no-access (--secret-linger-ms 0), so the guarded allocation itself is
 * unreadable and every hit is a copy outside it. The key and the secret are computed here from
 * users.json with real crypto, as an attacker with the password would.
 */

const root = process.getuid?.() === 0;
const PASSWORD = 'pw-Zq8!memscan-7f3a-horse';
const VALUE = 'xprv-memscan-value-9c1d5e';
const INTERACTIVE = ['--kdf-opslimit', String(sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE), '--kdf-memlimit', String(sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE)];

interface Keys {
  kek: Buffer;
  secret: Buffer;
}

/** Argon2id(password, salt) and the unwrapped user secret, from the daemon's users.json. */
function keysFromFile(daemon: DaemonProcess, username: string): Keys {
  const file = JSON.parse(readFileSync(path.join(daemon.dataDir, 'users.json'), 'utf8')) as {
    users: Record<string, { kdf: { opslimit: number; memlimit: number; salt: string }; secret: { nonce: string; ciphertext: string } }>;
  };
  const user = file.users[username]!;
  const kek = Buffer.alloc(32);
  sodium.crypto_pwhash(kek, Buffer.from(PASSWORD), Buffer.from(user.kdf.salt, 'base64'), user.kdf.opslimit, user.kdf.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const secret = Buffer.alloc(32);
  const aad = Buffer.from(`coffer.users.v1\0${username}\0user_secret`, 'utf8');
  sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(secret, null, Buffer.from(user.secret.ciphertext, 'base64'), aad, Buffer.from(user.secret.nonce, 'base64'), kek);
  return { kek, secret };
}

const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('no key material, password or value left in the daemon memory', { skip: !root && 'needs root to read /proc/<pid>/mem' }, async (t) => {
  const daemon = await startDaemon(t, { compiled: true, args: [...INTERACTIVE, '--secret-linger-ms', '0'] });
  const client = await daemon.client();
  const pid = daemon.pid!;
  const figures: Record<string, Record<string, number>> = {};
  let keys: Keys | undefined;
  const scan = async (moment: string): Promise<ScanResult> => {
    await settle();
    const needles: Record<string, Buffer> = { password: Buffer.from(PASSWORD), value: Buffer.from(VALUE) };
    if (keys) Object.assign(needles, { kek: keys.kek, secret: keys.secret });
    const result = scanProcess(pid, needles);
    figures[moment] = result.counts;
    t.comment(`${moment}: ${JSON.stringify(result.counts)}`);
    if (process.env['COFFER_MEMSCAN_VERBOSE']) {
      t.comment(describeHits(result));
      for (const hit of result.hits) t.comment(`  ${hit.needle}: ${contextAt(pid, hit.address)}`);
    }
    return result;
  };

  await client.call('users.create', { username: 'alice', password: PASSWORD });
  keys = keysFromFile(daemon, 'alice');
  await scan('create');
  const { session } = await client.call('users.unlock', { username: 'alice', password: PASSWORD });
  await scan('unlock');
  await client.call('services.encrypted.set', { session, service: 'wallet', data: { xprv: VALUE } });
  const got = await client.call('services.encrypted.get', { session, service: 'wallet' });
  t.same(got.data, { xprv: VALUE });
  await scan('get');
  await client.call('users.lock', { username: 'alice' });
  await scan('lock');
  const second = await client.call('users.unlock', { username: 'alice', password: PASSWORD });
  await client.call('services.encrypted.get', { session: second.session, service: 'wallet' });
  await client.call('sessions.end', { session: second.session });
  await scan('sessions.end');
  await client.call('users.unlock', { username: 'alice', password: PASSWORD, idleS: 1 });
  await settle(2500);
  await client.call('daemon.status', {});
  await scan('expiry');
  t.comment(`FIGURES ${JSON.stringify(figures)}`);
  client.close();
});
