import t from 'tap';
import { encodeFrame, exceedsJsonDepth, FrameSplitter, jsonDepthExceeds } from '@coffer/protocol';

const b = (s: string) => Buffer.from(s, 'utf8');
const texts = (frames: Buffer[]) => frames.map((f) => f.toString('utf8'));

t.test('splits on newlines, joins pieces, drops blank lines', async (t) => {
  const s = new FrameSplitter(100);
  t.same(texts(s.push(b('{"a":1}\n{"b"')).frames), ['{"a":1}']);
  t.equal(s.bufferedBytes, 4);
  t.same(texts(s.push(b(':2}')).frames), []);
  t.same(texts(s.push(b('\n\n  \r\n{"c":3}\r\n')).frames), ['{"b":2}', '{"c":3}\r']);
  t.equal(s.bufferedBytes, 0);
});

t.test('byte-at-a-time input, multi-byte UTF-8 split mid-character', async (t) => {
  const s = new FrameSplitter(100);
  const frame = b('{"k":"café 🚀"}\n');
  const out: Buffer[] = [];
  for (const byte of frame) out.push(...s.push(Buffer.from([byte])).frames);
  t.same(texts(out), ['{"k":"café 🚀"}']);
});

t.test('a frame over the limit overflows, once and for good', async (t) => {
  const s = new FrameSplitter(10);
  t.same(s.push(b('0123456789\n')).overflow, false, 'exactly the limit is fine');
  const r = s.push(b('{"x":1}\n0123456789A'));
  t.same(texts(r.frames), ['{"x":1}'], 'frames before the overflow are still delivered');
  t.equal(r.overflow, true);
  t.same(s.push(b('{}\n')), { frames: [], overflow: true });
  const s2 = new FrameSplitter(10);
  s2.push(b('01234'));
  t.equal(s2.push(b('56789AB\n')).overflow, true, 'limit counts bytes across pushes');
  const s3 = new FrameSplitter(10);
  s3.push(b('0123456'));
  t.equal(s3.push(b('789AB')).overflow, true, 'overflow is noticed before the newline arrives');
});

t.test('the splitter copies what it keeps', async (t) => {
  const s = new FrameSplitter(100);
  const chunk = b('{"a":');
  s.push(chunk);
  chunk.fill(0x20);
  t.same(texts(s.push(b('1}\n')).frames), ['{"a":1}']);
});

t.test('bad limits are refused', async (t) => {
  t.throws(() => new FrameSplitter(0), RangeError);
  t.throws(() => new FrameSplitter(1.5), RangeError);
});

t.test('encodeFrame is one line', async (t) => {
  t.equal(encodeFrame({ s: 'a\nb' }), '{"s":"a\\nb"}\n');
});

t.test('depth screening counts brackets outside strings only', async (t) => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  t.equal(exceedsJsonDepth(b(deep(5)), 5), false);
  t.equal(exceedsJsonDepth(b(deep(6)), 5), true);
  t.equal(exceedsJsonDepth(b(`{"s":"${'['.repeat(50)}\\"["}`), 3), false, 'brackets in strings, escaped quotes');
  t.equal(exceedsJsonDepth(b('[1]'), 5), false, 'short texts are skipped');
  t.equal(jsonDepthExceeds(1, 0), false);
  t.equal(jsonDepthExceeds({ a: [{}] }, 3), false);
  t.equal(jsonDepthExceeds({ a: [{}] }, 2), true);
  let v: unknown = 0;
  for (let i = 0; i < 100_000; i++) v = [v];
  t.equal(jsonDepthExceeds(v, 64), true, 'no recursion, so no stack overflow');
});
