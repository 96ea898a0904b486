import {
  fromPlain,
  isLosslessObject,
  mayLoseInPlainParse,
  PARAM_DATA_MEMBERS,
  parseLossless,
  type LosslessObject,
  type LosslessValue,
} from '@coffer/protocol';
import { attachPasswords, discardPasswords, extractPasswords } from './password-frames.js';

/**
 * User data arrives exact (DESIGN-NOTES "Lossless values"). A frame is parsed with JSON.parse,
 * which gives the envelope and the params json-rpc-2.0 and the schemas check, unchanged. When the
 * frame holds something a plain parse changes (mayLoseInPlainParse: a float, a big int, a key of
 * digits), it is parsed again by the lossless parser and each request's exact params are kept
 * aside; once a call's params are valid, its data members (`data`, `patch`) are swapped for the
 * exact ones. Otherwise the plain data converts exactly (fromPlain), which is the fast path.
 */
const exactParams = new WeakMap<object, LosslessObject>();

/** Nesting allowed inside user data (DESIGN §5); params add one level around it. */
export const MAX_DATA_DEPTH = 64;

/** Envelope, params, then user data nested up to MAX_DATA_DEPTH; one more level for a batch. */
const FRAME_MAX_DEPTH = MAX_DATA_DEPTH + 3;

/** Parses one frame; throws (a SyntaxError) when it is not JSON, which is PARSE_ERROR. */
export function decodeRequestFrame(frame: Buffer): unknown {
  // Passwords go from the frame's bytes to sodium memory; the text parsed has placeholders (password-frames.ts).
  const extracted = extractPasswords(frame);
  const bytes = extracted?.frame ?? frame;
  const text = bytes.toString('utf8');
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    if (extracted) discardPasswords(extracted);
    throw error;
  }
  if (extracted) attachPasswords(message, extracted);
  if (mayLoseInPlainParse(bytes)) rememberExact(message, text);
  return message;
}

function rememberExact(message: unknown, text: string): void {
  let exact: LosslessValue;
  try {
    exact = parseLossless(text, { maxDepth: FRAME_MAX_DEPTH });
  } catch {
    // Only nesting past any valid call gets here (JSON.parse accepted the text): the dispatcher
    // refuses such params by their depth.
    return;
  }
  if (Array.isArray(message) && Array.isArray(exact)) message.forEach((item, i) => remember(item, exact[i]));
  else remember(message, exact);
}

function remember(plain: unknown, exact: LosslessValue | undefined): void {
  if (typeof plain !== 'object' || plain === null || !isLosslessObject(exact)) return;
  const params = (plain as { params?: unknown }).params;
  const exactOnes = exact.get('params');
  if (typeof params === 'object' && params !== null && isLosslessObject(exactOnes)) exactParams.set(params, exactOnes);
}

/** Swaps a validated call's data members for the lossless model, in place. */
export function useExactData(params: Record<string, unknown>): void {
  const exact = exactParams.get(params);
  for (const name of PARAM_DATA_MEMBERS) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) continue;
    const value = exact?.get(name);
    params[name] = value === undefined ? fromPlain(params[name], MAX_DATA_DEPTH + 1) : value;
  }
}
