import net from 'node:net';
import { socketFd } from './access/peer-cred.js';
import { libc } from './os/libc.js';

/**
 * Issue 13: what a client sends (passwords, values to store) is read into one buffer the daemon
 * owns, and zeroed there as soon as the bytes are handed on, on every Node.
 *
 * Node reads a socket into a buffer of its own and hands JS a copy. Node 20 frees that buffer after
 * each read (glibc's perturb tunable then fills it), but Node 24 keeps one buffer for every stream
 * read and leaves the last read in it until the next one: the frame of a users.unlock, password
 * included, stayed readable in the daemon's memory (test/memory-scan.test.ts, measured on 24.22).
 * Node gives no way to clear its buffer; it does let a socket read into ours (`onread`), but only
 * for a socket it creates. So an accepted connection is handed to a new socket on a duplicate of
 * its descriptor (close-on-exec, as Node's own), and the accepted one is closed.
 */

/** One buffer for every connection: a read is handed on and zeroed before the next can start. */
const READ_BUFFER_BYTES = 64 * 1024;
let readBuffer: Buffer | undefined;

const F_DUPFD_CLOEXEC = 1030;
type Fcntl = (fd: number, cmd: number, ...args: unknown[]) => number;
let fcntl: Fcntl | undefined;

/**
 * A socket for the connection `accepted` that reads into the daemon's buffer: `onRead` gets each
 * read's bytes, valid only during the call (copy what must outlive it), and they are zeroed after.
 * `accepted` is closed. Null when the descriptor cannot be duplicated (EMFILE): the connection is
 * then closed too. The new socket is half-open like the server's, and reads at once.
 */
export function withOwnedReads(accepted: net.Socket, onRead: (chunk: Buffer) => void): net.Socket | null {
  fcntl ??= libc().func('int fcntl(int fd, int cmd, ...)') as Fcntl;
  readBuffer ??= Buffer.alloc(READ_BUFFER_BYTES);
  const buffer = readBuffer;
  const fd = fcntl(socketFd(accepted), F_DUPFD_CLOEXEC, 'int', 0);
  accepted.destroy();
  if (fd < 0) return null;
  // Node reads `onread` in this constructor too (documented for connect; @types/node has it there only).
  const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
    fd,
    readable: true,
    writable: true,
    allowHalfOpen: true,
    onread: {
      buffer,
      // True: keep reading (false would pause; the connection pauses itself when it must).
      callback: (bytes: number) => {
        try {
          onRead(buffer.subarray(0, bytes));
        } finally {
          buffer.fill(0, 0, bytes);
        }
        return true;
      },
    },
  };
  return new net.Socket(options);
}
