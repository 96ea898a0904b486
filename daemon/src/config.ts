import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MAX_FRAME_BYTES } from '@coffer/protocol';
import { KDF_INTERACTIVE, KDF_MODERATE, KDF_STORED_MAX } from './crypto/argon2id.js';
import { addAccessOptions } from './access/options.js';
import { DAEMON_VERSION } from './version.js';

/** Everything cofferd can be told, resolved once at start. Paths are absolute. */
export interface Config {
  dataDir: string;
  /** The data dir's layout (DESIGN §3); 'auto' detects it from users.json, new dirs get coffer. */
  layout: 'coffer' | 'specter' | 'auto';
  /**
   * Specter layout only: who owns users.json. `follow` (default): Specter does; cofferd never writes
   * it and follows its changes. `manage`: cofferd writes it as Specter would (no Specter running).
   */
  specterUsers: 'follow' | 'manage';
  socketPath: string;
  /** Group that may connect (socket 0660 instead of 0600); implies an --allow-gid of it. */
  socketGroup: string | undefined;
  /** Peers allowed to connect besides the daemon's own uid and root (SO_PEERCRED): names or numbers. */
  allowUids: string[];
  allowGids: string[];
  /** Per-peer scopes (access/policy.ts); undefined: every allowed peer may do everything. */
  policyFile: string | undefined;
  /** JSON-lines audit stream (audit.ts); undefined: no audit. */
  auditLog: string | undefined;
  maxFrameBytes: number;
  maxConnections: number;
  /** Requests one connection may have in flight before the daemon stops reading from it. */
  maxInflightPerConnection: number;
  /** Flow control in bytes (server.ts, DESIGN-NOTES "Reliability under abuse"). */
  limits: FlowLimits;
  shutdownTimeoutMs: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** Largest encoded data file, in bytes (DESIGN §5). */
  maxDocBytes: number;
  /** Off only to measure what grouping buys: one durable write per mutation. */
  groupCommit: boolean;
  /** Watch the data dir for edits made outside cofferd (they are also checked before every write). */
  watch: boolean;
  /** Test-only: fault-injection rules for the store's Fs (see store/faulty-fs.ts). */
  faultRulesFile: string | undefined;
  /** Argon2id cost for new wraps (and upgrades on unlock); never below libsodium's INTERACTIVE. */
  kdfOpslimit: number;
  kdfMemlimit: number;
  /** Argon2id runs at most this many at once. */
  unlockConcurrency: number;
  /** Session lifetimes in seconds: absolute, and since last use. */
  sessionTtlS: number;
  sessionIdleS: number;
  /** Unlocked secrets stay readable this long after a read, then no-access again (SecretMemory). */
  secretLingerMs: number;
}

/**
 * Byte budgets for answers, as Redis's client output buffer limits: past the soft limit a
 * connection is not read from, past the hard limit it is closed.
 */
export interface FlowLimits {
  /** Unsent answer bytes (queued plus expected from calls in flight) past which reading pauses. */
  queuedSoftBytes: number;
  /** Unsent answer bytes past which the connection is closed. */
  queuedHardBytes: number;
  /** Unsent answer bytes across all connections past which connections with a backlog are not read. */
  queuedTotalBytes: number;
  /** Largest answer frame, a batch's answer as a whole included; a bigger one is answered TOO_LARGE. */
  maxAnswerBytes: number;
  /** Requests in one batch at most. */
  maxBatch: number;
  /** Seconds without a byte from a connection before it is closed (0: never). */
  idleTimeoutS: number;
}

export const DEFAULT_DATA_DIR = './.coffer/data';
export const DEFAULT_SOCKET = './.coffer/cofferd.sock';

