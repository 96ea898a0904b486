import fs from 'node:fs';
import { CofferError } from '@coffer/protocol';
import pino from 'pino';
import { StartupError } from '../base/startup-error.js';

/** Who made the call, as the kernel said (SO_PEERCRED). */
export interface AuditPeer {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/**
 * One audit line. Names and outcomes only: never a value, a password or a session token (the
 * records are built from the method rules, never from params as a whole).
 */
export interface AuditRecord {
  /** The method, or `peer.refused` for a connection closed unread. */
  readonly event: string;
  /** intent: written before the call runs; done: its outcome; refused: it never ran. */
  readonly phase: 'intent' | 'done' | 'refused';
  readonly peer: AuditPeer;
  readonly conn?: number;
  readonly user?: string;
  readonly service?: string;
  /** `ok`, or the stable reason it failed with (BAD_PASSWORD, FORBIDDEN, ...). */
  readonly result?: string;
  /** Why it was refused, in words (FORBIDDEN's missing right). */
  readonly why?: string;
}

/**
 * The audit stream (--audit-log): JSON lines through pino, written with a blocking write(2) on a
 * descriptor opened O_APPEND (0600) before the call they record goes on. A line that cannot be
 * written throws, so the call is refused (fail closed): an operation that leaves no trace does not
 * happen. Measured cost: see DESIGN-NOTES "Audit trail".
 */
export class AuditLog {
  private readonly logger: pino.Logger;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    // pino's own destinations buffer or report errors later; this one writes now or throws now.
    const destination = { write: (line: string) => writeAll(this.fd, Buffer.from(line, 'utf8')) };
    this.logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, destination);
  }

  /** Opens (creates 0600) the audit file for appending; a path that cannot be opened stops start-up. */
  static open(path: string): AuditLog {
    try {
      return new AuditLog(path, fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600));
    } catch (error) {
      throw new StartupError(`--audit-log ${path}: cannot open it for appending (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }

  /** Writes one line now; throws CofferError STORAGE_FAILED (data.audit: the errno) if it cannot. */
  record(record: AuditRecord): void {
    try {
      this.logger.info(record);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      throw new CofferError(
        'STORAGE_FAILED',
        `Refused: the audit log (cofferd --audit-log) cannot be written (${code}), and nothing happens unrecorded; nothing was done. Free space or fix the audit log's file, then retry`,
        { audit: code },
      );
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** write(2) may write less than asked (a signal, a nearly full disk): the rest follows, or it throws. */
function writeAll(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
}
