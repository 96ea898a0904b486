// Users, sessions and values the sections measure with, made through cofferd's own RPC (so every
// file is written by the daemon, as in production), plus the bulk users.json the growth section
// writes directly because creating 10 000 users one RPC at a time rewrites users.json 10 000 times.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PASSWORD = 'bench-password-1';

/** Argon2id limits: libsodium's INTERACTIVE, the lowest cofferd accepts, for users made in bulk. */
export const LOW_KDF = ['--kdf-opslimit', '2', '--kdf-memlimit', String(64 * 1024 * 1024)];

// Counts every value made, so no two are ever equal (see value1KiB).
let made = 0;

/**
 * A service value whose JSON text is exactly 1 KiB (1024 bytes), different from every value made
 * before in this run: an update that stores the value already there is answered without a write,
 * which would flatter the numbers (and callers' sequence numbers restart every round).
 */
export function value1KiB(tag = '') {
  const head = `${tag}:${++made}:`;
  // {"v":"…"} is 8 bytes around the string.
  return { v: head + 'x'.repeat(1024 - 8 - head.length) };
}

/** A JSON object of about `bytes` bytes (a filler service that makes a file grow). */
export function filler(bytes, tag) {
  return { f: `${tag}:`.padEnd(Math.max(1, bytes - 8), 'y') };
}

/**
 * Runs `task(item, i)` for every item with at most `concurrency` in flight, reporting progress.
 * Throws the first failure.
 */
export async function inPool(items, concurrency, task, progress, label) {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i], i);
      done++;
      if (progress && (done % 50 === 0 || done === items.length)) progress.tick(`${label}: ${done}/${items.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Creates users with a password and unlocks them; resolves with their sessions, in order.
 * Argon2id runs at most --unlock-concurrency at once in the daemon, so a few calls in flight
 * keep it busy.
 */
export async function createUnlockedUsers(conns, names, progress, label = 'users') {
  const sessions = new Array(names.length);
  await inPool(
    names,
    Math.min(8, conns.length * 4),
    async (username, i) => {
      const conn = conns[i % conns.length];
      await conn.call('users.create', { username, password: PASSWORD });
      sessions[i] = (await conn.call('users.unlock', { username, password: PASSWORD })).session;
    },
    progress,
    `${label}: created and unlocked`,
  );
  return sessions;
}

export function userNames(prefix, count, from = 0) {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);
}

/**
 * Adds users without a password straight into the coffer-layout users.json (DESIGN §3.1) of a
 * stopped daemon's data dir, keeping whoever is there. Such a user has no secret: in a real data
 * dir they would be Specter's passwordless admin; here they own unencrypted service files.
 */
export function addPasswordlessUsers(dataDir, names) {
  const file = path.join(dataDir, 'users.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  if (json.format !== 'coffer.users' || json.version !== 1) throw new Error(`${file} is not coffer.users v1`);
  for (const name of names) json.users[name] ??= { kdf: null, secret: null };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
}
