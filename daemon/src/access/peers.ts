import type { Config } from '../base/config.js';
import type { PeerCred } from './peer-cred.js';
import { FULL_SCOPE, loadPolicy, type PolicyEntry, type Scope } from './policy.js';
import { resolveId } from './principals.js';

/** A connection's peer once allowed: its credentials and what it may do. */
export interface Peer {
  readonly cred: PeerCred;
  readonly scope: Scope;
  /** The policy key that gave the scope (`uid:N`, `gid:N`), or `default`. */
  readonly grantedBy: string;
}

/**
 * Who may connect and with which scope, resolved once at start. Allowed: the daemon's own uid and
 * root (they can read the data dir and stop the daemon anyway), --allow-uid, --allow-gid (primary or
 * supplementary group), the --socket-group (its members were told they may connect), and every
 * uid/gid a --policy entry names. A uid's entry wins over group entries; among group entries the
 * first in the file that matches.
 */
export class PeerAccess {
  private readonly uids: ReadonlySet<number>;
  private readonly gids: ReadonlySet<number>;
  private readonly socketGid: number | undefined;
  readonly policy: readonly PolicyEntry[];

  constructor(config: Pick<Config, 'allowUids' | 'allowGids' | 'socketGroup' | 'policyFile'>, ownUid: number) {
    this.policy = config.policyFile === undefined ? [] : loadPolicy(config.policyFile);
    this.socketGid = config.socketGroup === undefined ? undefined : resolveId('group', config.socketGroup, '--socket-group');
    this.uids = new Set([
      ownUid,
      0,
      ...config.allowUids.map((name) => resolveId('passwd', name, '--allow-uid')),
      ...this.policy.filter((entry) => entry.kind === 'uid').map((entry) => entry.id),
    ]);
    this.gids = new Set([
      ...(this.socketGid === undefined ? [] : [this.socketGid]),
      ...config.allowGids.map((name) => resolveId('group', name, '--allow-gid')),
      ...this.policy.filter((entry) => entry.kind === 'gid').map((entry) => entry.id),
    ]);
  }

  /** --socket-group members are allowed with every right unless a policy entry of that gid narrows them. */
  get socketGroupUnscoped(): boolean {
    return this.socketGid !== undefined && !this.policy.some((entry) => entry.kind === 'gid' && entry.id === this.socketGid);
  }

  /** For the start-up log: who may connect, as numbers. */
  describe(): { uids: number[]; gids: number[]; policyEntries: string[] } {
    return { uids: [...this.uids], gids: [...this.gids], policyEntries: this.policy.map((entry) => entry.key) };
  }

  /** The allowed peer with its scope, or null: the connection is closed unread. */
  admit(cred: PeerCred): Peer | null {
    const groups = [cred.gid, ...cred.groups];
    if (!this.uids.has(cred.uid) && !groups.some((gid) => this.gids.has(gid))) return null;
    const entry =
      this.policy.find((e) => e.kind === 'uid' && e.id === cred.uid) ??
      this.policy.find((e) => e.kind === 'gid' && groups.includes(e.id));
    return entry ? { cred, scope: entry.scope, grantedBy: entry.key } : { cred, scope: FULL_SCOPE, grantedBy: 'default' };
  }
}
