import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Params } from './common.js';
import { defineMethod } from './define.js';

/**
 * Operations on the whole data dir (Coffer issue 17 §3): a consistent backup taken by the daemon,
 * which serializes every write, and a verification of every file with the secrets it holds.
 * Restore and migrate are offline (the `coffer` CLI), on a data dir no daemon serves.
 */

/** The format of MANIFEST.json in a backup (and what `coffer restore` accepts). */
export const BACKUP_FORMAT = 'coffer-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'MANIFEST.json';

export const ManifestFile = Type.Object({
  path: Type.String({ description: 'relative to the data dir, "/"-separated' }),
  size: Type.Integer(),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});

export const Manifest = Type.Object({
  format: Type.Literal(BACKUP_FORMAT),
  version: Type.Literal(BACKUP_FORMAT_VERSION),
  layout: Type.Union([Type.Literal('coffer'), Type.Literal('specter')]),
  created: Type.String({ description: 'ISO 8601, when the copy was taken' }),
  daemonVersion: Type.String(),
  files: Type.Array(ManifestFile),
});

export type BackupManifest = Static<typeof Manifest>;

const manifestCheck = TypeCompiler.Compile(Manifest);

/** Null when `value` is a manifest this version reads, else what is wrong with it (first problem). */
export function manifestProblem(value: unknown): string | null {
  if (manifestCheck.Check(value)) return null;
  const first = manifestCheck.Errors(value).First();
  /* c8 ignore next: a failed check always has a first error */
  return first ? `${first.path || 'the manifest'}: ${first.message}` : 'not a manifest';
}

/** Most files one daemon.verify call checks; the caller pages with `after`. */
export const VERIFY_MAX_PAGE = 1000;

export const VerifiedFile = Type.Object({
  path: Type.String({ description: 'relative to the data dir' }),
  kind: Type.Union([Type.Literal('users'), Type.Literal('services'), Type.Literal('annotations'), Type.Literal('docs')]),
  status: Type.Union([Type.Literal('ok'), Type.Literal('corrupt'), Type.Literal('missing')]),
  problem: Type.Optional(Type.String({ description: 'why it is corrupt' })),
  sealed: Type.Object(
    {
      checked: Type.Integer({ description: 'encrypted values that opened and authenticated' }),
      corrupt: Type.Integer({ description: 'encrypted values that did not authenticate under their owner\'s secret' }),
      locked: Type.Integer({ description: 'encrypted values not checked: their owner is locked in this daemon' }),
    },
    { description: 'encrypted values in the file' },
  ),
});

export const opsMethods = {
  'daemon.backup': defineMethod({
    summary:
      'Copies every file of the data dir that the daemon owns into dest (a new or empty directory, absolute), with ' +
      'MANIFEST.json (layout, files, sizes, sha256), while writes wait; files stay encrypted as at rest.',
    params: Params({
      dest: Type.String({ minLength: 1, maxLength: 4096, description: 'absolute path of a directory that does not exist or is empty' }),
    }),
    result: Type.Object({
      dest: Type.String(),
      layout: Type.Union([Type.Literal('coffer'), Type.Literal('specter')]),
      files: Type.Integer(),
      bytes: Type.Integer(),
      drainMs: Type.Number({ description: 'waiting for writes in flight to finish their current step' }),
      heldMs: Type.Number({ description: 'how long new writes were held while the files were copied (the longest any waited)' }),
      delayedWrites: Type.Integer({ description: 'file-system changes that had to wait for the copy' }),
      tookMs: Type.Number({ description: 'the whole backup, hashing and fsyncs included' }),
    }),
    errors: ['ALREADY_EXISTS', 'NOT_FOUND', 'STORAGE_FAILED'],
  }),
  'daemon.verify': defineMethod({
    summary:
      'Parses every file the daemon owns with its codec and authenticates every encrypted value of the users unlocked ' +
      'in this daemon, in path order, a page at a time (call again with after = the last path until next is null).',
    params: Params({
      after: Type.Optional(Type.String({ maxLength: 4096, description: 'the `next` of the previous page' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: VERIFY_MAX_PAGE, description: `files in this page (default ${VERIFY_MAX_PAGE})` })),
    }),
    result: Type.Object({
      total: Type.Integer({ description: 'files of the data dir, all pages' }),
      files: Type.Array(VerifiedFile),
      next: Type.Union([Type.String(), Type.Null()], { description: 'pass as `after` for the next page; null after the last' }),
    }),
    errors: [],
  }),
};
