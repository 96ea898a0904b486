import { PyNum, type PyValue } from './py-json-value.js';

/**
 * Python's `json.dumps(v)` (compact: `", "` and `": "`, the inner service text) and
 * `json.dump(v, f, indent=4)` (every Specter file) byte for byte (spec §2). ASCII only: each UTF-16
 * code unit outside 0x20..0x7e is escaped, so astral characters become surrogate pairs and lone
 * surrogates stay escaped, as Python does.
 */
export interface DumpOptions {
  /** Spaces per level; leave out for the one-line json.dumps form. */
  indent?: number;
}

/** Guards the stack against a hand-built cyclic or absurdly deep model; parsed values are far shallower. */
const MAX_ENCODE_DEPTH = 512;

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};

// Printable ASCII except `"` and `\`: such a string is written as is.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal as Python writes it with ensure_ascii. */
export function pyString(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i) + (SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`);
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

export function pyDumps(value: PyValue, options: DumpOptions = {}): string {
  const parts: string[] = [];
  const indent = options.indent;
  if (indent === undefined) writeCompact(value, parts, 0);
  else writeIndented(value, parts, ' '.repeat(indent), 0);
  return parts.join('');
}

/** A Specter file's bytes: `json.dump(v, f, indent=4)`, ASCII, no BOM, no trailing newline. */
export function pyDumpFile(value: PyValue): Buffer {
  return Buffer.from(pyDumps(value, { indent: 4 }), 'ascii');
}

function scalar(value: PyValue): string | undefined {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return pyString(value);
  if (value instanceof PyNum) return value.text;
  if (value instanceof Map || Array.isArray(value)) return undefined;
  throw new TypeError(`not a PyValue: ${typeof value}`);
}

function checkDepth(depth: number): void {
  if (depth >= MAX_ENCODE_DEPTH) throw new RangeError(`JSON nesting deeper than ${MAX_ENCODE_DEPTH} (a cycle?)`);
}

function writeCompact(value: PyValue, parts: string[], depth: number): void {
  const text = scalar(value);
  if (text !== undefined) {
    parts.push(text);
    return;
  }
  checkDepth(depth);
  let first = true;
  if (Array.isArray(value)) {
    parts.push('[');
    for (const item of value) {
      if (!first) parts.push(', ');
      first = false;
      writeCompact(item, parts, depth + 1);
    }
    parts.push(']');
    return;
  }
  parts.push('{');
  for (const [key, item] of value as Map<string, PyValue>) {
    if (!first) parts.push(', ');
    first = false;
    parts.push(pyString(key), ': ');
    writeCompact(item, parts, depth + 1);
  }
  parts.push('}');
}

function writeIndented(value: PyValue, parts: string[], unit: string, depth: number): void {
  const text = scalar(value);
  if (text !== undefined) {
    parts.push(text);
    return;
  }
  checkDepth(depth);
  const isArray = Array.isArray(value);
  const size = isArray ? value.length : (value as Map<string, PyValue>).size;
  if (size === 0) {
    parts.push(isArray ? '[]' : '{}');
    return;
  }
  const inner = `\n${unit.repeat(depth + 1)}`;
  parts.push(isArray ? '[' : '{');
  let first = true;
  const entries: Iterable<[string | undefined, PyValue]> = isArray
    ? value.map((item): [undefined, PyValue] => [undefined, item])
    : (value as Map<string, PyValue>);
  for (const [key, item] of entries) {
    parts.push(first ? inner : `,${inner}`);
    first = false;
    if (key !== undefined) parts.push(pyString(key), ': ');
    writeIndented(item, parts, unit, depth + 1);
  }
  parts.push(`\n${unit.repeat(depth)}`, isArray ? ']' : '}');
}
