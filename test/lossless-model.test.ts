import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import {
  CofferError,
  fromPlain,
  mayLoseInPlainParse,
  parseLossless,
  plainExceptData,
  RawJson,
  stringifyLossless,
  type LosslessObject,
} from '@coffer/protocol';
import { CofferClient } from '../client/src/client.js';
import { mergePatch, shallowUpdate } from '../daemon/src/store/merge.js';
import { tempDir } from './helpers/daemon.js';
import { randomJson, rng } from './helpers/specter-random.js';

/**
 * The shared lossless model's pieces (protocol/src/lossless): the screen that lets the daemon use
 * JSON.parse for frames a plain parse cannot change, the encoder of mixed plain/model messages, and
 * the split of a parsed message into a plain envelope and model data.
 */

const exactText = (text: string): string => stringifyLossless(parseLossless(text, { maxDepth: 1000 }));
const viaPlain = (text: string): string => stringifyLossless(fromPlain(JSON.parse(text), 1000));
const screened = (text: string): boolean => mayLoseInPlainParse(Buffer.from(text, 'utf8'));

t.test('the fast-path screen: whatever it lets through, JSON.parse reads exactly', async (t) => {
  for (const text of ['{"a":1.0}', '{"10":1}', '{"\\u0031":1}', '{"0" : 2}', '[12345678901234567]', '1e5', '[-0.5]', '{"a":1E2}', '{"\\n":1}']) {
    t.ok(screened(text), `${text}: may lose`);
  }
  const safe = ['{"s":"1.5e3","k":"abc123e4"}', '{"n":-123456789012345}', '[true,false,null]', '{"10 ":1,"a10":"10"}', '{"":1}', '{"key":"say \\"1.5e3\\" \\\\"}', '{"a":1,"12345678901":2}', '{"a key with an escape \\n in it, longer than any escaped integer key":1}'];
  for (const text of safe) t.notOk(screened(text), `${text}: read exactly by JSON.parse`);
  for (const text of [...safe, '{"a":1.0}', '{"10":1}', '[12345678901234567]']) {
    if (!screened(text)) t.equal(viaPlain(text), exactText(text), `${text}: same both ways`);
  }

  // Random JSON, with the frame shapes of real calls (tokens, digit strings, floats, big ints).
  const random = rng(11);
  let fast = 0;
  let slow = 0;
  for (let i = 0; i < 2000; i++) {
    const value = { session: 'Ab1e9_-x'.repeat(5).slice(0, 43), data: randomJson(random), n: Math.floor(random() * 1e6) };
    const text = JSON.stringify(value);
    if (screened(text)) slow++;
    else {
      fast++;
      if (viaPlain(text) !== exactText(text)) t.fail(`screen let through a frame a plain parse changes: ${text}`);
    }
  }
  t.ok(fast > 100 && slow > 100, `both paths taken (fast ${fast}, slow ${slow})`);
  // And frames that do lose are caught: every case where the two readings differ was screened.
  for (const text of ['{"a":[1.0]}', '{"x":{"2":1,"1":2}}', '[9007199254740993]']) {
    t.not(viaPlain(text), exactText(text), `${text} differs read plainly`);
    t.ok(screened(text), `${text} is screened`);
  }
});

t.test('stringifyLossless: JSON.stringify for plain values, exact for the model', async (t) => {
  const random = rng(5);
  for (let i = 0; i < 300; i++) {
    const value = randomJson(random);
    t.equal(stringifyLossless(value), JSON.stringify(value));
    if (i < 50) t.equal(stringifyLossless(value, { indent: 2 }), JSON.stringify(value, null, 2));
  }
  t.equal(stringifyLossless({ a: undefined, f: () => 1, b: [undefined, NaN, Infinity], c: {} , d: [] }), '{"b":[null,null,null],"c":{},"d":[]}');
  t.equal(stringifyLossless(undefined), 'null', 'a bare undefined: null, never undefined text');
  const model = parseLossless('{"10":1.0,"2":[-0.0,1e-05],"__proto__":{}}');
  t.equal(stringifyLossless({ result: { data: model, raw: new RawJson('{"x": 1.50}') } }), '{"result":{"data":{"10":1.0,"2":[-0.0,1e-05],"__proto__":{}},"raw":{"x": 1.50}}}');
  t.equal(stringifyLossless(model, { indent: 1 }), '{\n "10": 1.0,\n "2": [\n  -0.0,\n  1e-05\n ],\n "__proto__": {}\n}');
  const cycle: unknown[] = [];
  cycle.push(cycle);
  t.throws(() => stringifyLossless(cycle), RangeError, 'a cycle is refused, not a stack overflow');
});

t.test('plainExceptData: a plain envelope, data members as the model', async (t) => {
  const message = parseLossless('{"jsonrpc":"2.0","id":1,"params":{"data":{"1":1.0},"patch":[2.0],"n":3.0},"result":{"data":{"2":2.0},"revision":"r","txs":{}}}');
  const asParams = plainExceptData(message, 'params') as { id: number; params: { data: LosslessObject; n: number }; result: { data: unknown } };
  t.equal(asParams.id, 1);
  t.equal(stringifyLossless(asParams.params.data), '{"1":1.0}');
  t.equal(asParams.params.n, 3, 'other params are plain');
  t.same(asParams.result.data, { 2: 2 }, 'the result is plain when params are asked for');
  const asResult = plainExceptData(parseLossless('[{"id":"x","result":{"data":{"2":2.0},"revision":"r"}}, 1, {"id":"y","result":4}]'), 'result') as Array<{ result: { data: unknown; revision: string } }>;
  t.equal(stringifyLossless(asResult[0]!.result.data), '{"2":2.0}');
  t.equal(asResult[0]!.result.revision, 'r');
  t.equal(asResult[1], 1);
  t.same(asResult[2], { id: 'y', result: 4 });
});

t.test("callExact against a peer whose answer the lossless parser refuses: PROTOCOL_VIOLATION, no crash", async (t) => {
  const socketPath = path.join(tempDir(t), 'fake.sock');
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const line = buffered.split('\n')[0]!;
      if (!buffered.includes('\n')) return;
      const { id } = JSON.parse(line) as { id: string };
      socket.write(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"data":${'['.repeat(300)}${']'.repeat(300)},"revision":null}}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = await CofferClient.connect({ socketPath, timeoutMs: 5000 });
  t.teardown(() => client.close());
  const failure = await client.callExact('services.unencrypted.get', { username: 'alice', service: 'x' }).catch((error: unknown) => error);
  t.ok(failure instanceof CofferError && failure.reason === 'PROTOCOL_VIOLATION', 'refused, as the client refuses any frame it cannot read');
});

t.test('merges on the model: key order (integer-like keys too), exact numbers, inputs untouched', async (t) => {
  const target = parseLossless('{"b":1.0,"10":{"x":1e-05,"2":2},"2":[1.0],"__proto__":0}') as LosslessObject;
  const patch = parseLossless('{"10":{"2":null,"1":1.50},"a":-0.0,"2":null}') as LosslessObject;
  const before = [stringifyLossless(target), stringifyLossless(patch)];
  t.equal(stringifyLossless(mergePatch(target, patch)), '{"b":1.0,"10":{"x":1e-05,"1":1.5},"__proto__":0,"a":-0.0}', 'RFC 7396');
  t.equal(stringifyLossless(shallowUpdate(target, patch)), '{"b":1.0,"10":{"2":null,"1":1.5},"2":null,"__proto__":0,"a":-0.0}', 'dict.update');
  t.same([stringifyLossless(target), stringifyLossless(patch)], before, 'neither input is modified');
});
