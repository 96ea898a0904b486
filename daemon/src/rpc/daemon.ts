import { discoverDocument, PROTOCOL_VERSION } from '@coffer/protocol';
import type { Config } from '../base/config.js';
import { kdfRuns } from '../crypto/kdf-child.js';
import type { Store } from '../store/store.js';
import { DAEMON_VERSION } from '../base/version.js';
import type { CallContext, Handlers } from './dispatcher.js';
import type { BackendHealth } from '../port/storage.js';

/** What daemon.status reports, read from the parts that own each figure. */
export interface StatusSources {
  readonly config: Pick<Config, 'dataDir' | 'socketPath' | 'persistSessions'>;
  readonly startedAt: number;
  readonly layout: 'coffer' | 'specter';
  /** The backend's health (a database's; undefined for files). */
  health?(): Promise<BackendHealth>;
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
    // A database is asked for its health; files answer at once (daemon.status is the transport floor in the bench).
    'daemon.status': (_params, ctx) => (sources.health ? sources.health().then((health) => status(ctx, { kind: 'postgres', ...health })) : status(ctx, FILES)),
    'rpc.discover': () => discover,
  };

  function status(ctx: CallContext, store: StoreStatus) {
    return {
      version: DAEMON_VERSION,
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - sources.startedAt) / 100) / 10,
      dataDir: sources.config.dataDir,
      layout: sources.layout,
      store,
      socket: sources.config.socketPath,
      connections: sources.connections(),
      queuedAnswerBytes: sources.queuedAnswerBytes(),
      users: sources.users(),
      sessions: sources.sessions(),
      sessionsStored: sources.config.persistSessions,
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
    };
  }
}

type StoreStatus = { kind: 'files'; reachable: null; changeFeed: null; error: null } | ({ kind: 'postgres' } & BackendHealth);
const FILES: StoreStatus = { kind: 'files', reachable: null, changeFeed: null, error: null };

/** Scope lists are frozen and readonly; the answer's schema wants plain arrays. */
function copy(list: '*' | readonly string[]): '*' | string[] {
  return list === '*' ? '*' : [...list];
}
