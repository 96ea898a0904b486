import { isUtf8 } from 'node:buffer';
import { sodiumMemory } from '../crypto/secret-memory.js';

/**
 * Passwords never become JS strings in the daemon (issue 13: a V8 string cannot be zeroed, and the
 * scan found every password ever sent still in the heap). Before a request frame is parsed, the
 * string values of `params.password`, `params.oldPassword` and `params.newPassword` (of a single
 * request or of each one in a batch) are located in the frame's bytes, unescaped straight into a
 * sodium buffer, and replaced in the text JSON.parse sees by a placeholder of the same length in
 * characters ('*'), so the schema checks (1..1024 characters) answer exactly as before. The
 * handler gets the bytes with `passwordParam`; they are zeroed and freed once the call is answered
 * (`releaseFramePasswords`).
 *
 * The walk only locates; JSON.parse still validates. A frame the walk does not understand, or a
 * password that is not valid UTF-8, is left as it is: the call works as before, only without this
 * protection (the old path turned such bytes into U+FFFD, which this one must not change).
 */

const PASSWORD_MEMBERS = new Set(['password', 'oldPassword', 'newPassword']);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The passwords taken out of each request's params, keyed by the parsed params object. */
const byParams = new WeakMap<object, Map<string, Buffer>>();
/** Every buffer made for a parsed message, freed when it is answered. */
const byMessage = new WeakMap<object, Buffer[]>();

interface Found {
  /** Index of the request in a batch (0 for a single request). */
  readonly request: number;
  readonly member: string;
  /** The string token, quotes included. */
  readonly start: number;
  readonly end: number;
}

export interface Extracted {
  readonly frame: Buffer;
  /** Per request index: member name → password bytes (sodium memory). */
  readonly passwords: Map<number, Map<string, Buffer>>;
  readonly buffers: Buffer[];
}

/** The frame with its passwords taken out, or undefined when it has none (or is not understood). */
export function extractPasswords(frame: Buffer): Extracted | undefined {
  // Cheap screen: a password member's key has these bytes, or an escape spelling them.
  if (frame.indexOf('assword') === -1 && frame.indexOf('\\u') === -1) return undefined;
  let found: Found[];
  try {
    found = locate(frame);
  } catch {
    return undefined;
  }
  if (found.length === 0) return undefined;
  const passwords = new Map<number, Map<string, Buffer>>();
  const buffers: Buffer[] = [];
  const pieces: Buffer[] = [];
  let at = 0;
  try {
    for (const hit of found) {
      take(frame, hit, passwords, buffers, pieces, at);
      at = hit.end;
    }
  } catch {
    // A bad escape: JSON.parse will say PARSE_ERROR on the frame itself.
    freeAll(buffers);
    return undefined;
  }
  if (buffers.length === 0) return undefined;
  pieces.push(frame.subarray(at));
  return { frame: Buffer.concat(pieces), passwords, buffers };
}

/** One password string token: its bytes into sodium memory, a placeholder into `pieces`. */
function take(frame: Buffer, hit: Found, passwords: Map<number, Map<string, Buffer>>, buffers: Buffer[], pieces: Buffer[], at: number): void {
  const secret = unescapeInto(frame, hit.start + 1, hit.end - 1);
  // JSON.parse keeps the last of duplicate members, and so does this.
  passwords.get(hit.request)?.delete(hit.member);
  if (!secret) {
    // Not kept (empty, or not UTF-8): the value stays in the frame and reaches the handler as before.
    pieces.push(frame.subarray(at, hit.end));
    return;
  }
  buffers.push(secret.bytes);
  let members = passwords.get(hit.request);
  if (!members) passwords.set(hit.request, (members = new Map()));
  members.set(hit.member, secret.bytes);
  pieces.push(frame.subarray(at, hit.start), Buffer.from(`"${'*'.repeat(secret.chars)}"`));
}

