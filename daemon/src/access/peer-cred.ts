import type net from 'node:net';
import { libc } from '../os/libc.js';

/** Who is at the other end of a Unix socket connection, as the kernel says (not as the peer claims). */
export interface PeerCred {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** Supplementary groups (SO_PEERGROUPS, Linux 4.13+); empty where the kernel cannot say. */
  readonly groups: readonly number[];
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERGROUPS = 59;
/** struct ucred: pid_t pid; uid_t uid; gid_t gid (three 32-bit integers). */
const UCRED_BYTES = 12;
/** NGROUPS_MAX (65536) gids of 4 bytes: any peer's groups fit, so there is no retry to get wrong. */
const GROUPS_BYTES = 65536 * 4;

type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number[]) => number;

let getsockopt: GetSockOpt | undefined;
/** One buffer for every call: reads are synchronous, and 256 KiB per connection would be waste. */
let groupsBuffer: Buffer | undefined;

/** libc's getsockopt through koffi (Node has no API for SO_PEERCRED); loaded once, on first use. */
function libcGetSockOpt(): GetSockOpt {
  getsockopt ??= libc().func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *length)') as GetSockOpt;
  return getsockopt;
}

/**
 * The file descriptor of an accepted Unix socket. Node keeps it on the socket's private libuv
 * handle (`_handle.fd`, a Pipe for Unix sockets): there is no public accessor, so this is the one
 * place that reaches for it. -1 (or no handle) means Node could not give one.
 */
export function socketFd(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/**
 * The peer's credentials, read before a byte of the connection is: the uid, gid and pid the peer
 * had when it connected (SO_PEERCRED), and its supplementary groups. Null when the kernel cannot
 * tell (no fd, not a Unix socket): the caller refuses such a peer.
 */
export function peerCred(socket: net.Socket): PeerCred | null {
  const fd = socketFd(socket);
  /* c8 ignore next: an accepted Unix socket always has its fd */
  if (fd < 0) return null;
  const call = libcGetSockOpt();
  const ucred = Buffer.alloc(UCRED_BYTES);
  const length = [UCRED_BYTES];
  /* c8 ignore next: the kernel answers SO_PEERCRED on every connected Unix socket */
  if (call(fd, SOL_SOCKET, SO_PEERCRED, ucred, length) !== 0 || length[0] !== UCRED_BYTES) return null;
  return { pid: ucred.readInt32LE(0), uid: ucred.readUInt32LE(4), gid: ucred.readUInt32LE(8), groups: peerGroups(call, fd) };
}

function peerGroups(call: GetSockOpt, fd: number): number[] {
  groupsBuffer ??= Buffer.alloc(GROUPS_BYTES);
  const length = [GROUPS_BYTES];
  // An old kernel without SO_PEERGROUPS (before 4.13): only the primary gid is known.
  /* c8 ignore next */
  if (call(fd, SOL_SOCKET, SO_PEERGROUPS, groupsBuffer, length) !== 0) return [];
  const groups: number[] = [];
  for (let at = 0; at + 4 <= length[0]!; at += 4) groups.push(groupsBuffer.readUInt32LE(at));
  return groups;
}
