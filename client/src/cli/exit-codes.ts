import { CofferError, REASONS, type Reason } from '@coffer/protocol';

/** Exit codes (DESIGN §6), also listed by `coffer --help`. */
export const EXIT = {
  OK: 0,
  /** cofferd answered with an error (wrong password, locked session, not found, conflict, …). */
  DAEMON_ERROR: 1,
  /** No usable answer: not running, wrong socket, connection lost, timeout, busy, shutting down. */
  CANNOT_CONNECT: 2,
  /** The command was called wrong: unknown command or option, bad JSON, missing session or password. */
  USAGE: 3,
  /** cofferd answers but is degraded: it refuses writes until restarted (`coffer status`). */
  DEGRADED: 4,
  /** `coffer verify` found a corrupt or missing file. */
  CORRUPT: 5,
  /** Ctrl-C at a prompt (the shell convention, 128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  cofferd answered with an error (BAD_PASSWORD, LOCKED, NOT_FOUND, CONFLICT, ...)
  2  cannot connect: cofferd not running or not answering (UNAVAILABLE, TIMEOUT,
     CONNECTION_LOST, BUSY, SHUTTING_DOWN)
  3  usage: bad command, option or JSON, missing session or password, or params
     the daemon rejected as invalid (INVALID_PARAMS)
  4  status: cofferd runs but is degraded (writes refused until it restarts)
  5  verify: a file is corrupt or missing

Passwords are never taken from the command line: they are prompted for without
echo on a terminal, or read one per line from standard input otherwise.
Encrypted data needs a session: eval "$(coffer unlock <user>)" sets COFFER_SESSION.`;

const NO_ANSWER: ReadonlySet<Reason> = new Set<Reason>(['BUSY', 'SHUTTING_DOWN']);
const USAGE: ReadonlySet<Reason> = new Set<Reason>(['INVALID_PARAMS', 'METHOD_NOT_FOUND']);

export function exitCodeFor(error: CofferError): number {
  if (USAGE.has(error.reason)) return EXIT.USAGE;
  if (REASONS[error.reason].side === 'client' || NO_ANSWER.has(error.reason)) return EXIT.CANNOT_CONNECT;
  return EXIT.DAEMON_ERROR;
}

/** What to do next, for the errors where the daemon's message alone does not say. */
export function hintFor(error: CofferError): string | undefined {
  switch (error.reason) {
    case 'TIMEOUT':
      return 'check that cofferd runs (`coffer status`), or point --socket / COFFER_SOCKET at the socket it listens on';
    case 'CONNECTION_LOST':
      return 'cofferd went away during the call; check `coffer status` before retrying a write';
    case 'LOCKED':
      return 'log in again: eval "$(coffer unlock <user>)", or pass --session';
    case 'BAD_PASSWORD':
      return 'check the password and retry; repeated failures are slowed down';
    case 'RATE_LIMITED': {
      const wait = error.data['retryAfterS'];
      return `wait ${typeof wait === 'number' ? Math.ceil(wait) : 'a few'} s before the next attempt`;
    }
    case 'CONFLICT':
      return 're-read the current value and retry with its revision';
    case 'PASSWORD_REQUIRED':
      return 'give the user a password first: coffer users passwd <user> --first';
    case 'NOT_FOUND':
      return '`coffer users list` shows the users; check the names you passed';
    default:
      return undefined;
  }
}
