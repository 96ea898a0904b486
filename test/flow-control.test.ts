import net from 'node:net';
import t from 'tap';
import { startDaemon } from './helpers/daemon.js';
import { RawConnection } from './helpers/raw-socket.js';

// Byte budgets, batches, idle connections and half-close (Coffer issue 14; DESIGN-NOTES
// "Reliability under abuse"). Every abuse here once crashed or starved the daemon.

t.setTimeout(600_000);

const discover = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'rpc.discover' });
const status = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'daemon.status', params: {} });
const lines = (messages: unknown[]) => messages.map((m) => JSON.stringify(m) + '\n').join('');

/** A raw socket that does not read: what it is sent piles up in the daemon. */
function openNonReader(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath, () => {
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads NDJSON lines from `socket` until `count` arrived; resolves with them parsed. */
function readLines(socket: net.Socket, count: number): Promise<any[]> {
  return new Promise((resolve) => {
    const got: any[] = [];
    let carry = '';
    socket.on('data', (chunk: Buffer) => {
      const parts = (carry + chunk.toString('utf8')).split('\n');
      carry = parts.pop()!;
      for (const part of parts) got.push(JSON.parse(part));
      if (got.length >= count) resolve(got);
    });
    socket.resume();
  });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('batches: a batch over --max-batch, and answers over --max-answer-bytes, are TOO_LARGE, never a crash', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-answer-bytes', '200000', '--max-batch', '500'] });
  const conn = await RawConnection.open(daemon.socketPath);
  t.teardown(() => conn.close());

  // The reproduction: one line holding 7 000 rpc.discover.
  const long = await conn.request(Array.from({ length: 7000 }, (_, i) => discover(i)));
  t.equal(long.error.data.reason, 'TOO_LARGE');
  t.equal(long.error.data.limit, 500);
  t.match(long.error.message, /--max-batch/);

  // rpc.discover answers are ~100 KB each: as many as fit in 200 000 bytes are sent, the others are
  // refused one by one with their ids (the count follows the catalogue's size, so it is computed).
  const batch = await conn.request(Array.from({ length: 6 }, (_, i) => discover(i)));
  t.equal(batch.length, 6, 'every request of the batch is answered');
  const ok = batch.filter((r: any) => r.result);
  const refused = batch.filter((r: any) => r.error);
  const answerBytes = Buffer.byteLength(JSON.stringify(ok[0])) + 1;
  t.ok(ok.length >= 1 && answerBytes * ok.length <= 200_000, 'the answers sent fit in --max-answer-bytes');
  t.ok(answerBytes * (ok.length + 1) > 200_000, 'and one more would not have');
  t.same(refused.map((r: any) => r.error.data.reason), Array(6 - ok.length).fill('TOO_LARGE'));
  t.match(refused[0].error.message, /--max-answer-bytes \(200000 bytes\).*smaller batch/);
  t.same([...batch.map((r: any) => r.id)].sort(), [0, 1, 2, 3, 4, 5]);

  // A single answer over the limit is refused with its id.
  const setup = await daemon.client();
  await setup.call('users.create', { username: 'ann' });
  await setup.call('services.unencrypted.set', { username: 'ann', service: 'big', data: { v: 'x'.repeat(300_000) } });
  const single = await conn.request({ jsonrpc: '2.0', id: 'g', method: 'services.unencrypted.get', params: { username: 'ann', service: 'big' } });
  t.equal(single.id, 'g');
  t.equal(single.error.data.reason, 'TOO_LARGE');
  t.notMatch(single.error.message, /smaller batch/, 'a single call is not told about batches');

  // The 8 MB value of the issue, read by a batch: bounded by the answer limit, the daemon lives on.
  const gets = await conn.request(
    Array.from({ length: 70 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'services.unencrypted.get', params: { username: 'ann', service: 'big' } })),
  );
  t.equal(gets.length, 70);
  t.ok(gets.every((r: any) => r.error?.data.reason === 'TOO_LARGE'));
  t.equal((await conn.request(status('alive'))).result.pid, daemon.pid);
});

t.test('a client that never reads is paused at --max-queued-bytes and gets everything once it reads', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-queued-bytes', '200000'] });
  const lazy = await openNonReader(daemon.socketPath);
  t.teardown(() => lazy.destroy());
  const watcher = await daemon.client();
  const count = 400; // 400 x 79 KB = 32 MB of answers if nothing held them back
  lazy.write(lines(Array.from({ length: count }, (_, i) => discover(i))));
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    const { queuedAnswerBytes } = await watcher.call('daemon.status', {});
    peak = Math.max(peak, queuedAnswerBytes);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(peak > 0, `answers queue up (${peak} bytes)`);
  t.ok(peak < 200_000 + 2 * 80_000, `and stop near the soft limit: ${peak} bytes`);
  t.equal((await watcher.call('daemon.status', {})).connections, 2, 'not closed: it is only slow');
  const answers = await readLines(lazy, count);
  t.equal(answers.length, count);
  t.same(new Set(answers.map((a) => a.id)).size, count, 'each request answered once');
  await until(async () => (await watcher.call('daemon.status', {})).queuedAnswerBytes === 0, 'an empty queue');
});

