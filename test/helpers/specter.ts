import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CofferError } from '@coffer/protocol';
import { pyLoads, type PyObject, type PyValue } from '../../daemon/src/specter/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The Specter test vectors: $SPECTER_VECTORS_DIR if set (e.g. a held-out set), else the shared
 * development set beside the checkout when present, else the copy in this repo (so a clean clone can run them).
 */
export const vectorsDir = ((): string => {
  const fromEnv = process.env['SPECTER_VECTORS_DIR'];
  if (fromEnv) return path.resolve(fromEnv);
  // The shared folder sits beside the checkout (../shared), for developers and CI alike.
  const shared = path.resolve(here, '../../../shared/specter-vectors');
  if (existsSync(path.join(shared, 'expected.json'))) return shared;
  return path.resolve(here, '../specter-vectors');
})();

export function vectorPath(...parts: string[]): string {
  return path.join(vectorsDir, ...parts);
}

export function vectorBytes(...parts: string[]): Buffer {
  return readFileSync(vectorPath(...parts));
}

/** A vectors JSON file in the lossless model (so 1e-05 stays a float, key order stays). */
export function vectorJson(...parts: string[]): PyObject {
  return pyLoads(vectorBytes(...parts).toString('utf8')) as PyObject;
}

/** Plain-JS view of a vectors JSON file, for metadata (names, hex strings). */
export function vectorMeta<T = Record<string, unknown>>(...parts: string[]): T {
  return JSON.parse(vectorBytes(...parts).toString('utf8')) as T;
}

/** Walks a lossless value by keys/indexes; throws if a step is missing. */
export function at(value: PyValue | undefined, ...keys: Array<string | number>): PyValue {
  let current = value;
  for (const key of keys) {
    if (typeof key === 'number') current = Array.isArray(current) ? current[key] : undefined;
    else current = current instanceof Map ? current.get(key) : undefined;
    if (current === undefined) throw new Error(`no ${keys.join('.')} in the vectors`);
  }
  return current as PyValue;
}

export interface TeardownLike {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: TeardownLike, prefix = 'coffer-specter-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A writable copy of a vectors folder (the shared one is read-only). */
export function copyVectors(t: TeardownLike, ...parts: string[]): string {
  const d = tempDir(t);
  cpSync(vectorPath(...parts), d, { recursive: true });
  return d;
}

/** A python with pyca/cryptography: Debian's first (what CI installs), then the one on PATH. */
export const pythonWithCryptography: string | undefined = ['/usr/bin/python3', 'python3'].find(
  (cmd) => spawnSync(cmd, ['-c', 'import cryptography.fernet'], { stdio: 'ignore' }).status === 0,
);

/** Runs an inline Python script with a JSON argument; returns its stdout parsed as JSON. */
export function runPython<T>(script: string, input: unknown): T {
  if (!pythonWithCryptography) throw new Error('no python with cryptography');
  const r = spawnSync(pythonWithCryptography, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Specter's password salt is base64(SHA-256(60 random bytes)): the 32 bytes createPasswordHash takes. */
export function saltBytesFromSeed(seedHex: string): Buffer {
  return createHash('sha256').update(Buffer.from(seedHex, 'hex')).digest();
}

/** The CofferError reason a synchronous `fn` throws, or 'none' (other errors propagate). */
export function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CofferError) return error.reason;
    throw error;
  }
  return 'none';
}

/**
 * A fresh vector set made by make_vectors.py with other seeds and passwords (so other salts, IVs,
 * secrets and tokens), in a temp dir; undefined (after failing `t`) when it cannot be made.
 */
export function generateVectors(t: TeardownLike & { fail(message: string): void }): string | undefined {
  const own = path.join(vectorsDir, 'make_vectors.py');
  const script = existsSync(own) ? own : fileURLToPath(new URL('../specter-vectors/make_vectors.py', import.meta.url));
  let source = readFileSync(script, 'utf8');
  const replacements: Array<[RegExp, string]> = [
    [/^SEED_PREFIX = .*$/m, `SEED_PREFIX = "coffer-ts-roundtrip-${randomBytes(4).toString('hex')}/"`],
    [/^BOB_PASSWORD = .*$/m, 'BOB_PASSWORD = "n\\u00e9w p\\u00e4ss \\u00f8 2"'],
    [/^CAROL_PASSWORD = .*$/m, 'CAROL_PASSWORD = "\\U0001F511 key-\\u00df"'],
  ];
  for (const [pattern, line] of replacements) {
    if (!pattern.test(source)) {
      t.fail(`make_vectors.py has no line matching ${pattern}`);
      return undefined;
    }
    source = source.replace(pattern, line);
  }
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'make_vectors.py'), source);
  const r = spawnSync(pythonWithCryptography as string, [path.join(dir, 'make_vectors.py'), 'generate', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.fail(`make_vectors.py generate failed: ${r.stderr}`);
    return undefined;
  }
  return dir;
}
