import { spawn } from 'node:child_process';
import { closeSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { libc } from '../os/libc.js';

/**
 * Password KDFs (Argon2id, PBKDF2-SHA256) run in a short-lived child process, one per derivation.
 * Why (issue 13, measured by test/memory-scan.test.ts): run on libuv's pool threads, Argon2id left
 * 1–2 copies of its output on those threads' stacks (~8 KiB below the top), where nothing can wipe
 * them, and node:crypto's async PBKDF2 copies the password into its own job. A process's memory is
 * gone when it exits, so whatever the KDF leaves behind leaves with it.
 *
 * The bytes never pass through a JS stream (whose read buffers are resized and freed unzeroed):
 * two pipes made with pipe2(2), the password written straight from the caller's buffer into the
 * child's stdin, and the key read after the child exited straight from the pipe into `out` (the
 * caller's guarded memory). Pipe buffers live in the kernel, not in this process.
 */

export type KdfSpec =
  | { readonly alg: 'argon2id'; readonly opslimit: number; readonly memlimit: number; readonly salt: Buffer }
  | { readonly alg: 'pbkdf2-sha256'; readonly iterations: number; readonly salt: Buffer };

/** The child: plain CommonJS run with `node -e` (no loader, no TypeScript: it starts in ~0.1 s). */
const CHILD = `
'use strict';
const fs = require('fs');
const [sodiumPath, specJson, pwLength, outLength] = process.argv.slice(1);
const spec = JSON.parse(specJson);
const salt = Buffer.from(spec.salt, 'hex');
const pw = Buffer.alloc(Number(pwLength));
let got = 0;
while (got < pw.length) { const n = fs.readSync(0, pw, got, pw.length - got, null); if (n === 0) process.exit(3); got += n; }
let out = Buffer.alloc(Number(outLength));
if (spec.alg === 'argon2id') {
  const sodium = require(sodiumPath);
  sodium.crypto_pwhash(out, pw, salt, spec.opslimit, spec.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
} else {
  out = require('crypto').pbkdf2Sync(pw, salt, spec.iterations, out.length, 'sha256');
}
fs.writeSync(3, out);
out.fill(0);
pw.fill(0);
`;

const O_CLOEXEC = 0o2000000;
let pipe2: ((fds: Int32Array, flags: number) => number) | undefined;
let runs = 0;

/** How many derivations ran since start (daemon.status: tests prove a refused record cost none). */
export function kdfRuns(): number {
  return runs;
}

function makePipe(): [read: number, write: number] {
  pipe2 ??= libc().func('int pipe2(_Out_ int *fds, int flags)') as (fds: Int32Array, flags: number) => number;
  const fds = new Int32Array(2);
  /* c8 ignore next */
  if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error('pipe2 failed (out of file descriptors?)');
  return [fds[0]!, fds[1]!];
}

const sodiumPath = createRequire(import.meta.url).resolve('sodium-native');

/** Derives `out.length` bytes from `password` into `out`; both must stay untouched until it settles. */
export async function deriveInChild(out: Buffer, password: Buffer, spec: KdfSpec): Promise<void> {
  runs++;
  const [pwRead, pwWrite] = makePipe();
  const [keyRead, keyWrite] = makePipe();
  const open = new Set([pwRead, pwWrite, keyRead, keyWrite]);
  const close = (fd: number): void => {
    if (open.delete(fd)) closeSync(fd);
  };
  try {
    const args = [sodiumPath, JSON.stringify({ ...spec, salt: spec.salt.toString('hex') }), String(password.length), String(out.length)];
    // An empty env: nothing (NODE_OPTIONS, a loader) may load into the process that sees the password.
    const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: [pwRead, 'ignore', 'pipe', keyWrite], env: {} });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code));
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    close(pwRead);
    close(keyWrite);
    // At most a few KiB into a 64 KiB pipe: never blocks.
    if (password.length > 0) writeSync(pwWrite, password);
    close(pwWrite);
    const code = await exited;
    if (code !== 0) throw new Error(`the KDF process failed (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`);
    // The child has exited, so everything it wrote is in the pipe: this read does not block.
    /* c8 ignore next */
    if (readSync(keyRead, out, 0, out.length, null) !== out.length) throw new Error('the KDF process gave a short key');
  } finally {
    for (const fd of [...open]) close(fd);
  }
}
