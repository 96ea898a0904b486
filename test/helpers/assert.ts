import type { Test } from 'tap';
import { CofferError, type Reason } from '@coffer/protocol';

type Asserter = Pick<Test, 'fail' | 'equal' | 'match'>;

/**
 * Awaits `promise`, expecting it to reject with a CofferError of `reason` (and, if given, a message
 * matching `message`). Returns the error for further checks.
 */
export async function rejectsWith(
  t: Asserter,
  promise: Promise<unknown>,
  reason: Reason,
  message?: RegExp,
): Promise<CofferError> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  if (!(error instanceof CofferError)) {
    t.fail(`expected a CofferError ${reason}, got ${error === undefined ? 'success' : String(error)}`);
    return new CofferError('INTERNAL_ERROR', 'assertion failed');
  }
  t.equal(error.reason, reason, `rejects with ${reason}`);
  if (message) t.match(error.message, message);
  return error;
}

/** Runs `fn`, expecting it to throw a CofferError of `reason` synchronously. */
export function throwsWith(t: Asserter, fn: () => unknown, reason: Reason, what?: string): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof CofferError) t.equal(error.reason, reason, what ?? `throws ${reason}`);
    else t.fail(`expected a CofferError ${reason}, got ${String(error)}`);
    return;
  }
  t.fail(`expected a CofferError ${reason}, got a return`);
}
