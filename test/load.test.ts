import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repoRoot, startDaemon } from './helpers/daemon.js';

// The short load run inside npm test: the mix of `npm run load` (scripts/load.mjs), scaled down,
// against a daemon run under coverage. It checks behaviour only: the well-behaved client and every
// new connection are answered while callers, one-byte-a-second clients and clients that never
// read all run. The p99 ratio is a figure of the full run (RELIABILITY.md), never asserted here.

t.setTimeout(180_000);

t.test('under callers, slow senders and non-readers, a well-behaved client and new connections are served', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-total-queued-bytes', '8388608'] });
  const summary = await new Promise<any>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'scripts/load.mjs'),
        '--socket', daemon.socketPath,
        '--pid', String(daemon.pid),
        '--callers', '100',
        '--caller-connections', '20',
        '--slow', '20',
        '--non-readers', '5',
        '--idle-s', '1',
        '--floor-s', '1',
        '--loaded-s', '3',
        '--settle-s', '0',
        '--json',
      ],
      { cwd: repoRoot },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('close', (code) => {
      try {
        resolve({ code, ...JSON.parse(out.trim().split('\n').pop()!) });
      } catch {
        reject(new Error(`load printed no summary (exit ${code}):\n${err.slice(-3000)}`));
      }
    });
  });
  t.equal(summary.code, 0);
  t.equal(summary.probeErrors, 0, summary.firstError ?? 'no error');
  t.ok(summary.loaded.n > 0 && summary.idle.n > 0, 'the well-behaved client was answered, idle and loaded');
  t.ok(summary.busyCores.n > 0, 'and with every core kept busy (the floor the loaded p99 is compared with)');
  t.ok(summary.newConnections.n > 0, 'new connections were accepted and answered during the load');
  t.equal(summary.callerErrors, 0, 'callers got answers, not errors');
  t.ok(summary.callerCallsPerS > 0);
  t.equal(summary.nonReadersClosed, 0, 'clients that do not read are paused, not closed, under the hard limit');
  t.ok(summary.queuedAnswerBytesDuringLoad <= 8388608 + 5 * 300_000, `the global budget holds: ${summary.queuedAnswerBytesDuringLoad} bytes`);
  t.equal(summary.slowStillOpen, 20, 'slow senders are not idle: they keep their connections');
});
