import { CofferError } from '@coffer/protocol';
import type { Codec } from '../../port/storage.js';
import { pyDumpFile, pyLoadFile, ServiceEntries } from '../../specter/index.js';
import type { ServicesModel } from '../../port/layout.js';

/**
 * `<username>_services.json` / `<username>_unencrypted_services.json` (spec §7, §8) as the store's
 * ServicesModel. `entries` holds what the store serves: each service whose stored string (a
 * Fernet token, or the inner JSON text) is not empty. `meta` is the whole file as read
 * (ServiceEntries: key order, the version key where it was, null and "" entries, which Specter
 * reads as {}): it belongs to its model, `clone` copies it, and `encode` brings it in line with
 * `entries` before writing, so ids keep their place, new ones are appended, removed ones go, and
 * the version key lands where Specter puts it. Unchanged tokens are written back byte for byte.
 */
export function specterServicesCodec(encrypted: boolean): Codec<ServicesModel> {
  const label = encrypted ? 'the encrypted services file' : 'the unencrypted services file';
  const metaOf = (model: ServicesModel): ServiceEntries => model.meta as ServiceEntries;
  return {
    empty: () => ({ entries: new Map(), meta: ServiceEntries.empty() }),
    decode(bytes) {
      const value = pyLoadFile(bytes, (detail) => new CofferError('CORRUPT', `${label} ${detail}; it was left untouched`));
      // Refuses a version other than 1, as Specter does; such a file is then never rewritten (spec §7).
      const file = encrypted ? ServiceEntries.fromEncryptedValue(value, label) : ServiceEntries.fromValue(value, label);
      const entries = new Map<string, string>();
      for (const sid of file.ids()) {
        const stored = file.stored(sid);
        if (typeof stored === 'string' && stored !== '') entries.set(sid, stored);
      }
      return { entries, meta: file };
    },
    encode(model) {
      const file = metaOf(model);
      for (const sid of file.ids()) {
        const stored = file.stored(sid);
        if (typeof stored === 'string' && stored !== '' && !model.entries.has(sid)) file.remove(sid);
      }
      for (const [sid, stored] of model.entries) file.putStored(sid, stored);
      // Specter keeps the unencrypted file's version key in its live map, and appends it to each
      // written copy of the encrypted one (ServiceEntries.toValue).
      return pyDumpFile(file.toValue(encrypted ? 'copy' : 'live'));
    },
    clone: (model) => ({ entries: new Map(model.entries), meta: metaOf(model).clone() }),
  };
}
