import { canonicalNumber, jsNumberText } from './number.js';

/**
 * The lossless JSON value model: what the daemon holds for user data from the frame it parses to
 * the bytes it writes and answers, in both layouts, and what a lossless client reads and sends
 * (DESIGN-NOTES "Lossless values"). It reads JSON the way Python's `json.loads` does, which is how
 * Specter reads it. Objects are Maps, which keep insertion order
 * for every key (a plain object moves integer-like keys such as "2" first), treat `__proto__` as
 * data, and give Python's duplicate-key rule for free (`set` on a present key keeps its place).
 * Numbers are LosslessNumber, which keep the exact text Python writes. Everything Specter stores round-trips
 * byte for byte through this model, including `2.0`, `-0.0`, `1e+16`, ints above 2^53 and keys "10"; so does whatever a caller sends.
 */
export type LosslessValue = null | boolean | string | LosslessNumber | LosslessArray | LosslessObject;
export type LosslessArray = LosslessValue[];
export type LosslessObject = Map<string, LosslessValue>;

/** Plain JSON values, as JSON.parse gives them (lossy: see toPlain). */
export type PlainJson = null | boolean | number | string | PlainJson[] | { [key: string]: PlainJson };

/** A JSON number as Python holds it: an int of any size, or a double, kept as its Python text. */
export class LosslessNumber {
  private constructor(
    /** What Python's json module writes for this number. */
    readonly text: string,
    /** True for a Python float (`2.0`, `1e-05`), false for an int. */
    readonly isFloat: boolean,
  ) {}

  /** A JS number, by the spec's rule for JS-made numbers (spec §2). Refuses NaN and ±Infinity. */
  static fromJs(n: number): LosslessNumber {
    const { text, isFloat } = jsNumberText(n);
    return new LosslessNumber(text, isFloat);
  }

  /** A Python int, exactly. */
  static int(n: bigint | number): LosslessNumber {
    if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new RangeError(`${n} is not a safe integer`);
    return new LosslessNumber(String(n), false);
  }

  /** From a JSON number lexeme; undefined when it overflows a double (Python would write Infinity). */
  static fromLexeme(lexeme: string): LosslessNumber | undefined {
    const canonical = canonicalNumber(lexeme);
    return canonical && new LosslessNumber(canonical.text, canonical.isFloat);
  }

  /** The nearest JS number: exact for floats and for ints within ±2^53. */
  toNumber(): number {
    return Number(this.text);
  }
}

export function isLosslessObject(value: LosslessValue | undefined): value is LosslessObject {
  return value instanceof Map;
}

/** Builds an object model from entries, in order. */
export function losslessObject(entries: Iterable<readonly [string, LosslessValue]> = []): LosslessObject {
  return new Map(entries);
}

/**
 * JSON text kept as it is and written verbatim by stringifyLossless: a stored value answered
 * without a parse and a re-encode. Only for text known to be one valid JSON value without a raw
 * newline (NDJSON frames end at one).
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Deepest nesting of user data (DESIGN §5). */
export const DEFAULT_MAX_DEPTH = 64;
/** Deepest nesting of a Specter file: user data sits at most two levels down (annotations: addrs → address). */
export const FILE_MAX_DEPTH = DEFAULT_MAX_DEPTH + 2;

/**
 * Converts a plain JSON value (e.g. from RPC params) into the model. Key order is whatever the JS
 * object has; numbers follow the spec's JS rule. Anything not JSON (undefined, functions, NaN, class
 * instances, cycles) and nesting deeper than `maxDepth` containers throw TypeError/RangeError.
 */
export function fromPlain(value: unknown, maxDepth = DEFAULT_MAX_DEPTH): LosslessValue {
  return convertIn(value, maxDepth, 0);
}

function convertIn(value: unknown, maxDepth: number, depth: number): LosslessValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return LosslessNumber.fromJs(value);
  if (typeof value === 'object') {
    if (depth >= maxDepth) throw new RangeError(`JSON nesting deeper than ${maxDepth}`);
    if (Array.isArray(value)) return value.map((item) => convertIn(item, maxDepth, depth + 1));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const out: LosslessObject = new Map();
      for (const key of Object.keys(value)) {
        out.set(key, convertIn((value as Record<string, unknown>)[key], maxDepth, depth + 1));
      }
      return out;
    }
  }
  throw new TypeError(`not a JSON value: ${typeof value === 'object' ? 'class instance' : typeof value}`);
}

/**
 * Converts the model to plain JSON values. Lossy by nature: ints beyond 2^53 round, `2.0` becomes 2,
 * integer-like keys move first. Keys are defined, never assigned, so `__proto__` stays data.
 */
export function toPlain(value: LosslessValue): PlainJson {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof LosslessNumber) return value.toNumber();
  if (Array.isArray(value)) return value.map(toPlain);
  const out: { [key: string]: PlainJson } = {};
  for (const [key, item] of value) {
    Object.defineProperty(out, key, { value: toPlain(item), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A deep copy (LosslessNumber is immutable and shared), so a store can apply changes to a copy. */
export function cloneLossless<T extends LosslessValue>(value: T): T {
  return cloneValue(value) as T;
}

function cloneValue(value: LosslessValue): LosslessValue {
  if (Array.isArray(value)) return value.map(cloneValue);
  if (!(value instanceof Map)) return value;
  const out: LosslessObject = new Map();
  for (const [key, item] of value) out.set(key, cloneValue(item));
  return out;
}
