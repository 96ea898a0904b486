// Durable writes: services.encrypted.update of a new 1 KiB value, to one user's file by 1, 8 and
// 64 concurrent clients (each on its own connection), and spread over 100 users' files; on a
// daemon with group commit (the default) and one with --no-group-commit, side by side. Every
// answer means the data is on disk (fsync of the file and of its directory). Mutations per commit
// come from daemon.status `writes.committed` read around each round.
import { ops, startServiceDaemon } from './coffer-ops.mjs';
import { measureSideBySide } from './load.mjs';
import { ratio } from './stats.mjs';
import { fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'writes';
export const title = 'Durable writes: services.encrypted.update, group commit on vs off';

export async function run(ctx) {
  const files = ctx.settings.files;
  const modes = [
    ['grouped', await startServiceDaemon(ctx, { files, label: 'grouped cofferd' })],
    ['ungrouped', await startServiceDaemon(ctx, { files, args: ['--no-group-commit'], label: 'ungrouped cofferd' })],
  ];
  const shapes = [
    ['one', 1],
    ['one', 8],
    ['one', 64],
    ['spread', 1],
    ['spread', 64],
  ];
  const cases = [];
  for (const [target, clients] of shapes) {
    for (const [mode, d] of modes) {
      const where = target === 'one' ? '1 file' : `${files} files`;
      cases.push({
        key: `${mode}_${target}_${clients}`,
        label: `${mode}, ${where}, ${clients} client${clients > 1 ? 's' : ''}`,
        connections: await d.pool(clients),
        clients,
        op: target === 'one' ? ops.encryptedUpdate(d.main) : ops.encryptedUpdateSpread(d.fileSessions),
        pid: d.daemon.pid,
        counters: d.counters,
      });
    }
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const ratios = {};
  const rows = [];
  for (const c of cases) {
    const result = r[c.key];
    result.mutationsPerCommit = result.counters.commits ? result.ops / result.counters.commits : null;
    let shown = '';
    if (c.key.startsWith('grouped_')) {
      const key = c.key.replace('grouped_', '');
      ratios[`groupedVsUngrouped_${key}`] = ratio(result.rps, r[`ungrouped_${key}`].rps);
      shown = fmtRatio(ratios[`groupedVsUngrouped_${key}`], 'ungrouped');
    }
    const muts = result.mutationsPerCommit;
    rows.push(loadRow(result, { ratio: shown, note: muts ? `${muts.toFixed(1)} muts/commit` : '' }));
  }
  return {
    results: { files, ...r, ratios },
    table: {
      title,
      columns: LOAD_COLUMNS,
      rows,
      notes: [
        'A commit is one durable replace: temp file, write, fsync, rename, fsync of the directory.',
        `"${files} files": call i goes to user i mod ${files}, each user its own file.`,
      ],
    },
  };
}
