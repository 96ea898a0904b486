import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { CofferError } from '@coffer/protocol';
import type { SessionLookup, UserDirectory } from './keyring/contract.js';
import { CofferLayout } from './layout/coffer/coffer-layout.js';
import { annotationsHandlers } from './rpc/annotations.js';
import { daemonHandlers } from './rpc/daemon.js';
import { docsHandlers } from './rpc/docs.js';
import { servicesHandlers } from './rpc/services.js';
import { Annotations } from './store/annotations.js';
import { Docs } from './store/docs.js';
import { ServiceData } from './store/services.js';
import { Store } from './store/store.js';
import { Dispatcher, type Handlers } from './rpc/dispatcher.js';
import { SocketServer } from './server.js';
import { FaultyFs } from './store/faulty-fs.js';
import { realFs, type Fs } from './store/fs.js';

/** A running daemon, as main.ts and in-process benchmarks hold it. */
export interface Daemon {
  readonly server: SocketServer;
  /** Stops accepting, lets in-flight calls finish (bounded), closes everything. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** An inherited listening socket (systemd socket activation). */
  listenFd?: number;
}

/** Wires config -> logger -> server (DESIGN §1) and starts listening. */
export async function startDaemon(config: Config, log: Logger, options: StartOptions = {}): Promise<Daemon> {
  const startedAt = Date.now();
  // Every file the daemon writes goes through this one Fs: the test-only rules file swaps in faults.
  const fs: Fs = config.faultRulesFile ? new FaultyFs(realFs, config.faultRulesFile) : realFs;
  if (config.faultRulesFile) log.warn({ rules: config.faultRulesFile }, 'fault injection is on: for tests only');
  await fs.mkdir(config.dataDir, 0o700);
  const layout = new CofferLayout(config.dataDir, fs);
  const store = new Store(fs, log, { maxDocBytes: config.maxDocBytes, groupCommit: config.groupCommit });
  if (!config.groupCommit) log.warn('group commit is off: one durable write per mutation');
  await store.sweep(await layout.sweepDirs());
  // Until the keyring lands there are no users and no sessions.
  const sessions: SessionLookup = {
    userForSession: () => {
      throw new CofferError('LOCKED');
    },
    unlockedUser: () => undefined,
  };
  const users: UserDirectory = {
    requireUser: (username) => {
      throw new CofferError('NOT_FOUND', `No user ${username}`);
    },
    requirePassword: () => undefined,
  };
  let server: SocketServer | undefined;
  const handlers: Handlers = {
    ...daemonHandlers({ config, startedAt, connections: () => server?.connectionCount ?? 0, store }),
    ...servicesHandlers({ data: new ServiceData(store, layout), sessions, users, layout }),
    ...docsHandlers({ docs: new Docs(store, layout), sessions }),
    ...annotationsHandlers({ annotations: new Annotations(store, layout), users, layout }),
  };
  const dispatcher = new Dispatcher(handlers, log);
  server = new SocketServer(config, dispatcher, log);
  await server.listen(options.listenFd);
  log.info({ socket: config.socketPath, dataDir: config.dataDir }, 'listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason, inflight: dispatcher.pending }, 'shutting down');
      server.stopAccepting();
      dispatcher.stopAccepting();
      const drained = await dispatcher.drain(config.shutdownTimeoutMs);
      if (!drained) log.warn({ inflight: dispatcher.pending }, 'in-flight calls did not finish in time');
      await store.flush();
      await server.close(options.listenFd === undefined);
      log.info('stopped');
    })();
    return stopping;
  };
  return { server, shutdown };
}