t.test('past --max-queued-bytes-hard the connection is closed with a logged reason', async (t) => {
  // (--idle-timeout 0: never closed for idleness; nothing here waits long enough to tell.)
  const daemon = await startDaemon(t, { args: ['--max-queued-bytes', '100000', '--max-queued-bytes-hard', '150000', '--idle-timeout', '0'] });
  const lazy = await openNonReader(daemon.socketPath);
  const closed = new Promise((resolve) => lazy.once('close', resolve));
  lazy.on('error', () => undefined);
  // Small answers first teach the daemon to expect small ones, so many big ones start at once
  // and their answers pass the hard limit before reading can pause.
  lazy.write(lines([...Array.from({ length: 60 }, (_, i) => status(i)), ...Array.from({ length: 200 }, (_, i) => discover(i))]));
  await until(async () => /client does not read its answers: closing/.test(daemon.logs), 'the logged reason');
  // A paused socket sees the end only once what was sent before it is read.
  lazy.resume();
  await closed;
  t.pass('the daemon closed the connection');
  const client = await daemon.client();
  t.equal((await client.call('daemon.status', {})).queuedAnswerBytes, 0, 'its queue was given back');
});

t.test('over --max-total-queued-bytes clients with a backlog wait, a client that reads is served', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-total-queued-bytes', '300000', '--max-queued-bytes', '1000000'] });
  const lazies = await Promise.all([openNonReader(daemon.socketPath), openNonReader(daemon.socketPath)]);
  t.teardown(() => lazies.forEach((s) => s.destroy()));
  for (const lazy of lazies) lazy.write(lines(Array.from({ length: 100 }, (_, i) => discover(i))));
  const reader = await daemon.client();
  // Answers in flight count in the budget too, so the queue itself fills to somewhat below it.
  await until(async () => (await reader.call('daemon.status', {})).queuedAnswerBytes > 150_000, 'the global budget to fill');
  // Their backlog stays near the budget while a client that reads keeps being answered.
  for (let i = 0; i < 20; i++) await reader.call('rpc.discover', {});
  const { queuedAnswerBytes } = await reader.call('daemon.status', {});
  t.ok(queuedAnswerBytes < 300_000 + 4 * 80_000 + 4 * 16_384, `backlog held near the budget: ${queuedAnswerBytes}`);
  const all = await Promise.all(lazies.map((lazy) => readLines(lazy, 100)));
  t.same(all.map((answers) => answers.length), [100, 100], 'once they read, every answer comes');
});

