import { realpathSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { CofferClient } from '../../client.js';
import { resolveSocketPath } from '../../socket-path.js';
import { keyValues } from '../format.js';
import { positiveInt, type Act, type CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { Failed } from '../io.js';
import { loadDaemonPackage } from '../daemon-package.js';

/** Files per daemon.verify call: a progress line after each. */
const VERIFY_PAGE = 500;

/**
 * backup, restore, verify (Coffer issue 17 §3; DESIGN-NOTES "Backup, restore, verify, migrate").
 * backup and verify ask the daemon (it serializes writes and holds the secrets); restore is offline,
 * into a data dir no daemon serves.
 */
export function registerOps(program: Command, act: Act): void {
  program
    .command('backup <dest>')
    .description('copy the data dir, consistently, into a new directory (with MANIFEST.json: files, sizes, sha256)')
    .action(
      act(async (ctx, dest: string) => {
        const r = await (await ctx.client()).call('daemon.backup', { dest: path.resolve(dest) });
        ctx.print(r, keyValues([
          ['backup', `${r.dest} (layout ${r.layout})`],
          ['files', `${r.files} (${r.bytes} bytes), encrypted as at rest`],
          ['writes held', `${r.heldMs} ms (${r.delayedWrites} waited), after ${r.drainMs} ms for writes in flight`],
          ['took', `${r.tookMs} ms`],
        ]));
      }),
    );

  program
    .command('restore <src>')
    .description('offline: check a backup against its manifest, then write it into a data dir no daemon serves')
    .requiredOption('--data-dir <dir>', 'the data dir to restore into (new or empty, unless --force)')
    .option('--force', 'restore into a data dir that holds files: those in the backup are replaced, others kept')
    .action(
      act(async (ctx, src: string, opts: { dataDir: string; force?: boolean }) => {
        const dataDir = path.resolve(opts.dataDir);
        await refuseIfServed(ctx, dataDir);
        const { restoreBackup, RestoreRefused } = await loadDaemonPackage('restore', () => import('@coffer/daemon/ops'));
        try {
          const r = await restoreBackup(path.resolve(src), dataDir, { force: opts.force === true });
          ctx.print({ dataDir, ...r }, `restored ${r.files} files (${r.bytes} bytes, layout ${r.layout}) into ${dataDir}; start cofferd on it`);
        } catch (error) {
          if (error instanceof RestoreRefused) throw new Failed(EXIT.DAEMON_ERROR, error.code, `${error.message}; nothing was written`);
          throw error;
        }
      }),
    );

  program
    .command('verify')
    .description("parse every file and authenticate the encrypted values of users unlocked in cofferd; exit 5 if anything is corrupt")
    .option('--quiet', 'print only the files that are not ok, and the summary')
    .addOption(new Option('--page <n>', 'files per daemon.verify call (a progress line after each)').default(VERIFY_PAGE).argParser(positiveInt('--page')))
    .action(act(async (ctx, opts: { quiet?: boolean; page: number }) => verify(ctx, opts.quiet === true, opts.page)));
}

async function verify(ctx: CliContext, quiet: boolean, pageSize: number): Promise<void> {
  const client = await ctx.client();
  const files = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.call('daemon.verify', { ...(after === undefined ? {} : { after }), limit: pageSize });
    for (const file of page.files) {
      files.push(file);
      const counts = `${file.sealed.checked} encrypted values checked${file.sealed.locked ? `, ${file.sealed.locked} not checked: locked` : ''}`;
      const line = file.status === 'ok' ? `ok       ${file.path} (${counts})` : `${file.status.toUpperCase().padEnd(8)} ${file.path}: ${String(file.problem)}`;
      if (!ctx.json && (!quiet || file.status !== 'ok')) ctx.io.stdout.write(`${line}\n`);
    }
    ctx.note(`verified ${files.length}/${page.total} files`);
    if (page.next === null) break;
    after = page.next;
  }
  const bad = files.filter((f) => f.status !== 'ok');
  const locked = files.reduce((n, f) => n + f.sealed.locked, 0);
  const summary = { files: files.length, ok: files.length - bad.length, notOk: bad.length, lockedValues: locked };
  if (ctx.json) ctx.print({ ...summary, results: files }, '');
  else ctx.io.stdout.write(`${summary.ok} of ${summary.files} files ok${locked ? `; ${locked} encrypted values not checked (their users are locked: unlock them and verify again)` : ''}\n`);
  if (bad.length > 0) throw new Failed(EXIT.CORRUPT, 'CORRUPT', `${bad.length} file(s) are corrupt or missing: restore them from a backup (coffer restore)`);
}

/**
 * A daemon that serves the data dir would keep its own view of the files and overwrite them: ask
 * the socket the CLI would use (--socket, $COFFER_SOCKET, the usual places) which data dir it serves.
 * (cofferd keeps no lock file in the data dir, so a daemon on another socket is not seen: stop it first.)
 */
export async function refuseIfServed(ctx: CliContext, dataDir: string): Promise<void> {
  let client: CofferClient;
  try {
    client = await CofferClient.connect({ socketPath: resolveSocketPath({ given: ctx.options.socket, env: ctx.io.env }), timeoutMs: 5000 });
  } catch {
    return; // nothing answers there
  }
  try {
    const served = (await client.call('daemon.status', {})).dataDir;
    if (sameDir(served, dataDir)) {
      throw new Failed(EXIT.DAEMON_ERROR, 'DAEMON_RUNNING', `cofferd (${client.socketPath}) serves ${dataDir}: stop it first (sudo systemctl stop cofferd, or Ctrl-C), then restore; nothing was written`);
    }
  } finally {
    client.close();
  }
}

function sameDir(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}
