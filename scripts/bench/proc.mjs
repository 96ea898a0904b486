// What a process costs, read from /proc (Linux): resident memory and CPU time. Each figure is read
// for the server process itself, so the client load generator in this process is never counted.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

/** VmRSS and VmHWM (peak) of a process, in MiB; null if it is gone. */
export function memoryOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

// /proc/<pid>/stat counts CPU in clock ticks; USER_HZ is 100 on every Linux build we run on.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far; null if it is gone. */
export function cpuSecondsOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; fields after the closing paren are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used by this (client) process so far. */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The machine, for the report: CPU model, cores, RAM, kernel, Node, file system of `dir`. */
export function machineInfo(dir) {
  const cpus = os.cpus();
  let fs = 'unknown';
  try {
    fs = execFileSync('findmnt', ['-no', 'SOURCE,FSTYPE,OPTIONS', '--target', dir], { encoding: 'utf8' }).trim();
  } catch {
    // findmnt missing: leave it unknown rather than guess.
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    tmpFs: fs,
  };
}

/** 1, 5 and 15 minute load averages: other work on the machine skews absolute numbers. */
export function loadAverage() {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

/** The soft limit on open files for children of this process (`ulimit -n`). */
export function openFileLimit() {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return NaN;
  }
}