const MIB = 1024 * 1024;

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function buildCommand(): Command {
  const command = new Command('cofferd')
    .description(
      'Coffer daemon: per-user encrypted and unencrypted service data over JSON-RPC 2.0 on a Unix socket.\n' +
        'Every option has a COFFER_* environment twin; the command line wins over the environment.',
    )
    .addOption(new Option('--data-dir <dir>', 'data directory').env('COFFER_DATA_DIR').default(DEFAULT_DATA_DIR))
    .addOption(
      new Option('--layout <layout>', 'data dir layout: auto detects it (a Specter users.json is a JSON array), new dirs are coffer')
        .env('COFFER_LAYOUT')
        .choices(['auto', 'coffer', 'specter'])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--specter-users <owner>',
        'specter layout: follow = users.json is Specter\'s, read only and followed live; manage = cofferd writes it (only with no Specter running)',
      )
        .env('COFFER_SPECTER_USERS')
        .choices(['follow', 'manage'])
        .default('follow'),
    )
    .addOption(new Option('--socket <path>', 'Unix socket to listen on').env('COFFER_SOCKET').default(DEFAULT_SOCKET))
    .addOption(
      new Option('--socket-group <group>', 'group allowed to connect (socket mode 0660 instead of 0600; its members pass the peer check, as --allow-gid)').env(
        'COFFER_SOCKET_GROUP',
      ),
    );
  // Right after --socket-group, in --help too: who may connect.
  return addAccessOptions(command)
    .addOption(
      new Option('--max-frame-bytes <n>', 'largest accepted message line, in bytes')
        .env('COFFER_MAX_FRAME_BYTES')
        .default(DEFAULT_MAX_FRAME_BYTES)
        .argParser(integer(64)),
    )
    .addOption(
      new Option('--max-connections <n>', 'open client connections at most')
        .env('COFFER_MAX_CONNECTIONS')
        .default(1024)
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--max-inflight <n>', 'unanswered requests per connection before reading pauses')
        .env('COFFER_MAX_INFLIGHT')
        .default(1024)
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--max-queued-bytes <n>', "a connection's unsent answers past which reading from it pauses")
        .env('COFFER_MAX_QUEUED_BYTES')
        .default(4 * MIB)
        .argParser(integer(1024)),
    )
    .addOption(
      new Option('--max-queued-bytes-hard <n>', "a connection's unsent answers past which it is closed")
        .env('COFFER_MAX_QUEUED_BYTES_HARD')
        .default(32 * MIB)
        .argParser(integer(1024)),
    )
    .addOption(
      new Option('--max-total-queued-bytes <n>', 'unsent answers of all connections past which connections with a backlog are not read')
        .env('COFFER_MAX_TOTAL_QUEUED_BYTES')
        .default(64 * MIB)
        .argParser(integer(1024)),
    )
    .addOption(
      new Option('--max-answer-bytes <n>', "largest answer (a batch's as a whole); past it the call gets TOO_LARGE")
        .env('COFFER_MAX_ANSWER_BYTES')
        // Twice the largest data file: a single value always fits. V8's longest string is ~512 Mi
        // characters; the upper bound keeps every answer far below it.
        .default(16 * MIB)
        .argParser(integer(1024, 256 * MIB)),
    )
    .addOption(
      new Option('--max-batch <n>', 'requests in one batch at most; a longer batch gets TOO_LARGE')
        .env('COFFER_MAX_BATCH')
        .default(1000)
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--idle-timeout <seconds>', 'close a connection that sends nothing this long (watch subscribers are exempt; 0: never)')
        .env('COFFER_IDLE_TIMEOUT')
        .default(300)
        .argParser(integer(0)),
    )
    .addOption(
      new Option('--shutdown-timeout-ms <ms>', 'how long SIGTERM waits for in-flight calls')
        .env('COFFER_SHUTDOWN_TIMEOUT_MS')
        .default(10_000)
        .argParser(integer(0)),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .env('COFFER_LOG_LEVEL')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format; auto = pretty on a TTY, JSON lines otherwise')
        .env('COFFER_LOG_FORMAT')
        .choices(['auto', 'json', 'pretty'])
        .default('auto'),
    )
    .addOption(
      new Option('--max-doc-bytes <n>', 'largest data file, encoded, in bytes; a write that would pass it gets TOO_LARGE')
        .env('COFFER_MAX_DOC_BYTES')
        .default(8 * 1024 * 1024)
        .argParser(integer(1024)),
    )
    .addOption(
      new Option('--no-group-commit', 'one durable write per mutation instead of one per group (for benchmarks)').env(
        'COFFER_NO_GROUP_COMMIT',
      ),
    )
    .addOption(
      new Option('--kdf-opslimit <n>', 'Argon2id passes for new password wraps (at least INTERACTIVE)')
        .env('COFFER_KDF_OPSLIMIT')
        .default(KDF_MODERATE.opslimit)
        .argParser(integer(KDF_INTERACTIVE.opslimit, KDF_STORED_MAX.opslimit)),
    )
    .addOption(
      new Option('--kdf-memlimit <bytes>', 'Argon2id memory for new password wraps (at least INTERACTIVE)')
        .env('COFFER_KDF_MEMLIMIT')
        .default(KDF_MODERATE.memlimit)
        .argParser(integer(KDF_INTERACTIVE.memlimit, KDF_STORED_MAX.memlimit)),
    )
    .addOption(
      new Option('--unlock-concurrency <n>', 'password hashes computed at once; more unlocks wait')
        .env('COFFER_UNLOCK_CONCURRENCY')
        .default(2)
        .argParser(integer(1, 64)),
    )
    .addOption(
      new Option('--session-ttl <seconds>', 'a session ends this long after its unlock')
        .env('COFFER_SESSION_TTL')
        .default(24 * 3600)
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--session-idle <seconds>', 'a session ends after this long unused')
        .env('COFFER_SESSION_IDLE')
        .default(3600)
        .argParser(integer(1)),
    )
    .addOption(
      new Option('--secret-linger-ms <ms>', 'an unlocked secret stays readable this long after a read, then no-access again (0: after every read)')
        .env('COFFER_SECRET_LINGER_MS')
        .default(200)
        .argParser(integer(0, 60_000)),
    )
    .addOption(
      new Option('--no-watch', 'do not watch the data dir (external edits are still checked before every write)').env(
        'COFFER_NO_WATCH',
      ),
    )
    .addOption(
      new Option('--fault-rules-file <path>', 'test-only: inject file-system faults from this JSON file')
        .env('COFFER_FAULT_RULES_FILE')
        .hideHelp(),
    )
    .helpOption('-h, --help', 'show this help')
    .version(DAEMON_VERSION, '-V, --version')
    .allowExcessArguments(false)
    .showHelpAfterError('(run cofferd --help for every option)');
}

