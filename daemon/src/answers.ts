import { CofferError, encodeMessage } from '@coffer/protocol';
import type { JSONRPCID, JSONRPCResponse } from 'json-rpc-2.0';
import type { FlowLimits } from './base/config.js';
import type { CallContext, Dispatcher } from './rpc/dispatcher.js';

/**
 * Answers one parsed message as a frame ready to write, within --max-answer-bytes: a batch is
 * checked for length first, its answers are encoded one by one as they come (so no string longer
 * than the limit is ever built: V8 cannot hold one past ~512 Mi characters), and an answer that
 * would pass the limit is replaced by a TOO_LARGE error with the same id. Null: nothing to send.
 */
export async function answerMessage(
  dispatcher: Dispatcher,
  message: unknown,
  ctx: CallContext,
  limits: Pick<FlowLimits, 'maxAnswerBytes' | 'maxBatch'>,
): Promise<Buffer | null> {
  if (!Array.isArray(message)) {
    const reply = await dispatcher.handle(message, ctx);
    return reply === null ? null : new BatchAnswer(limits.maxAnswerBytes, false).add(reply).frame();
  }
  if (message.length === 0) {
    return errorFrame(new CofferError('INVALID_REQUEST', 'Invalid request: empty batch'));
  }
  if (message.length > limits.maxBatch) {
    return errorFrame(
      new CofferError(
        'TOO_LARGE',
        `Batch of ${message.length} requests over the limit of ${limits.maxBatch}: send smaller batches, or raise --max-batch`,
        { limit: limits.maxBatch },
      ),
    );
  }
  const answer = new BatchAnswer(limits.maxAnswerBytes, true);
  await dispatcher.handleBatch(message, ctx, (reply) => answer.add(reply));
  return answer.frame();
}

/** A frame for an error that belongs to no request (id null). */
export function errorFrame(error: CofferError): Buffer {
  return frameOf(encodeMessage({ jsonrpc: '2.0', id: null, error: error.toWire() }));
}

function frameOf(text: string): Buffer {
  return Buffer.from(text + '\n', 'utf8');
}

/**
 * The encoded answers of one message, kept under `limit` bytes in all. Only the encoded text is
 * kept, so a large result object is garbage as soon as it is added. TOO_LARGE errors in place of
 * answers are small and always added (a batch has at most --max-batch of them).
 */
export class BatchAnswer {
  private readonly parts: string[] = [];
  private bytes = 0;

  constructor(
    private readonly limit: number,
    private readonly batch: boolean,
  ) {}

  add(reply: JSONRPCResponse): this {
    let text = encodeWithin(reply, this.limit - this.bytes);
    if (text === undefined) text = encodeMessage(tooLargeReply(reply.id, this.limit, this.batch));
    this.parts.push(text);
    this.bytes += Buffer.byteLength(text) + 1;
    return this;
  }

  frame(): Buffer | null {
    if (this.parts.length === 0) return null;
    return frameOf(this.batch ? `[${this.parts.join(',')}]` : this.parts.join(''));
  }
}

/**
 * Encoded texts of frozen results, which handlers return for answers that never change
 * (rpc.discover's 79 KB): encoding it per call cost a millisecond of event loop each. Keyed by the
 * handler's own object, never by client input; a WeakMap, so nothing is pinned.
 */
const frozenResults = new WeakMap<object, string>();

function encodeReply(reply: JSONRPCResponse): string {
  const result: unknown = 'result' in reply ? reply.result : undefined;
  if (typeof result !== 'object' || result === null || !Object.isFrozen(result)) return encodeMessage(reply);
  let cached = frozenResults.get(result);
  if (cached === undefined) {
    cached = encodeMessage(result);
    frozenResults.set(result, cached);
  }
  return `{"jsonrpc":"2.0","id":${encodeMessage(reply.id)},"result":${cached}}`;
}

/** The reply's text if it fits in `room` bytes; undefined if not, or if it is too long to encode at all. */
export function encodeWithin(reply: JSONRPCResponse, room: number): string | undefined {
  let text: string;
  try {
    text = encodeReply(reply);
  } catch {
    // RangeError: longer than V8's longest string. Handlers return plain JSON data, so that is the
    // only way encoding fails.
    return undefined;
  }
  // Characters first: cheap, and a UTF-8 text is never shorter in bytes than in characters.
  if (text.length > room || Buffer.byteLength(text) > room) return undefined;
  return text;
}

function tooLargeReply(id: JSONRPCID, limit: number, batch: boolean): object {
  const what = batch ? "the batch's answer as a whole" : 'the answer';
  const error = new CofferError(
    'TOO_LARGE',
    `Answer too large: ${what} would pass --max-answer-bytes (${limit} bytes); ask for less at once` +
      (batch ? ' (send this call alone or in a smaller batch)' : '') +
      ', or raise --max-answer-bytes',
    { limit },
  );
  return { jsonrpc: '2.0', id, error: error.toWire() };
}
