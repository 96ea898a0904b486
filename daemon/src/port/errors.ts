import { CofferError } from '@coffer/protocol';
import { DurableWriteError } from '../disk/durable-write.js';

/** The store's errors, each saying what happened and what to do next. */

/**
 * A backend's failure that is not the disk's (a database's): its code, and what to do about it,
 * which STORAGE_FAILED then says instead of the disk advice.
 */
export class BackendError extends Error {
  constructor(
    readonly code: string,
    readonly advice: string,
  ) {
    super(`${code}: ${advice}`);
  }
}

function errnoOf(error: unknown): string {
  const cause = error instanceof DurableWriteError ? error.cause : error;
  return (cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}

export function storageFailed(path: string, error: unknown): CofferError {
  const step = error instanceof DurableWriteError ? ` at ${error.step}` : '';
  const advice = error instanceof BackendError ? error.advice.charAt(0).toUpperCase() + error.advice.slice(1) : 'Free disk space or check the disk';
  return new CofferError('STORAGE_FAILED', `The write to ${path} did not happen (${errnoOf(error)}${step}); stored data is as before. ${advice}, then retry`, {
    errno: errnoOf(error),
  });
}

export function readFailed(path: string, error: unknown): CofferError {
  const advice = error instanceof BackendError ? error.advice : 'check the disk';
  return new CofferError('STORAGE_FAILED', `Could not read ${path} (${errnoOf(error)}); ${advice}, then retry`, {
    errno: errnoOf(error),
  });
}

export function corruptFile(path: string): CofferError {
  return new CofferError(
    'CORRUPT',
    `${path} does not parse as a Coffer file of its kind; it was left untouched. Restore it from a backup or fix it by hand`,
  );
}

export function changedToCorrupt(path: string): CofferError {
  return new CofferError(
    'CORRUPT',
    `${path} was changed outside cofferd and does not parse; reads serve its last good state, writes wait until it is fixed or restored`,
  );
}

export function keptMoving(path: string, attempts: number): CofferError {
  return new CofferError(
    'BUSY',
    `${path} kept changing under the other daemons sharing its database (${attempts} tries); nothing was written. Retry`,
  );
}

export function tooLarge(limit: number): CofferError {
  return new CofferError('TOO_LARGE', `The file would be over the limit of ${limit} bytes (cofferd --max-doc-bytes, COFFER_MAX_DOC_BYTES); nothing was written`, { limit });
}
