import {
  createJSONRPCErrorResponse,
  JSONRPCServer,
  type JSONRPCErrorResponse,
  type JSONRPCID,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import {
  CofferError,
  isMethodName,
  jsonDepthExceeds,
  paramsProblem,
  type AnswerOf,
  type LosslessParamsOf,
  type MethodName,
  type WireError,
} from '@coffer/protocol';
import type { AccessGate, Admission } from '../access/gate.js';
import type { Peer } from '../access/peers.js';
import type { Logger } from '../base/logger.js';
import { MAX_DATA_DEPTH, useExactData } from './exact-data.js';
import type { NotifyPort } from '../watch/hub.js';

export { MAX_DATA_DEPTH };

/** Requests of one batch served at once. */
const BATCH_CONCURRENCY = 16;

/** What a handler knows about the call it serves. */
export interface CallContext {
  readonly connectionId: number;
  readonly log: Logger;
  /** The caller's connection, for subscriptions (watch.*). */
  readonly connection: NotifyPort;
  /** Who is calling (SO_PEERCRED) and what it may do (access/gate.ts). */
  readonly peer: Peer;
}

/** Params arrive with their user data as the lossless model; answers may hold it or stored text (RawJson). */
export type Handler<M extends MethodName> = (
  params: LosslessParamsOf<M>,
  ctx: CallContext,
) => AnswerOf<M> | Promise<AnswerOf<M>>;

/** One handler per catalogue method: a missing one is a compile error where the map is built. */
export type Handlers = { [M in MethodName]: Handler<M> };

/**
 * Turns parsed JSON-RPC messages into replies. json-rpc-2.0 does the method map and the response
 * shapes; this class adds what it lacks (DESIGN §2, NOTES): envelope checks, batch edge cases,
 * per-method param schemas, one place that maps errors to the wire, per-call logging, and the
 * in-flight count that shutdown waits on.
 */
export class Dispatcher {
  private readonly server: JSONRPCServer<CallContext>;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private stopping = false;

  constructor(
    handlers: Handlers,
    private readonly log: Logger,
    /** Scopes and audit (access/gate.ts); every call of the catalogue passes it after its params are checked. */
    private readonly gate: Pick<AccessGate, 'admit'>,
    /**
     * Before the gate looks at a call's session: persisted sessions are brought up to date here
     * (Keyring.prepareSession), so a session another daemon opened is known, and its owner checked.
     */
    private readonly prepareSession?: (session: string) => Promise<void>,
  ) {
    this.server = new JSONRPCServer<CallContext>({
      // Every error is caught and logged by our middleware first; this only sees bugs in it.
      errorListener: (message, data) => log.error({ err: data }, message),
    });
    this.server.mapErrorToJSONRPCErrorResponse = (id, error) => errorResponse(id, toWireError(error));
    this.server.handleMethodNotFound = async (request) =>
      request.id === undefined
        ? null
        : errorResponse(request.id, new CofferError('METHOD_NOT_FOUND', `Method not found: ${clip(request.method)}; see rpc.discover`).toWire());
    for (const name of Object.keys(handlers) as MethodName[]) {
      const handler = handlers[name] as Handler<MethodName>;
      this.server.addMethod(name, (params, ctx) => handler(params as LosslessParamsOf<MethodName>, ctx));
    }
    this.server.applyMiddleware(async (next, request, ctx) => {
      const started = performance.now();
      let response: JSONRPCResponse | null = null;
      let failure: WireError | undefined;
      let admission: Admission | undefined;
      try {
        this.checkCall(request);
        if (isMethodName(request.method)) {
          const params = request.params as Record<string, unknown>;
          if (this.prepareSession && typeof params['session'] === 'string') await this.prepareSession(params['session']);
          admission = this.gate.admit(request.method, params, ctx);
        }
        response = await next(request, ctx);
        if (response && 'error' in response && response.error) failure = response.error as WireError;
      } catch (error) {
        failure = toWireError(error, ctx.log);
        if (request.id !== undefined) response = errorResponse(request.id, failure);
      }
      admission?.finish(response, failure);
      if (failure) {
        ctx.log.warn(
          {
            method: clip(request.method),
            code: failure.code,
            reason: failure.data?.reason,
            ms: Math.round((performance.now() - started) * 10) / 10,
          },
          'call failed',
        );
      }
      return response;
    });
  }

  /** Calls being served right now. */
  get pending(): number {
    return this.inflight;
  }

  /** From now on every call is answered SHUTTING_DOWN. */
  stopAccepting(): void {
    this.stopping = true;
  }

  /** Resolves when no call is in flight, or after `timeoutMs`; returns whether it drained. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** Answers one parsed request or notification (batches: handleBatch). Never rejects. */
  async handle(message: unknown, ctx: CallContext): Promise<JSONRPCResponse | null> {
    this.inflight++;
    try {
      return await this.handleOne(message, ctx);
    } finally {
      this.settle();
    }
  }

  /**
   * Answers a batch's requests, at most BATCH_CONCURRENCY at once, handing each answer to `take`
   * as it comes (in completion order, which JSON-RPC allows): the caller encodes it and drops the
   * result before more work starts, so a batch of large results never pins them all at once.
   * Never rejects.
   */
  async handleBatch(items: readonly unknown[], ctx: CallContext, take: (reply: JSONRPCResponse) => void): Promise<void> {
    this.inflight++;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const reply = await this.handleOne(items[next++], ctx);
        if (reply !== null) take(reply);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, items.length) }, worker));
    } finally {
      this.settle();
    }
  }

  private settle(): void {
    if (--this.inflight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private async handleOne(message: unknown, ctx: CallContext): Promise<JSONRPCResponse | null> {
    const problem = envelopeProblem(message);
    if (problem) {
      const id = validIdOf(message);
      return errorResponse(id, new CofferError('INVALID_REQUEST', `Invalid request: ${problem}`).toWire());
    }
    try {
      return await this.server.receive(message as JSONRPCRequest, ctx);
    } catch (error) {
      // The middleware catches handler errors; reaching here is a bug in the dispatcher itself.
      ctx.log.error({ err: error }, 'dispatcher failure');
      const id = (message as JSONRPCRequest).id;
      return id === undefined ? null : errorResponse(id, new CofferError('INTERNAL_ERROR').toWire());
    }
  }

  private checkCall(request: JSONRPCRequest): void {
    if (this.stopping) throw new CofferError('SHUTTING_DOWN');
    const method = request.method;
    // Unknown methods fall through to handleMethodNotFound.
    if (!isMethodName(method)) return;
    if (request.params === undefined) request.params = {};
    if (Array.isArray(request.params)) {
      throw new CofferError('INVALID_PARAMS', 'Invalid params: params must be an object (by-name)');
    }
    if (jsonDepthExceeds(request.params, MAX_DATA_DEPTH + 1)) {
      throw new CofferError('INVALID_PARAMS', `Invalid params: data nested deeper than ${MAX_DATA_DEPTH} levels`);
    }
    const problem = paramsProblem(method, request.params);
    if (problem) throw new CofferError('INVALID_PARAMS', `Invalid params: ${problem}`);
    useExactData(request.params as Record<string, unknown>);
  }
}

/** Client-chosen strings are bounded before they reach a log line or a message. */
function clip(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 100)}…`;
}

function errorResponse(id: JSONRPCID, error: WireError): JSONRPCErrorResponse {
  return createJSONRPCErrorResponse(id, error.code, error.message, error.data);
}

/** The one place an error becomes a wire error. Anything not a CofferError is a bug: logged, never sent. */
export function toWireError(error: unknown, log?: Logger): WireError {
  if (error instanceof CofferError) return error.toWire();
  log?.error({ err: error }, 'internal error');
  return new CofferError('INTERNAL_ERROR').toWire();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isValidId(id: unknown): id is JSONRPCID {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function validIdOf(message: unknown): JSONRPCID {
  return isRecord(message) && isValidId(message['id']) ? message['id'] : null;
}

function envelopeProblem(message: unknown): string | null {
  if (!isRecord(message)) return 'a request must be a JSON object';
  if (message['jsonrpc'] !== '2.0') return 'member "jsonrpc" must be "2.0"';
  if (typeof message['method'] !== 'string') return 'member "method" must be a string';
  if ('id' in message && !isValidId(message['id'])) return 'member "id" must be a string, a number or null';
  const params = message['params'];
  if ('params' in message && (typeof params !== 'object' || params === null)) {
    return 'member "params" must be an object';
  }
  return null;
}
