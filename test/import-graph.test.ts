import path from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/daemon.js';

interface Graph {
  edges: Map<string, string[]>;
  mutual: Array<{ pair: [string, string] }>;
  cycles: string[][];
}

/**
 * The daemon's layers as docs/ARCHITECTURE.md draws them ("Parts and arrows"): for each folder of
 * daemon/src, the folders it may import. Everything flows one way, down this list read from the
 * bottom; the root files (app.ts, main.ts, server.ts, connection.ts…) wire the parts and may import
 * any of them, and nothing imports them. A new folder must be placed here.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  os: [],
  disk: [],
  crypto: ['os'],
  base: ['crypto'],
  specter: ['crypto', 'disk'],
  port: ['crypto', 'disk'],
  files: ['base', 'disk', 'port'],
  postgres: ['base', 'port'],
  store: ['base', 'crypto', 'disk', 'port', 'specter'],
  keyring: ['base', 'crypto', 'disk', 'port', 'specter', 'store'],
  'layout/coffer': ['crypto', 'disk', 'files', 'port', 'specter'],
  'layout/specter': ['crypto', 'disk', 'files', 'port', 'specter'],
  layout: ['base', 'disk', 'keyring', 'port', 'layout/coffer', 'layout/specter'],
  ops: ['crypto', 'disk', 'port', 'specter'],
  watch: ['base', 'port', 'store'],
  access: ['base', 'keyring', 'os'],
  rpc: ['access', 'base', 'crypto', 'disk', 'keyring', 'ops', 'port', 'store', 'watch'],
};

t.test('the daemon folders import one way, as docs/ARCHITECTURE.md draws them', async (t) => {
  const script = path.join(repoRoot, 'scripts/import-graph.mjs');
  const { importGraph } = (await import(script)) as { importGraph: (root: string) => Graph };
  const { edges, mutual, cycles } = importGraph(path.join(repoRoot, 'daemon/src'));
  t.ok(edges.size > 30, `the graph was read (${edges.size} edges)`);
  t.same(mutual.map(({ pair }) => pair.join(' <-> ')), [], 'no pair of folders imports each other (node scripts/import-graph.mjs shows the imports)');
  t.same(cycles, [], 'no longer cycle either');
  const outOfPlace: string[] = [];
  for (const [key, imports] of edges) {
    const [from, to] = key.split(' -> ') as [string, string];
    if (from === '.') continue;
    const allowed = MAY_IMPORT[from];
    if (allowed === undefined) outOfPlace.push(`${from}/ is a new folder: give it a place in MAY_IMPORT and docs/ARCHITECTURE.md`);
    else if (!allowed.includes(to)) outOfPlace.push(`${key}: ${imports.join(', ')}`);
  }
  t.same(outOfPlace, [], 'every import goes down the layers');
});
