import { AccessGate } from './access/gate.js';
import { PeerAccess } from './access/peers.js';
import { AuditLog } from './access/audit.js';
import type { Config } from './base/config.js';
import { freedMemoryWiped, hardenProcess } from './hardening.js';
import { MemoryRelief } from './memory-relief.js';
import { DAEMON_VERSION } from './base/version.js';
import type { SessionLookup, UserDataHooks, UserDirectory } from './port/users.js';
import type { Keyring } from './keyring/keyring.js';
import type { Logger } from './base/logger.js';
import { detectLayout } from './layout/detect.js';
import { layoutKit, sessionVault } from './layout/kits.js';
import { annotationsHandlers } from './rpc/annotations.js';
import { daemonHandlers } from './rpc/daemon.js';
import { docsHandlers } from './rpc/docs.js';
import { filesHandlers } from './rpc/files.js';
import { opsHandlers } from './rpc/ops.js';
import { WriteGate } from './ops/write-gate.js';
import { servicesHandlers } from './rpc/services.js';
import { Annotations } from './store/annotations.js';
import { DocOwners } from './store/doc-owners.js';
import { Docs } from './store/docs.js';
import { ServiceData } from './store/services.js';
import { SpecterFiles } from './store/specter-files.js';
import { Store } from './store/store.js';
import { UserDataLifecycle } from './store/user-data.js';
import { Dispatcher, type Handlers } from './rpc/dispatcher.js';
import { followingAccounts } from './rpc/follow-accounts.js';
import { sessionsHandlers } from './rpc/sessions.js';
import { usersHandlers } from './rpc/users.js';
import { watchHandlers } from './rpc/watch.js';
import { describeChange } from './watch/describe.js';
import { WatchHub } from './watch/hub.js';
import { announceUserChanges } from './rpc/user-events.js';
import { DataDirWatcher } from './watch/watcher.js';
import { SocketServer } from './server.js';
import { FaultyFs } from './disk/faulty-fs.js';
import { realFs, type Fs } from './disk/fs.js';
import { CofferError } from '@coffer/protocol';
import { StartupError } from './base/startup-error.js';
import { PostgresUnits } from './postgres/units.js';
import { copyDataDir } from './layout/coffer/copy-units.js';

/** A running daemon, as main.ts and in-process benchmarks hold it. */
export interface Daemon {
  readonly server: SocketServer;
  /** What the store reads secrets and accounts through (port/users.ts). */
  readonly sessions: SessionLookup;
  readonly users: UserDirectory;
  /** Stops accepting, lets in-flight calls finish (bounded), closes everything. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** An inherited listening socket (systemd socket activation). */
  listenFd?: number;
}

/**
 * Sealed document fields are a user's encrypted values too: a deleted user's are dropped (their
 * documents stay, unowned, with the plain fields), a rotated user's are re-sealed under the new
 * secret. Same order and idempotence rules as the user's own files (port/users.ts).
 */
function withDocuments(hooks: UserDataHooks, docs: DocOwners, log: Logger): UserDataHooks {
  return {
    deleteUserFiles: async (username) => {
      await hooks.deleteUserFiles(username);
      const released = await docs.releaseOwned(username);
      if (released > 0) log.info({ user: username, released }, "released the deleted user's documents");
    },
    leftoverFile: (username) => hooks.leftoverFile?.(username) ?? Promise.resolve(undefined),
    reencryptUserData: async (username, from, to) => {
      await hooks.reencryptUserData(username, from, to);
      const { resealed, unreadable } = await docs.reencryptOwned(username, from, to);
      if (unreadable > 0) log.warn({ user: username, unreadable }, 'document fields that open under neither secret were left as they are');
      log.info({ user: username, resealed }, 're-encrypted document fields under the new secret');
    },
  };
}

/**
 * Who may connect and what each peer may do, and the audit stream (DESIGN-NOTES "Who may connect,
 * and what they may do"). A bad --policy, name or audit path stops start-up here, before listening.
 */
function openAccess(config: Config, log: Logger): { peers: PeerAccess; audit: AuditLog | undefined } {
  const peers = new PeerAccess(config, process.getuid?.() ?? 0);
  const audit = config.auditLog === undefined ? undefined : AuditLog.open(config.auditLog);
  log.info({ ...peers.describe(), audit: config.auditLog ?? null }, 'peers allowed to connect (SO_PEERCRED)');
  if (peers.socketGroupUnscoped) {
    log.warn({ socketGroup: config.socketGroup }, '--socket-group members may connect with every right: narrow them with a --policy "gid:" entry');
  }
  return { peers, audit };
}

/**
 * Sessions that end by expiry, in the audit trail: no peer asked for it, so the line names the
 * daemon itself. After the fact, so a line that cannot be written can refuse nothing: it is logged.
 */
