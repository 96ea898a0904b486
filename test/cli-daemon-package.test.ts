import t from 'tap';
import { loadDaemonPackage } from '../client/src/cli/daemon-package.js';
import { Failed } from '../client/src/cli/io.js';

/** restore and migrate load the daemon package when they run: the client library never needs it. */
t.test('the daemon package loads on demand, and its absence is a clear usage error', async (t) => {
  const ops = await loadDaemonPackage('restore', () => import('@coffer/daemon/ops'));
  t.type(ops.restoreBackup, 'function', 'present in the checkout');
  const missing = loadDaemonPackage('restore', () => import(['@coffer', 'not-installed'].join('/')));
  await t.rejects(missing, Failed);
  const error = (await missing.catch((caught: unknown) => caught)) as Failed;
  t.equal(error.code, 3);
  t.match(error.message, /coffer restore runs daemon code, and @coffer\/daemon is not installed/);
  await t.rejects(loadDaemonPackage('restore', () => Promise.reject(new Error('boom'))), /boom/, 'other failures are not hidden');
});
