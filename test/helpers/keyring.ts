import { Writable } from 'node:stream';
import { pino } from 'pino';
import { KDF_INTERACTIVE } from '../../daemon/src/crypto/argon2id.js';
import { sodiumMemory, type MemoryOps } from '../../daemon/src/crypto/secret-memory.js';
import { CofferAccounts } from '../../daemon/src/layout/coffer/accounts.js';
import type { CofferAccount } from '../../daemon/src/layout/coffer/users-json.js';
import type { UserDataHooks } from '../../daemon/src/port/users.js';
import { Keyring, type KeyringOptions } from '../../daemon/src/keyring/keyring.js';
import type { Logger } from '../../daemon/src/base/logger.js';
import { PlainFileIo } from '../../daemon/src/layout/coffer/file-io.js';
import { FileUnits } from '../../daemon/src/files/unit.js';
import { realFs, type Fs } from '../../daemon/src/disk/fs.js';
import { Store } from '../../daemon/src/store/store.js';
import { tempDir, type TestLike } from './daemon.js';

/** Daemon flags for a fast suite: libsodium's INTERACTIVE Argon2id limits (the lowest allowed). */
export const FAST_KDF_ARGS = ['--kdf-opslimit', String(KDF_INTERACTIVE.opslimit), '--kdf-memlimit', String(KDF_INTERACTIVE.memlimit)];

/** A pino logger that keeps every line it writes, for assertions about what reached the log. */
export function memoryLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'trace' }, sink), text: () => chunks.join('') };
}

/**
 * The real sodium memory calls, watched: which buffers are live, their protection, and what each
 * held at the moment it was freed (a freed sodium buffer is detached and cannot be inspected later).
 */
export class WatchedMemory implements MemoryOps {
  readonly live = new Set<Buffer>();
  readonly protection = new Map<Buffer, 'readwrite' | 'readonly' | 'noaccess'>();
  readonly freedContents: Buffer[] = [];
  mallocs = 0;
  /** Every protection change, in order (each one an mprotect). */
  readonly protections: Array<'readwrite' | 'readonly' | 'noaccess'> = [];

  malloc(size: number): Buffer {
    const buf = sodiumMemory.malloc(size);
    this.mallocs++;
    this.live.add(buf);
    this.protection.set(buf, 'readwrite');
    return buf;
  }

  free(buf: Buffer): void {
    this.freedContents.push(Buffer.from(buf));
    this.live.delete(buf);
    this.protection.delete(buf);
    sodiumMemory.free(buf);
  }

  memzero(buf: Buffer): void {
    sodiumMemory.memzero(buf);
  }

  noaccess(buf: Buffer): void {
    sodiumMemory.noaccess(buf);
    this.protection.set(buf, 'noaccess');
    this.protections.push('noaccess');
  }

  readonly(buf: Buffer): void {
    sodiumMemory.readonly(buf);
    this.protection.set(buf, 'readonly');
    this.protections.push('readonly');
  }

  readwrite(buf: Buffer): void {
    sodiumMemory.readwrite(buf);
    this.protection.set(buf, 'readwrite');
    this.protections.push('readwrite');
  }

  /** Protection of every live buffer. */
  liveProtections(): string[] {
    return [...this.live].map((buf) => this.protection.get(buf) ?? 'unknown');
  }
}

export const noHooks: UserDataHooks = {
  deleteUserFiles: async () => undefined,
  reencryptUserData: async () => undefined,
};

export interface TestKeyring {
  keyring: Keyring<CofferAccount>;
  dir: string;
  logText: () => string;
}

/** A keyring in this process on a temp data dir, with real files and real crypto at INTERACTIVE cost. */
export async function openKeyring(
  t: TestLike,
  options: Partial<KeyringOptions<CofferAccount>> & { fs?: Fs; dir?: string } = {},
): Promise<TestKeyring> {
  const dir = options.dir ?? tempDir(t, 'coffer-kr-');
  const { log, text } = memoryLogger();
  const { fs = realFs, ...rest } = options;
  const store = new Store(fs, log, { maxDocBytes: 8 * 1024 * 1024, groupCommit: true });
  const keyring = await Keyring.open<CofferAccount>({
    store,
    dataDir: dir,
    codec: new CofferAccounts(KDF_INTERACTIVE),
    units: new FileUnits(fs, new PlainFileIo()),
    hooks: noHooks,
    log,
    unlockConcurrency: 2,
    sessionTtlS: 3600,
    sessionIdleS: 600,
    ...rest,
  });
  t.teardown(() => keyring.close());
  return { keyring, dir, logText: text };
}

/** A copy of the user's current secret, read the way the store reads it. */
export function secretOf(keyring: Keyring<CofferAccount>, username: string): Buffer {
  const user = keyring.unlockedUser(username);
  if (!user) throw new Error(`${username} is not unlocked`);
  return user.withSecret((secret) => Buffer.from(secret));
}
