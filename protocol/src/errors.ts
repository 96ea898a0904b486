/**
 * Every error Coffer puts on the wire or raises in a client, in one table.
 *
 * Ranges:
 *   -32768..-32000  JSON-RPC 2.0 protocol faults (reserved by the spec)
 *   1000..1099      application errors, answered by cofferd (DESIGN §2)
 *   1100..1199      transport states, raised only inside clients (never sent by the daemon)
 *
 * Every error carries `data.reason`, a stable string that clients switch on; the numeric code is
 * derived from it. Messages say what happened and what to do next, and never contain a secret.
 */

export interface ReasonInfo {
  readonly code: number;
  /** Default message: what happened, and what to do next. */
  readonly message: string;
  /** Who raises it: the daemon (on the wire) or the client library (transport). */
  readonly side: 'daemon' | 'client';
}

export const REASONS = {
  PARSE_ERROR: { code: -32700, side: 'daemon', message: 'Parse error: the frame is not valid JSON' },
  INVALID_REQUEST: { code: -32600, side: 'daemon', message: 'Invalid request: not a JSON-RPC 2.0 request object' },
  METHOD_NOT_FOUND: { code: -32601, side: 'daemon', message: 'Method not found: see rpc.discover for the catalogue' },
  INVALID_PARAMS: { code: -32602, side: 'daemon', message: 'Invalid params' },
  INTERNAL_ERROR: { code: -32603, side: 'daemon', message: 'Internal error: the daemon log has details' },

  NOT_FOUND: { code: 1001, side: 'daemon', message: 'Not found: no such user, service, document or annotation' },
  ALREADY_EXISTS: { code: 1002, side: 'daemon', message: 'Already exists: choose another name' },
  CONFLICT: { code: 1003, side: 'daemon', message: 'Conflict: the revision changed; re-read and retry' },
  LOCKED: { code: 1010, side: 'daemon', message: 'Locked: no valid session; log in again' },
  BAD_PASSWORD: { code: 1011, side: 'daemon', message: 'Wrong password' },
  PASSWORD_REQUIRED: {
    code: 1012,
    side: 'daemon',
    message: 'This needs a user with a password; set one with users.changePassword',
  },
  RATE_LIMITED: { code: 1013, side: 'daemon', message: 'Too many failed attempts; retry after data.retryAfterS seconds' },
  FORBIDDEN: {
    code: 1014,
    side: 'daemon',
    message: "Forbidden: this peer's scope (cofferd --policy) does not allow the call; nothing was done",
  },
  STORAGE_FAILED: {
    code: 1020,
    side: 'daemon',
    message: 'The write did not happen (disk full or I/O error); stored data is as before',
  },
  CORRUPT: {
    code: 1021,
    side: 'daemon',
    message: 'A file on disk does not parse or authenticate; it was left untouched',
  },
  READ_ONLY: {
    code: 1022,
    side: 'daemon',
    message: 'Read-only: this file belongs to another program (Specter); change it there',
  },
  TOO_LARGE: { code: 1030, side: 'daemon', message: 'Too large: the frame or document is over its limit' },
  SHUTTING_DOWN: { code: 1040, side: 'daemon', message: 'The daemon is stopping; retry after it restarts' },
  BUSY: {
    code: 1041,
    side: 'daemon',
    message: 'The daemon is at its connection limit; close idle connections or raise --max-connections',
  },

  UNAVAILABLE: {
    code: 1101,
    side: 'client',
    message: 'Cannot reach cofferd: is it running, and is the socket path right?',
  },
  TIMEOUT: { code: 1102, side: 'client', message: 'No answer from cofferd within the timeout' },
  CONNECTION_LOST: {
    code: 1103,
    side: 'client',
    message: 'The connection to cofferd closed before the answer came; the call may or may not have been applied',
  },
  PROTOCOL_VIOLATION: { code: 1104, side: 'client', message: 'cofferd sent something that is not JSON-RPC 2.0' },
  CLOSED: { code: 1105, side: 'client', message: 'The client was closed' },
} as const satisfies Record<string, ReasonInfo>;

export type Reason = keyof typeof REASONS;

const reasonByCode = new Map<number, Reason>(
  (Object.keys(REASONS) as Reason[]).map((reason) => [REASONS[reason].code, reason]),
);

export function isReason(value: unknown): value is Reason {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(REASONS, value);
}

export function reasonForCode(code: number): Reason | undefined {
  return reasonByCode.get(code);
}

/** The `error` member of a JSON-RPC response, as Coffer sends it. */
export interface WireError {
  code: number;
  message: string;
  data?: { reason: string; [key: string]: unknown };
}

/**
 * The one error type of Coffer. The daemon throws it to answer a call with an application error;
 * clients throw it for every failure, remote or local, so callers switch on `reason`.
 */
export class CofferError extends Error {
  readonly code: number;
  readonly reason: Reason;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(reason: Reason, message?: string, data: Record<string, unknown> = {}) {
    super(message ?? REASONS[reason].message);
    this.name = 'CofferError';
    this.reason = reason;
    this.code = REASONS[reason].code;
    this.data = data;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, data: { ...this.data, reason: this.reason } };
  }

  /** Rebuilds an error received from the daemon; unknown codes stay visible rather than being guessed. */
  static fromWire(error: { code?: unknown; message?: unknown; data?: unknown }): CofferError {
    const data = isPlainRecord(error.data) ? { ...error.data } : {};
    const claimed = data['reason'];
    const reason: Reason =
      (isReason(claimed) ? claimed : undefined) ??
      (typeof error.code === 'number' ? reasonForCode(error.code) : undefined) ??
      'PROTOCOL_VIOLATION';
    delete data['reason'];
    const message = typeof error.message === 'string' ? error.message : REASONS[reason].message;
    const out = new CofferError(reason, message, data);
    if (typeof error.code === 'number' && error.code !== out.code) {
      return new CofferError('PROTOCOL_VIOLATION', `${message} (unknown error code ${error.code})`, data);
    }
    return out;
  }
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