function auditExpiries(keyring: Keyring<unknown>, audit: AuditLog, log: Logger): void {
  const daemon = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, pid: process.pid };
  keyring.onSessionExpired((username) => {
    try {
      audit.record({ event: 'sessions.expired', phase: 'done', peer: daemon, user: username, result: 'ok' });
    } catch (error) {
      log.error({ err: error, user: username }, 'a session expiry could not be written to the audit log');
    }
  });
}

/** --store postgres serves the coffer layout: Specter's folder is files by definition. */
function databaseLayout(config: Pick<Config, 'layout'>): 'coffer' {
  if (config.layout === 'specter') {
    throw new StartupError('--store postgres keeps the coffer layout only; a Specter data folder is served as files (drop --store, or --layout specter)');
  }
  return 'coffer';
}

async function openDatabase(url: string, log: Logger): Promise<PostgresUnits> {
  try {
    return await PostgresUnits.open(url, log);
  } catch (error) {
    // The URL may carry a password: the message names the server's answer, never the URL.
    const reason = (error as { message?: string } | undefined)?.message ?? String(error);
    throw new StartupError(`could not open the PostgreSQL store (--store, COFFER_STORE): ${reason}. Check that the server runs and the URL's user, host and database are right`);
  }
}

/** --migrate-from: a coffer data dir copied into the (empty) database before anything is served. */
async function migrateInto(database: PostgresUnits | undefined, dir: string, fs: Fs, log: Logger): Promise<void> {
  if (!database) throw new StartupError('--migrate-from copies a data dir into a database: give --store postgres://… too');
  if ((await detectLayout(fs, dir, 'auto')) !== 'coffer') {
    throw new StartupError(`--migrate-from: ${dir} is a Specter data folder; only a coffer data dir can move into PostgreSQL`);
  }
  log.info({ from: dir }, 'copying the data dir into PostgreSQL');
  let copied = 0;
  try {
    const report = await copyDataDir(fs, dir, database, () => {
      if (++copied % 1000 === 0) log.info({ copied }, 'copying the data dir into PostgreSQL');
    });
    log.info({ from: dir, units: report.units, bytes: report.bytes }, 'data dir copied into PostgreSQL; the folder is left as it was');
  } catch (error) {
    throw new StartupError(`--migrate-from ${dir}: ${(error as Error).message}`);
  }
}

/** daemon.backup and daemon.verify copy and read the data folder: with a database, its own tools do. */
function databaseOps(): Pick<Handlers, 'daemon.backup' | 'daemon.verify'> {
  const refuse = (): never => {
    throw new CofferError('INVALID_PARAMS', 'This daemon keeps its data in PostgreSQL (--store): back it up with pg_dump or PostgreSQL\'s own backups; daemon.backup and daemon.verify copy and read a data folder');
  };
  return { 'daemon.backup': refuse, 'daemon.verify': refuse };
}

