#!/usr/bin/env node
// The daemon's folder-level import graph (Coffer issue 15, docs/ARCHITECTURE.md): which folder of
// daemon/src imports which, and the pairs that import each other (a cycle between two parts).
//   node scripts/import-graph.mjs            every edge with its import count, then the mutual pairs
//   node scripts/import-graph.mjs --json     the same as JSON ({ edges, mutual, cycles })
// Relative imports only (`from './x.js'`, `import('./x.js')`); type-only imports count too, since
// they tie the parts together just the same.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

/** { edges: Map<"a -> b", string[]>, mutual: Array<{ pair: [a, b], ab: string[], ba: string[] }> } */
export function importGraph(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
  };
  walk(root);
  const folderOf = (file) => path.relative(root, path.dirname(file)) || '.';
  const edges = new Map();
  for (const file of files) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const from = folderOf(file);
      const to = folderOf(path.resolve(path.dirname(file), spec));
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      edges.set(key, [...(edges.get(key) ?? []), `${path.relative(root, file)} -> ${spec}`]);
    }
  }
  const mutual = [];
  for (const [key, ab] of edges) {
    const [a, b] = key.split(' -> ');
    const ba = edges.get(`${b} -> ${a}`);
    if (ba && a < b) mutual.push({ pair: [a, b], ab, ba });
  }
  return { edges, mutual, cycles: cyclesOf(edges) };
}

/** Groups of folders that reach each other through imports (strongly connected, two or more). */
function cyclesOf(edges) {
  const next = new Map();
  for (const key of edges.keys()) {
    const [a, b] = key.split(' -> ');
    next.set(a, [...(next.get(a) ?? []), b]);
    if (!next.has(b)) next.set(b, []);
  }
  // Tarjan's algorithm.
  let index = 0;
  const stack = [];
  const info = new Map();
  const groups = [];
  const visit = (v) => {
    info.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of next.get(v)) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).onStack) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).onStack = false;
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of next.keys()) if (!info.has(v)) visit(v);
  return groups;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'daemon', 'src');
  const { edges, mutual, cycles } = importGraph(root);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ edges: Object.fromEntries([...edges].map(([k, v]) => [k, v.length])), mutual: mutual.map((m) => m.pair), cycles }, null, 2));
  } else {
    for (const [key, list] of [...edges].sort()) console.log(`${key}  (${list.length})`);
    console.log(`\n${mutual.length} pairs of folders import each other:`);
    for (const { pair, ab, ba } of mutual) console.log(`  ${pair[0]} <-> ${pair[1]}\n    ${ab.join('\n    ')}\n    --\n    ${ba.join('\n    ')}`);
    console.log(`${cycles.length} groups of folders import each other through others${cycles.map((c) => `\n  ${c.join(', ')}`).join('')}`);
  }
}