export interface ParsedArgs {
  config: Config;
}

/**
 * Parses argv (without the node and script entries) and the environment into a Config. Commander
 * prints usage errors and --help itself and exits (3 for usage errors, the CLI convention of DESIGN §6).
 */
export function parseConfig(argv: readonly string[], cwd = process.cwd(), isTTY = Boolean(process.stdout.isTTY)): Config {
  const command = buildCommand();
  command.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 3);
  });
  command.parse([...argv], { from: 'user' });
  const opts = command.opts<{
    dataDir: string;
    layout: 'coffer' | 'specter' | 'auto';
    specterUsers: 'follow' | 'manage';
    socket: string;
    socketGroup?: string;
    allowUid: string[];
    allowGid: string[];
    policy?: string;
    auditLog?: string;
    maxFrameBytes: number;
    maxConnections: number;
    maxInflight: number;
    maxQueuedBytes: number;
    maxQueuedBytesHard: number;
    maxTotalQueuedBytes: number;
    maxAnswerBytes: number;
    maxBatch: number;
    idleTimeout: number;
    shutdownTimeoutMs: number;
    logLevel: string;
    logFormat: 'auto' | 'json' | 'pretty';
    faultRulesFile?: string;
    maxDocBytes: number;
    groupCommit: boolean;
    watch: boolean;
    kdfOpslimit: number;
    kdfMemlimit: number;
    unlockConcurrency: number;
    sessionTtl: number;
    sessionIdle: number;
    secretLingerMs: number;
  }>();
  return {
    dataDir: path.resolve(cwd, opts.dataDir),
    layout: opts.layout,
    specterUsers: opts.specterUsers,
    socketPath: path.resolve(cwd, opts.socket),
    socketGroup: opts.socketGroup,
    allowUids: opts.allowUid,
    allowGids: opts.allowGid,
    policyFile: opts.policy === undefined ? undefined : path.resolve(cwd, opts.policy),
    auditLog: opts.auditLog === undefined ? undefined : path.resolve(cwd, opts.auditLog),
    maxFrameBytes: opts.maxFrameBytes,
    maxConnections: opts.maxConnections,
    maxInflightPerConnection: opts.maxInflight,
    limits: {
      queuedSoftBytes: opts.maxQueuedBytes,
      queuedHardBytes: Math.max(opts.maxQueuedBytesHard, opts.maxQueuedBytes),
      queuedTotalBytes: opts.maxTotalQueuedBytes,
      maxAnswerBytes: opts.maxAnswerBytes,
      maxBatch: opts.maxBatch,
      idleTimeoutS: opts.idleTimeout,
    },
    shutdownTimeoutMs: opts.shutdownTimeoutMs,
    logLevel: opts.logLevel,
    logFormat: opts.logFormat === 'auto' ? (isTTY ? 'pretty' : 'json') : opts.logFormat,
    maxDocBytes: opts.maxDocBytes,
    groupCommit: opts.groupCommit,
    watch: opts.watch,
    faultRulesFile: opts.faultRulesFile === undefined ? undefined : path.resolve(cwd, opts.faultRulesFile),
    kdfOpslimit: opts.kdfOpslimit,
    kdfMemlimit: opts.kdfMemlimit,
    unlockConcurrency: opts.unlockConcurrency,
    sessionTtlS: opts.sessionTtl,
    sessionIdleS: opts.sessionIdle,
    secretLingerMs: opts.secretLingerMs,
  };
}
