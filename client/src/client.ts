import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  createJSONRPCErrorResponse,
  JSONRPCClient,
  JSONRPCErrorException,
  type JSONRPCErrorResponse,
  type JSONRPCID,
  type JSONRPCResponse,
} from 'json-rpc-2.0';
import {
  CofferError,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameSplitter,
  parseLossless,
  plainExceptData,
  REASONS,
  type LosslessParamsOf,
  type LosslessResultOf,
  type LosslessValue,
  type MethodName,
  type ParamsOf,
  type Reason,
  type ResultOf,
} from '@coffer/protocol';
import { resolveSocketPath, unreachableAdvice } from './socket-path.js';

export interface ClientOptions {
  /** Default: $COFFER_SOCKET, else the first that exists of /run/coffer/cofferd.sock and ./.coffer/cofferd.sock. */
  socketPath?: string;
  /** Per-call timeout, including any wait for a reconnect. Default 30 s. */
  timeoutMs?: number;
  /** How long `connect` keeps trying before UNAVAILABLE. Default 0: one attempt. */
  connectWaitMs?: number;
  /** Largest frame sent or accepted. Default 16 MiB, as the daemon's. */
  maxFrameBytes?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

export type BatchCall = { [M in MethodName]: { method: M; params: ParamsOf<M> } }[MethodName];
export type BatchOutcome = { ok: true; result: unknown } | { ok: false; error: CofferError };

/** A notification the daemon pushed (e.g. `watch.changed`). */
export interface DaemonNotification {
  method: string;
  params: unknown;
}

const RECONNECT_MIN_MS = 25;
/** Far past the daemon's data limit (64) plus the envelope; bounds the lossless parser's recursion. */
const MAX_ANSWER_DEPTH = 256;
const RECONNECT_MAX_MS = 1000;

function wireError(id: JSONRPCID, reason: Reason, message?: string): JSONRPCErrorResponse {
  return createJSONRPCErrorResponse(id, REASONS[reason].code, message ?? REASONS[reason].message, { reason });
}

/**
 * The TypeScript client: transport and typing only. One Unix socket connection, NDJSON frames,
 * calls typed by the protocol catalogue, errors thrown as CofferError. When the daemon restarts the
 * client reconnects by itself; a call made while it is down waits, up to its timeout. A call in
 * flight when the connection drops fails with CONNECTION_LOST (it may have been applied) and is
 * never re-sent: retrying a write is the caller's decision.
 *
 * Values: `call` gives plain JS values, as JSON.parse reads them. That is lossy where JS cannot
 * hold a JSON value: an int past ±2^53 (2**60) comes back rounded (1152921504606847000), a float
 * with no fraction (`1.0`, `1e+16`) comes back as an integer number, `-0.0` as -0, and an object's
 * integer-like keys ("10", "2") come first in ascending order, before the others in their order.
 * `callExact` is the lossless option: its data members (`data`, `patch` in params; `data`,
 * `addrs`, `txs` in results) are the shared lossless model (Maps in stored order, LosslessNumber
 * with Python's number text), read and written exactly as every other caller and Specter see them.
 *
 * Events: 'connect', 'disconnect', 'notification' (DaemonNotification).
 */
export class CofferClient extends EventEmitter {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly rpc: JSONRPCClient<void>;
  private socket: net.Socket | undefined;
  /** Ids sent on the current connection and not answered yet. */
  private readonly unanswered = new Set<JSONRPCID>();
  /** An id-less error the daemon sent just before closing (TOO_LARGE, BUSY): the reason calls fail. */
  private closingReason: CofferError | undefined;
  private connectedWaiters: Array<() => void> = [];
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Ids of callExact calls in flight: their answers are read by the lossless parser. */
  private readonly exactIds = new Set<string>();
  private nextExactId = 1;
  /** Batch ids: unique per client, so two batches in flight at once never share an id. */
  private nextBatchId = 1;

  private constructor(options: ClientOptions) {
    super();
    this.socketPath = resolveSocketPath({ given: options.socketPath });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.rpc = new JSONRPCClient<void>((payload: unknown) => this.transmit(payload));
  }

