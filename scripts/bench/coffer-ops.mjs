// The cofferd calls the sections measure, and the daemon they measure them on: a user whose
// session reads and writes one encrypted service, plus `files` more users, one file each.
import { startCofferd } from './cofferd.mjs';
import { createUnlockedUsers, LOW_KDF, PASSWORD, userNames, value1KiB } from './fixtures.mjs';
import { openConnections } from './ndjson-client.mjs';

export const SERVICE = 'bench';

/**
 * Starts cofferd (extra `args`), creates user `main` (password, unlocked) and `files` users
 * `f00000…`, and stores a 1 KiB value in `main`'s encrypted and unencrypted service `bench`.
 * Resolves with the daemon, a control connection, and the sessions.
 */
export async function startServiceDaemon(ctx, { args = [], files = 0, label = 'cofferd', daemonMain } = {}) {
  const daemon = await startCofferd(ctx.tempDir(), [...LOW_KDF, ...args], { main: daemonMain });
  ctx.defer(() => daemon.stop());
  const setup = await openConnections(daemon.socketPath, 4);
  ctx.defer(() => setup.forEach((c) => c.close()));
  const [main] = await createUnlockedUsers(setup, ['main'], ctx.progress, `${label} main user`);
  const fileSessions = await createUnlockedUsers(setup, userNames('f', files), ctx.progress, `${label} users for ${files} files`);
  await setup[0].call('services.encrypted.set', { session: main, service: SERVICE, data: value1KiB('enc') });
  await setup[0].call('services.unencrypted.set', { username: 'main', service: SERVICE, data: value1KiB('plain') });
  return {
    daemon,
    control: setup[0],
    main,
    fileSessions,
    /** For measureSideBySide: durable writes (commits) so far. */
    counters: async () => ({ commits: (await setup[0].call('daemon.status', {})).writes.committed }),
    pool: async (n) => {
      const conns = await openConnections(daemon.socketPath, n);
      ctx.defer(() => conns.forEach((c) => c.close()));
      return conns;
    },
  };
}

export const ops = {
  status: (conn) => conn.call('daemon.status', {}),
  encryptedGet: (session) => (conn) => conn.call('services.encrypted.get', { session, service: SERVICE }),
  unencryptedGet: (username) => (conn) => conn.call('services.unencrypted.get', { username, service: SERVICE }),
  /** Each call writes a new 1 KiB value (tagged with caller and sequence) to service `bench`. */
  encryptedUpdate: (session) => (conn, k, seq) =>
    conn.call('services.encrypted.update', { session, service: SERVICE, patch: value1KiB(`${k}-${seq}`) }),
  /** The same, spread over many users' files: call i goes to file i mod n (in issue order). */
  encryptedUpdateSpread: (sessions) => {
    let i = 0;
    return (conn, k, seq) =>
      conn.call('services.encrypted.update', { session: sessions[i++ % sessions.length], service: SERVICE, patch: value1KiB(`${k}-${seq}`) });
  },
};

export { PASSWORD };
