import { CofferError, LosslessJsonError, parseLosslessBytes } from '@coffer/protocol';
import { FILE_MAX_DEPTH, type PyValue } from './py-json-value.js';

/** Python's json.loads over the shared lossless model (see py-json-value.ts for why these aliases). */
export {
  LosslessJsonError as PyJsonError,
  parseLossless as pyLoads,
  parseLosslessBytes as pyLoadsBytes,
  type ParseOptions,
} from '@coffer/protocol';

/**
 * A whole Specter file as Python's json reads it. One that does not parse is CORRUPT: `corrupt`
 * turns "does not parse (why)" into the error that names the kind of file.
 */
export function pyLoadFile(bytes: Buffer, corrupt: (detail: string) => CofferError): PyValue {
  try {
    return parseLosslessBytes(bytes, { maxDepth: FILE_MAX_DEPTH });
  } catch (error) {
    if (error instanceof LosslessJsonError) throw corrupt(`does not parse (${error.message})`);
    /* c8 ignore next */
    throw error;
  }
}
