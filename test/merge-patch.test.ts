import t from 'tap';
import * as merge from '../daemon/src/store/merge.js';
import { plainFn } from './helpers/plain.js';

// The merges work on the lossless model; these cases are written plain (lossless.test.ts checks exactness).
const mergePatch = plainFn(merge.mergePatch, [0, 1]);
const shallowUpdate = plainFn(merge.shallowUpdate, [0, 1]);

// RFC 7396 Appendix A, every example.
const rfc: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

t.test('RFC 7396 appendix A', async (t) => {
  for (const [target, patch, result] of rfc) {
    const before = JSON.stringify(target);
    t.same(mergePatch(target, patch), result, `${before} + ${JSON.stringify(patch)}`);
    t.equal(JSON.stringify(target), before, 'the target is not modified');
  }
});

t.test('existing keys keep their place, new keys are appended', async (t) => {
  t.same(Object.keys(mergePatch({ a: 1, b: 2, c: 3 }, { d: 4, b: 5 }) as object), ['a', 'b', 'c', 'd']);
});

t.test("shallow update is Specter's update_service_data", async (t) => {
  t.same(shallowUpdate({ a: { x: 1, y: 2 }, b: 1 }, { a: { x: 9 }, c: null }), { a: { x: 9 }, b: 1, c: null });
  t.same(Object.keys(shallowUpdate({ a: 1, b: 2 }, { c: 3, a: 4 })), ['a', 'b', 'c']);
});
