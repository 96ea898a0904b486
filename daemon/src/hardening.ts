import koffi from 'koffi';
import { libc } from './os/libc.js';

/** What `hardenProcess` managed to do; logged at start so an operator can see it. */
export interface Hardening {
  /** RLIMIT_CORE is 0 (soft and hard): no core file, whatever crashes. */
  coreDumpsOff: boolean;
  /** PR_SET_DUMPABLE is 0: no core dump, and no ptrace attach by other processes of the same user. */
  notDumpable: boolean;
  /** Why a step failed, if one did. */
  problem?: string;
}

const RLIMIT_CORE = 4;
const PR_GET_DUMPABLE = 3;
const PR_SET_DUMPABLE = 4;

/**
 * Keeps user secrets out of core dumps (DESIGN §6 sets LimitCORE=0 in the unit too; this covers a
 * daemon started by hand). Node has no API for either call, so they go through libc with koffi.
 * Never throws: on a libc without these calls the daemon still runs and says so in the log.
 */
export function hardenProcess(): Hardening {
  try {
    const lib = libc();
    // Anonymous struct type: a named one could be declared only once per process.
    const rlimit = koffi.struct({ cur: 'uint64', max: 'uint64' });
    const setrlimit = lib.func('setrlimit', 'int', ['int', koffi.pointer(rlimit)]);
    const getrlimit = lib.func('getrlimit', 'int', ['int', koffi.out(koffi.pointer(rlimit))]);
    const prctl = lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)');
    setrlimit(RLIMIT_CORE, { cur: 0, max: 0 });
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const now: { cur?: number | bigint; max?: number | bigint } = {};
    getrlimit(RLIMIT_CORE, now);
    return { coreDumpsOff: Number(now.cur) === 0 && Number(now.max) === 0, notDumpable: prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) === 0 };
  } catch (error) {
    return { coreDumpsOff: false, notDumpable: false, problem: (error as Error).message };
  }
}

/**
 * Whether glibc fills freed heap blocks (GLIBC_TUNABLES=glibc.malloc.perturb=N, N > 0; set by the
 * systemd unit). It must be in the environment when the process starts, so the daemon can only
 * check it. Why it matters (issue 13, test/memory-scan.test.ts): Node copies every socket read out
 * of a 64 KiB buffer it then frees unzeroed, so without it the last request frame read (a password
 * in it, if it was an unlock) stays in the heap until the next read reuses that block.
 */
export function freedMemoryWiped(env: NodeJS.ProcessEnv): boolean {
  const match = /(?:^|:)glibc\.malloc\.perturb=(\d+)(?::|$)/.exec(env['GLIBC_TUNABLES'] ?? '');
  return match !== null && Number(match[1]) % 256 !== 0;
}
