#!/usr/bin/env node
// Prints the hottest functions of a V8 .cpuprofile (from `npm run bench -- --profile <dir>`, which
// runs every cofferd under --cpu-prof): self time and inclusive time per function, so a hot path
// can be found without a browser. Usage: node scripts/profile-top.mjs <file.cpuprofile> [count]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [file, countArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node scripts/profile-top.mjs <file.cpuprofile> [count]\n');
  process.exit(3);
}
const count = Number(countArg ?? 30);
// Piped into `head`: stop quietly when the reader goes away.
process.stdout.on('error', () => process.exit(0));
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

// Time per sample: timeDeltas are µs between consecutive samples.
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const nameOf = (node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map();
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const name = nameOf(byId.get(id));
  self.set(name, (self.get(name) ?? 0) + us);
  // Count each function once per sample, even when it recurses.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const n = nameOf(byId.get(at));
    if (seen.has(n)) continue;
    seen.add(n);
    inclusive.set(n, (inclusive.get(n) ?? 0) + us);
  }
}
const show = (title, map) => {
  process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)\n`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}\n`);
  }
};
show('self time', self);
show('inclusive time', inclusive);