function freeAll(buffers: Buffer[]): void {
  for (const buf of buffers) {
    sodiumMemory.memzero(buf);
    sodiumMemory.free(buf);
  }
}

/** What `extractPasswords` took, for a frame that then did not parse: zeroed and freed. */
export function discardPasswords(extracted: Extracted): void {
  freeAll(extracted.buffers);
}

/** Ties what `extractPasswords` took to the parsed message (a request or a batch). */
export function attachPasswords(message: unknown, extracted: Extracted): void {
  byMessage.set(message as object, extracted.buffers);
  const requests = Array.isArray(message) ? message : [message];
  for (const [index, members] of extracted.passwords) {
    const params = (requests[index] as { params?: unknown } | undefined)?.params;
    if (typeof params === 'object' && params !== null) byParams.set(params, members);
  }
}

/**
 * A password param as bytes taken from the frame, or as the string sent (a frame the walk left
 * alone, or an in-process call). Undefined when absent. The bytes belong to the call: never keep them.
 */
export function passwordParam(params: object, member: string): Buffer | string | undefined {
  const taken = byParams.get(params)?.get(member);
  if (taken) return taken;
  const value = (params as Record<string, unknown>)[member];
  return typeof value === 'string' ? value : undefined;
}

/** The call is answered: its password bytes are zeroed and freed. */
export function releaseFramePasswords(message: unknown): void {
  if (typeof message !== 'object' || message === null) return;
  const buffers = byMessage.get(message);
  if (!buffers) return;
  byMessage.delete(message);
  freeAll(buffers);
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return i;
}

function fail(): never {
  throw new SyntaxError('not a frame the password walk understands');
}

/** Index just past the string token starting at `i` (a quote). */
function stringEnd(b: Buffer, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    if (b[j] === BACKSLASH) j++;
    else if (b[j] === QUOTE) return j + 1;
  }
  return fail();
}

/** Index just past the value starting at `i`. */
function valueEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const d = b[j];
      if (d === QUOTE) j = stringEnd(b, j) - 1;
      else if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return fail();
  }
  let j = i;
  while (j < b.length && !',}] \t\r\n'.includes(String.fromCharCode(b[j]!))) j++;
  return j === i ? fail() : j;
}

/** Calls `onMember(key, valueStart, valueEnd)` for each member of the object at `i`; returns its end. */
function members(b: Buffer, i: number, onMember: (key: string, start: number, end: number) => void): number {
  if (b[i] !== 0x7b) fail();
  i = skipWs(b, i + 1);
  if (b[i] === 0x7d) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) fail();
    const keyEnd = stringEnd(b, i);
    // A key is no secret: JSON.parse decodes its escapes.
    const key = JSON.parse(b.toString('utf8', i, keyEnd)) as string;
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a) fail();
    const start = skipWs(b, i + 1);
    const end = valueEnd(b, start);
    onMember(key, start, end);
    i = skipWs(b, end);
    if (b[i] === 0x7d) return i + 1;
    if (b[i] !== 0x2c) fail();
    i = skipWs(b, i + 1);
  }
}

function requestPasswords(b: Buffer, at: number, request: number, found: Found[]): void {
  members(b, at, (key, start) => {
    if (key !== 'params' || b[start] !== 0x7b) return;
    members(b, start, (member, s, e) => {
      if (PASSWORD_MEMBERS.has(member) && b[s] === QUOTE) found.push({ request, member, start: s, end: e });
    });
  });
}

function locate(b: Buffer): Found[] {
  const found: Found[] = [];
  const i = skipWs(b, 0);
  if (b[i] === 0x7b) {
    requestPasswords(b, i, 0, found);
  } else if (b[i] === 0x5b) {
    let j = skipWs(b, i + 1);
    for (let request = 0; b[j] !== 0x5d; request++) {
      if (b[j] === 0x7b) requestPasswords(b, j, request, found);
      j = skipWs(b, valueEnd(b, j));
      if (b[j] === 0x2c) j = skipWs(b, j + 1);
      else if (b[j] !== 0x5d) fail();
    }
  }
  return found.sort((x, y) => x.start - y.start);
}

