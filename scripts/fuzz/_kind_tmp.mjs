import { mkdtempSync } from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { startCofferd } from '../bench/cofferd.mjs';
import { connectUnix } from '../bench/ndjson-client.mjs';
import { frameOf, prng } from './generate.mjs';
import { discoverDocument } from '@coffer/protocol';
const methods = discoverDocument('x').methods;
for (const kind of process.argv.slice(2)) {
  const d = await startCofferd(mkdtempSync(path.join(os.tmpdir(), 'cf-k-')), ['--max-frame-bytes', String(1 << 20)]);
  const r = prng(1); const ctx = { methods, names: ['u0', 'u1'], maxFrameBytes: 1 << 20 };
  const s = await connectUnix(d.socketPath); s.on('data', () => {}); s.on('error', () => {});
  const t0 = performance.now();
  for (let n = 0; n < 2000; n++) { if (!s.write(frameOf(kind, r, ctx, n))) await new Promise((res) => s.once('drain', res)); }
  await new Promise((res) => setTimeout(res, 1500));
  console.log(kind, (performance.now() - t0).toFixed(0), 'ms', JSON.stringify(d.memory()));
  s.destroy(); await d.stop();
}
