import { discoverDocument, PROTOCOL_VERSION } from '@coffer/protocol';
import type { Config } from '../base/config.js';
import { kdfRuns } from '../crypto/kdf-child.js';
import type { Store } from '../store/store.js';
import { DAEMON_VERSION } from '../base/version.js';
import type { Handlers } from './dispatcher.js';

/** What daemon.status reports, read from the parts that own each figure. */
export interface StatusSources {
  readonly config: Pick<Config, 'dataDir' | 'socketPath'>;
  readonly startedAt: number;
  readonly layout: 'coffer' | 'specter';
  connections(): number;
  /** Answer bytes queued on all connections, unread by their clients. */
  queuedAnswerBytes(): number;
  /** From the keyring: users in the accounts file, how many are unlocked, and live sessions. */
  users(): { total: number | null; unlocked: number };
  sessions(): number;
  readonly store: Pick<Store, 'stats' | 'degraded' | 'problems' | 'externalOverwrites'>;
}

export function daemonHandlers(sources: StatusSources): Pick<Handlers, 'daemon.status' | 'rpc.discover'> {
  // The catalogue never changes while the daemon runs; frozen, its encoding is kept (answers.ts).
  const discover = Object.freeze(discoverDocument(DAEMON_VERSION));
  return {
    'daemon.status': (_params, ctx) => ({
      version: DAEMON_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - sources.startedAt) / 100) / 10,
      dataDir: sources.config.dataDir,
      layout: sources.layout,
      socket: sources.config.socketPath,
      connections: sources.connections(),
      queuedAnswerBytes: sources.queuedAnswerBytes(),
      users: sources.users(),
      sessions: sources.sessions(),
      writes: sources.store.stats,
      corruptFiles: sources.store.problems,
      externalOverwrites: sources.store.externalOverwrites,
      kdfRuns: kdfRuns(),
      degraded: sources.store.degraded ?? null,
      peer: {
        uid: ctx.peer.cred.uid,
        gid: ctx.peer.cred.gid,
        pid: ctx.peer.cred.pid,
        scope: { ...ctx.peer.scope, users: copy(ctx.peer.scope.users), services: copy(ctx.peer.scope.services) },
        grantedBy: ctx.peer.grantedBy,
      },
    }),
    'rpc.discover': () => discover,
  };
}

/** Scope lists are frozen and readonly; the answer's schema wants plain arrays. */
function copy(list: '*' | readonly string[]): '*' | string[] {
  return list === '*' ? '*' : [...list];
}
