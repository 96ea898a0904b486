import { LosslessNumber, RawJson } from './value.js';

/**
 * JSON text of a value that may mix plain JS (the JSON-RPC envelope, names, revisions) with the
 * lossless model (user data): Maps are written in their order with `__proto__` as data, a
 * LosslessNumber as its text, RawJson verbatim. Plain values are written as JSON.stringify writes
 * them (undefined members left out, non-finite numbers as null), so a message with no lossless
 * part gives the same text as JSON.stringify. Strings go through JSON.stringify: non-ASCII stays
 * UTF-8, lone surrogates are escaped, and no raw newline is ever written (NDJSON framing).
 */
export interface StringifyOptions {
  /** Spaces per level, as JSON.stringify's third argument; leave out for one line. */
  indent?: number;
}

/** Guards the stack against a cyclic or absurdly deep value; parsed values are far shallower. */
const MAX_DEPTH = 512;

export function stringifyLossless(value: unknown, options: StringifyOptions = {}): string {
  // Most messages (status, lists, errors, notifications) hold no model: V8's encoder writes them.
  if (!containsModel(value)) return JSON.stringify(value, null, options.indent) ?? 'null';
  const parts: string[] = [];
  const unit = options.indent ? ' '.repeat(options.indent) : '';
  write(value, parts, unit, 0);
  return parts.join('');
}

function write(value: unknown, parts: string[], unit: string, depth: number): void {
  if (typeof value !== 'object' || value === null) {
    parts.push(JSON.stringify(value) ?? 'null');
    return;
  }
  if (value instanceof LosslessNumber || value instanceof RawJson) {
    parts.push(value.text);
    return;
  }
  if (depth >= MAX_DEPTH) throw new RangeError(`JSON nesting deeper than ${MAX_DEPTH} (a cycle?)`);
  if (Array.isArray(value)) {
    writeMembers(value.map((item): [string | undefined, unknown] => [undefined, item === undefined ? null : item]), '[]', parts, unit, depth);
  } else if (value instanceof Map) {
    writeMembers(value as Map<string, unknown>, '{}', parts, unit, depth);
  } else {
    const entries: Array<[string, unknown]> = [];
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined && typeof item !== 'function') entries.push([key, item]);
    }
    writeMembers(entries, '{}', parts, unit, depth);
  }
}

function writeMembers(
  entries: Iterable<readonly [string | undefined, unknown]>,
  brackets: '[]' | '{}',
  parts: string[],
  unit: string,
  depth: number,
): void {
  parts.push(brackets[0]!);
  const inner = unit === '' ? '' : `\n${unit.repeat(depth + 1)}`;
  let first = true;
  for (const [key, item] of entries) {
    parts.push(first ? inner : `,${inner}`);
    first = false;
    if (key !== undefined) parts.push(JSON.stringify(key), unit === '' ? ':' : ': ');
    write(item, parts, unit, depth + 1);
  }
  // An empty container is `{}`/`[]` in both forms, as JSON.stringify writes it.
  if (!first && unit !== '') parts.push(`\n${unit.repeat(depth)}`);
  parts.push(brackets[1]!);
}

/** Whether a value holds a Map, LosslessNumber or RawJson anywhere (iterative, stops at the first). */
function containsModel(value: unknown): boolean {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (node instanceof Map || node instanceof LosslessNumber || node instanceof RawJson) return true;
    // A cycle would loop forever here; past this many nodes the walker (which refuses cycles) takes over.
    if (++seen > 100_000) return true;
    if (Array.isArray(node)) for (const item of node) stack.push(item);
    else for (const key of Object.keys(node)) stack.push((node as Record<string, unknown>)[key]);
  }
  return false;
}
