import koffi from 'koffi';
import { libc } from './os/libc.js';

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

/**
 * The listening socket systemd passed us (socket activation, `cofferd.socket`), if this process is
 * the one it was meant for. The variables are removed so nothing we spawn inherits them.
 */
export function socketActivationFd(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const fds = Number(env['LISTEN_FDS']);
  const forUs = Number(env['LISTEN_PID']) === pid;
  delete env['LISTEN_FDS'];
  delete env['LISTEN_PID'];
  delete env['LISTEN_FDNAMES'];
  return forUs && fds >= 1 ? LISTEN_FDS_START : undefined;
}

/**
 * How often to send WATCHDOG=1 when the unit has WatchdogSec= (systemd sets WATCHDOG_USEC, and
 * WATCHDOG_PID when the ping must come from a given process): half the timeout, as sd_watchdog_enabled(3)
 * advises. Undefined when no watchdog is asked of this process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env['WATCHDOG_PID'] !== undefined && Number(env['WATCHDOG_PID']) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Pings systemd's watchdog from the event loop, so a loop that stops turning gets the unit restarted. */
export function startWatchdog(env: NodeJS.ProcessEnv = process.env, pid = process.pid): NodeJS.Timeout | undefined {
  const interval = watchdogIntervalMs(env, pid);
  if (interval === undefined) return undefined;
  const timer = setInterval(() => sdNotify('WATCHDOG=1', env), interval);
  timer.unref();
  return timer;
}

type SendTo = (fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number) => number;

let calls: { socket: (d: number, t: number, p: number) => number; sendto: SendTo; close: (fd: number) => number } | undefined;

function loadLibc(): NonNullable<typeof calls> {
  if (!calls) {
    const lib = libc();
    calls = {
      socket: lib.func('int socket(int domain, int type, int protocol)'),
      sendto: lib.func('long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)'),
      close: lib.func('int close(int fd)'),
    };
  }
  return calls;
}

/**
 * sd_notify(3): tells systemd about our state (`READY=1`, `STOPPING=1`, `STATUS=…`) over the
 * datagram socket in $NOTIFY_SOCKET, so `Type=notify` units know when cofferd really serves.
 * Node has no Unix datagram sockets, hence libc through koffi. A no-op outside systemd; never throws.
 */
export function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const target = env['NOTIFY_SOCKET'];
  if (!target) return false;
  try {
    const c = loadLibc();
    // sockaddr_un: family, then the path; '@' means the abstract namespace (leading NUL).
    const pathBytes = Buffer.from(target.startsWith('@') ? `\0${target.slice(1)}` : target, 'utf8');
    if (pathBytes.length > 107) return false;
    const addr = Buffer.alloc(2 + pathBytes.length + (target.startsWith('@') ? 0 : 1));
    addr.writeUInt16LE(AF_UNIX, 0);
    pathBytes.copy(addr, 2);
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      const message = Buffer.from(state, 'utf8');
      return c.sendto(fd, message, message.length, MSG_NOSIGNAL, addr, addr.length) === message.length;
    } finally {
      c.close(fd);
    }
  } catch {
    return false;
  }
}
