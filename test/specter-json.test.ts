import t from 'tap';
import {
  clonePy,
  fromJs,
  PyJsonError,
  PyNum,
  pyDumpFile,
  pyDumps,
  pyFloatRepr,
  pyLoads,
  pyLoadsBytes,
  pyObject,
  toJs,
  type JsonValue,
  type PyValue,
} from '../daemon/src/specter/index.js';
import { randomJson, randomNumber, rng } from './helpers/specter-random.js';
import { vectorMeta } from './helpers/specter.js';

interface WriterCase {
  name: string;
  needs_lossless_numbers_or_ordered_keys: boolean;
  python_compact: string;
  python_indent4: string;
}
interface ReaderCase {
  name: string;
  input_text: string;
  python_json_loads: 'ok' | 'error';
  reserialised_compact?: string;
}
/** The kind of PyJsonError `fn` throws, or 'none'. */
function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PyJsonError) return error.kind;
    throw error;
  }
  return 'none';
}

const cases = vectorMeta<{ writer_cases: WriterCase[]; reader_cases: ReaderCase[] }>('json_cases.json');

t.test('writer cases: parse python_compact, dump both forms byte for byte (flagged ones too: lossless model)', async (t) => {
  for (const c of cases.writer_cases) {
    const v = pyLoads(c.python_compact);
    t.equal(pyDumps(v), c.python_compact, `${c.name} compact`);
    t.equal(pyDumps(v, { indent: 4 }), c.python_indent4, `${c.name} indent=4`);
    t.equal(pyDumpFile(pyLoads(c.python_indent4)).toString('ascii'), c.python_indent4, `${c.name} from indent4`);
  }
});

t.test('writer cases not flagged also round-trip through plain JS values (JSON.parse → fromJs)', async (t) => {
  for (const c of cases.writer_cases.filter((c) => !c.needs_lossless_numbers_or_ordered_keys)) {
    const v = fromJs(JSON.parse(c.python_compact));
    t.equal(pyDumps(v), c.python_compact, c.name);
    t.equal(pyDumps(v, { indent: 4 }), c.python_indent4, c.name);
  }
});

t.test('reader cases: read like Python, or refuse cleanly what the daemon never writes', async (t) => {
  for (const c of cases.reader_cases) {
    let got: PyValue | PyJsonError;
    try {
      got = pyLoads(c.input_text);
    } catch (error) {
      if (!(error instanceof PyJsonError)) throw error;
      got = error;
    }
    if (c.python_json_loads === 'error') {
      t.ok(got instanceof PyJsonError && got.kind === 'syntax', `${c.name}: refused as Python refuses it`);
    } else if (/NaN|Infinity/.test(c.reserialised_compact ?? '')) {
      t.ok(got instanceof PyJsonError && got.kind === 'unsupported', `${c.name}: refused as unsupported`);
    } else {
      t.equal(pyDumps(got as PyValue), c.reserialised_compact, c.name);
    }
  }
});

