import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MAX_FRAME_BYTES } from '@coffer/protocol';
import { KDF_INTERACTIVE, KDF_MODERATE, KDF_STORED_MAX } from '../crypto/argon2id.js';
import { DAEMON_VERSION } from './version.js';

/** Everything cofferd can be told, resolved once at start. Paths are absolute. */
export interface Config {
  dataDir: string;
  /**
   * Where data is kept: files in the data dir, or a PostgreSQL database (issue 16; coffer layout
   * only). The URL may hold a password: it is never logged.
   */
  store: { kind: 'files' } | { kind: 'postgres'; url: string };
  /** With --store postgres: a coffer data dir whose files are copied into an empty database at start. */
  migrateFrom: string | undefined;
  /** The data dir's layout (DESIGN §3); 'auto' detects it from users.json, new dirs get coffer. */
  layout: 'coffer' | 'specter' | 'auto';
  /**
   * Specter layout only: who owns users.json. `follow` (default): Specter does; cofferd never writes
   * it and follows its changes. `manage`: cofferd writes it as Specter would (no Specter running).
   */
  specterUsers: 'follow' | 'manage';
  socketPath: string;
  /** Group that may connect (socket 0660 instead of 0600); its members pass the peer check. */
  socketGroup: string | undefined;
  /** Peers allowed to connect besides the daemon's own uid and root (SO_PEERCRED): names or numbers. */
  allowUids: string[];
  allowGids: string[];
  /** Per-peer scopes (access/policy.ts); undefined: every allowed peer may do everything. */
  policyFile: string | undefined;
  /** JSON-lines audit stream (access/audit.ts); undefined: no audit. */
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
  /** Test-only: fault-injection rules for the store's Fs (see disk/faulty-fs.ts). */
  faultRulesFile: string | undefined;
  /** Argon2id cost for new wraps (and upgrades on unlock); never below libsodium's INTERACTIVE. */
  kdfOpslimit: number;
  kdfMemlimit: number;
  /** Argon2id runs at most this many at once. */
  unlockConcurrency: number;
  /** Session lifetimes in seconds: absolute, and since last use. */
  sessionTtlS: number;
  sessionIdleS: number;
  /**
   * Sessions are stored, sealed under their token (keyring/session-vault.ts): they survive a
   * restart and every daemon on the same store serves them. On by default with --store postgres.
   */
  persistSessions: boolean;
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

/** `files`, or a PostgreSQL connection URL (libpq's two schemes). */
function storeLocation(value: string): string {
  if (value === 'files' || /^postgres(ql)?:\/\//.test(value)) return value;
  throw new InvalidArgumentError('expected files or a PostgreSQL URL (postgres://user@host/database)');
}

/** Repeatable, comma-separated list options: `--allow-uid a,b --allow-uid c` is [a, b, c]. */
function list(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new InvalidArgumentError('expected names or numbers separated by commas');
  return [...previous, ...items];
}

/**
 * One command-line option: its flags, its environment twin, its help, how its text becomes a
 * value, its default. Each option is written once, in OPTIONS below; the commander definition,
 * the parsed values' types and the --help text all come from it.
 */
interface OptionSpec<T> {
  readonly flags: string;
  readonly env: string;
  readonly help: string;
  readonly default?: T;
  readonly parse?: (raw: string) => T;
  readonly choices?: readonly T[];
  /** Test-only options stay out of --help. */
  readonly hidden?: true;
}

/** Typing helper: `T` is what the option yields (with `undefined` when it has no default). */
const option = <T>(spec: OptionSpec<T>): OptionSpec<T> => spec;

/** Every option cofferd takes, keyed by commander's attribute name for its long flag (checked). */
const OPTIONS = {
  dataDir: option<string>({ flags: '--data-dir <dir>', env: 'COFFER_DATA_DIR', help: 'data directory', default: DEFAULT_DATA_DIR }),
  store: option<string>({
    flags: '--store <where>',
    env: 'COFFER_STORE',
    help: 'where data is kept: files (in --data-dir) or a PostgreSQL URL, postgres://user@host/db (coffer layout; several cofferd may share it)',
    default: 'files',
    parse: storeLocation,
  }),
  migrateFrom: option<string | undefined>({
    flags: '--migrate-from <dir>',
    env: 'COFFER_MIGRATE_FROM',
    help: 'with --store postgres: copy this coffer data dir into the database at start (refused once the database has users)',
  }),
  layout: option<'auto' | 'coffer' | 'specter'>({
    flags: '--layout <layout>',
    env: 'COFFER_LAYOUT',
    help: 'data dir layout: auto detects it (a Specter users.json is a JSON array), new dirs are coffer',
    choices: ['auto', 'coffer', 'specter'],
    default: 'auto',
  }),
  specterUsers: option<'follow' | 'manage'>({
    flags: '--specter-users <owner>',
    env: 'COFFER_SPECTER_USERS',
    help: "specter layout: follow = users.json is Specter's, read only and followed live; manage = cofferd writes it (only with no Specter running)",
    choices: ['follow', 'manage'],
    default: 'follow',
  }),
  socket: option<string>({ flags: '--socket <path>', env: 'COFFER_SOCKET', help: 'Unix socket to listen on', default: DEFAULT_SOCKET }),
  socketGroup: option<string | undefined>({
    flags: '--socket-group <group>',
    env: 'COFFER_SOCKET_GROUP',
    help: 'group allowed to connect (socket mode 0660 instead of 0600; its members pass the peer check, as --allow-gid)',
  }),
  allowUid: option<string[]>({
    flags: '--allow-uid <users>',
    env: 'COFFER_ALLOW_UID',
    help: 'also let these uids connect (names or numbers; repeat or comma-separate); the own uid and root always may',
    default: [],
    parse: list,
  }),
  allowGid: option<string[]>({
    flags: '--allow-gid <groups>',
    env: 'COFFER_ALLOW_GID',
    help: "also let peers in these groups connect (names or numbers; a peer's primary or supplementary group)",
    default: [],
    parse: list,
  }),
  policy: option<string | undefined>({
    flags: '--policy <file>',
    env: 'COFFER_POLICY',
    help: 'JSON file of per-peer scopes: which users and services each uid/gid may read or write, and admin',
  }),
  auditLog: option<string | undefined>({
    flags: '--audit-log <file>',
    env: 'COFFER_AUDIT_LOG',
    help: 'append a JSON-lines audit record of unlocks, locks, user changes, wipes, encrypted reads/writes and refused peers; a call that cannot be recorded is refused',
  }),
  maxFrameBytes: option({
    flags: '--max-frame-bytes <n>',
    env: 'COFFER_MAX_FRAME_BYTES',
    help: 'largest accepted message line, in bytes',
    default: DEFAULT_MAX_FRAME_BYTES,
    parse: integer(64),
  }),
  maxConnections: option({ flags: '--max-connections <n>', env: 'COFFER_MAX_CONNECTIONS', help: 'open client connections at most', default: 1024, parse: integer(1) }),
  maxInflight: option({
    flags: '--max-inflight <n>',
    env: 'COFFER_MAX_INFLIGHT',
    help: 'unanswered requests per connection before reading pauses',
    default: 1024,
    parse: integer(1),
  }),
  maxQueuedBytes: option({
    flags: '--max-queued-bytes <n>',
    env: 'COFFER_MAX_QUEUED_BYTES',
    help: "a connection's unsent answers past which reading from it pauses",
    default: 4 * MIB,
    parse: integer(1024),
  }),
  maxQueuedBytesHard: option({
    flags: '--max-queued-bytes-hard <n>',
    env: 'COFFER_MAX_QUEUED_BYTES_HARD',
    help: "a connection's unsent answers past which it is closed",
    default: 32 * MIB,
    parse: integer(1024),
  }),
  maxTotalQueuedBytes: option({
    flags: '--max-total-queued-bytes <n>',
    env: 'COFFER_MAX_TOTAL_QUEUED_BYTES',
    help: 'unsent answers of all connections past which connections with a backlog are not read',
    default: 64 * MIB,
    parse: integer(1024),
  }),
  maxAnswerBytes: option({
    flags: '--max-answer-bytes <n>',
    env: 'COFFER_MAX_ANSWER_BYTES',
    help: "largest answer (a batch's as a whole); past it the call gets TOO_LARGE",
    // Twice the largest data file: a single value always fits. V8's longest string is ~512 Mi
    // characters; the upper bound keeps every answer far below it.
    default: 16 * MIB,
    parse: integer(1024, 256 * MIB),
  }),
  maxBatch: option({
    flags: '--max-batch <n>',
    env: 'COFFER_MAX_BATCH',
    help: 'requests in one batch at most; a longer batch gets TOO_LARGE',
    default: 1000,
    parse: integer(1),
  }),
  idleTimeout: option({
    flags: '--idle-timeout <seconds>',
    env: 'COFFER_IDLE_TIMEOUT',
    help: 'close a connection that sends nothing this long (watch subscribers are exempt; 0: never)',
    default: 300,
    parse: integer(0),
  }),
  shutdownTimeoutMs: option({
    flags: '--shutdown-timeout-ms <ms>',
    env: 'COFFER_SHUTDOWN_TIMEOUT_MS',
    help: 'how long SIGTERM waits for in-flight calls',
    default: 10_000,
    parse: integer(0),
  }),
  logLevel: option<string>({
    flags: '--log-level <level>',
    env: 'COFFER_LOG_LEVEL',
    help: 'log level',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
  }),
  logFormat: option<'auto' | 'json' | 'pretty'>({
    flags: '--log-format <format>',
    env: 'COFFER_LOG_FORMAT',
    help: 'log format; auto = pretty on a TTY, JSON lines otherwise',
    choices: ['auto', 'json', 'pretty'],
    default: 'auto',
  }),
  maxDocBytes: option({
    flags: '--max-doc-bytes <n>',
    env: 'COFFER_MAX_DOC_BYTES',
    help: 'largest data file, encoded, in bytes; a write that would pass it gets TOO_LARGE',
    default: 8 * MIB,
    parse: integer(1024),
  }),
  groupCommit: option<boolean>({
    flags: '--no-group-commit',
    env: 'COFFER_NO_GROUP_COMMIT',
    help: 'one durable write per mutation instead of one per group (for benchmarks)',
  }),
  kdfOpslimit: option({
    flags: '--kdf-opslimit <n>',
    env: 'COFFER_KDF_OPSLIMIT',
    help: 'Argon2id passes for new password wraps (at least INTERACTIVE)',
    default: KDF_MODERATE.opslimit,
    parse: integer(KDF_INTERACTIVE.opslimit, KDF_STORED_MAX.opslimit),
  }),
  kdfMemlimit: option({
    flags: '--kdf-memlimit <bytes>',
    env: 'COFFER_KDF_MEMLIMIT',
    help: 'Argon2id memory for new password wraps (at least INTERACTIVE)',
    default: KDF_MODERATE.memlimit,
    parse: integer(KDF_INTERACTIVE.memlimit, KDF_STORED_MAX.memlimit),
  }),
  unlockConcurrency: option({
    flags: '--unlock-concurrency <n>',
    env: 'COFFER_UNLOCK_CONCURRENCY',
    help: 'password hashes computed at once; more unlocks wait',
    default: 2,
    parse: integer(1, 64),
  }),
  sessionTtl: option({ flags: '--session-ttl <seconds>', env: 'COFFER_SESSION_TTL', help: 'a session ends this long after its unlock', default: 24 * 3600, parse: integer(1) }),
  sessionIdle: option({ flags: '--session-idle <seconds>', env: 'COFFER_SESSION_IDLE', help: 'a session ends after this long unused', default: 3600, parse: integer(1) }),
  persistSessions: option<'auto' | 'on' | 'off'>({
    flags: '--persist-sessions <when>',
    env: 'COFFER_PERSIST_SESSIONS',
    help: 'store each session sealed under its token, so it survives a restart and any cofferd on the same store serves it (auto: on with --store postgres, off on files)',
    choices: ['auto', 'on', 'off'],
    default: 'auto',
  }),
  secretLingerMs: option({
    flags: '--secret-linger-ms <ms>',
    env: 'COFFER_SECRET_LINGER_MS',
    help: 'an unlocked secret stays readable this long after a read, then no-access again (0: after every read)',
    default: 200,
    parse: integer(0, 60_000),
  }),
  watch: option<boolean>({
    flags: '--no-watch',
    env: 'COFFER_NO_WATCH',
    help: 'do not watch the data dir (external edits are still checked before every write)',
  }),
  faultRulesFile: option<string | undefined>({
    flags: '--fault-rules-file <path>',
    env: 'COFFER_FAULT_RULES_FILE',
    help: 'test-only: inject file-system faults from this JSON file',
    hidden: true,
  }),
};

type Options = typeof OPTIONS;
/** What parsing yields: each option's value, typed by its spec. */
type Values = { [K in keyof Options]: Options[K] extends OptionSpec<infer T> ? T : never };

/**
 * Parsing stopped: a usage error (exit code 3, the CLI convention of DESIGN §6) or --help /
 * --version (0). Commander has already printed what the user needs; main.ts exits with the code.
 */
export class OptionsExit extends Error {
  constructor(readonly exitCode: number) {
    super(exitCode === 0 ? 'help or version shown' : 'invalid command line');
  }
}

function buildCommand(): Command {
  const command = new Command('cofferd').description(
    'Coffer daemon: per-user encrypted and unencrypted service data over JSON-RPC 2.0 on a Unix socket.\n' +
      'Every option has a COFFER_* environment twin; the command line wins over the environment.',
  );
  for (const [key, spec] of Object.entries(OPTIONS) as Array<[string, OptionSpec<unknown>]>) {
    const definition = new Option(spec.flags, spec.help).env(spec.env);
    // The table's key is the name parseConfig reads the value under: a typo must not pass silently.
    if (definition.attributeName() !== key) throw new Error(`option ${spec.flags} is keyed ${key}, not ${definition.attributeName()}`);
    if (spec.choices) definition.choices(spec.choices as string[]);
    if (spec.default !== undefined) definition.default(spec.default);
    if (spec.parse) definition.argParser(spec.parse);
    if (spec.hidden) definition.hideHelp();
    command.addOption(definition);
  }
  return command
    .helpOption('-h, --help', 'show this help')
    .version(DAEMON_VERSION, '-V, --version')
    .allowExcessArguments(false)
    .showHelpAfterError('(run cofferd --help for every option)');
}

/**
 * Parses argv (without the node and script entries) and the environment into a Config. Commander
 * prints usage errors, --help and --version itself; then this throws OptionsExit with the exit code.
 */
export function parseConfig(argv: readonly string[], cwd = process.cwd(), isTTY = Boolean(process.stdout.isTTY)): Config {
  const command = buildCommand();
  command.exitOverride((err) => {
    throw new OptionsExit(err.exitCode === 0 ? 0 : 3);
  });
  command.parse([...argv], { from: 'user' });
  return toConfig(command.opts<Values>(), cwd, isTTY);
}

/** The parsed values, grouped and resolved the way the daemon's parts take them. */
function toConfig(opts: Values, cwd: string, isTTY: boolean): Config {
  return {
    dataDir: path.resolve(cwd, opts.dataDir),
    store: opts.store === 'files' ? { kind: 'files' } : { kind: 'postgres', url: opts.store },
    migrateFrom: opts.migrateFrom === undefined ? undefined : path.resolve(cwd, opts.migrateFrom),
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
    persistSessions: opts.persistSessions === 'auto' ? opts.store !== 'files' : opts.persistSessions === 'on',
    secretLingerMs: opts.secretLingerMs,
  };
}
