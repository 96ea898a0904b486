import { spawnSync } from 'node:child_process';

/**
 * Which python the Python-side tests use: $COFFER_PYTHON if set, else Debian's /usr/bin/python3 (where
 * `apt-get install python3-flask` puts Flask, and what .ci/run installs into), else `python3` on PATH
 * (on a developer machine that may be a pyenv build without Flask). The first that is 3.9+ and can
 * import every module asked for wins.
 */
export function findPython(modules: readonly string[] = []): string | undefined {
  const candidates = [process.env['COFFER_PYTHON'], '/usr/bin/python3', 'python3'].filter(
    (c): c is string => typeof c === 'string' && c.length > 0,
  );
  const probe = ['import sys', 'assert sys.version_info >= (3, 9)', ...modules.map((m) => `import ${m}`)].join('\n');
  return candidates.find((cmd) => spawnSync(cmd, ['-c', probe], { stdio: 'ignore' }).status === 0);
}

/** CI must run these tests, never skip them: there a missing interpreter or module is a failure. */
export const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';

export const FLASK_HINT = 'apt-get install -y python3-flask (.ci/run does it)';
