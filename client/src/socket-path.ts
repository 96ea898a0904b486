import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where the systemd units put the socket (scripts/systemd/cofferd.socket). */
export const SYSTEM_SOCKET = '/run/coffer/cofferd.sock';
/** cofferd's own default when started from a checkout (`npx cofferd`, `npm start`). */
export const DEVELOPMENT_SOCKET = './.coffer/cofferd.sock';

export interface SocketLookup {
  /** `--socket` or `socketPath`: used as given, whether or not it exists yet. */
  given?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** The well-known paths tried in order; the first that exists wins (tests pass their own). */
  candidates?: readonly string[];
}

/**
 * The socket a client talks to: an explicit path, else $COFFER_SOCKET, else the first of the
 * installed daemon's socket and the checkout's that exists. An explicit choice is never second-guessed
 * (a daemon may be about to create it); with nothing found, the checkout's path, so the error names
 * where `npx cofferd` would listen.
 */
export function resolveSocketPath(lookup: SocketLookup = {}): string {
  const cwd = lookup.cwd ?? process.cwd();
  const explicit = lookup.given ?? (lookup.env ?? process.env)['COFFER_SOCKET'];
  if (explicit) return path.resolve(cwd, explicit);
  const candidates = (lookup.candidates ?? [SYSTEM_SOCKET, DEVELOPMENT_SOCKET]).map((p) => path.resolve(cwd, p));
  return candidates.find((p) => existsSync(p)) ?? candidates[candidates.length - 1] ?? path.resolve(cwd, DEVELOPMENT_SOCKET);
}

/**
 * What to do when the socket cannot be reached, by errno. EACCES names the group that owns the
 * socket (or its directory, when that is what cannot be entered): joining it is the fix.
 */
export function unreachableAdvice(socketPath: string, code: string): string {
  if (code === 'EACCES') {
    const group = owningGroup(socketPath) ?? owningGroup(path.dirname(socketPath));
    const join = group === undefined ? 'join the group that owns it' : `join the group ${group} (sudo usermod -aG ${group} "$USER", then log in again)`;
    return `permission denied: cofferd runs, but this user may not connect; ${join}, or run as the daemon's user`;
  }
  if (code === 'ENOENT') {
    return `nothing listens there: start cofferd (\`npx cofferd\` in the checkout, or \`sudo systemctl start cofferd.socket\`), or point --socket / COFFER_SOCKET at its socket (tried in order: --socket, $COFFER_SOCKET, ${SYSTEM_SOCKET}, ${DEVELOPMENT_SOCKET})`;
  }
  return 'start cofferd (`npx cofferd`), or point --socket / COFFER_SOCKET at the socket it listens on';
}

/** The name of the group owning `file` (its number when NSS has no name), or undefined if unreadable. */
function owningGroup(file: string): string | undefined {
  let gid: number;
  try {
    gid = statSync(file).gid;
  } catch {
    return undefined;
  }
  try {
    // NSS through getent, as the daemon resolves --socket-group: LDAP groups have names too.
    return execFileSync('getent', ['group', String(gid)], { encoding: 'utf8' }).split(':')[0];
  } catch {
    return String(gid);
  }
}
