// A lean JSON-RPC 2.0 client over NDJSON on a Unix socket: the load generator's side of the wire.
// The same code drives cofferd and the raw echo server, so their ratio is the server's overhead
// alone. (CofferClient adds per-call timers and typing; the transport section measures it too.)
import net from 'node:net';
import { FrameSplitter } from '@coffer/protocol';

/** A connected Unix socket; rejects with the connect error (EAGAIN when the backlog is full). */
export function connectUnix(socketPath) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** A JSON-RPC error answer, with cofferd's stable reason when it gave one. */
export class RpcError extends Error {
  constructor(error) {
    super(`${error?.data?.reason ?? error?.code}: ${error?.message}`);
    this.code = error?.code;
    this.reason = error?.data?.reason;
  }
}

export class NdjsonConnection {
  constructor(socket) {
    this.socket = socket;
    this.pending = new Map();
    this.nextId = 1;
    this.failure = undefined;
    const splitter = new FrameSplitter(64 * 1024 * 1024);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk).frames) this.onFrame(frame);
    });
    socket.on('error', (error) => (this.failure ??= error));
    socket.on('close', () => this.failAll(this.failure ?? new Error('connection closed')));
  }

  static async open(socketPath) {
    return new NdjsonConnection(await connectUnix(socketPath));
  }

  /** Sends one request; resolves with its result, rejects with RpcError. */
  call(method, params = {}) {
    if (this.socket.destroyed) return Promise.reject(this.failure ?? new Error('connection closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  close() {
    this.socket.destroy();
  }

  onFrame(frame) {
    const message = JSON.parse(frame.toString('utf8'));
    if (message.id === null && message.error) {
      // An id-less error (BUSY, TOO_LARGE) comes just before the daemon closes the connection.
      this.failure = new RpcError(message.error);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) waiter.reject(new RpcError(message.error));
    // The echo server answers with the request itself, which has no `result`.
    else waiter.resolve('result' in message ? message.result : message);
  }

  failAll(error) {
    const waiters = [...this.pending.values()];
    this.pending.clear();
    for (const waiter of waiters) waiter.reject(error);
  }
}

/**
 * Opens `count` connections to one socket, a few at a time. A Unix socket whose listen backlog is
 * full refuses at once with EAGAIN (it does not queue like TCP), so those attempts are retried.
 */
export async function openConnections(socketPath, count, open = NdjsonConnection.open) {
  const connections = [];
  const attempt = async () => {
    for (let tries = 0; ; tries++) {
      try {
        return await open(socketPath);
      } catch (error) {
        if (error.code !== 'EAGAIN' || tries >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, attempt);
    connections.push(...(await Promise.all(batch)));
  }
  return connections;
}
