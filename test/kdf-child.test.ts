import { pbkdf2Sync } from 'node:crypto';
import t from 'tap';
import sodium from 'sodium-native';
import { deriveInChild, kdfRuns } from '../daemon/src/crypto/kdf-child.js';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { freedMemoryWiped } from '../daemon/src/hardening.js';

/**
 * The password KDFs run in a child process (issue 13): the key they give must be exactly the one
 * computed in this process, every run is counted, and a failing run is an error, never a key.
 */

t.test('Argon2id and PBKDF2 in the child give the same keys as in-process', async (t) => {
  const password = Buffer.from('pässwörd 𝄞');
  const salt = Buffer.alloc(16, 7);
  const before = kdfRuns();
  const argon = Buffer.alloc(32);
  await deriveInChild(argon, password, { alg: 'argon2id', ...KDF_INTERACTIVE, salt });
  const expected = Buffer.alloc(32);
  sodium.crypto_pwhash(expected, password, salt, KDF_INTERACTIVE.opslimit, KDF_INTERACTIVE.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  t.same(argon, expected, 'Argon2id');
  const pbkdf2 = Buffer.alloc(32);
  await deriveInChild(pbkdf2, password, { alg: 'pbkdf2-sha256', iterations: 1000, salt });
  t.same(pbkdf2, pbkdf2Sync(password, salt, 1000, 32, 'sha256'), 'PBKDF2-SHA256');
  const empty = Buffer.alloc(32);
  await deriveInChild(empty, Buffer.alloc(0), { alg: 'pbkdf2-sha256', iterations: 1000, salt });
  t.same(empty, pbkdf2Sync(Buffer.alloc(0), salt, 1000, 32, 'sha256'), 'an empty password (Specter allows one)');
  t.equal(kdfRuns() - before, 3, 'each run counted');
});

t.test('a KDF that fails in the child rejects, and leaves the output untouched', async (t) => {
  const out = Buffer.alloc(32);
  // libsodium refuses opslimit 0: the child throws and exits non-zero.
  await t.rejects(deriveInChild(out, Buffer.from('pw'), { alg: 'argon2id', opslimit: 0, memlimit: KDF_INTERACTIVE.memlimit, salt: Buffer.alloc(16) }), /the KDF process failed \(exit 1\)/);
  t.ok(out.every((b) => b === 0), 'nothing written');
});

t.test('freed heap memory is wiped only with a non-zero glibc malloc perturb byte', async (t) => {
  t.ok(freedMemoryWiped({ GLIBC_TUNABLES: 'glibc.malloc.perturb=204' }));
  t.ok(freedMemoryWiped({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.perturb=1' }));
  t.notOk(freedMemoryWiped({ GLIBC_TUNABLES: 'glibc.malloc.perturb=0' }));
  t.notOk(freedMemoryWiped({ GLIBC_TUNABLES: 'glibc.malloc.perturb=256' }), 'only the low byte counts');
  t.notOk(freedMemoryWiped({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }));
  t.notOk(freedMemoryWiped({}));
});
