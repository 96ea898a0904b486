import { stringifyLossless } from './lossless/stringify.js';

/**
 * NDJSON framing (DESIGN §2): one JSON-RPC message per line, ended by `\n`. Both the daemon and the
 * clients split with this class, so the frame limit means the same thing on both sides. We split on
 * byte 0x0A ourselves (not `readline`) so a peer that never sends a newline cannot grow a buffer
 * without bound.
 */

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;

export interface SplitResult {
  /** Complete frames, without their newline. Blank lines are dropped. */
  frames: Buffer[];
  /** True once a frame grew past the limit; the splitter then refuses further input. */
  overflow: boolean;
}

export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
    }
  }

  /** Bytes held while waiting for the end of the current frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * The bytes of an unfinished last frame, taken out of the splitter: when the peer has ended its
   * side, they are all it will ever send (`printf '{…}' | socat` has no final newline).
   */
  takeRest(): Buffer | undefined {
    if (this.pendingBytes === 0 || this.overflowed) return undefined;
    const rest = Buffer.concat(this.pending);
    for (const held of this.pending) held.fill(0);
    this.pending = [];
    this.pendingBytes = 0;
    return isBlank(rest) ? undefined : rest;
  }

  push(chunk: Buffer): SplitResult {
    const frames: Buffer[] = [];
    if (this.overflowed) return { frames, overflow: true };
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.pendingBytes + piece.length > this.maxFrameBytes) return this.overflow(frames);
      const frame = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]);
      // The copies made below may hold a password (the daemon zeroes the frame once parsed): not left behind.
      for (const held of this.pending) held.fill(0);
      this.pending = [];
      this.pendingBytes = 0;
      if (!isBlank(frame)) frames.push(frame);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingBytes + rest.length > this.maxFrameBytes) return this.overflow(frames);
      // Copy: the caller may reuse its chunk buffer.
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return { frames, overflow: false };
  }

  private overflow(frames: Buffer[]): SplitResult {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
    return { frames, overflow: true };
  }
}

function isBlank(frame: Buffer): boolean {
  for (const byte of frame) {
    // space, tab, CR
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  }
  return true;
}

/**
/**
 * One message as JSON text, without the newline: the single place messages are serialized. User
 * data in the lossless model (Maps, LosslessNumber, RawJson) is written exactly; plain parts as
 * JSON.stringify writes them. Throws RangeError when the text would pass V8's longest string.
 */
export function encodeMessage(message: unknown): string {
  return stringifyLossless(message);
}

/** One message as a frame. No raw newline is ever written (RawJson never holds one), so the framing is exact. */
export function encodeFrame(message: unknown): string {
  return encodeMessage(message) + '\n';
}

/**
 * The nesting depth of a JSON text, counted without parsing it, stopping as soon as it passes
 * `limit`. `JSON.parse` of millions of nested brackets blocks the event loop for seconds, so frames
 * are screened with this first. Brackets inside strings do not count.
 */
export function exceedsJsonDepth(text: Buffer, limit: number): boolean {
  // A text shorter than the limit cannot nest deeper than it.
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Depth of a parsed JSON value (a scalar is 0, `{}` is 1), iteratively, stopping past `limit`. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth + 1 > limit) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return false;
}
