import { EXIT } from './exit-codes.js';
import { Failed } from './io.js';

/**
 * The daemon package, for the commands that run its code in this process (restore, migrate). It is
 * an optional peer dependency of @coffer/client: the client library itself stays thin (no native
 * modules), and only these commands need the daemon installed beside it, as it is in the checkout
 * and in /opt/coffer. Loaded when the command runs, never at import.
 */
export async function loadDaemonPackage<T>(command: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new Failed(
      EXIT.USAGE,
      'UNAVAILABLE',
      `coffer ${command} runs daemon code, and @coffer/daemon is not installed beside the client: run it from the Coffer checkout or /opt/coffer, or install @coffer/daemon`,
    );
  }
}

/** Node says ERR_MODULE_NOT_FOUND; some loaders (TypeScript ones, in tests) keep only the message. */
function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  return code === undefined && error instanceof Error && /^Cannot find (package|module) '/.test(error.message);
}
