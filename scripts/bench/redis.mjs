// Redis as the yardstick: Debian's redis-server, started by the bench on a Unix socket in a temp
// dir with `appendonly yes` + `appendfsync always` (an fsync before each reply, as cofferd), and a
// plain RESP client written against the socket (no npm dependency to pin or audit; SET, GET and
// PING need 60 lines). Each command goes out as one write, as the NDJSON client does, so both
// clients cost the load generator about the same.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { connectUnix } from './ndjson-client.mjs';

/** The redis-server version line, or null when it is not installed. */
export function redisVersion() {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export async function startRedis(dir) {
  const socketPath = path.join(dir, 'redis.sock');
  const child = spawn(
    'redis-server',
    [
      '--port', '0',
      '--unixsocket', socketPath,
      '--unixsocketperm', '700',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output}`);
    try {
      const probe = await RespConnection.open(socketPath);
      await probe.command('PING');
      probe.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${socketPath}: ${error.message}\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  // Check that Redis runs with the durability we claim for it in the report.
  const check = await RespConnection.open(socketPath);
  const [, appendonly] = await check.command('CONFIG', 'GET', 'appendonly');
  const [, appendfsync] = await check.command('CONFIG', 'GET', 'appendfsync');
  check.close();
  if (appendonly !== 'yes' || appendfsync !== 'always') throw new Error(`redis-server runs with appendonly ${appendonly}, appendfsync ${appendfsync}`);
  return {
    pid: child.pid,
    socketPath,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

const CRLF = '\r\n';

/** One RESP connection; replies come back in order, so waiters are a FIFO. */
export class RespConnection {
  constructor(socket) {
    this.socket = socket;
    this.waiters = [];
    this.buffer = Buffer.alloc(0);
    socket.setNoDelay?.(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const w of this.waiters.splice(0)) w.reject(new Error('redis connection closed'));
    });
  }

  static async open(socketPath) {
    return new RespConnection(await connectUnix(socketPath));
  }

  /** Sends a command (strings); resolves with the reply (string, number, null), rejects on -ERR. */
  command(...args) {
    let text = `*${args.length}${CRLF}`;
    for (const arg of args) text += `$${Buffer.byteLength(arg)}${CRLF}${arg}${CRLF}`;
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(text);
    });
  }

  close() {
    this.socket.destroy();
  }

  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.buffer, offset);
      if (!parsed) break;
      offset = parsed.next;
      const waiter = this.waiters.shift();
      if (parsed.error) waiter?.reject(new Error(parsed.error));
      else waiter?.resolve(parsed.value);
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }
}

/** One reply starting at `offset`, or null if it is not complete yet. */
function parseReply(buf, offset) {
  const eol = buf.indexOf(CRLF, offset);
  if (eol === -1) return null;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, eol);
  switch (type) {
    case '+':
      return { value: line, next: eol + 2 };
    case '-':
      return { error: line, next: eol + 2 };
    case ':':
      return { value: Number(line), next: eol + 2 };
    case '$': {
      const length = Number(line);
      if (length === -1) return { value: null, next: eol + 2 };
      const end = eol + 2 + length;
      if (buf.length < end + 2) return null;
      return { value: buf.toString('utf8', eol + 2, end), next: end + 2 };
    }
    case '*': {
      const count = Number(line);
      const items = [];
      let next = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        items.push(item.error ?? item.value);
        next = item.next;
      }
      return { value: count === -1 ? null : items, next: count === -1 ? eol + 2 : next };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}
