import { Interrupted, UsageError, type CliIo } from './io.js';

/**
 * Where passwords and piped JSON come from. On a TTY a password is read key by key in raw mode, so
 * nothing is echoed; otherwise stdin is read line by line (one password per line), which is how
 * scripts and tests pass them. Never from argv: other users can read a process's arguments.
 */
export class StdinReader {
  private buffer = '';
  private ended = false;
  private chunks: AsyncIterator<Buffer | string> | undefined;

  constructor(private readonly io: CliIo) {}

  /** Reads a secret: prompted without echo on a TTY, else the next line of stdin. */
  async secret(prompt: string, what: string): Promise<string> {
    const value = this.io.stdin.isTTY && this.io.stdin.setRawMode ? await this.hidden(prompt) : await this.line();
    if (value === undefined) {
      throw new UsageError(`expected the ${what} on standard input (one per line), but it ended; ` + 'run on a terminal to be prompted');
    }
    if (value === '') throw new UsageError(`the ${what} is empty`);
    return value;
  }

  /** Everything left on stdin (JSON data that was piped in). */
  async rest(what: string): Promise<string> {
    if (this.io.stdin.isTTY) throw new UsageError(`give the ${what} as an argument, or pipe it on standard input`);
    while (await this.pull());
    const text = this.buffer;
    this.buffer = '';
    return text;
  }

  private async line(): Promise<string | undefined> {
    for (;;) {
      const newline = this.buffer.indexOf('\n');
      if (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        return line.replace(/\r$/, '');
      }
      if (!(await this.pull())) {
        const last = this.buffer;
        this.buffer = '';
        return last === '' ? undefined : last.replace(/\r$/, '');
      }
    }
  }

  /** Reads one more chunk into the buffer; false at the end of input. */
  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    this.chunks ??= this.io.stdin[Symbol.asyncIterator]();
    const next = await this.chunks.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.buffer += next.value.toString();
    return true;
  }

  private hidden(prompt: string): Promise<string> {
    const { stdin, stderr } = this.io;
    stderr.write(prompt);
    stdin.setRawMode?.(true);
    stdin.setEncoding?.('utf8');
    stdin.resume();
    return new Promise((resolve, reject) => {
      let chars: string[] = [];
      const done = (settle: () => void): void => {
        stdin.off('data', onData);
        stdin.setRawMode?.(false);
        stdin.pause();
        stderr.write('\n');
        settle();
      };
      const onData = (chunk: Buffer | string): void => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(chars.join('')));
          if (ch === '\u0003') return done(() => reject(new Interrupted('interrupted')));
          if (ch === '\u0004' && chars.length === 0) return done(() => resolve(''));
          if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
          else if (ch >= ' ') chars.push(ch);
        }
      };
      stdin.on('data', onData);
    });
  }
}
