import { canonicalNumber, jsNumberText } from './py-json-number.js';

/**
 * The lossless JSON value model of the specter codec. Objects are Maps, which keep insertion order
 * for every key (a plain object moves integer-like keys such as "2" first), treat `__proto__` as
 * data, and give Python's duplicate-key rule for free (`set` on a present key keeps its place).
 * Numbers are PyNum, which keep the exact text Python writes. Everything Specter stores round-trips
 * byte for byte through this model, including `2.0`, `-0.0`, `1e+16`, ints above 2^53 and keys "10".
 */
export type PyValue = null | boolean | string | PyNum | PyArray | PyObject;
export type PyArray = PyValue[];
export type PyObject = Map<string, PyValue>;

/** Plain JSON values, as the rest of the daemon (and the wire) uses them. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON number as Python holds it: an int of any size, or a double, kept as its Python text. */
export class PyNum {
  private constructor(
    /** What Python's json module writes for this number. */
    readonly text: string,
    /** True for a Python float (`2.0`, `1e-05`), false for an int. */
    readonly isFloat: boolean,
  ) {}

  /** A JS number, by the spec's rule for JS-made numbers (spec §2). Refuses NaN and ±Infinity. */
  static fromJs(n: number): PyNum {
    const { text, isFloat } = jsNumberText(n);
    return new PyNum(text, isFloat);
  }

  /** A Python int, exactly. */
  static int(n: bigint | number): PyNum {
    if (typeof n === 'number' && !Number.isSafeInteger(n)) throw new RangeError(`${n} is not a safe integer`);
    return new PyNum(String(n), false);
  }

  /** From a JSON number lexeme; undefined when it overflows a double (Python would write Infinity). */
  static fromLexeme(lexeme: string): PyNum | undefined {
    const canonical = canonicalNumber(lexeme);
    return canonical && new PyNum(canonical.text, canonical.isFloat);
  }

  /** The nearest JS number: exact for floats and for ints within ±2^53. */
  toNumber(): number {
    return Number(this.text);
  }
}

export function isPyObject(value: PyValue | undefined): value is PyObject {
  return value instanceof Map;
}

/** Builds an object model from entries, in order. */
export function pyObject(entries: Iterable<readonly [string, PyValue]> = []): PyObject {
  return new Map(entries);
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
export function fromJs(value: unknown, maxDepth = DEFAULT_MAX_DEPTH): PyValue {
  return convertIn(value, maxDepth, 0);
}

function convertIn(value: unknown, maxDepth: number, depth: number): PyValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return PyNum.fromJs(value);
  if (typeof value === 'object') {
    if (depth >= maxDepth) throw new RangeError(`JSON nesting deeper than ${maxDepth}`);
    if (Array.isArray(value)) return value.map((item) => convertIn(item, maxDepth, depth + 1));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto === Object.prototype || proto === null) {
      const out: PyObject = new Map();
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
export function toJs(value: PyValue): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof PyNum) return value.toNumber();
  if (Array.isArray(value)) return value.map(toJs);
  const out: { [key: string]: JsonValue } = {};
  for (const [key, item] of value) {
    Object.defineProperty(out, key, { value: toJs(item), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A deep copy (PyNum is immutable and shared), so a store can apply changes to a copy. */
export function clonePy<T extends PyValue>(value: T): T {
  return cloneValue(value) as T;
}

function cloneValue(value: PyValue): PyValue {
  if (Array.isArray(value)) return value.map(cloneValue);
  if (!(value instanceof Map)) return value;
  const out: PyObject = new Map();
  for (const [key, item] of value) out.set(key, cloneValue(item));
  return out;
}
