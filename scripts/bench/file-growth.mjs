// Growth of one file: a user's encrypted services file filled with 16 KiB services from about
// 1 KiB to 1 MiB; at each size, updates of one 1 KiB service. Every commit rewrites the whole file
// (DESIGN §5: temp file, fsync, rename, fsync dir), so this shows what a big file costs per write,
// serially, and with 8 clients at the largest size (group commit shares one rewrite).
import { statSync } from 'node:fs';
import path from 'node:path';
import { ops, startServiceDaemon } from './coffer-ops.mjs';
import { filler } from './fixtures.mjs';
import { measureSideBySide } from './load.mjs';
import { fmtMs, fmtRps } from './table.mjs';

const FILLER_BYTES = 16 * 1024;

export async function runFileGrowth(ctx) {
  const d = await startServiceDaemon(ctx, { label: 'cofferd' });
  const file = path.join(d.daemon.dataDir, 'services', 'main_services.json');
  const maxKiB = ctx.settings.fileGrowthMiB * 1024;
  const sizes = [1, 16, 64, 256, 1024].filter((kib) => kib <= maxKiB);
  let fillers = 0;
  const steps = [];
  const conns = await d.pool(8);
  for (const kib of sizes) {
    while (statSync(file).size < kib * 1024 - FILLER_BYTES / 2) {
      await d.control.call('services.encrypted.set', { session: d.main, service: `filler-${fillers}`, data: filler(FILLER_BYTES, fillers) });
      fillers++;
    }
    const bytes = statSync(file).size;
    ctx.progress.step(`file at ${Math.round(bytes / 1024)} KiB`);
    const cases = [{ key: 'serial', label: `update, ${Math.round(bytes / 1024)} KiB file, 1 client`, connections: conns.slice(0, 1), clients: 1, op: ops.encryptedUpdate(d.main), pid: d.daemon.pid, counters: d.counters }];
    if (kib === sizes[sizes.length - 1]) {
      cases.push({ key: 'eight', label: `update, ${Math.round(bytes / 1024)} KiB file, 8 clients`, connections: conns, clients: 8, op: ops.encryptedUpdate(d.main), pid: d.daemon.pid, counters: d.counters });
    }
    const r = await measureSideBySide(cases, ctx.timing);
    for (const result of Object.values(r)) steps.push({ fileBytes: bytes, ...result, mutationsPerCommit: result.ops / result.counters.commits });
  }
  const rows = steps.map((s) => [
    `${(s.fileBytes / 1024).toFixed(0)} KiB`,
    String(s.clients),
    fmtRps(s.rps),
    fmtMs(s.latencyMs.p50),
    fmtMs(s.latencyMs.p99),
    s.mutationsPerCommit.toFixed(1),
    // Bytes the daemon rewrote per second: commits/s × file size.
    `${((s.counters.commits / s.seconds) * (s.fileBytes / 2 ** 20)).toFixed(1)} MiB/s`,
  ]);
  return {
    results: { steps },
    table: {
      title: 'Growth: one encrypted services file, updates of a 1 KiB service',
      columns: ['file', 'clients', 'req/s', 'p50 ms', 'p99 ms', 'muts/commit', 'rewritten'],
      rows,
      notes: ['Each commit writes the whole file anew; with 8 clients one rewrite carries several updates.'],
    },
  };
}
