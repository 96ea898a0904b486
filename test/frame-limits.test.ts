import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { RawConnection } from './helpers/raw-socket.js';

t.setTimeout(120_000);

const status = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'daemon.status', params: {} });

t.test('bad input gets the right error and the daemon keeps serving', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-frame-bytes', '4096'] });
  const bystander = await RawConnection.open(daemon.socketPath);
  const conn = await RawConnection.open(daemon.socketPath);

  await t.test('not JSON: -32700, the connection stays open', async (t) => {
    await conn.write('this is {not json\n');
    const reply = await conn.next();
    t.same(reply.id, null);
    t.equal(reply.error.code, -32700);
    t.equal(reply.error.data.reason, 'PARSE_ERROR');
    t.equal((await conn.request(status(1))).id, 1, 'same connection still answers');
  });

  await t.test('a request without "jsonrpc": -32600 with its id', async (t) => {
    const reply = await conn.request({ id: 7, method: 'daemon.status' });
    t.equal(reply.id, 7);
    t.equal(reply.error.code, -32600);
    t.equal(reply.error.data.reason, 'INVALID_REQUEST');
  });

  await t.test('odd envelopes: object id, numeric params, non-object message', async (t) => {
    const objectId = await conn.request({ jsonrpc: '2.0', id: { x: 1 }, method: 'daemon.status' });
    t.same([objectId.id, objectId.error.code], [null, -32600]);
    const numParams = await conn.request({ jsonrpc: '2.0', id: 8, method: 'daemon.status', params: 5 });
    t.same([numParams.id, numParams.error.code], [8, -32600]);
    const arrayParams = await conn.request({ jsonrpc: '2.0', id: 9, method: 'daemon.status', params: [] });
    t.same([arrayParams.id, arrayParams.error.code], [9, -32602]);
    const scalar = await conn.request(42);
    t.equal(scalar.error.code, -32600);
  });

  await t.test('unknown method: -32601', async (t) => {
    const reply = await conn.request({ jsonrpc: '2.0', id: 'u', method: 'users.frobnicate', params: {} });
    t.equal(reply.id, 'u');
    t.equal(reply.error.code, -32601);
    t.equal(reply.error.data.reason, 'METHOD_NOT_FOUND');
    t.match(reply.error.message, /rpc\.discover/);
  });

  await t.test('wrong param types and unknown params: -32602 naming the member', async (t) => {
    const reply = await conn.request({ jsonrpc: '2.0', id: 3, method: 'daemon.status', params: { verbose: true } });
    t.equal(reply.error.code, -32602);
    t.equal(reply.error.data.reason, 'INVALID_PARAMS');
    t.match(reply.error.message, /params\.verbose/);
  });

  await t.test('batches: mixed results in one array, notifications unanswered, edge cases', async (t) => {
    const reply = await conn.request([
      status(1),
      { jsonrpc: '2.0', method: 'daemon.status' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      null,
    ]);
    t.ok(Array.isArray(reply));
    t.equal(reply.length, 3, 'the notification gets no entry');
    t.same(reply.map((r: any) => r.error?.code ?? 'ok').sort(), [-32601, -32600, 'ok'].sort());
    const single = await conn.request([status('only')]);
    t.ok(Array.isArray(single), 'a one-element batch is answered with an array');
    t.equal(single[0].id, 'only');
    const empty = await conn.request([]);
    t.equal(empty.error.code, -32600);
    await conn.send([{ jsonrpc: '2.0', method: 'daemon.status' }]);
    t.equal((await conn.request(status('after'))).id, 'after', 'an all-notification batch gets no reply');
  });

  await t.test('deep nesting is an error, not a crash', async (t) => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const reply = await conn.request(JSON.parse(`{"jsonrpc":"2.0","id":"d","method":"daemon.status","params":{"x":${deep(100)}}}`));
    t.same([reply.id, reply.error.code], ['d', -32602]);
    t.match(reply.error.message, /deeper than 64/);
  });

  await t.test('a frame split across many writes is reassembled', async (t) => {
    const frame = JSON.stringify(status('split')) + '\n';
    for (const ch of frame) await conn.write(ch);
    t.equal((await conn.next()).id, 'split');
    // two frames in one write, and a frame whose end arrives with the start of the next
    await conn.write(JSON.stringify(status('a')) + '\n' + JSON.stringify(status('b')).slice(0, 10));
    await conn.write(JSON.stringify(status('b')).slice(10) + '\n');
    const ids = [(await conn.next()).id, (await conn.next()).id].sort();
    t.same(ids, ['a', 'b']);
  });

  await t.test('a frame over the limit: TOO_LARGE, then the connection closes', async (t) => {
    const victim = await RawConnection.open(daemon.socketPath);
    await victim.write('{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"pad":"' + 'x'.repeat(5000));
    const reply = await victim.next();
    t.same(reply.id, null);
    t.equal(reply.error.code, 1030);
    t.equal(reply.error.data.reason, 'TOO_LARGE');
    t.equal(reply.error.data.limit, 4096);
    t.match(reply.error.message, /limit of 4096 bytes \(cofferd --max-frame-bytes, COFFER_MAX_FRAME_BYTES\)/, 'the message names the option');
    await victim.closed;
    t.ok(victim.isClosed);
  });

  await t.test('a large but legal frame in many chunks works', async (t) => {
    const big = JSON.stringify({ ...status('big'), params: {} }).replace('"params":{}', '"params":{}' + ' '.repeat(3000));
    await conn.write(big.slice(0, 1000));
    await conn.write(big.slice(1000) + '\n');
    t.equal((await conn.next()).id, 'big');
  });

  // The bystander connection never noticed any of it.
  t.equal((await bystander.request(status('still'))).result.pid, daemon.pid);
  conn.close();
  bystander.close();
});

t.test('a frame too deep to parse safely is refused without parsing', async (t) => {
  const daemon = await startDaemon(t);
  const conn = await RawConnection.open(daemon.socketPath);
  t.teardown(() => conn.close());
  const n = 200_000;
  await conn.write(`{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"x":${'['.repeat(n)}${']'.repeat(n)}}}\n`);
  const reply = await conn.next();
  t.equal(reply.error.code, -32602);
  t.equal((await conn.request(status(2))).id, 2);
});
