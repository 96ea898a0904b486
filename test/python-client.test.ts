import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot, tempDir } from './helpers/daemon.js';
import { findPython, inCI } from './helpers/python.js';
import { runPythonGroup } from './helpers/python-suite.js';

// The Python client's own tests (transport, vocabulary, errors, socket lookup); the web
// integrations run in python-web.test.ts, beside this one (test/helpers/python-suite.ts).
t.setTimeout(240_000);
runPythonGroup(t, 'client', 40);

const packager = findPython(['venv', 'ensurepip', 'setuptools', 'wheel']);
const PACKAGING_HINT = 'apt-get install -y python3-venv python3-setuptools python3-wheel (.ci/run does it)';

if (!packager) {
  if (inCI) t.fail(`no python with venv, setuptools and wheel to check the package: ${PACKAGING_HINT}`);
  else t.test('pip install ./client/python', { skip: PACKAGING_HINT }, () => undefined);
} else {
  t.test('pip install ./client/python works offline in a fresh venv', async (t) => {
    const dir = tempDir(t, 'coffer-pip-');
    // A copy: pip builds in-tree and would leave build/ and *.egg-info in the checkout.
    const source = path.join(dir, 'src');
    cpSync(path.join(repoRoot, 'client/python'), source, { recursive: true, filter: (p) => !/__pycache__|\/tests$|\/build$|egg-info/.test(p) });
    const venv = path.join(dir, 'venv');
    const step = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'], PIP_NO_INDEX: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
      t.equal(r.status, 0, `${path.basename(cmd)} ${args.join(' ')}`, r.status === 0 ? {} : { output: r.stdout + r.stderr });
      return r.stdout.trim();
    };
    // The documented offline command (README): the venv sees Debian's setuptools and wheel.
    step(packager, ['-m', 'venv', '--system-site-packages', venv]);
    step(path.join(venv, 'bin/pip'), ['install', '--no-build-isolation', '--quiet', source]);
    const where = step(path.join(venv, 'bin/python'), ['-c', 'import coffer_client; print(coffer_client.__file__, coffer_client.CofferClient.__name__)']);
    t.match(where, new RegExp(`^${venv}/lib/python3\\.\\d+/site-packages/coffer_client/__init__\\.py CofferClient$`), 'installed into the venv');
  });
}
