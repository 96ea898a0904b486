import { DEFAULT_MAX_DEPTH, LosslessNumber, type LosslessArray, type LosslessObject, type LosslessValue } from './value.js';

/**
 * A lossless JSON parser that reads like Python's `json.loads` (spec §2): any JSON whitespace (so
 * CRLF), duplicate keys (last value wins, in the first key's place), key order and number text kept
 * (see value.ts). A BOM is refused, as Python refuses it, so a reader falls back to `.bkp`.
 *
 * Two inputs Python accepts are refused with kind 'unsupported' rather than 'syntax':
 * - `NaN`, `Infinity`, `-Infinity` and float literals that overflow to infinity: Python writes them
 *   back, the daemon never may (spec §2), so a file holding one is refused as a whole ("cleanly").
 * - nesting deeper than `maxDepth` containers (64 by default): refused before the stack is at risk.
 * 'unsupported' means "Specter could read this": a reader must not fall back to an older `.bkp` then.
 */
export class LosslessJsonError extends Error {
  constructor(
    message: string,
    readonly kind: 'syntax' | 'unsupported',
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = 'LosslessJsonError';
  }
}

export interface ParseOptions {
  /** Deepest container nesting accepted; a top-level object is depth 1. */
  maxDepth?: number;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
const NON_FINITE = /NaN|-?Infinity/y;
const WHITESPACE = /[ \t\n\r]*/y;
const STRING_RUN = /[^"\\\x00-\x1f]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parses JSON text as Python's json.loads does (see the class comment for what is refused). */
export function parseLossless(text: string, options: ParseOptions = {}): LosslessValue {
  return new Parser(text, options.maxDepth ?? DEFAULT_MAX_DEPTH).document();
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a file's bytes: strict UTF-8 (Python's text mode fails on bad bytes), BOM kept so it is refused. */
export function parseLosslessBytes(bytes: Uint8Array, options: ParseOptions = {}): LosslessValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new LosslessJsonError('invalid UTF-8', 'syntax', 0);
  }
  return parseLossless(text, options);
}

class Parser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): LosslessValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.fail('unexpected BOM');
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('extra data');
    return value;
  }

  private fail(message: string, kind: 'syntax' | 'unsupported' = 'syntax'): never {
    throw new LosslessJsonError(message, kind, this.pos);
  }

  private skipWhitespace(): void {
    // Most tokens follow one another directly (compact JSON): no regex call for those.
    const c = this.text.charCodeAt(this.pos);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.test(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  private value(depth: number): LosslessValue {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(this.enter(depth));
      case '[':
        return this.array(this.enter(depth));
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private enter(depth: number): number {
    if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, 'unsupported');
    this.pos++;
    return depth + 1;
  }

  private literal<T extends LosslessValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('expecting value');
    this.pos += word.length;
    return value;
  }

  private number(): LosslessNumber {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) {
      NON_FINITE.lastIndex = this.pos;
      if (NON_FINITE.test(this.text)) this.fail('NaN and Infinity are never written by the daemon', 'unsupported');
      this.fail('expecting value');
    }
    const num = LosslessNumber.fromLexeme(match[0]);
    if (!num) this.fail('number overflows to infinity', 'unsupported');
    this.pos += match[0].length;
    return num;
  }

  private string(): string {
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      STRING_RUN.lastIndex = this.pos;
      STRING_RUN.test(this.text);
      out += this.text.slice(this.pos, STRING_RUN.lastIndex);
      this.pos = STRING_RUN.lastIndex;
      const c = this.text[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c !== '\\') this.fail(c === undefined ? 'unterminated string' : 'invalid control character in string');
      const e = this.text[this.pos + 1];
      if (e === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!HEX4.test(hex)) this.fail('invalid \\uXXXX escape');
        // Code units are kept as they are: a surrogate pair joins by itself, a lone one stays lone.
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else {
        const simple = e === undefined ? undefined : SIMPLE_ESCAPES[e];
        if (simple === undefined) this.fail('invalid escape');
        out += simple;
        this.pos += 2;
      }
    }
  }

  private array(depth: number): LosslessArray {
    const out: LosslessArray = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      out.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail("expecting ',' delimiter");
    }
  }

  private object(depth: number): LosslessObject {
    const out: LosslessObject = new Map();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expecting property name enclosed in double quotes');
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos++] !== ':') this.fail("expecting ':' delimiter");
      this.skipWhitespace();
      out.set(key, this.value(depth)); // a repeated key keeps its first place and takes the last value
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail("expecting ',' delimiter");
    }
  }
}
