import t from 'tap';
import { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { RawConnection } from './helpers/raw-socket.js';

t.setTimeout(120_000);

t.test('200 concurrent calls over 10 connections are all answered correctly', async (t) => {
  const daemon = await startDaemon(t);
  const clients = await Promise.all(Array.from({ length: 10 }, () => daemon.client()));
  const calls = Array.from({ length: 200 }, (_, i) => {
    const client = clients[i % clients.length]!;
    return i % 2 === 0 ? client.call('daemon.status', {}) : client.call('rpc.discover', {});
  });
  const results = await Promise.all(calls);
  t.equal(results.length, 200);
  results.forEach((result, i) => {
    if (i % 2 === 0) t.equal((result as { pid: number }).pid, daemon.pid);
    else t.equal((result as { openrpc: string }).openrpc, '1.2.6');
  });
  const status = await clients[0]!.call('daemon.status', {});
  t.equal(status.connections, 10);
});

t.test('answers may come out of order and are matched by id', async (t) => {
  const daemon = await startDaemon(t);
  const conn = await RawConnection.open(daemon.socketPath);
  t.teardown(() => conn.close());
  const ids = Array.from({ length: 50 }, (_, i) => `r${i}`);
  await conn.write(
    ids
      .map((id, i) => JSON.stringify({ jsonrpc: '2.0', id, method: i % 3 ? 'daemon.status' : 'rpc.discover' }) + '\n')
      .join(''),
  );
  const got = [];
  for (const _ of ids) got.push((await conn.next()).id);
  t.same(got.sort(), [...ids].sort(), 'every id answered exactly once');
});

t.test('the client sends a batch and gets each outcome', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  const outcomes = await client.batch([
    { method: 'daemon.status', params: {} },
    { method: 'rpc.discover', params: {} },
    { method: 'daemon.status', params: { bogus: 1 } as never },
  ]);
  t.equal(outcomes.length, 3);
  t.ok(outcomes[0]!.ok);
  t.ok(outcomes[1]!.ok);
  t.notOk(outcomes[2]!.ok);
  if (!outcomes[2]!.ok) t.equal(outcomes[2]!.error.reason, 'INVALID_PARAMS');
});

t.test('batches in flight together on one client each get their own answers', async (t) => {
  // Batch ids were `b<Date.now()>-<i>`: two batches sent in the same millisecond shared ids, one got
  // the other's answers and the other never settled, not even at its timeout (found by memory-relief).
  const daemon = await startDaemon(t);
  const client = await daemon.client({ timeoutMs: 10_000 });
  await client.call('users.create', { username: 'batcher' });
  const services = Array.from({ length: 20 }, (_, i) => `svc${i}`);
  for (const [i, service] of services.entries()) await client.call('services.unencrypted.set', { username: 'batcher', service, data: { n: i } });
  const batches = await Promise.all(
    services.map((service) =>
      client.batch([
        { method: 'services.unencrypted.get', params: { username: 'batcher', service } },
        { method: 'services.unencrypted.get', params: { username: 'batcher', service } },
      ]),
    ),
  );
  const got = batches.map((outcomes) => outcomes.map((o) => (o.ok ? (o.result as { data: { n: number } }).data.n : o.error.reason)));
  t.same(got, services.map((_, i) => [i, i]), 'every batch settled with its own two answers');
});

t.test('the client refuses a frame over its limit before sending it', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client({ maxFrameBytes: 1024 });
  await rejectsWith(t, client.call('daemon.status', { pad: 'x'.repeat(2000) } as never), 'TOO_LARGE', /limit of 1024 bytes \(the client's maxFrameBytes option/);
  t.equal((await client.call('daemon.status', {})).pid, daemon.pid, 'the connection is still usable');
});

t.test('CofferClient.connect to nothing: UNAVAILABLE with a hint', async (t) => {
  await rejectsWith(t, CofferClient.connect({ socketPath: '/tmp/no-such-coffer.sock' }), 'UNAVAILABLE', /no-such-coffer\.sock \(ENOENT\).*npx cofferd/);
});