  /** Connects, or throws UNAVAILABLE once `connectWaitMs` has passed without a daemon answering. */
  static async connect(options: ClientOptions = {}): Promise<CofferClient> {
    const client = new CofferClient(options);
    const deadline = Date.now() + (options.connectWaitMs ?? 0);
    for (;;) {
      try {
        await client.open();
        return client;
      } catch (error) {
        if (Date.now() >= deadline) {
          client.close();
          const code = (error as NodeJS.ErrnoException).code ?? 'error';
          throw new CofferError(
            'UNAVAILABLE',
            `Cannot reach cofferd at ${client.socketPath} (${code}): ${unreachableAdvice(client.socketPath, code)}`,
            { errno: code },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MIN_MS));
      }
    }
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Calls a method; resolves with its result or throws CofferError. */
  async call<M extends MethodName>(method: M, params: ParamsOf<M>, options: CallOptions = {}): Promise<ResultOf<M>> {
    const deadline = Date.now() + (options.timeoutMs ?? this.timeoutMs);
    await this.whenConnected(deadline);
    try {
      return (await this.rpc
        .timeout(Math.max(1, deadline - Date.now()), (id) => wireError(id, 'TIMEOUT'))
        .request(method, params)) as ResultOf<M>;
    } catch (error) {
      throw toCofferError(error);
    }
  }

  /**
   * The lossless option: like `call`, but user data travels as the lossless model both ways
   * (params `data`/`patch` may be Maps and LosslessNumbers; results' `data`/`addrs`/`txs` are).
   * Exact for numbers and key order JS objects cannot hold (see the class comment).
   */
  async callExact<M extends MethodName>(method: M, params: LosslessParamsOf<M> | ParamsOf<M>, options: CallOptions = {}): Promise<LosslessResultOf<M>> {
    const deadline = Date.now() + (options.timeoutMs ?? this.timeoutMs);
    await this.whenConnected(deadline);
    const id = `x${this.nextExactId++}`;
    this.exactIds.add(id);
    try {
      const response = await this.rpc
        .timeout(Math.max(1, deadline - Date.now()), (failed) => wireError(failed, 'TIMEOUT'))
        .requestAdvanced({ jsonrpc: '2.0', id, method, params });
      if (response.error) throw CofferError.fromWire(response.error);
      return response.result as LosslessResultOf<M>;
    } finally {
      this.exactIds.delete(id);
    }
  }

  /** Sends calls as one JSON-RPC batch; each outcome is settled on its own. */
  async batch(calls: readonly BatchCall[], options: CallOptions = {}): Promise<BatchOutcome[]> {
    const deadline = Date.now() + (options.timeoutMs ?? this.timeoutMs);
    await this.whenConnected(deadline);
    const batchId = this.nextBatchId++;
    const requests = calls.map((call, i) => ({ jsonrpc: '2.0' as const, id: `b${batchId}-${i}`, ...call }));
    const responses = await this.rpc
      .timeout(Math.max(1, deadline - Date.now()), (id) => wireError(id, 'TIMEOUT'))
      .requestAdvanced(requests);
    return responses.map((response) =>
      response.error ? { ok: false, error: CofferError.fromWire(response.error) } : { ok: true, result: response.result },
    );
  }

  /** Closes the connection for good; pending and later calls fail with CLOSED. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.socket = undefined;
    this.failUnanswered(new CofferError('CLOSED'));
    this.wakeWaiters();
  }

  private transmit(payload: unknown): void {
    const frame = encodeFrame(payload);
    const ids = (Array.isArray(payload) ? payload : [payload]).map((r: { id?: JSONRPCID }) => r.id);
    const fail = (reason: Reason, message?: string): void => {
      queueMicrotask(() => {
        for (const id of ids) if (id !== undefined && id !== null) this.rpc.receive(wireError(id, reason, message));
      });
    };
    if (Buffer.byteLength(frame) > this.maxFrameBytes) {
      return fail('TOO_LARGE', `The request is over the frame limit of ${this.maxFrameBytes} bytes (the client's maxFrameBytes option; the daemon's is --max-frame-bytes)`);
    }
    if (!this.socket) return fail(this.closed ? 'CLOSED' : 'CONNECTION_LOST');
    for (const id of ids) if (id !== undefined && id !== null) this.unanswered.add(id);
    this.socket.write(frame);
  }

  private async whenConnected(deadline: number): Promise<void> {
    while (!this.socket) {
      if (this.closed) throw new CofferError('CLOSED');
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new CofferError('TIMEOUT', `cofferd at ${this.socketPath} did not come back within the call's timeout`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.connectedWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        if (this.closed) {
          socket.destroy();
          return resolve();
        }
        this.adopt(socket);
        resolve();
      });
    });
  }

  private adopt(socket: net.Socket): void {
    const splitter = new FrameSplitter(this.maxFrameBytes);
    this.socket = socket;
    this.closingReason = undefined;
    this.reconnectDelay = RECONNECT_MIN_MS;
    socket.on('data', (chunk: Buffer) => {
      const { frames, overflow } = splitter.push(chunk);
      for (const frame of frames) this.onFrame(frame);
      if (overflow) {
        this.closingReason = new CofferError('PROTOCOL_VIOLATION', 'cofferd sent a frame over the limit');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // 'close' follows and does the work
    socket.once('close', () => this.onClose(socket));
    this.wakeWaiters();
    this.emit('connect');
  }

  private onFrame(frame: Buffer): void {
    let message: unknown;
    try {
      message = JSON.parse(frame.toString('utf8'));
    } catch {
      this.closingReason = new CofferError('PROTOCOL_VIOLATION', 'cofferd sent a frame that is not JSON');
      this.socket?.destroy();
      return;
    }
    const items = Array.isArray(message) ? message : [message];
    let exact: LosslessValue | undefined;
    for (const [i, plain] of items.entries()) {
      if (typeof plain !== 'object' || plain === null) continue;
      let item = plain as Record<string, unknown>;
      const { id: plainId } = item;
      if (typeof plainId === 'string' && this.exactIds.has(plainId)) {
        // Parsed again, losslessly, only for the answers callExact waits for.
        exact ??= this.parseExact(frame);
        if (exact === undefined) return;
        item = plainExceptData(Array.isArray(exact) ? exact[i]! : exact, 'result') as Record<string, unknown>;
      }
      const { id, method, params, error } = item;
      if (typeof method === 'string' && id === undefined) {
        this.emit('notification', { method, params } satisfies DaemonNotification);
      } else if (id === null && error) {
        this.closingReason = CofferError.fromWire(error);
      } else if (typeof id === 'string' || typeof id === 'number') {
        this.unanswered.delete(id);
        this.rpc.receive(item as unknown as JSONRPCResponse);
      }
    }
  }

  /** The lossless reading of a frame JSON.parse accepted; undefined (and the connection dropped) if it has none. */
  private parseExact(frame: Buffer): LosslessValue | undefined {
    try {
      return parseLossless(frame.toString('utf8'), { maxDepth: MAX_ANSWER_DEPTH });
    } catch {
      this.closingReason = new CofferError('PROTOCOL_VIOLATION', 'cofferd sent a frame the lossless parser refuses (too deep, or a number past a double)');
      this.socket?.destroy();
      return undefined;
    }
  }

  private onClose(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.failUnanswered(this.closingReason ?? new CofferError('CONNECTION_LOST'));
    this.emit('disconnect');
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.open().catch(() => {
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
        this.scheduleReconnect();
      });
    }, this.reconnectDelay);
    // Reconnecting alone never keeps a process alive; a waiting call's own timer does.
    this.reconnectTimer.unref();
  }

  private failUnanswered(error: CofferError): void {
    const ids = [...this.unanswered];
    this.unanswered.clear();
    for (const id of ids) {
      this.rpc.receive(createJSONRPCErrorResponse(id, error.code, error.message, { ...error.data, reason: error.reason }));
    }
  }

  private wakeWaiters(): void {
    const waiters = this.connectedWaiters;
    this.connectedWaiters = [];
    for (const wake of waiters) wake();
  }
}

function toCofferError(error: unknown): CofferError {
  if (error instanceof CofferError) return error;
  if (error instanceof JSONRPCErrorException) {
    return CofferError.fromWire({ code: error.code, message: error.message, data: error.data });
  }
  return new CofferError('PROTOCOL_VIOLATION', error instanceof Error ? error.message : String(error));
}
