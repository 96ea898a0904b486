/**
 * What the CLI touches of its process, as one value: `cli.ts` passes the real streams and env, tests
 * pass in-memory ones, so every command runs in-process under test with the same code path.
 */
export interface CliOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliInput extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
  /** Present on a TTY: raw mode reads a password key by key, without echo. */
  setRawMode?(raw: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: CliInput;
  env: Readonly<Record<string, string | undefined>>;
}

/** A mistake in how the command was called (exit 3): the message says what to type instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Ctrl-C at a password prompt. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** The command ran and printed its result, but the state it reports is a failure (exit `code`). */
export class Failed extends Error {
  override readonly name = 'Failed';
  constructor(
    readonly code: number,
    /** For --json: a stable word for the state (e.g. DEGRADED). */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
