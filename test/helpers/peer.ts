import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';

/** Tests that connect as another uid need root (CI runs as root); elsewhere they are skipped. */
export const asRoot = process.getuid?.() === 0;
export const NOT_ROOT = !asRoot && 'needs root to run a client as another uid';

/** One reply, or null when the daemon closed the connection without answering. */
export type Reply = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { reason?: string; [k: string]: unknown } } } | null;

/**
 * A client in another process, as uid/gid (and supplementary groups), through setpriv: the daemon
 * sees that peer's credentials in SO_PEERCRED. Sends the requests one after the other on one
 * connection, waiting for each answer (notifications are skipped); once the daemon closes the
 * connection every later reply is null. Python, because its interpreter runs as any uid.
 */
export async function callsAs(
  socketPath: string,
  who: { uid: number; gid: number; groups?: number[] },
  requests: Array<{ method: string; params?: object }>,
): Promise<Reply[]> {
  const script = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile('rwb')
for i, line in enumerate(sys.stdin):
    req = json.loads(line)
    req.update(jsonrpc='2.0', id=i + 1)
    try:
        f.write(json.dumps(req).encode() + b'\\n'); f.flush()
        while True:
            got = f.readline()
            if not got or 'id' in json.loads(got): break
    except OSError:
        got = b''
    print(got.decode().strip() or 'null', flush=True)
`;
  const groups = who.groups && who.groups.length > 0 ? `--groups=${who.groups.join(',')}` : '--clear-groups';
  const child = spawn('setpriv', [`--reuid=${who.uid}`, `--regid=${who.gid}`, groups, '/usr/bin/python3', '-c', script, socketPath], {
    cwd: '/',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  child.stdin.end(requests.map((r) => JSON.stringify({ method: r.method, params: r.params ?? {} })).join('\n') + '\n');
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`client as uid ${who.uid} failed (${code}): ${err}`);
  return out.trim().split('\n').map((line) => JSON.parse(line) as Reply);
}

/** The "careless chmod": the socket and the dirs above it open to every uid. */
export function openSocketToAll(dir: string, socketPath: string): void {
  chmodSync(dir, 0o755);
  chmodSync(path.dirname(socketPath), 0o755);
  chmodSync(socketPath, 0o666);
}
