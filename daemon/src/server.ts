import fs from 'node:fs/promises';
import net from 'node:net';
import { CofferError } from '@coffer/protocol';
import type { AccessGate } from './access/gate.js';
import { peerCred } from './access/peer-cred.js';
import type { PeerAccess } from './access/peers.js';
import { errorFrame } from './answers.js';
import type { Config } from './base/config.js';
import { Connection, type ConnectionHost, type ConnectionOptions } from './connection.js';
import type { Logger } from './base/logger.js';
import type { Dispatcher } from './rpc/dispatcher.js';
import { withOwnedReads } from './owned-reads.js';
import { FairScheduler } from './scheduler.js';
import { prepareSocketPath, resolveGroup, secureSocket } from './socket.js';

/** Frames started per event-loop turn, across all connections (FairScheduler). */
const FRAMES_PER_TURN = 64;

/** The options the server reads (its connections' included): its slice of the daemon's `Config`. */
export type ServerOptions = ConnectionOptions & Pick<Config, 'socketPath' | 'socketGroup' | 'maxConnections'>;

/**
 * The socket side of the daemon: accepts connections (connection.ts serves each), keeps the
 * global answer budget, and closes idle connections. Replies go back in completion order; clients
 * match them by id.
 */
export class SocketServer implements ConnectionHost {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /**
   * Every socket we serve or are turning away. The server's own count knows only the accepted
   * sockets, which are handed to new ones at once (owned-reads.ts), so `close` waits for these.
   */
  private readonly sockets = new Set<net.Socket>();
  private nextConnectionId = 1;
  private listening = false;
  private closed: Promise<void> = Promise.resolve();
  /** Answer bytes written and unread, and expected from calls in flight, over all connections. */
  private queuedBytes = 0;
  private expectedBytes = 0;
  private readonly scheduler = new FairScheduler(FRAMES_PER_TURN);
  private readonly idleSweep: NodeJS.Timeout | undefined;

  constructor(
    readonly config: ServerOptions,
    readonly dispatcher: Dispatcher,
    private readonly log: Logger,
    private readonly access: { peers: PeerAccess; gate: Pick<AccessGate, 'peerRefused'> },
  ) {
    // Half-open: a client that shuts down its write side after sending still gets its answers.
    // Paused on connect: nothing is read from a peer before its credentials are checked (accept).
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    const idleMs = config.limits.idleTimeoutS * 1000;
    if (idleMs > 0) {
      this.idleSweep = setInterval(() => this.closeIdle(idleMs), Math.min(5000, idleMs / 4));
      this.idleSweep.unref();
    }
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Answer bytes written to all connections and not yet taken by their clients. */
  get queuedAnswerBytes(): number {
    return this.queuedBytes;
  }

  overTotalBudget(more: number): boolean {
    return this.queuedBytes + this.expectedBytes + more > this.config.limits.queuedTotalBytes;
  }

  answerBytesChanged(delta: number, expected = false): void {
    const wasOver = this.overTotalBudget(0);
    if (expected) this.expectedBytes += delta;
    else this.queuedBytes += delta;
    // Connections held back by the global budget wait for this moment: nothing else wakes them.
    if (wasOver && !this.overTotalBudget(0)) for (const connection of this.connections) connection.pump();
  }

  wake(connection: Connection): void {
    this.scheduler.wake(connection);
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
    clearInterval(this.idleSweep);
    for (const connection of this.connections) connection.close();
    await this.closed;
    await Promise.all([...this.sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    if (removeSocket) await fs.rm(this.config.socketPath, { force: true });
  }

  private accept(accepted: net.Socket): void {
    const id = this.nextConnectionId++;
    // Before anything is read: the kernel's word on who connected decides whether we listen at all.
    const cred = peerCred(accepted);
    /* c8 ignore next 5: the kernel always answers SO_PEERCRED on an accepted Unix socket */
    if (cred === null) {
      accepted.destroy();
      this.log.error({ conn: id }, 'connection refused: the kernel did not say who the peer is (SO_PEERCRED)');
      return;
    }
    const peer = this.access.peers.admit(cred);
    if (peer === null) {
      accepted.destroy();
      this.log.warn({ conn: id, uid: cred.uid, gid: cred.gid, pid: cred.pid }, 'connection refused: peer not allowed (--allow-uid, --allow-gid, --policy)');
      this.access.gate.peerRefused(cred, this.log);
      return;
    }
    // What a turned-away client sends is read too (and dropped), into the same zeroed buffer.
    let connection: Connection | undefined;
    const socket = withOwnedReads(accepted, (chunk) => connection?.receive(chunk));
    /* c8 ignore next 4: only when the daemon is out of file descriptors */
    if (socket === null) {
      this.log.error({ conn: id }, 'connection dropped: could not take over its descriptor (out of file descriptors? raise LimitNOFILE)');
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.connections.size >= this.config.maxConnections && !this.makeRoom(id)) {
      this.log.warn({ conn: id, open: this.connections.size }, 'connection refused: at --max-connections');
      socket.end(errorFrame(new CofferError('BUSY')));
      // Flowing again (what it sends is dropped), so its FIN is seen and the socket closes; a
      // client that keeps it open anyway is cut off, as a closed connection is (Connection.close).
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const served = new Connection(id, socket, this, this.log, peer);
    connection = served;
    this.connections.add(served);
    socket.once('close', () => this.connections.delete(served));
    socket.resume();
  }

  /**
   * At --max-connections, the connection that has been silent longest and has nothing pending
   * gives its place to the new one: idle connections cannot lock clients out. Clients reconnect
   * by themselves; BUSY only when every connection is busy or subscribed.
   */
  private makeRoom(newId: number): boolean {
    let victim: Connection | undefined;
    for (const connection of this.connections) {
      if (connection.idle && (victim === undefined || connection.lastHeard < victim.lastHeard)) victim = connection;
    }
    if (victim === undefined) return false;
    this.log.info({ conn: victim.id, for: newId, silentMs: Date.now() - victim.lastHeard }, 'at --max-connections: closing the longest-idle connection');
    victim.close();
    this.connections.delete(victim);
    return true;
  }

  /** Closes connections silent for --idle-timeout that have nothing pending (subscribers stay). */
  private closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const connection of this.connections) {
      if (connection.idle && now - connection.lastHeard >= idleMs) {
        this.log.info({ conn: connection.id, silentMs: now - connection.lastHeard }, 'idle for --idle-timeout: closing');
        connection.close();
      }
    }
  }
}
