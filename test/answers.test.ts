import t from 'tap';
import type { JSONRPCResponse } from 'json-rpc-2.0';
import { BatchAnswer, encodeWithin } from '../daemon/src/answers.js';

// The answer encoder's limits, on values: the daemon-level cases are in flow-control.test.ts.
// An answer past V8's longest string (~512 Mi characters) cannot be built in a test without
// gigabytes of memory; a value whose encoding throws the same RangeError stands for it.

const tooLongToEncode = {
  toJSON(): never {
    throw new RangeError('Invalid string length');
  },
};

t.test('an answer too long to encode at all becomes TOO_LARGE with its id, not a crash', async (t) => {
  const reply = { jsonrpc: '2.0', id: 5, result: tooLongToEncode } as unknown as JSONRPCResponse;
  t.equal(encodeWithin(reply, 1_000_000), undefined);
  const frame = new BatchAnswer(1_000_000, false).add(reply).frame()!;
  const answer = JSON.parse(frame.toString('utf8'));
  t.equal(answer.id, 5);
  t.equal(answer.error.data.reason, 'TOO_LARGE');
  t.match(answer.error.message, /--max-answer-bytes \(1000000 bytes\)/);
  t.ok(frame.toString('utf8').endsWith('\n'), 'one frame, newline-terminated');
});

t.test('the limit counts UTF-8 bytes, not characters', async (t) => {
  const reply = { jsonrpc: '2.0', id: 1, result: 'é'.repeat(600) } as JSONRPCResponse;
  // 636 characters, 1 236 bytes.
  t.equal(encodeWithin(reply, 1000), undefined, 'fits in characters, not in bytes');
  t.type(encodeWithin(reply, 1236), 'string');
  t.equal(encodeWithin(reply, 1235), undefined);
});

t.test('a batch with nothing to answer has no frame', async (t) => {
  t.equal(new BatchAnswer(1000, true).frame(), null);
});
