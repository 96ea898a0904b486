import { execFileSync } from 'node:child_process';
import { StartupError } from '../base/startup-error.js';

/**
 * A user or group name (or number) as its id. Names go through NSS with `getent`, as --socket-group
 * does, so LDAP and systemd-homed accounts resolve too; numbers are taken as they are (a uid need
 * not have a name). `what` names the option in the error.
 */
export function resolveId(database: 'passwd' | 'group', name: string, what: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    const id = Number(execFileSync('getent', [database, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[2]);
    if (Number.isInteger(id)) return id;
  } catch {
    // getent exits 2 for an unknown name: the error below says what to check.
  }
  const kind = database === 'passwd' ? 'user' : 'group';
  throw new StartupError(`${what} ${name}: no such ${kind} (check with: getent ${database} ${name})`);
}
