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

/** A method's params with its user data as the lossless model. */
export type LosslessParamsOf<M extends MethodName> = {
  [K in keyof ParamsOf<M>]: K extends ParamDataMember ? Exact<ParamsOf<M>[K]> : ParamsOf<M>[K];
};

/** A method's result with its user data as the lossless model (`Raw`: what else a server may answer). */
export type LosslessResultOf<M extends MethodName, Raw = never> = {
  [K in keyof ResultOf<M>]: K extends ResultDataMember ? Exact<ResultOf<M>[K]> | Raw : ResultOf<M>[K];
};

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
 * - the order of integer-like keys (a JS object moves `"2"` before `"a"`): any key made of digits,
 *   escaped or not, counts.
 * Duplicate keys (last value, first place), `__proto__` (an own member), lone surrogates and `-0`
 * read the same both ways. The scan is lexical and skips string contents, so a session token or an
 * address with digits and "e" in it does not count; a true answer is never wrong, only slower.
 */
export function mayLoseInPlainParse(text: Uint8Array): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    if (c === 0x22) {
      let digitsOnly = true;
      let length = 0;
      for (i++; i < n; i++, length++) {
        const d = text[i]!;
        if (d === 0x22) break;
        if (d === 0x5c) {
          // `\u0031` is "1": after `\u` the hex digits are checked as they come. Other escapes are no digit.
          i++;
          if (text[i] !== 0x75) digitsOnly = false;
        } else if (d < DIGIT_0 || d > DIGIT_9) {
          digitsOnly = false;
        }
      }
      if (digitsOnly && length > 0) {
        let j = i + 1;
        while (isWhitespace(text[j])) j++;
        if (text[j] === 0x3a) return true;
      }
    } else if ((c >= DIGIT_0 && c <= DIGIT_9) || c === 0x2d) {
      let digits = 0;
      for (; i < n; i++) {
        const d = text[i]!;
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
