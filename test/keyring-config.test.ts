import { spawnSync } from 'node:child_process';
import t from 'tap';
import { OptionsExit, parseConfig } from '../daemon/src/base/config.js';
import { KDF_INTERACTIVE, KDF_MODERATE } from '../daemon/src/crypto/argon2id.js';
import { daemonCommand } from './helpers/daemon.js';

const KEYRING_ENV = ['COFFER_KDF_OPSLIMIT', 'COFFER_KDF_MEMLIMIT', 'COFFER_UNLOCK_CONCURRENCY', 'COFFER_SESSION_TTL', 'COFFER_SESSION_IDLE'];

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = KEYRING_ENV.map((name) => [name, process.env[name]] as const);
  for (const name of KEYRING_ENV) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

t.test('keyring defaults: MODERATE Argon2id, 2 at once, 24 h sessions idle after 1 h', async (t) => {
  const config = withEnv({}, () => parseConfig([], '/tmp', false));
  t.equal(config.kdfOpslimit, KDF_MODERATE.opslimit);
  t.equal(config.kdfMemlimit, KDF_MODERATE.memlimit);
  t.equal(config.unlockConcurrency, 2);
  t.equal(config.sessionTtlS, 86_400);
  t.equal(config.sessionIdleS, 3600);
  t.equal(config.secretLingerMs, 200);
});

t.test('every keyring flag has a COFFER_* twin; the command line wins', async (t) => {
  const env = {
    COFFER_KDF_OPSLIMIT: '5',
    COFFER_KDF_MEMLIMIT: String(128 * 1024 * 1024),
    COFFER_UNLOCK_CONCURRENCY: '3',
    COFFER_SESSION_TTL: '600',
    COFFER_SESSION_IDLE: '60',
    COFFER_SECRET_LINGER_MS: '0',
  };
  const fromEnv = withEnv(env, () => parseConfig([], '/tmp', false));
  t.match(fromEnv, { kdfOpslimit: 5, kdfMemlimit: 128 * 1024 * 1024, unlockConcurrency: 3, sessionTtlS: 600, sessionIdleS: 60, secretLingerMs: 0 });
  const fromFlags = withEnv(env, () => parseConfig(['--session-idle', '30', '--unlock-concurrency', '1', '--secret-linger-ms', '50'], '/tmp', false));
  t.match(fromFlags, { sessionIdleS: 30, unlockConcurrency: 1, sessionTtlS: 600, secretLingerMs: 50 });
});

t.test('KDF limits below INTERACTIVE are refused at start (exit 3)', async (t) => {
  for (const args of [
    ['--kdf-opslimit', String(KDF_INTERACTIVE.opslimit - 1)],
    ['--kdf-memlimit', String(KDF_INTERACTIVE.memlimit - 1)],
    ['--unlock-concurrency', '0'],
    ['--session-idle', '0'],
    ['--secret-linger-ms', '-1'],
    ['--secret-linger-ms', '60001'],
  ]) {
    const [cmd, argv] = daemonCommand(args, false);
    const out = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 20_000 });
    t.equal(out.status, 3, `${args.join(' ')}: usage error`);
    t.match(out.stderr, /expected an integer from/);
  }
  const [cmd, argv] = daemonCommand(['--help'], false);
  const help = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 20_000 }).stdout;
  for (const flag of ['--kdf-opslimit', '--kdf-memlimit', '--unlock-concurrency', '--session-ttl', '--session-idle', '--secret-linger-ms']) {
    t.match(help, flag, `--help lists ${flag}`);
  }
  t.match(help, /env:\s+COFFER_SESSION_IDLE/);
});

t.test('a bad command line throws OptionsExit (3) for main.ts to exit with; parsing never exits the process itself', async (t) => {
  const thrown = (argv: string[]) => {
    try {
      parseConfig(argv, '/tmp', false);
    } catch (error) {
      return error;
    }
    return undefined;
  };
  for (const argv of [['--bogus'], ['--max-batch', 'many'], ['--layout', 'other'], ['extra']]) {
    const error = thrown(argv);
    t.ok(error instanceof OptionsExit && error.exitCode === 3, `${argv.join(' ')}: OptionsExit 3`);
  }
  t.equal(thrown([]), undefined, 'a good one parses');
});
