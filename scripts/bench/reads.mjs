// Reads: services.unencrypted.get and services.encrypted.get of a cached 1 KiB value, serial and
// 50 connections. After the first call the file is in memory, so this is the protocol, the
// session lookup and (encrypted) one XChaCha20-Poly1305 open plus JSON parse per call.
import { ops, startServiceDaemon } from './coffer-ops.mjs';
import { measureSideBySide } from './load.mjs';
import { ratio } from './stats.mjs';
import { fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'reads';
export const title = 'Reads of a cached 1 KiB value';

export async function run(ctx) {
  const d = await startServiceDaemon(ctx, { label: 'cofferd' });
  const cases = [];
  for (const n of [1, 50]) {
    const shape = n === 1 ? 'serial' : `${n} conns`;
    const connections = await d.pool(n);
    cases.push(
      { key: `status${n}`, label: `daemon.status, ${shape}`, connections, clients: n, op: ops.status, pid: d.daemon.pid },
      { key: `unencrypted${n}`, label: `unencrypted.get, ${shape}`, connections, clients: n, op: ops.unencryptedGet('main'), pid: d.daemon.pid },
      { key: `encrypted${n}`, label: `encrypted.get, ${shape}`, connections, clients: n, op: ops.encryptedGet(d.main), pid: d.daemon.pid },
    );
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const ratios = {};
  const rows = [];
  for (const n of [1, 50]) {
    ratios[`unencryptedVsStatus${n}`] = ratio(r[`unencrypted${n}`].rps, r[`status${n}`].rps);
    ratios[`encryptedVsUnencrypted${n}`] = ratio(r[`encrypted${n}`].rps, r[`unencrypted${n}`].rps);
    rows.push(
      loadRow(r[`status${n}`]),
      loadRow(r[`unencrypted${n}`], { ratio: fmtRatio(ratios[`unencryptedVsStatus${n}`], 'status') }),
      loadRow(r[`encrypted${n}`], { ratio: fmtRatio(ratios[`encryptedVsUnencrypted${n}`], 'unencrypted') }),
    );
  }
  return {
    results: { ...r, ratios },
    table: { title, columns: LOAD_COLUMNS, rows, notes: ['daemon.status is the floor for a call on this daemon.'] },
  };
}
