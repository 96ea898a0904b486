import type net from 'node:net';
import { CofferError, encodeFrame, exceedsJsonDepth, FrameSplitter } from '@coffer/protocol';
import { answerMessage, errorFrame } from './answers.js';
import type { Peer } from './access/peers.js';
import type { Config } from './base/config.js';
import type { Logger } from './base/logger.js';
import type { CallContext, Dispatcher } from './rpc/dispatcher.js';
import { decodeRequestFrame } from './rpc/exact-data.js';
import { releaseFramePasswords } from './rpc/password-frames.js';
import type { Schedulable } from './scheduler.js';

/**
 * Frames deeper than this are refused before `JSON.parse` sees them: parsing millions of nested
 * brackets blocks the event loop for seconds. Anything this deep is far past the data limit anyway;
 * shallower frames are parsed and answered with their own id.
 */
const PARSE_DEPTH_SCREEN = 100_000;

/** Unsent bytes a connection may have queued before a notification closes it instead. */
const MAX_NOTIFY_BACKLOG = 16 * 1024 * 1024;

/**
 * What a call in flight is expected to answer, in bytes, before this connection's answers are
 * known: pessimistic, so a burst of pipelined calls cannot all start before the first big answer
 * shows how big they are (with the default soft limit, 16 calls start at first). It then rises at
 * once with a bigger answer and decays slowly with smaller ones.
 */
const FIRST_ANSWER_ESTIMATE = 256 * 1024;
const MIN_ANSWER_ESTIMATE = 256;

/** Frames read and not started past which reading pauses even while they can start. */
const MAX_WAITING_FRAMES = 256;

/** The options a connection reads: its slice of the daemon's `Config`. */
export type ConnectionOptions = Pick<Config, 'maxFrameBytes' | 'maxInflightPerConnection' | 'limits'>;

/** What a connection needs from the server that owns it: the global budget and the scheduler. */
export interface ConnectionHost {
  readonly config: ConnectionOptions;
  readonly dispatcher: Dispatcher;
  /** Whether answers of all connections, queued and expected, plus `more` pass --max-total-queued-bytes. */
  overTotalBudget(more: number): boolean;
  /** Answer bytes of this connection grew (or shrank) by `delta`: queued, or `expected` from calls in flight. */
  answerBytesChanged(delta: number, expected?: boolean): void;
  /** This connection has frames to start (FairScheduler). */
  wake(connection: Connection): void;
}

/**
 * One client connection: splits frames, starts calls while its answer budget allows (DESIGN-NOTES
 * "Reliability under abuse"), writes answers in completion order (clients match them by id), and
 * after the peer's FIN answers everything it sent before closing.
 */
