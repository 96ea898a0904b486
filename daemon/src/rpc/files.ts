import type { SpecterFiles } from '../store/specter-files.js';
import type { Handlers } from './dispatcher.js';

/** files.write: Specter's own JSON files, written durably (store/specter-files.ts). */
export function filesHandlers(files: SpecterFiles): Pick<Handlers, 'files.write'> {
  return {
    'files.write': (p) => files.write(p.path, p.text),
  };
}
