import { fromPlain, LosslessNumber, RawJson } from '@coffer/protocol';

/**
 * The stores speak the lossless model (Maps, LosslessNumber; DESIGN-NOTES "Lossless values"). Unit
 * tests written with plain JS values drive them through these adapters, so their assertions stay
 * as they were: plain arguments go in as the model, results come back plain. Exactness itself is
 * asserted end to end in lossless.test.ts.
 */

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A test's data argument as the stores take it. */
export function toModel(value: unknown): unknown {
  return fromPlain(value, 1000);
}

/** A store's result as plain JS (what the default client gets): Maps become objects, numbers numbers. */
export function toJs(value: unknown): unknown {
  if (value instanceof LosslessNumber) return value.toNumber();
  if (value instanceof RawJson) return JSON.parse(value.text) as unknown;
  if (Array.isArray(value)) return value.map(toJs);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value as Map<string, unknown>) {
      Object.defineProperty(out, key, { value: toJs(item), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (isPlainRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, { value: toJs(value[key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/**
 * Makes a result plain in place. A promise is answered as it is (the conversion hangs on it first),
 * so a caller resumes on the same tick as with the store itself: some tests rely on that timing
 * (writes issued while the previous group's drain is still running join the next group).
 */
function plainInPlace(result: unknown): void {
  if (Array.isArray(result)) result.forEach((item, i) => (result[i] = toJs(item)));
  else if (isPlainRecord(result)) for (const key of Object.keys(result)) result[key] = toJs(result[key]);
}

/** A function of the model, called with plain values (at the `data` positions) and answering plain ones. */
export function plainFn(fn: (...args: Loose[]) => unknown, data: readonly number[]): (...args: Loose[]) => Loose {
  return (...args: unknown[]) => {
    const result = fn(...args.map((arg, i) => (data.includes(i) ? toModel(arg) : arg)));
    if (!(result instanceof Promise)) return toJs(result);
    void result.then(plainInPlace, () => undefined);
    return result;
  };
}

/** A result's type once plain: the model's parts become `any` (tests compare them with t.same). */
type PlainValue<V> = V extends Map<string, unknown> | LosslessNumber | RawJson ? Loose : V extends readonly unknown[] ? Loose[] : V extends object ? { [K in keyof V]: PlainValue<V[K]> } : V;
type PlainResult<R> = R extends Promise<infer V> ? Promise<PlainValue<V>> : PlainValue<R>;

/** Every method of a store through plainFn; `data` names each method's data argument positions. */
export function plainApi<T extends object>(
  target: T,
  data: Partial<Record<keyof T, readonly number[]>>,
): { [K in keyof T]: T[K] extends (...args: Loose[]) => infer R ? (...args: Loose[]) => PlainResult<R> : T[K] } {
  return new Proxy(target, {
    get(object, key, receiver) {
      const member = Reflect.get(object, key, receiver) as unknown;
      if (typeof member !== 'function') return member;
      return plainFn((member as (...args: unknown[]) => unknown).bind(object), data[key as keyof T] ?? []);
    },
  }) as Loose;
}

/** Where the data goes in each store's calls. */
export const SERVICE_DATA_ARGS = { set: [2], update: [2] } as const;
export const DOCS_DATA_ARGS = { set: [1], update: [1] } as const;
export const ANNOTATIONS_DATA_ARGS = { set: [3], update: [3] } as const;
