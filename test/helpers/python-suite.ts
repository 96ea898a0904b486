import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { childEnv, repoRoot, tempDir } from './daemon.js';
import { FLASK_HINT, findPython, inCI } from './python.js';

const TESTS_DIR = path.join(repoRoot, 'client/python/tests');

/**
 * The Python suite (client/python/tests) is run by two tap files so that tap can run them side by
 * side: the client itself, and the web integrations (the Flask example and the Specter ones, a
 * daemon and a Flask process per test). Every test module belongs to exactly one group: a new
 * module must be added to one, or both files fail.
 */
export const PYTHON_GROUPS = {
  client: ['test_errors.py', 'test_socket_lookup.py', 'test_transport.py', 'test_vocabulary.py'],
  web: ['test_flask_app.py', 'test_specter_durable.py', 'test_specter_install.py', 'test_specter_restart.py', 'test_specter_semantics.py'],
} as const;

interface PyRecord {
  id: string;
  outcome: 'pass' | 'fail' | 'skip';
  details: string;
  seconds?: number;
}

/**
 * Runs one group of the Python client's unittest suite against the compiled cofferd and reports
 * each Python test as one tap assertion. The tests start and restart their own daemons (they test
 * reconnecting), so they only need node, the repo and a python.
 */
export function runPythonGroup(t: Test, group: keyof typeof PYTHON_GROUPS, minTests: number): void {
  const modules = readdirSync(TESTS_DIR).filter((f) => /^test_.*\.py$/.test(f)).sort();
  const grouped = Object.values(PYTHON_GROUPS).flat().sort();
  t.same(grouped, modules, 'every Python test module is in exactly one group (test/helpers/python-suite.ts)');

  const withFlask = findPython(['flask']);
  const python = withFlask ?? findPython();
  if (!python || (!withFlask && inCI)) {
    t.fail(`no python 3.9+${python ? ' with Flask' : ''} for the Python client tests: ${FLASK_HINT}`);
    return;
  }
  t.test(`the Python tests of the ${group} (${python}${withFlask ? '' : ', without Flask: its tests skip'})`, async (t) => {
    const results = path.join(tempDir(t, 'coffer-pyrun-'), 'results.json');
    // Without tap's coverage hooks (childEnv(..., false)): they would load into every daemon the suite
    // starts and double its start time; these daemons are for behaviour, the in-process tests measure coverage.
    const env = childEnv(
      { COFFER_NODE: process.execPath, COFFER_REPO: repoRoot, COFFER_REQUIRE_FLASK: withFlask ? '1' : '0', PYTHONDONTWRITEBYTECODE: '1' },
      false,
    );
    const args = [path.join(TESTS_DIR, 'run.py'), '--json', results, ...PYTHON_GROUPS[group]];
    const child = spawn(python, args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    const ran = new Set(records.map((r) => `${r.id.split('.')[0]}.py`));
    t.same([...ran].sort(), [...PYTHON_GROUPS[group]], `every module of the group ran (${records.length} tests)`);
    t.ok(records.length >= minTests, `at least ${minTests} tests ran (${records.length})`);
    t.equal(code, 0, 'the Python tests passed', code === 0 ? {} : { report: report.slice(-20_000) });
  });
}