t.test('Python float repr', async (t) => {
  const table: Array<[number, string]> = [
    [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [2.5, '2.5'], [0.1, '0.1'], [1e-5, '1e-05'], [1.5e-5, '1.5e-05'],
    [0.0001, '0.0001'], [0.00012, '0.00012'], [1e15, '1000000000000000.0'], [1e16, '1e+16'],
    [1.5e16, '1.5e+16'], [123456789012345680, '1.2345678901234568e+17'], [-2.5e-8, '-2.5e-08'],
    [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'], [1e100, '1e+100'],
    [123.456, '123.456'], [-1234.5, '-1234.5'], [9999999999999998, '9999999999999998.0'],
  ];
  for (const [x, text] of table) t.equal(pyFloatRepr(x), text, text);
  t.throws(() => pyFloatRepr(NaN), RangeError);
  t.throws(() => pyFloatRepr(Infinity), RangeError);
});

t.test('JS numbers: integers below 1e16 as digits, the rest by the float rule; non-finite refused', async (t) => {
  const table: Array<[number, string]> = [
    [0, '0'], [-0, '0'], [42, '42'], [-7, '-7'], [9007199254740991, '9007199254740991'],
    [9999999999999998, '9999999999999998'], [1e16, '1e+16'], [2 ** 60, '1.152921504606847e+18'], [0.5, '0.5'],
  ];
  for (const [n, text] of table) t.equal(pyDumps(fromJs(n)), text, text);
  for (const n of [NaN, Infinity, -Infinity]) t.throws(() => fromJs(n), RangeError);
  t.equal(PyNum.int(12n ** 30n).text, (12n ** 30n).toString());
  t.throws(() => PyNum.int(2 ** 60), RangeError);
});

t.test('number lexemes come back as Python would write them', async (t) => {
  const table: Array<[string, string]> = [
    ['2.0', '2.0'], ['-0.0', '-0.0'], ['-0', '0'], ['1e+16', '1e+16'], ['1E16', '1e+16'], ['1e5', '100000.0'],
    ['1.50', '1.5'], ['0e0', '0.0'], ['123456789012345678901234567890', '123456789012345678901234567890'],
    ['1e-7', '1e-07'], ['0.000010', '1e-05'],
  ];
  for (const [lexeme, text] of table) t.equal(pyDumps(pyLoads(lexeme)), text, lexeme);
  const big = pyLoads('18446744073709551615') as PyNum;
  t.equal(big.isFloat, false);
  t.equal(big.toNumber(), 18446744073709552000);
});

t.test('keys: order kept (integer-like too), duplicates as Python, __proto__ is data', async (t) => {
  const v = pyLoads('{"b": 1, "10": 2, "a": 3, "2": 4, "b": 5, "__proto__": {"polluted": true}}');
  t.equal(pyDumps(v), '{"b": 5, "10": 2, "a": 3, "2": 4, "__proto__": {"polluted": true}}');
  const js = toJs(v) as Record<string, JsonValue>;
  t.equal(Object.getPrototypeOf(js), Object.prototype, 'prototype untouched');
  t.same(Object.getOwnPropertyDescriptor(js, '__proto__')?.value, { polluted: true });
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  t.equal(pyDumps(fromJs(js)), '{"2": 4, "10": 2, "b": 5, "a": 3, "__proto__": {"polluted": true}}', 'plain JS moves integer keys first');
  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto['x'] = [1, 'y', null, true];
  t.equal(pyDumps(fromJs(nullProto)), '{"x": [1, "y", null, true]}');
});

t.test('whitespace, CRLF and a trailing newline are fine; a BOM and junk are syntax errors', async (t) => {
  t.equal(pyDumps(pyLoads(' \t\r\n{\r\n "a" :\t[ 1 , 2 ]\r\n}\r\n')), '{"a": [1, 2]}');
  const bad = ['\ufeff{}', '', '   ', '{', '[1,]', '{"a":1,}', '{"a" 1}', '{a: 1}', '[1 2]', '01', '1.', '.5', '-', '+1',
    '"abc', '"a\tb"', '"\\x"', '"\\u12g4"', '"\\u12"', 'tru', 'nul', '[] []', '{"a": 1}}', "'a'", '[1e]', '"\\'];
  for (const text of bad) {
    const error = t.throws(() => pyLoads(text)) as unknown;
    t.ok(error instanceof PyJsonError && error.kind === 'syntax', JSON.stringify(text));
  }
  t.equal(kindOf(() => pyLoadsBytes(Buffer.from([0x22, 0xff, 0x22]))), 'syntax', 'invalid UTF-8');
  t.equal(kindOf(() => pyLoadsBytes(Buffer.from('\ufeff{}'))), 'syntax', 'a BOM survives decoding and is refused');
  t.equal(pyLoadsBytes(Buffer.from('"caf\u00e9 \ud83d\ude80"')), 'caf\u00e9 \ud83d\ude80');
});

t.test('escapes: all short forms, surrogate pairs, lone surrogates', async (t) => {
  t.equal(pyLoads('"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude80 \\ud800 \\uDFFF"'), '" \\ / \b \f \n \r \t é 🚀 \ud800 \udfff');
  t.equal(pyDumps('\u007f\u0080\u00ff\u2028\ud800'), '"\\u007f\\u0080\\u00ff\\u2028\\ud800"');
});

t.test('NaN, Infinity and overflowing floats are refused as unsupported', async (t) => {
  for (const text of ['NaN', '[Infinity]', '{"a": -Infinity}', '1e400', '-1e400']) {
    t.equal(kindOf(() => pyLoads(text)), 'unsupported', text);
  }
});

t.test('nesting is limited (64 by default) without overflowing the stack', async (t) => {
  t.doesNotThrow(() => pyLoads('['.repeat(64) + ']'.repeat(64)));
  t.equal(kindOf(() => pyLoads('['.repeat(65) + ']'.repeat(65))), 'unsupported');
  t.equal(kindOf(() => pyLoads('{"a":'.repeat(65) + '1' + '}'.repeat(65))), 'unsupported');
  t.equal(kindOf(() => pyLoads('['.repeat(100000))), 'unsupported', 'huge depth is cut early');
  t.doesNotThrow(() => pyLoads('['.repeat(100) + ']'.repeat(100), { maxDepth: 100 }));
  let deep: unknown = 1;
  for (let i = 0; i < 65; i++) deep = [deep];
  t.throws(() => fromJs(deep), RangeError);
  const cyclic: PyValue[] = [];
  cyclic.push(cyclic);
  t.throws(() => pyDumps(cyclic), RangeError, 'a cycle is caught by the encoder depth guard');
  t.throws(() => pyDumps(cyclic, { indent: 4 }), RangeError);
});

t.test('fromJs refuses what is not JSON', async (t) => {
  for (const value of [undefined, () => 1, new Date(), Symbol('x'), 1n, { a: undefined }]) {
    t.throws(() => fromJs(value), TypeError);
  }
  t.throws(() => pyDumps(undefined as unknown as PyValue), TypeError);
});

t.test('clonePy is deep; PyNum is shared', async (t) => {
  const v = pyLoads('{"a": [1, {"b": 2.0}], "c": "d"}');
  const copy = clonePy(v);
  t.equal(pyDumps(copy), pyDumps(v));
  ((copy as Map<string, PyValue>).get('a') as PyValue[]).push(null);
  t.equal(pyDumps(v), '{"a": [1, {"b": 2.0}], "c": "d"}');
  t.equal(pyDumps(pyObject([['x', PyNum.fromJs(1)]])), '{"x": 1}');
});

// ---- property checks ----------------------------------------------------------------------------

t.test('property: random values dump to ASCII JSON that JSON.parse reads back equal, in both forms', async (t) => {
  const random = rng(20260915);
  for (let i = 0; i < 2000; i++) {
    const value = randomJson(random);
    const compact = pyDumps(fromJs(value));
    const indented = pyDumps(fromJs(value), { indent: 4 });
    if (!/^[\x20-\x7e]*$/.test(compact) || !/^[\x20-\x7e\n]*$/.test(indented)) {
      t.fail(`not ASCII: ${compact}`);
      continue;
    }
    if (!sameJson(JSON.parse(compact), value) || !sameJson(JSON.parse(indented), value)) t.fail(`round trip: ${compact}`);
    if (pyDumps(pyLoads(compact)) !== compact || pyDumps(pyLoads(indented), { indent: 4 }) !== indented) t.fail(`reparse: ${compact}`);
  }
  t.pass('2000 random values');
});

t.test('property: every float repr reads back to the same double, in Python\'s shape', async (t) => {
  const random = rng(7);
  for (let i = 0; i < 20000; i++) {
    const x = randomNumber(random) * (random() < 0.5 ? 1 : 1e-300);
    const text = pyFloatRepr(x);
    if (Number(text) !== x || !/^-?(\d+\.\d+|\d(\.\d+)?e[+-]\d{2,3})$/.test(text)) t.fail(`${x} → ${text}`);
  }
  t.pass('20000 doubles');
});

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