const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * The UTF-8 bytes of the JSON string body b[from, to) — what Buffer.from(JSON.parse(token)) gives,
 * a lone surrogate as U+FFFD — in sodium memory, and its length in UTF-16 units. Undefined (nothing
 * kept) when it is empty or not valid UTF-8. Two passes: the size first, so no growing copy.
 */
function unescapeInto(b: Buffer, from: number, to: number): { bytes: Buffer; chars: number } | undefined {
  let size = 0;
  let chars = 0;
  walkString(b, from, to, (n, units) => {
    size += n;
    chars += units;
  });
  if (size === 0) return undefined;
  const bytes = sodiumMemory.malloc(size);
  let at = 0;
  walkString(b, from, to, (n, _units, write) => {
    write(bytes, at);
    at += n;
  });
  if (!isUtf8(bytes)) {
    sodiumMemory.memzero(bytes);
    sodiumMemory.free(bytes);
    return undefined;
  }
  return { bytes, chars };
}

type Emit = (bytes: number, units: number, write: (out: Buffer, at: number) => void) => void;

function walkString(b: Buffer, from: number, to: number, emit: Emit): void {
  for (let i = from; i < to; ) {
    const c = b[i]!;
    if (c !== BACKSLASH) {
      if (c < 0x20) fail();
      // A lead byte starts a character (two UTF-16 units from 4-byte sequences); continuations add none.
      const units = c < 0x80 || (c >= 0xc0 && c < 0xf0) ? 1 : c >= 0xf0 ? 2 : 0;
      emit(1, units, (out, at) => (out[at] = c));
      i++;
      continue;
    }
    const e = b[i + 1]!;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      emit(1, 1, (out, at) => (out[at] = simple));
      i += 2;
      continue;
    }
    if (e !== 0x75) fail();
    let unit = hex4(b, i + 2);
    i += 6;
    let units = 1;
    if (unit >= 0xd800 && unit < 0xdc00 && b[i] === BACKSLASH && b[i + 1] === 0x75) {
      const low = hex4(b, i + 2);
      if (low >= 0xdc00 && low < 0xe000) {
        unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        units = 2;
        i += 6;
      }
    }
    // A lone surrogate becomes U+FFFD, as Buffer.from(string) would make it.
    const cp = unit >= 0xd800 && unit < 0xe000 ? 0xfffd : unit;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    emit(n, units, (out, at) => encodeCodePoint(cp, out, at));
  }
}

function hex4(b: Buffer, i: number): number {
  // The token's closing quote is no hex digit, so a short escape fails below; this guards the read.
  /* c8 ignore next */
  if (i + 4 > b.length) fail();
  let value = 0;
  for (let k = i; k < i + 4; k++) {
    const d = b[k]!;
    const digit = d >= 0x30 && d <= 0x39 ? d - 0x30 : d >= 0x61 && d <= 0x66 ? d - 0x57 : d >= 0x41 && d <= 0x46 ? d - 0x37 : -1;
    if (digit < 0) fail();
    value = value * 16 + digit;
  }
  return value;
}

function encodeCodePoint(cp: number, out: Buffer, at: number): void {
  if (cp < 0x80) {
    out[at] = cp;
  } else if (cp < 0x800) {
    out[at] = 0xc0 | (cp >> 6);
    out[at + 1] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[at] = 0xe0 | (cp >> 12);
    out[at + 1] = 0x80 | ((cp >> 6) & 0x3f);
    out[at + 2] = 0x80 | (cp & 0x3f);
  } else {
    out[at] = 0xf0 | (cp >> 18);
    out[at + 1] = 0x80 | ((cp >> 12) & 0x3f);
    out[at + 2] = 0x80 | ((cp >> 6) & 0x3f);
    out[at + 3] = 0x80 | (cp & 0x3f);
  }
}
