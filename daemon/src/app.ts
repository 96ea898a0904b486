import type { Config } from './config.js';
import { hardenProcess } from './hardening.js';
import { CofferAccounts } from './keyring/coffer-accounts.js';
import type { SessionLookup, UserDirectory } from './keyring/contract.js';
import { Keyring } from './keyring/keyring.js';
import type { Logger } from './logger.js';
import { CofferLayout } from './layout/coffer/coffer-layout.js';
import { daemonHandlers } from './rpc/daemon.js';
import { servicesHandlers } from './rpc/services.js';
import { ServiceData } from './store/services.js';
import { Store } from './store/store.js';
import { UserDataLifecycle } from './store/user-data.js';
import { Dispatcher, type Handlers } from './rpc/dispatcher.js';
import { sessionsHandlers } from './rpc/sessions.js';
import { usersHandlers } from './rpc/users.js';
import { SocketServer } from './server.js';
import { FaultyFs } from './store/faulty-fs.js';
import { realFs, type Fs } from './store/fs.js';

/** A running daemon, as main.ts and in-process benchmarks hold it. */
export interface Daemon {
  readonly server: SocketServer;
  /** What the store reads secrets and accounts through (keyring/contract.ts). */
  readonly sessions: SessionLookup;
  readonly users: UserDirectory;
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
  // First, before any secret exists: no core dumps (secrets must never reach a disk that way).
  const hardening = hardenProcess();
  if (hardening.coreDumpsOff && hardening.notDumpable) log.info({ hardening }, 'core dumps disabled');
  else log.warn({ hardening }, 'could not disable core dumps: run under systemd with LimitCORE=0');
  // Every file the daemon writes goes through this one Fs: the test-only rules file swaps in faults.
  const fs: Fs = config.faultRulesFile ? new FaultyFs(realFs, config.faultRulesFile) : realFs;
  if (config.faultRulesFile) log.warn({ rules: config.faultRulesFile }, 'fault injection is on: for tests only');
  await fs.mkdir(config.dataDir, 0o700);
  const layout = new CofferLayout(config.dataDir, fs);
  const store = new Store(fs, log, { maxDocBytes: config.maxDocBytes, groupCommit: config.groupCommit });
  if (!config.groupCommit) log.warn('group commit is off: one durable write per mutation');
  await store.sweep(await layout.sweepDirs());
  const serviceData = new ServiceData(store, layout);
  const keyring = await Keyring.open({
    fs,
    dataDir: config.dataDir,
    codec: new CofferAccounts({ opslimit: config.kdfOpslimit, memlimit: config.kdfMemlimit }),
    hooks: new UserDataLifecycle(store, layout, serviceData, log),
    log,
    unlockConcurrency: config.unlockConcurrency,
    sessionTtlS: config.sessionTtlS,
    sessionIdleS: config.sessionIdleS,
  });
  let server: SocketServer | undefined;
  const handlers: Handlers = {
    ...daemonHandlers({
      config,
      startedAt,
      connections: () => server?.connectionCount ?? 0,
      store,
      users: () => {
        const { total, unlocked } = keyring.status();
        return { total, unlocked };
      },
      sessions: () => keyring.status().sessions,
    }),
    ...usersHandlers(keyring),
    ...sessionsHandlers(keyring),
    ...servicesHandlers({ data: serviceData, sessions: keyring, users: keyring, layout }),
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
      // After the last call: every session ends and every secret is zeroed and freed.
      keyring.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { server, sessions: keyring, users: keyring, shutdown };
}
