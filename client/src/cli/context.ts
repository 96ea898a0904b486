import { InvalidArgumentError, type Command } from 'commander';
import { CofferClient } from '../client.js';
import { resolveSocketPath } from '../socket-path.js';
import { UsageError, type CliIo } from './io.js';
import { StdinReader } from './secret-input.js';
import { isLosslessObject, parseLossless, stringifyLossless, type LosslessObject, type LosslessValue } from '@coffer/protocol';

/** The options every command has (on the root program). */
export interface GlobalOptions {
  socket?: string;
  json?: boolean;
  timeout: number;
}

/**
 * What a command action gets: a lazily connected client, the input reader, and one way to print a
 * result (human text, or the raw result with --json). Commands hold no logic beyond this.
 */
export class CliContext {
  readonly input: StdinReader;
  private connection: Promise<CofferClient> | undefined;

  constructor(
    readonly io: CliIo,
    private readonly command: Command,
  ) {
    this.input = new StdinReader(io);
  }

  get options(): GlobalOptions {
    return this.command.optsWithGlobals<GlobalOptions>();
  }

  get json(): boolean {
    return this.options.json === true;
  }

  client(): Promise<CofferClient> {
    const { socket, timeout } = this.options;
    this.connection ??= CofferClient.connect({ socketPath: resolveSocketPath({ given: socket, env: this.io.env }), timeoutMs: timeout * 1000 });
    return this.connection;
  }

  /** Prints `result` as JSON with --json, else the human text (a string, or lines). */
  print(result: unknown, human: string | readonly string[]): void {
    const text = this.json ? stringifyLossless(result, { indent: 2 }) : typeof human === 'string' ? human : human.join('\n');
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** A note for people (on stderr, so stdout stays what scripts parse); not shown with --json. */
  note(text: string): void {
    if (!this.json) this.io.stderr.write(`${text}\n`);
  }

  /** The session from --session or $COFFER_SESSION; `required` makes its absence a usage error. */
  session(given: string | undefined, required: true): string;
  session(given: string | undefined, required: false): string | undefined;
  session(given: string | undefined, required: boolean): string | undefined {
    const session = given ?? (this.io.env['COFFER_SESSION'] || undefined);
    if (session === undefined && required) {
      throw new UsageError('this needs a session: eval "$(coffer unlock <user>)" sets COFFER_SESSION, or pass --session');
    }
    return session;
  }

  /** A JSON argument, or stdin when it is omitted or `-`, read exactly (`1.0`, big ints, key order kept). */
  async jsonArg(text: string | undefined, what: string): Promise<LosslessValue> {
    const source = text === undefined || text === '-' ? await this.input.rest(what) : text;
    try {
      return parseLossless(source);
    } catch (error) {
      throw new UsageError(`the ${what} is not valid JSON (${(error as Error).message})`);
    }
  }

  /** Like jsonArg, for the places that take a JSON object. */
  async objectArg(text: string | undefined, what: string): Promise<LosslessObject> {
    const value = await this.jsonArg(text, what);
    if (!isLosslessObject(value)) throw new UsageError(`the ${what} must be a JSON object, like '{"key": "value"}'`);
    return value;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.close();
  }
}

/** `ifRevision` from --if-revision / --if-absent (absent: unconditional). */
export function ifRevisionOf(options: { ifRevision?: string; ifAbsent?: boolean }): { ifRevision?: string | null } {
  if (options.ifRevision !== undefined && options.ifAbsent) throw new UsageError('give --if-revision or --if-absent, not both');
  if (options.ifAbsent) return { ifRevision: null };
  return options.ifRevision === undefined ? {} : { ifRevision: options.ifRevision };
}

/** Binds an action to the CLI's io: it gets a CliContext for its command, closed afterwards. */
export type Act = <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<void>) => (...args: unknown[]) => Promise<void>;

/** commander argument parser for options like --ttl. */
export function positiveInt(what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${what} must be a whole number of at least 1`);
    return Number(value);
  };
}
