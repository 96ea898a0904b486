import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { childEnv, repoRoot, tempDir } from './helpers/daemon.js';
import { FLASK_HINT, findPython, inCI } from './helpers/python.js';

/**
 * Runs the Python client's unittest suite (client/python/tests) against the compiled cofferd and
 * reports each Python test as one tap assertion. The suite starts and restarts its own daemons (it
 * tests reconnecting), so it only needs node, the repo and a python.
 */
// The Specter integration tests (test_specter_*.py) start a daemon per test and a Flask process: about a minute more.
t.setTimeout(360_000);

interface PyRecord {
  id: string;
  outcome: 'pass' | 'fail' | 'skip';
  details: string;
  seconds?: number;
}

const withFlask = findPython(['flask']);
const python = withFlask ?? findPython();

if (!python || (!withFlask && inCI)) {
  t.fail(`no python 3.9+${python ? ' with Flask' : ''} for the Python client tests: ${FLASK_HINT}`);
} else {
  t.test(`the Python client suite (${python}${withFlask ? '' : ', without Flask: its tests skip'})`, async (t) => {
    const results = path.join(tempDir(t, 'coffer-pyrun-'), 'results.json');
    const script = path.join(repoRoot, 'client/python/tests/run.py');
    // Without tap's coverage hooks (childEnv(..., false)): they would load into every daemon the suite
    // starts and double its start time; these daemons are for behaviour, the in-process tests measure coverage.
    const env = childEnv(
      { COFFER_NODE: process.execPath, COFFER_REPO: repoRoot, COFFER_REQUIRE_FLASK: withFlask ? '1' : '0', PYTHONDONTWRITEBYTECODE: '1' },
      false,
    );
    const child = spawn(python, [script, '--json', results], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let report = '';
    child.stderr.on('data', (chunk: Buffer) => (report += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));

    let records: PyRecord[] = [];
    try {
      records = (JSON.parse(readFileSync(results, 'utf8')) as { tests: PyRecord[] }).tests;
    } catch {
      t.fail(`the Python suite wrote no results (exit ${code}):\n${report}`);
    }
    for (const r of records) {
      if (r.outcome === 'skip') t.pass(r.id, { skip: r.details });
      else t.ok(r.outcome === 'pass', r.id, r.outcome === 'fail' ? { diagnostic: true, details: r.details } : {});
    }
    t.ok(records.length >= 40, `the whole suite ran (${records.length} tests)`);
    t.equal(code, 0, 'the Python suite passed', code === 0 ? {} : { report: report.slice(-20_000) });
  });
}

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
