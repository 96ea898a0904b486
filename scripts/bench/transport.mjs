// Transport floor: the raw NDJSON echo server vs `daemon.status` on cofferd, 1 connection serial
// and 50 connections, driven by the same lean client with the same request line. status/echo is
// what parsing, dispatch, param checks, the handler and the reply cost over the bare socket.
// The same calls through CofferClient show what the client library adds on top.
import path from 'node:path';
import { CofferClient } from '@coffer/client';
import { startCofferd } from './cofferd.mjs';
import { startEchoServer } from './echo-server.mjs';
import { measureSideBySide } from './load.mjs';
import { NdjsonConnection, openConnections } from './ndjson-client.mjs';
import { ratio } from './stats.mjs';
import { fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'transport';
export const title = 'Transport floor: raw NDJSON echo vs daemon.status';

const status = (conn) => conn.call('daemon.status', {});

export async function run(ctx) {
  const dir = ctx.tempDir();
  const echo = await startEchoServer(path.join(dir, 'echo.sock'));
  ctx.defer(() => echo.stop());
  const daemon = await startCofferd(ctx.tempDir());
  ctx.defer(() => daemon.stop());

  const pool = async (socketPath, n, open) => {
    const conns = await openConnections(socketPath, n, open);
    ctx.defer(() => conns.forEach((c) => c.close()));
    return conns;
  };
  const openClient = (socketPath) => CofferClient.connect({ socketPath });
  const cases = [];
  for (const n of [1, 50]) {
    const shape = n === 1 ? 'serial' : `${n} conns`;
    cases.push(
      { key: `echo${n}`, label: `echo, ${shape}`, connections: await pool(echo.socketPath, n), clients: n, op: status, pid: echo.pid },
      { key: `status${n}`, label: `daemon.status, ${shape}`, connections: await pool(daemon.socketPath, n), clients: n, op: status, pid: daemon.pid },
      {
        key: `client${n}`,
        label: `daemon.status via CofferClient, ${shape}`,
        connections: await pool(daemon.socketPath, n, openClient),
        clients: n,
        op: status,
        pid: daemon.pid,
      },
    );
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const ratios = {
    statusVsEcho1: ratio(r.status1.rps, r.echo1.rps),
    statusVsEcho50: ratio(r.status50.rps, r.echo50.rps),
    clientVsStatus1: ratio(r.client1.rps, r.status1.rps),
    clientVsStatus50: ratio(r.client50.rps, r.status50.rps),
  };
  const rows = [];
  for (const n of [1, 50]) {
    rows.push(
      loadRow(r[`echo${n}`]),
      loadRow(r[`status${n}`], { ratio: fmtRatio(ratios[`statusVsEcho${n}`], 'echo') }),
      loadRow(r[`client${n}`], { ratio: fmtRatio(ratios[`clientVsStatus${n}`], 'lean client') }),
    );
  }
  return {
    results: { ...r, ratios },
    table: {
      title,
      columns: LOAD_COLUMNS,
      rows,
      notes: ['Same request line to both servers; the echo server writes each line straight back.'],
    },
  };
}
