import { readFileSync } from 'node:fs';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';

t.setTimeout(180_000);

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

/**
 * After a burst of big answers the daemon hands the memory back once it is idle (memory-relief.ts):
 * a full collection and malloc_trim, logged with the RSS before and after. Real daemon, real
 * memory, read from /proc.
 */
t.test('after a burst of big answers, an idle daemon hands the memory back', async (t) => {
  // Compiled: a daemon run from source carries the TypeScript compiler (~340 MiB, noisy).
  const daemon = await startDaemon(t, { compiled: true });
  const client = await daemon.client({ timeoutMs: 60_000 });
  const idle = rssMiB(daemon.pid!);
  await client.call('users.create', { username: 'big' });
  await client.call('services.unencrypted.set', { username: 'big', service: 'blob', data: { text: 'x'.repeat(3 * 1024 * 1024) } });
  // Batches of gets: each answer is ~12 MiB of JSON, built, sent, and dropped.
  for (let round = 0; round < 8; round++) {
    const answers = await client.batch(Array.from({ length: 4 }, () => ({ method: 'services.unencrypted.get' as const, params: { username: 'big', service: 'blob' } })));
    t.ok(answers.every((answer) => answer.ok), `round ${round}: four answers of 3 MiB each`);
  }
  const burst = rssMiB(daemon.pid!);
  t.ok(burst > idle + 32, `the burst grew the daemon: ${idle.toFixed(0)} -> ${burst.toFixed(0)} MiB`);

  // Only what comes after the burst counts (a daemon also sheds its start-up debris this way).
  const from = daemon.logs.length;
  const after = () => daemon.logs.slice(from);
  const deadline = Date.now() + 30_000;
  while (!/memory handed back/.test(after()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  const line = after().split('\n').find((l) => l.includes('memory handed back'));
  t.ok(line, 'logged once idle');
  const { rssBeforeMiB, rssAfterMiB, gc, trim } = JSON.parse(line ?? '{}') as { rssBeforeMiB: number; rssAfterMiB: number; gc: boolean; trim: boolean };
  t.ok(gc && trim, 'a full collection and malloc_trim both ran');
  t.ok(rssAfterMiB < rssBeforeMiB - 16, `handed back: ${rssBeforeMiB} -> ${rssAfterMiB} MiB`);
  const now = rssMiB(daemon.pid!);
  t.ok(now < rssBeforeMiB - 16, `and /proc agrees: ${now.toFixed(0)} MiB now`);
  const { data } = await client.call('services.unencrypted.get', { username: 'big', service: 'blob' });
  t.equal(String(data['text']).length, 3 * 1024 * 1024, 'the data is untouched');
});
