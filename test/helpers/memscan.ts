import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/**
 * Counts byte strings in another process's memory, as root (CI runs as root): every readable
 * mapping of /proc/<pid>/maps read through /proc/<pid>/mem. A region that cannot be read (EIO on
 * [vvar], a guard page, a mapping gone meanwhile) is skipped and counted in `skipped`. The daemon
 * keeps running while it is read, so run a scan only while it is idle.
 */

export interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  /** The path or [heap]/[stack]/...; '' for anonymous memory. */
  readonly name: string;
}

export interface Hit {
  readonly needle: string;
  readonly address: number;
  readonly mapping: Mapping;
}

export interface ScanResult {
  /** Occurrences per needle label. */
  readonly counts: Record<string, number>;
  readonly hits: Hit[];
  readonly bytesRead: number;
  readonly skipped: number;
}

const CHUNK = 8 * 1024 * 1024;

export function readMaps(pid: number): Mapping[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [range = '', perms = '', , , , ...rest] = line.split(/\s+/);
      const [start = '0', end = '0'] = range.split('-');
      return { start: parseInt(start, 16), end: parseInt(end, 16), perms, name: rest.join(' ') };
    });
}

/** Every occurrence of every needle in the readable memory of `pid`. */
export function scanProcess(pid: number, needles: Record<string, Buffer>): ScanResult {
  const entries = Object.entries(needles).filter(([, needle]) => needle.length > 0);
  const counts: Record<string, number> = Object.fromEntries(entries.map(([label]) => [label, 0]));
  const longest = Math.max(1, ...entries.map(([, needle]) => needle.length));
  const hits: Hit[] = [];
  let bytesRead = 0;
  let skipped = 0;
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const buf = Buffer.alloc(CHUNK + longest);
  try {
    for (const mapping of readMaps(pid)) {
      if (!mapping.perms.startsWith('r') || mapping.name === '[vvar]' || mapping.name === '[vsyscall]') continue;
      // Chunks overlap by the longest needle, so a needle across a chunk edge is still seen (once).
      for (let at = mapping.start; at < mapping.end; at += CHUNK) {
        const want = Math.min(CHUNK + longest - 1, mapping.end - at);
        let got: number;
        try {
          got = readSync(fd, buf, 0, want, at);
        } catch {
          skipped++;
          break;
        }
        bytesRead += Math.min(got, CHUNK);
        const view = buf.subarray(0, got);
        for (const [label, needle] of entries) {
          for (let i = view.indexOf(needle); i !== -1; i = view.indexOf(needle, i + 1)) {
            // A hit starting in the overlap belongs to the next chunk.
            if (i >= CHUNK) break;
            counts[label] = (counts[label] ?? 0) + 1;
            hits.push({ needle: label, address: at + i, mapping });
          }
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return { counts, hits, bytesRead, skipped };
}

/** `before` bytes before and `after` after an address of `pid`, as printable text (to see what holds a hit). */
export function contextAt(pid: number, address: number, before = 96, after = 96): string {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(before + after);
    const got = readSync(fd, buf, 0, buf.length, address - before);
    return [...buf.subarray(0, got)].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
  } finally {
    closeSync(fd);
  }
}

/** One line per hit: where it is, for a failure message or a report. */
export function describeHits(result: ScanResult): string {
  return result.hits
    .map((hit) => {
      const { mapping } = hit;
      const offset = hit.address - mapping.start;
      const fromTop = mapping.end - hit.address;
      return `${hit.needle} at ${hit.address.toString(16)} in ${mapping.start.toString(16)}-${mapping.end.toString(16)} ${mapping.perms} ${mapping.name || '(anon)'} +${offset} (-${fromTop} from top, size ${mapping.end - mapping.start})`;
    })
    .join('\n');
}
