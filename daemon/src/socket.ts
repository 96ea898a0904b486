import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { StartupError } from './base/startup-error.js';
import { isMissing } from './disk/fs.js';
import net from 'node:net';
import path from 'node:path';

/** sun_path is 108 bytes on Linux, NUL included. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Makes `socketPath` ready to bind: its parent exists (created 0700, or 0710 for a socket group),
 * and a socket file left by a crash is removed. A live cofferd on the path, or a file that is not a
 * socket, stops start-up instead: we never take over a running daemon or delete someone's file.
 */
export async function prepareSocketPath(socketPath: string, gid: number | undefined): Promise<void> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new StartupError(
      `socket path is ${Buffer.byteLength(socketPath)} bytes, over the ${MAX_SOCKET_PATH_BYTES} a Unix socket allows: ` +
        'choose a shorter --socket',
    );
  }
  const parent = path.dirname(socketPath);
  const created = await fs.mkdir(parent, { recursive: true, mode: gid === undefined ? 0o700 : 0o710 });
  if (created !== undefined && gid !== undefined) {
    await fs.chown(parent, -1, gid);
    await fs.chmod(parent, 0o710);
  }
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  if (!stat.isSocket()) {
    throw new StartupError(`${socketPath} exists and is not a socket: remove it or choose another --socket`);
  }
  if (await answers(socketPath)) {
    throw new StartupError(
      `another cofferd is already listening on ${socketPath}: stop it first, or give this one another --socket`,
    );
  }
  await fs.unlink(socketPath);
}

/** True if something accepts connections on the socket (a stale socket file refuses them). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection(socketPath);
    const done = (alive: boolean): void => {
      probe.destroy();
      resolve(alive);
    };
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.setTimeout(2000, () => done(true));
  });
}

/** Sets the socket's final mode: 0600, or 0660 owned by the socket group. */
export async function secureSocket(socketPath: string, gid: number | undefined): Promise<void> {
  if (gid !== undefined) await fs.chown(socketPath, -1, gid);
  await fs.chmod(socketPath, gid === undefined ? 0o600 : 0o660);
}

/** A group name or number as a gid. Names go through NSS (`getent`), so LDAP groups work too. */
export function resolveGroup(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8' });
    const gid = Number(line.split(':')[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    // fall through to the error below
  }
  throw new StartupError(`--socket-group ${group}: no such group (check with: getent group ${group})`);
}