t.test('a client with one call at a time goes ahead of many connections that keep several calls waiting', async (t) => {
  // The load suite's mix in small (`npm run load`): 80 connections each keep 4 calls outstanding
  // (every answer is followed by a new call), so about 320 frames always wait in the daemon. A
  // client that waits for each answer before asking again must not queue behind them: its call
  // starts with the next turn of the scheduler (8 frames), not after a round of the backlog. The
  // measure is how many of the others' answers arrive while one of its calls is outstanding:
  // counts, not times, so a slow machine does not change it much.
  const daemon = await startDaemon(t);
  const client = await RawConnection.open(daemon.socketPath);
  let othersAnswered = 0;
  let running = true;
  const frame = JSON.stringify(status('busy')) + '\n';
  const busy = await Promise.all(
    Array.from({ length: 80 }, async () => {
      const socket = await openNonReader(daemon.socketPath);
      // Every answer is followed by a new call: 4 outstanding for as long as the test runs.
      socket.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
          othersAnswered++;
          if (running) socket.write(frame);
        }
      });
      socket.write(frame.repeat(4));
      socket.resume();
      return socket;
    }),
  );
  t.teardown(() => {
    busy.forEach((s) => s.destroy());
    client.close();
  });
  // Until the backlog is there.
  while (othersAnswered < 2000) await new Promise((resolve) => setImmediate(resolve));
  const behind: number[] = [];
  for (let i = 0; i < 30; i++) {
    const before = othersAnswered;
    const answer = await client.request(status(`probe${i}`));
    t.equal(answer.id, `probe${i}`);
    behind.push(othersAnswered - before);
  }
  running = false;
  behind.sort((a, b) => a - b);
  // The count is blurred upwards by this process (it reads the 81 sockets in whatever order the
  // kernel reports them, so up to a round of the others' answers can be counted in the same go as
  // the client's): the lower quartile, which that blur cannot lower, is the measure. With the
  // previous scheduler it was about 140 here, a round of the backlog; now about 20.
  const quartile = behind[behind.length >> 2]!;
  t.ok(quartile < 64, `a quarter of its calls waited behind fewer than 64 others' answers: ${quartile} (all: ${behind.join(' ')})`);
});

t.test('--idle-timeout closes silent connections; subscribers stay', async (t) => {
  const daemon = await startDaemon(t, { args: ['--idle-timeout', '1'] });
  const silent = await RawConnection.open(daemon.socketPath);
  const subscriber = await RawConnection.open(daemon.socketPath);
  t.teardown(() => subscriber.close());
  const sub = await subscriber.request({ jsonrpc: '2.0', id: 1, method: 'watch.subscribe', params: { topics: [{ scope: 'users' }] } });
  t.match(sub.result.subscription, /^w/);
  const started = Date.now();
  await silent.closed;
  t.ok(Date.now() - started >= 500, 'not before its time');
  t.match(daemon.logs, /idle for --idle-timeout: closing/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal((await subscriber.request(status(2))).id, 2, 'the subscriber is still connected');
});

t.test('at --max-connections the longest-idle connection makes room; BUSY only when none is idle', async (t) => {
  const daemon = await startDaemon(t, { args: ['--max-connections', '3'] });
  const first = await RawConnection.open(daemon.socketPath);
  const second = await RawConnection.open(daemon.socketPath);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const third = await RawConnection.open(daemon.socketPath);
  // The first-opened one spoke last: the second is now the longest silent.
  t.equal((await first.request(status('hi'))).id, 'hi');
  t.teardown(() => [first, third].forEach((c) => c.close()));
  const fourth = await RawConnection.open(daemon.socketPath);
  t.equal((await fourth.request(status('in'))).id, 'in', 'the newcomer is served');
  await second.closed;
  t.notOk(first.isClosed || third.isClosed, 'only the longest-idle one was closed');

  // Subscribers are never taken for idle: with every place held by one, a newcomer gets BUSY.
  for (const [i, conn] of [first, third, fourth].entries()) {
    await conn.request({ jsonrpc: '2.0', id: i, method: 'watch.subscribe', params: { topics: [{ scope: 'users' }] } });
  }
  const fifth = await RawConnection.open(daemon.socketPath);
  t.equal((await fifth.next()).error.data.reason, 'BUSY');
  fourth.close();
});

t.test('half-close: everything sent before the FIN is answered, then the connection closes', async (t) => {
  const daemon = await startDaemon(t);
  const socket = await new Promise<net.Socket>((resolve) => {
    const s = net.createConnection({ path: daemon.socketPath, allowHalfOpen: true }, () => resolve(s));
  });
  const got = readLines(socket, 3);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  // The last frame has no newline: `printf '{…}' | socat` sends just that, then its FIN.
  socket.end(
    lines([{ jsonrpc: '2.0', id: 1, method: 'users.create', params: { username: 'bob' } }, status(2)]) +
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'users.list', params: {} }),
  );
  const answers = await got;
  await closed;
  t.same(answers.map((a) => a.id).sort(), [1, 2, 3]);
  t.equal(answers.find((a) => a.id === 1).result.username, 'bob');
  const client = await daemon.client();
  t.equal((await client.call('users.list', {})).users.length >= 1, true, 'the write was applied');
});
