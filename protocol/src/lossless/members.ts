import type { MethodName, ParamsOf, ResultOf } from '../catalogue.js';
import { isLosslessObject, toPlain, type LosslessObject, type LosslessValue, type RawJson } from './value.js';

/**
 * Which members of a call carry user data, and so travel as the lossless model: `data` and
 * `patch` in params (services, docs, annotations), `data`, `addrs` and `txs` in results. Every
 * other member (names, sessions, revisions, the JSON-RPC envelope) is plain JS, which is what
 * json-rpc-2.0 and the TypeBox schemas check.
 */
export const PARAM_DATA_MEMBERS = ['data', 'patch'] as const;
export const RESULT_DATA_MEMBERS = ['data', 'addrs', 'txs'] as const;

type ParamDataMember = (typeof PARAM_DATA_MEMBERS)[number];
type ResultDataMember = (typeof RESULT_DATA_MEMBERS)[number];

/** A schema's JSON object becomes a Map; "any JSON value" becomes any model value. */
type Exact<V> = V extends null ? V : V extends Record<string, unknown> ? LosslessObject : LosslessValue;

/** `T` with its members named in `Names` as the model; distributes over unions (annotations.get has two results). */
type WithExact<T, Names, Raw> = T extends unknown ? { [K in keyof T]: K extends Names ? Exact<T[K]> | Raw : T[K] } : never;

/** A method's params with its user data as the lossless model. */
export type LosslessParamsOf<M extends MethodName> = WithExact<ParamsOf<M>, ParamDataMember, never>;

/** A method's result with its user data as the lossless model (`Raw`: what else a server may answer). */
export type LosslessResultOf<M extends MethodName, Raw = never> = WithExact<ResultOf<M>, ResultDataMember, Raw>;

/** What the daemon may answer: the lossless model, or a stored value's text spliced in as is. */
export type AnswerOf<M extends MethodName> = LosslessResultOf<M, RawJson>;

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * False when JSON.parse of this JSON text gives exactly what the lossless parser gives once
 * converted with fromPlain, so the fast native parse may be used. A plain parse loses only:
 * - numbers with a fraction or an exponent (`1.0` would become 1) and integers of 16 digits or
 *   more (past 2^53 they round, and from 1e16 fromPlain would write a float);
 * - the order of integer-like keys (a JS object moves `"2"` before `"a"`): any key of at most 10
 *   digits counts, and any short key with an escape (not decoded, so `"\u0031"` counts).
 * Duplicate keys (last value, first place), `__proto__` (an own member), lone surrogates and `-0`
 * read the same both ways. The scan is lexical and skips string contents, so a session token or an
 * address with digits and "e" in it does not count; a true answer is never wrong, only slower.
 */
export function mayLoseInPlainParse(text: Uint8Array): boolean {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  const n = bytes.length;
  let nextBackslash = -2; // where the next `\` is; recomputed once we pass it (keeps the scan linear)
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      // Strings are skipped with memchr (indexOf), not byte by byte: they are most of a frame.
      let end = bytes.indexOf(QUOTE, i + 1);
      while (end > 0 && escaped(bytes, end)) end = bytes.indexOf(QUOTE, end + 1);
      if (end < 0) return true; // not JSON: JSON.parse has refused it already
      if (nextBackslash !== -1 && nextBackslash <= i) nextBackslash = bytes.indexOf(BACKSLASH, i + 1);
      const hasEscape = nextBackslash !== -1 && nextBackslash < end;
      // An integer-like key is the decimal of an integer below 2^32 - 1: at most 10 digits, each
      // at most 6 bytes escaped (`\u0031`). Keys with an escape are counted without decoding them.
      if (end - i - 1 <= (hasEscape ? 60 : 10) && (hasEscape || digitsOnly(bytes, i + 1, end)) && end > i + 1 && colonFollows(bytes, end + 1)) return true;
      i = end;
    } else if ((c >= DIGIT_0 && c <= DIGIT_9) || c === 0x2d) {
      let digits = 0;
      for (; i < n; i++) {
        const d = bytes[i]!;
        if (d >= DIGIT_0 && d <= DIGIT_9) digits++;
        else if (d === 0x2e || d === 0x65 || d === 0x45) return true;
        else if (d !== 0x2d) break;
      }
      if (digits > 15) return true;
      i--;
    }
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escaped(bytes: Uint8Array, at: number): boolean {
  let run = 0;
  while (bytes[at - 1 - run] === BACKSLASH) run++;
  return run % 2 === 1;
}

function digitsOnly(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i]! < DIGIT_0 || bytes[i]! > DIGIT_9) return false;
  return true;
}

function colonFollows(bytes: Uint8Array, from: number): boolean {
  let j = from;
  while (isWhitespace(bytes[j])) j++;
  return bytes[j] === 0x3a;
}

/**
 * A message parsed by the lossless parser, made plain except for the data members of its params
 * (`kind: 'params'`) or result (`kind: 'result'`), which stay the model.
 */
export function plainExceptData(message: LosslessValue, kind: 'params' | 'result'): unknown {
  if (Array.isArray(message)) return message.map((item) => plainExceptData(item, kind));
  if (!isLosslessObject(message)) return toPlain(message);
  const out: Record<string, unknown> = {};
  for (const [key, value] of message) {
    const plain = key === kind && isLosslessObject(value) ? dataKept(value, kind === 'params' ? PARAM_DATA_MEMBERS : RESULT_DATA_MEMBERS) : toPlain(value);
    Object.defineProperty(out, key, { value: plain, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function dataKept(members: LosslessObject, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of members) {
    Object.defineProperty(out, key, { value: names.includes(key) ? value : toPlain(value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
