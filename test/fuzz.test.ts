import { spawn } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repoRoot, startDaemon } from './helpers/daemon.js';

// The short fuzz run inside npm test: the same generator and checks as `npm run fuzz`
// (scripts/fuzz.mjs), a few thousand frames, against a daemon run under coverage (so the error
// paths it reaches count in coverage).

t.setTimeout(240_000);

interface FuzzSummary {
  ok: boolean;
  frames: number;
  answers: number;
  internal: number;
  malformed: number;
  stuck: number;
  alive: boolean;
  storedFiles: number;
  changed: string[];
  reasons: Record<string, number>;
  reconnects: number;
}

function runFuzz(args: string[]): Promise<{ code: number | null; summary: FuzzSummary; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts/fuzz.mjs'), ...args, '--json'], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      try {
        resolve({ code, summary: JSON.parse(stdout.trim().split('\n').pop()!) as FuzzSummary, stderr });
      } catch {
        reject(new Error(`fuzz printed no summary (exit ${code}):\n${stderr.slice(-3000)}`));
      }
    });
  });
}

t.test('fuzz frames: every answer well-formed, no internal error, daemon alive, stored bytes unchanged', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-frame-bytes', '1048576', '--max-answer-bytes', '4194304'] });
  const { code, summary, stderr } = await runFuzz([
    '--socket', daemon.socketPath,
    '--data-dir', daemon.dataDir,
    '--pid', String(daemon.pid),
    '--max-frame-bytes', '1048576',
    '--frames', '3000',
    '--connections', '8',
    '--seed', '7',
    '--rare-every', '100',
    '--settle-s', '0',
  ]);
  t.equal(code, 0, stderr.slice(-2000));
  t.ok(summary.ok);
  t.equal(summary.frames, 3000);
  t.ok(summary.answers > 2000, `${summary.answers} answers checked`);
  t.same([summary.internal, summary.malformed, summary.stuck], [0, 0, 0]);
  t.ok(summary.alive, 'the daemon still answers');
  t.ok(summary.storedFiles >= 4, 'users, services, a document and an annotation were stored');
  t.same(summary.changed, [], 'no stored byte changed');
  // The generator reached the refusals it is meant to reach.
  for (const reason of ['PARSE_ERROR', 'INVALID_REQUEST', 'INVALID_PARAMS', 'METHOD_NOT_FOUND', 'TOO_LARGE']) {
    t.ok((summary.reasons[reason] ?? 0) > 0, `${reason} seen`);
  }
  t.ok(summary.reconnects > 0, 'frames over the limit closed connections, and the fuzzer reconnected');
});
