import { Type } from '@sinclair/typebox';
import { Params } from './common.js';
import { defineMethod } from './define.js';

/**
 * files.* (Coffer issue 12 §3): Specter's own JSON files (config.json, wallets, devices, ...) written
 * durably by the daemon instead of by Specter's rename-then-rewrite, so a power cut never leaves
 * an empty file. Specter layout only; files the daemon serves through another method are refused.
 */

/** Longest relative path accepted (PATH_MAX is 4096; Specter's paths are far shorter). */
export const MAX_FILE_PATH = 1024;

export const filesMethods = {
  'files.write': defineMethod({
    summary:
      "Durably replace a .json file of the Specter data dir (path relative to it) with exactly these bytes (UTF-8 of text, which must parse as JSON); the previous good version is kept as .bkp, as Specter keeps it.",
    params: Params({
      path: Type.String({ minLength: 1, maxLength: MAX_FILE_PATH, description: 'relative to the data dir, ends in .json, no ".." segment' }),
      text: Type.String({ description: "the file's whole content, e.g. Python's json.dumps(obj, indent=4)" }),
    }),
    result: Type.Object({ bytes: Type.Integer({ description: 'bytes written' }) }),
    errors: ['NOT_FOUND', 'STORAGE_FAILED', 'TOO_LARGE'],
  }),
};
