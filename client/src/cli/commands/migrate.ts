import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { CofferClient } from '../../client.js';
import { migrate } from '../../migrate.js';
import { keyValues } from '../format.js';
import type { Act, CliContext } from '../context.js';
import { UsageError } from '../io.js';
import { loadDaemonPackage } from '../daemon-package.js';
import { refuseIfServed } from './ops.js';

type LayoutName = 'coffer' | 'specter';

interface MigrateOptions {
  to: LayoutName;
  fromDataDir: string;
  toDataDir: string;
  withoutDocs?: boolean;
}

/**
 * `coffer migrate`: converts a data dir to the other layout by starting a daemon on each (in this
 * process, on private sockets) and copying everything through the public API (client/src/migrate.ts).
 * Never in place: the target is a new or empty directory, and the source daemon serves a private
 * copy of the source, so the source is never written (unlocking a Specter user who has no secret
 * yet makes one, as Specter does at login; that happens in the copy).
 */
export function registerMigrate(program: Command, act: Act): void {
  program
    .command('migrate')
    .description('offline: copy a data dir into a new one of the other layout (each password user is asked for their password)')
    .addOption(new Option('--to <layout>', 'the layout of the new data dir').choices(['coffer', 'specter']).makeOptionMandatory())
    .requiredOption('--from-data-dir <dir>', 'the data dir to read (no daemon may serve it)')
    .requiredOption('--to-data-dir <dir>', 'the new data dir (must not exist, or be empty)')
    .option('--without-docs', "leave generic documents out (Specter's in folders have no coffer name)")
    .action(act(async (ctx, opts: MigrateOptions) => run(ctx, opts)));
}

async function run(ctx: CliContext, opts: MigrateOptions): Promise<void> {
  const fromDir = path.resolve(opts.fromDataDir);
  const toDir = path.resolve(opts.toDataDir);
  if (nested(fromDir, toDir)) throw new UsageError('the two data dirs overlap: migrate never works in place; choose a new directory for --to-data-dir');
  if (listing(toDir).length > 0) throw new UsageError(`${toDir} is not empty: migrate writes into a new or empty directory only`);
  await refuseIfServed(ctx, fromDir);
  await refuseIfServed(ctx, toDir);
  // Loaded only here: the rest of the CLI (and the client library) does not need the daemon's native modules.
  const daemon = await loadDaemonPackage('migrate', () => import('@coffer/daemon'));
  const sockets = mkdtempSync(path.join(os.tmpdir(), 'coffer-migrate-'));
  const started: Array<{ shutdown(reason: string): Promise<void> }> = [];
  const clients: CofferClient[] = [];
  try {
    const start = async (name: string, dataDir: string, args: string[]): Promise<CofferClient> => {
      const socket = path.join(sockets, `${name}.sock`);
      const config = daemon.parseConfig(['--data-dir', dataDir, '--socket', socket, '--log-level', 'silent', '--no-watch', ...args]);
      started.push(await daemon.startDaemon(config, daemon.createLogger(config)));
      const client = await CofferClient.connect({ socketPath: socket, timeoutMs: ctx.options.timeout * 1000 });
      clients.push(client);
      return client;
    };
    const copy = path.join(sockets, 'source');
    cpSync(fromDir, copy, { recursive: true });
    const from = await start('from', copy, ['--layout', 'auto', '--specter-users', 'manage']);
    const fromLayout = (await from.call('daemon.status', {})).layout;
    if (fromLayout === opts.to) throw new UsageError(`${fromDir} is already in the ${opts.to} layout: copy it with coffer backup and coffer restore`);
    const to = await start('to', toDir, ['--layout', opts.to, '--specter-users', 'manage', ...kdfArgs(ctx)]);
    const counts = await migrate({
      from,
      to,
      toLayout: opts.to,
      withoutDocs: opts.withoutDocs === true,
      password: (username) => ctx.input.secret(`Password for ${username}: `, `password of ${username}`),
      progress: (line) => ctx.note(line),
    });
    ctx.print({ from: fromDir, fromLayout, to: toDir, toLayout: opts.to, ...counts }, keyValues([
      ['migrated', `${fromDir} (${fromLayout}) -> ${toDir} (${opts.to})`],
      ['users', String(counts.users)],
      ['services', `${counts.encryptedServices} encrypted, ${counts.unencryptedServices} unencrypted`],
      ['annotations', String(counts.annotations)],
      ['documents', String(counts.docs)],
    ]));
  } finally {
    for (const client of clients) client.close();
    for (const one of started.reverse()) await one.shutdown('migrate done');
    rmSync(sockets, { recursive: true, force: true });
  }
}

/** New password wraps on the target cost what the environment says (COFFER_KDF_*), as cofferd's would. */
function kdfArgs(ctx: CliContext): string[] {
  const args: string[] = [];
  const ops = ctx.io.env['COFFER_KDF_OPSLIMIT'];
  const mem = ctx.io.env['COFFER_KDF_MEMLIMIT'];
  if (ops) args.push('--kdf-opslimit', ops);
  if (mem) args.push('--kdf-memlimit', mem);
  return args;
}

function nested(a: string, b: string): boolean {
  const inside = (outer: string, inner: string) => {
    const rel = path.relative(outer, inner);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  return inside(a, b) || inside(b, a);
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UsageError(`cannot read ${dir} (${(error as NodeJS.ErrnoException).code})`);
  }
}