/** Wires config -> logger -> server (DESIGN §1) and starts listening. */
export async function startDaemon(config: Config, log: Logger, options: StartOptions = {}): Promise<Daemon> {
  const startedAt = Date.now();
  // First line of every start: which build runs, on which Node, for any bug report or support question.
  log.info({ version: DAEMON_VERSION, node: process.version }, 'cofferd starting');
  // First, before any secret exists: no core dumps (secrets must never reach a disk that way).
  const hardening = hardenProcess();
  if (hardening.coreDumpsOff && hardening.notDumpable) log.info({ hardening }, 'core dumps disabled');
  else log.warn({ hardening }, 'could not disable core dumps: run under systemd with LimitCORE=0');
  if (!freedMemoryWiped(process.env)) {
    log.warn('freed memory is not wiped: start cofferd with GLIBC_TUNABLES=glibc.malloc.perturb=204 (the systemd unit does), or the last request read may stay in the heap');
  }
  // Before the data dir is touched: a bad --policy, name or --audit-log changes nothing.
  const { peers, audit } = openAccess(config, log);
  // Every file the daemon writes goes through this one Fs: the test-only rules file swaps in faults.
  const baseFs: Fs = config.faultRulesFile ? new FaultyFs(realFs, config.faultRulesFile) : realFs;
  // Every change to the data dir passes this gate, so daemon.backup can copy it standing still.
  const writeGate = new WriteGate();
  const fs = writeGate.wrap(baseFs);
  if (config.faultRulesFile) log.warn({ rules: config.faultRulesFile }, 'fault injection is on: for tests only');
  // Before anything is created in the folder: a mismatch must leave it as it was.
  const layoutName = config.store.kind === 'postgres' ? databaseLayout(config) : await detectLayout(fs, config.dataDir, config.layout);
  await fs.mkdir(config.dataDir, 0o700);
  const database = config.store.kind === 'postgres' ? await openDatabase(config.store.url, log) : undefined;
  if (config.migrateFrom !== undefined) await migrateInto(database, config.migrateFrom, fs, log);
  const kit = layoutKit(layoutName, config, fs, database);
  const layout = kit.layout;
  if (database) log.info({ layout: layout.name, store: 'postgres' }, 'data in PostgreSQL');
  else log.info({ layout: layout.name, dataDir: config.dataDir }, 'data dir layout');
  const store = new Store(fs, log, { maxDocBytes: config.maxDocBytes, groupCommit: config.groupCommit });
  // Before anything is read, so every file the store caches (users.json first) is followed.
  // Files are followed on disk; a database's units through its change feed (other daemons' writes).
  const watcher = config.watch && !database ? new DataDirWatcher(store, log) : undefined;
  watcher?.start();
  const stopFeed =
    config.watch && database?.follow ? await database.follow((key) => void store.cached(key)?.checkExternal(), () => store.checkAllCached()) : undefined;
  if (!config.groupCommit) log.warn('group commit is off: one durable write per mutation');
  const vault = config.persistSessions ? sessionVault(layout.name, config.dataDir, fs, log, database) : undefined;
  await store.sweep([...(await layout.sweepDirs()), ...(vault?.sweepDir === undefined ? [] : [vault.sweepDir])]);
  // Stored sessions that expired while no daemon served them: in the background, as every minute after.
  if (vault) void vault.sweep();
  const hub = new WatchHub();
  store.subscribeChanges((change) => describeChange(change).forEach((notice) => hub.publish(notice)));
  const serviceData = new ServiceData(store, layout);
  const docs = new Docs(store, layout);
  const keyring = await kit.openKeyring({
    store,
    hooks: withDocuments(new UserDataLifecycle(store, layout, serviceData, log), new DocOwners(store, layout, docs), log),
    log,
    unlockConcurrency: config.unlockConcurrency,
    sessionTtlS: config.sessionTtlS,
    sessionIdleS: config.sessionIdleS,
    secretLingerMs: config.secretLingerMs,
    vault,
  });
  let server: SocketServer | undefined;
  const all: Handlers = {
    ...daemonHandlers({
      config,
      startedAt,
      layout: layout.name,
      health: database && (() => database.health()),
      connections: () => server?.connectionCount ?? 0,
      queuedAnswerBytes: () => server?.queuedAnswerBytes ?? 0,
      store,
      users: () => {
        const { total, unlocked } = keyring.status();
        return { total, unlocked };
      },
      sessions: () => keyring.status().sessions,
    }),
    ...announceUserChanges(usersHandlers(keyring), hub),
    ...watchHandlers(hub),
    ...sessionsHandlers(keyring),
    ...servicesHandlers({ data: serviceData, sessions: keyring, users: keyring, layout }),
    ...docsHandlers({ docs, sessions: keyring }),
    ...annotationsHandlers({ annotations: new Annotations(store, layout), users: keyring, layout }),
    ...filesHandlers(new SpecterFiles(store, config.dataDir, layout.name)),
    ...(database ? databaseOps() : opsHandlers({ layout, keyring, gate: writeGate, fs, ungatedFs: baseFs, log })),
  };
  // Follow mode: Specter's users.json changes are seen at the next call (keyring/follow.ts).
  const handlers = keyring.follows ? followingAccounts(all, () => keyring.followAccounts()) : all;
  const gate = new AccessGate(keyring, audit);
  if (audit) auditExpiries(keyring, audit, log);
  const dispatcher = new Dispatcher(handlers, log, gate, vault && ((session) => keyring.prepareSession(session)));
  server = new SocketServer(config, dispatcher, log, { peers, gate });
  await server.listen(options.listenFd);
  const relief = new MemoryRelief({ busy: () => dispatcher.pending > 0 || (server?.queuedAnswerBytes ?? 0) > 0 }, log);
  log.info({ version: DAEMON_VERSION, socket: config.socketPath, dataDir: config.dataDir }, 'listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason, inflight: dispatcher.pending }, 'shutting down');
      relief.stop();
      server.stopAccepting();
      dispatcher.stopAccepting();
      const drained = await dispatcher.drain(config.shutdownTimeoutMs);
      if (!drained) log.warn({ inflight: dispatcher.pending }, 'in-flight calls did not finish in time');
      await store.flush();
      await stopFeed?.();
      await database?.close();
      await watcher?.close();
      await server.close(options.listenFd === undefined);
      // After the last call: every session ends and every secret is zeroed and freed.
      keyring.close();
      audit?.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { server, sessions: keyring, users: keyring, shutdown };
}
