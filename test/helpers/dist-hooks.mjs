// Module hooks (registered by dist-loader.mjs): a test that imports our packages' sources
// (`../daemon/src/x.js`, or `@coffer/protocol` under the `coffer:source` condition) gets their tsc
// output instead: `protocol|daemon|client/src/<m>.ts` resolves to `.../dist/<m>.js`. tap's
// TypeScript loader then transpiles only the test files, not the whole tree again in each of ~90
// test processes, and the source maps in dist/ keep coverage reported on the sources. A dist file
// older than its source is refused: it would test code that is not in the tree.
import { statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE = /^(.*)\/(protocol|daemon|client)\/src\/(.*)\.ts$/;
const checked = new Map();

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith('file:')) return resolved;
  const file = fileURLToPath(resolved.url);
  const m = SOURCE.exec(file);
  if (!m) return resolved;
  const built = `${m[1]}/${m[2]}/dist/${m[3]}.js`;
  if (!checked.has(file)) {
    const src = statSync(file).mtimeMs;
    const out = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
    checked.set(file, out !== undefined && out >= src);
  }
  if (!checked.get(file)) {
    throw new Error(`${m[2]}/dist is older than ${m[2]}/src/${m[3]}.ts (or missing): run \`npm run build\` (npm test does it for you)`);
  }
  return { ...resolved, url: pathToFileURL(built).href, format: 'module' };
}
