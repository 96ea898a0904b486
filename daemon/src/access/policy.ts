import { readFileSync } from 'node:fs';
import { StartupError } from '../base/startup-error.js';
import { resolveId } from './principals.js';

/** What a peer may do (cofferd --policy; DESIGN-NOTES "Who may connect, and what they may do"). */
export interface Scope {
  /** Users whose data it may touch, or every user. */
  readonly users: '*' | readonly string[];
  /** Services of those users it may touch, or every service. */
  readonly services: '*' | readonly string[];
  /** read: get and list only; write: also set, update, delete and changePassword. */
  readonly access: 'read' | 'write';
  /** users.create/delete, users.lock of a user whose session it does not hold, wipes, rotateSecret. */
  readonly admin: boolean;
}

/** The daemon's own uid, root, and peers allowed without a policy entry: everything. */
export const FULL_SCOPE: Scope = Object.freeze({ users: '*', services: '*', access: 'write', admin: true });

export interface PolicyEntry {
  /** The file's key, e.g. `uid:1001` or `gid:specter`: daemon.status shows it as `grantedBy`. */
  readonly key: string;
  readonly kind: 'uid' | 'gid';
  readonly id: number;
  readonly scope: Scope;
}

const SCOPE_KEYS = new Set(['users', 'services', 'access', 'admin']);

/**
 * Reads the policy file: a JSON object whose keys are `uid:<name|number>` or `gid:<name|number>`
 * and whose values are scopes. Anything unexpected stops start-up with the place and the fix:
 * a policy that half-applies would grant what its author did not mean.
 */
export function loadPolicy(file: string): PolicyEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StartupError(`--policy ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed)) throw new StartupError(`--policy ${file}: expected a JSON object of "uid:NAME" / "gid:NAME" keys`);
  return Object.entries(parsed).map(([key, value]) => entryOf(file, key, value));
}

function entryOf(file: string, key: string, value: unknown): PolicyEntry {
  const where = `--policy ${file}, "${key}"`;
  const match = /^(uid|gid):(.+)$/.exec(key);
  if (!match) throw new StartupError(`${where}: keys are "uid:<user name or number>" or "gid:<group name or number>"`);
  const kind = match[1] as 'uid' | 'gid';
  const id = resolveId(kind === 'uid' ? 'passwd' : 'group', match[2]!, where);
  return { key: `${kind}:${id}`, kind, id, scope: scopeOf(where, value) };
}

function scopeOf(where: string, value: unknown): Scope {
  const example = '{"users": ["alice"] or "*", "services": ["swan"] or "*", "access": "read" or "write", "admin": false}';
  if (!isRecord(value)) throw new StartupError(`${where}: expected a scope object like ${example}`);
  const unknown = Object.keys(value).filter((k) => !SCOPE_KEYS.has(k));
  if (unknown.length > 0) throw new StartupError(`${where}: unknown member ${unknown.join(', ')}; a scope is ${example}`);
  const users = nameList(value['users']);
  const services = nameList(value['services']);
  const access = value['access'];
  const admin = value['admin'] ?? false;
  if (users === undefined || services === undefined || (access !== 'read' && access !== 'write') || typeof admin !== 'boolean') {
    throw new StartupError(`${where}: expected ${example} (admin may be left out: false)`);
  }
  return Object.freeze({ users, services, access, admin });
}

function nameList(value: unknown): Scope['users'] | undefined {
  if (value === '*') return '*';
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return Object.freeze([...(value as string[])]);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
