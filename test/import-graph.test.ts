import path from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/daemon.js';

interface Graph {
  mutual: Array<{ pair: [string, string] }>;
}

/**
 * A ratchet on the daemon's structure (issue 15, docs/ARCHITECTURE.md): the pairs of folders that
 * import each other today are listed; a new one fails, and one that is gone must leave the list.
 * `node scripts/import-graph.mjs` shows which imports make each pair.
 */
const KNOWN_MUTUAL = [
  '. <-> access',
  '. <-> keyring',
  '. <-> layout',
  '. <-> rpc',
  '. <-> store',
  '. <-> watch',
  'keyring <-> layout',
  'keyring <-> store',
  'layout <-> layout/coffer',
  'layout <-> layout/specter',
  'layout <-> store',
];

t.test('no new pair of daemon folders imports each other', async (t) => {
  const script = path.join(repoRoot, 'scripts/import-graph.mjs');
  const { importGraph } = (await import(script)) as { importGraph: (root: string) => Graph };
  const mutual = importGraph(path.join(repoRoot, 'daemon/src')).mutual.map(({ pair }) => pair.join(' <-> '));
  t.same(mutual.filter((pair) => !KNOWN_MUTUAL.includes(pair)), [], 'new cycles between folders (node scripts/import-graph.mjs shows the imports)');
  t.same(KNOWN_MUTUAL.filter((pair) => !mutual.includes(pair)), [], 'pairs no longer mutual: remove them from KNOWN_MUTUAL');
  t.ok(mutual.length > 0, 'the graph was read');
});
