import fs from 'node:fs/promises';
import net from 'node:net';
import { CofferError, encodeFrame, exceedsJsonDepth, FrameSplitter } from '@coffer/protocol';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { CallContext, Dispatcher, Reply } from './rpc/dispatcher.js';
import { decodeRequestFrame } from './rpc/exact-data.js';
import { prepareSocketPath, resolveGroup, secureSocket } from './socket.js';

/**
 * Frames deeper than this are refused before `JSON.parse` sees them: parsing millions of nested
 * brackets blocks the event loop for seconds. Anything this deep is far past the data limit anyway;
 * shallower frames are parsed and answered with their own id.
 */
const PARSE_DEPTH_SCREEN = 100_000;

/** Unsent bytes a connection may have queued before a notification closes it instead. */
const MAX_NOTIFY_BACKLOG = 16 * 1024 * 1024;

/**
 * The socket side of the daemon: accepts connections, frames NDJSON, parses, and hands each message
 * to the dispatcher. Replies go back in completion order; clients match them by id.
 */
export class SocketServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private listening = false;
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Binds the socket, or adopts an inherited one (systemd socket activation, `fd`). */
  async listen(fd?: number): Promise<void> {
    const gid = this.config.socketGroup === undefined ? undefined : resolveGroup(this.config.socketGroup);
    if (fd === undefined) await prepareSocketPath(this.config.socketPath, gid);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(fd === undefined ? { path: this.config.socketPath } : { fd }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    this.server.on('error', (error) => this.log.error({ err: error }, 'socket server error'));
    if (fd === undefined) await secureSocket(this.config.socketPath, gid);
  }

  /** Stops accepting connections; existing ones keep being served. */
  stopAccepting(): void {
    if (!this.listening) return;
    this.listening = false;
    // The callback would only fire once every connection has closed; `close` waits for that.
    this.closed = new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Closes every connection and removes the socket file (unless it was inherited). */
  async close(removeSocket: boolean): Promise<void> {
    this.stopAccepting();
    for (const connection of this.connections) connection.close();
    await this.closed;
    if (removeSocket) await fs.rm(this.config.socketPath, { force: true });
  }

  private accept(socket: net.Socket): void {
    const id = this.nextConnectionId++;
    if (this.connections.size >= this.config.maxConnections) {
      this.log.warn({ conn: id, open: this.connections.size }, 'connection refused: at --max-connections');
      socket.end(encodeFrame(errorFrame(new CofferError('BUSY'))));
      return;
    }
    const connection = new Connection(id, socket, this.config, this.dispatcher, this.log);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
  }
}

function errorFrame(error: CofferError): object {
  return { jsonrpc: '2.0', id: null, error: error.toWire() };
}

class Connection {
  private readonly splitter: FrameSplitter;
  private readonly ctx: CallContext;
  private readonly openedAt = Date.now();
  private inflight = 0;
  private requests = 0;
  private writeBlocked = false;
  private closing = false;

  constructor(
    private readonly id: number,
    private readonly socket: net.Socket,
    private readonly config: Config,
    private readonly dispatcher: Dispatcher,
    log: Logger,
  ) {
    this.splitter = new FrameSplitter(config.maxFrameBytes);
    const closeListeners: Array<() => void> = [];
    this.ctx = {
      connectionId: id,
      log: log.child({ conn: id }),
      connection: {
        id,
        notify: (method, params) => this.notify(method, params),
        onClose: (listener) => closeListeners.push(listener),
      },
    };
    socket.once('close', () => closeListeners.forEach((listener) => listener()));
    this.ctx.log.info('connection open');
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    // A peer that resets the connection is normal life for a daemon; 'close' follows.
    socket.on('error', (error) => this.ctx.log.debug({ err: error }, 'connection error'));
    socket.once('close', () =>
      this.ctx.log.info({ requests: this.requests, ms: Date.now() - this.openedAt }, 'connection closed'),
    );
  }

  close(): void {
    this.closing = true;
    this.socket.end();
    // A peer that never reads would keep the socket half-open forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    const { frames, overflow } = this.splitter.push(chunk);
    for (const frame of frames) this.onFrame(frame);
    if (overflow) {
      this.ctx.log.warn({ limit: this.config.maxFrameBytes }, 'frame over the limit: closing the connection');
      this.send(
        errorFrame(
          new CofferError(
            'TOO_LARGE',
            `Frame over the limit of ${this.config.maxFrameBytes} bytes (cofferd --max-frame-bytes, COFFER_MAX_FRAME_BYTES); the connection is closed`,
            { limit: this.config.maxFrameBytes },
          ),
        ),
      );
      this.close();
    }
  }

  private onFrame(frame: Buffer): void {
    this.requests++;
    if (exceedsJsonDepth(frame, PARSE_DEPTH_SCREEN)) {
      this.send(
        errorFrame(new CofferError('INVALID_PARAMS', `Invalid params: nested deeper than ${PARSE_DEPTH_SCREEN} levels`)),
      );
      return;
    }
    let message: unknown;
    try {
      message = decodeRequestFrame(frame);
    } catch {
      this.send(errorFrame(new CofferError('PARSE_ERROR')));
      return;
    }
    this.inflight++;
    this.updateFlow();
    void this.dispatcher.handle(message, this.ctx).then((reply) => {
      this.inflight--;
      this.reply(reply);
      this.updateFlow();
    });
  }

  /**
   * A notification (no id). A subscriber that stops reading would make us buffer without end, so
   * past MAX_NOTIFY_BACKLOG unsent bytes the connection is closed instead (it can resubscribe).
   */
  private notify(method: string, params: unknown): void {
    if (this.closing) return;
    if (this.socket.writableLength > MAX_NOTIFY_BACKLOG) {
      this.ctx.log.warn({ backlog: this.socket.writableLength }, 'subscriber does not read its notifications: closing');
      this.socket.destroy();
      return;
    }
    this.send({ jsonrpc: '2.0', method, params });
  }

  private reply(reply: Reply): void {
    if (reply !== null) this.send(reply);
  }

  private send(message: object): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.socket.write(encodeFrame(message))) this.writeBlocked = true;
  }

  /** Stops reading from a peer that sends faster than it reads answers, or floods calls. */
  private updateFlow(): void {
    const saturated = this.writeBlocked || this.inflight >= this.config.maxInflightPerConnection;
    if (saturated && !this.socket.isPaused()) this.socket.pause();
    else if (!saturated && this.socket.isPaused() && !this.closing) this.socket.resume();
  }
}