export class Connection implements Schedulable {
  private readonly splitter: FrameSplitter;
  private readonly ctx: CallContext;
  private readonly openedAt = Date.now();
  /** Frames read but not started: the socket is paused while there are any. */
  private readonly waiting: Buffer[] = [];
  private inflight = 0;
  /** Bytes handed to the socket and not yet flushed to the kernel. */
  private queued = 0;
  private answerEstimate = FIRST_ANSWER_ESTIMATE;
  private requests = 0;
  private peerEnded = false;
  private closing = false;
  private gone = false;
  /** A watch.* subscriber waits quietly by design: never closed for idleness. */
  private subscriber = false;
  /** When the last byte came from the peer. */
  lastHeard = Date.now();

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
    log: Logger,
    peer: Peer,
  ) {
    this.splitter = new FrameSplitter(host.config.maxFrameBytes);
    const closeListeners: Array<() => void> = [];
    this.ctx = {
      connectionId: id,
      peer,
      log: log.child({ conn: id }),
      connection: {
        id,
        notify: (method, params) => this.notify(method, params),
        onClose: (listener) => {
          this.subscriber = true;
          closeListeners.push(listener);
        },
      },
    };
    this.ctx.log.info({ uid: peer.cred.uid, pid: peer.cred.pid, scope: peer.grantedBy }, 'connection open');
    socket.on('end', () => this.onEnd());
    // A peer that resets the connection is normal life for a daemon; 'close' follows.
    socket.on('error', (error) => this.ctx.log.debug({ err: error }, 'connection error'));
    socket.once('close', () => {
      this.gone = true;
      // Frames of a client that is gone are not started: nobody would read their answers.
      this.closing = true;
      this.waiting.length = 0;
      this.host.answerBytesChanged(-this.queued);
      this.queued = 0;
      closeListeners.forEach((listener) => listener());
      this.ctx.log.info({ requests: this.requests, ms: Date.now() - this.openedAt }, 'connection closed');
    });
  }

  get pendingCount(): number {
    return this.waiting.length + this.inflight;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Nothing to answer, nothing waiting, no subscription: closing it loses nothing. */
  get idle(): boolean {
    return !this.subscriber && !this.closing && this.inflight === 0 && this.queued === 0 && this.waiting.length === 0;
  }

  /** Ends our side now; a peer that does not read what is left is cut off after `graceMs`. */
  close(graceMs = 1000): void {
    this.closing = true;
    this.waiting.length = 0;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  startOne(): boolean {
    if (this.waiting.length === 0 || !this.mayStart()) return false;
    this.onFrame(this.waiting.shift()!);
    return true;
  }

  /**
   * After anything that may let a frame start: hands the connection to the scheduler, and pauses
   * reading while frames cannot start (the client is over its budget) or too many wait.
   */
  pump(): void {
    const canStart = this.mayStart();
    if (this.waiting.length > 0 && canStart) this.host.wake(this);
    if ((this.waiting.length > 0 && !canStart) || this.waiting.length >= MAX_WAITING_FRAMES) this.socket.pause();
    else if (this.socket.isPaused() && !this.closing) this.socket.resume();
    // Half-close: everything the peer sent before its FIN is answered, then ours follows.
    if (this.peerEnded && !this.closing && this.waiting.length === 0 && this.inflight === 0) {
      this.close(Math.max(1000, this.host.config.limits.idleTimeoutS * 1000));
    }
  }

  private mayStart(): boolean {
    if (this.closing) return false;
    const { limits, maxInflightPerConnection } = this.host.config;
    if (this.inflight >= maxInflightPerConnection) return false;
    // With nothing queued or in flight one call always starts, however large its answer may be.
    const expected = this.queued + this.inflight * this.answerEstimate;
    if (expected > 0 && expected >= limits.queuedSoftBytes) return false;
    // Over the global budget, only connections with nothing pending are served.
    return this.queued + this.inflight === 0 || !this.host.overTotalBudget(this.answerEstimate);
  }

  /**
   * Bytes read from the peer, in the daemon's read buffer (owned-reads.ts): valid only during this
   * call, and zeroed after it. A frame inside the chunk is copied out; one the splitter joined from
   * several reads is its own buffer already, taken as it is (it is zeroed once parsed, as every
   * frame is: a copy of it would be left behind).
   */
  receive(chunk: Buffer): void {
    if (this.closing) return;
    this.lastHeard = Date.now();
    const { frames, overflow } = this.splitter.push(chunk);
    for (const frame of frames) this.waiting.push(frame.buffer === chunk.buffer ? Buffer.from(frame) : frame);
    this.pump();
    if (overflow) {
      const limit = this.host.config.maxFrameBytes;
      this.ctx.log.warn({ limit }, 'frame over the limit: closing the connection');
      this.write(
        errorFrame(new CofferError('TOO_LARGE', `Frame over the limit of ${limit} bytes (cofferd --max-frame-bytes, COFFER_MAX_FRAME_BYTES); the connection is closed`, { limit })),
      );
      this.close();
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    const rest = this.splitter.takeRest();
    if (rest && !this.closing) this.waiting.push(rest);
    this.pump();
  }

  private onFrame(frame: Buffer): void {
    this.requests++;
    if (exceedsJsonDepth(frame, PARSE_DEPTH_SCREEN)) {
      this.write(errorFrame(new CofferError('INVALID_PARAMS', `Invalid params: nested deeper than ${PARSE_DEPTH_SCREEN} levels`)));
      return;
    }
    let message: unknown;
    try {
      message = decodeRequestFrame(frame);
    } catch {
      this.write(errorFrame(new CofferError('PARSE_ERROR')));
      return;
    } finally {
      // Issue 13: the frame's bytes (passwords, values) are not left in the socket's read buffer.
      frame.fill(0);
    }
    this.inflight++;
    // Expected answer bytes count in the global budget until the answer comes.
    const reserved = this.answerEstimate;
    this.host.answerBytesChanged(reserved, true);
    void answerMessage(this.host.dispatcher, message, this.ctx, this.host.config.limits).then((answer) => {
      releaseFramePasswords(message);
      this.inflight--;
      this.host.answerBytesChanged(-reserved, true);
      if (answer !== null) {
        const decayed = this.answerEstimate + (answer.length - this.answerEstimate) / 8;
        this.answerEstimate = Math.ceil(Math.max(MIN_ANSWER_ESTIMATE, answer.length, decayed));
        this.write(answer);
      }
      this.pump();
    });
  }

  /**
   * A notification (no id). A subscriber that stops reading would make us buffer without end, so
   * past MAX_NOTIFY_BACKLOG unsent bytes the connection is closed instead (it can resubscribe).
   */
  private notify(method: string, params: unknown): void {
    if (this.closing) return;
    if (this.queued > MAX_NOTIFY_BACKLOG) {
      this.ctx.log.warn({ backlog: this.queued }, 'subscriber does not read its notifications: closing');
      this.socket.destroy();
      return;
    }
    this.write(Buffer.from(encodeFrame({ jsonrpc: '2.0', method, params }), 'utf8'));
  }

  /** Queues a frame, or closes a connection whose client has stopped reading past the hard limit. */
  private write(frame: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const limit = this.host.config.limits.queuedHardBytes;
    if (this.queued > 0 && this.queued + frame.length > limit) {
      this.ctx.log.warn({ queued: this.queued, limit }, 'client does not read its answers: closing (--max-queued-bytes-hard)');
      this.socket.destroy();
      return;
    }
    this.queued += frame.length;
    this.host.answerBytesChanged(frame.length);
    this.socket.write(frame, () => {
      // Issue 13: an answer may hold decrypted values; once the kernel has it, our copy goes (frames are never reused).
      frame.fill(0);
      this.flushed(frame.length);
    });
  }

  private flushed(bytes: number): void {
    // After 'close' the bytes were already given back.
    if (this.gone) return;
    this.queued -= bytes;
    this.host.answerBytesChanged(-bytes);
    this.pump();
  }
}
