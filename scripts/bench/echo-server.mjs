// The transport floor: a raw NDJSON echo server over a Unix socket, in Node, in its own process
// (as cofferd is). It splits lines with the same FrameSplitter cofferd uses and writes each line
// straight back: no JSON parse, no dispatch. cofferd answering `daemon.status` on the same client
// code, over the same kind of socket, against this, is the cost of everything the daemon adds.
//
// Run as a program: `node echo-server.mjs <socket path>`; prints "listening" when ready.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FrameSplitter } from '@coffer/protocol';

const self = fileURLToPath(import.meta.url);

function serve(socketPath) {
  rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    const splitter = new FrameSplitter();
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk).frames) socket.write(Buffer.concat([frame, NEWLINE]));
    });
    socket.on('error', () => undefined);
  });
  server.maxConnections = 100_000;
  server.listen(socketPath, () => process.stdout.write('listening\n'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const NEWLINE = Buffer.from('\n');

/** Spawns the echo server in a child process; resolves once it listens. */
export function startEchoServer(socketPath) {
  const child = spawn(process.execPath, [self, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`echo server exited (${code}) before listening`)));
    child.stdout.once('data', () => {
      child.removeAllListeners('exit');
      resolve({
        pid: child.pid,
        socketPath,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            // Open client connections keep server.close() waiting; don't wait for them.
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }),
      });
    });
  });
}

if (process.argv[1] === self) serve(process.argv[2]);
