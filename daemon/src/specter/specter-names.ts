import { CofferError, isSafeExistingName } from '@coffer/protocol';

/**
 * Names and file names of the specter layout (spec §1). Service files are named by username, wallet
 * roots by user id. Every name is checked before a path is built: Specter does not, so `../x` as a
 * username escapes its folder (spec §12.2).
 */

/** Specter's id from a name: trim; spaces and `-` to `_`; collapse `_` runs; keep Unicode alphanumerics and `_`; lowercase. */
export function specterAlias(name: string): string {
  return name
    .trim()
    .replace(/[ -]/g, '_')
    .replace(/_+/g, '_')
    .replace(/[^\p{L}\p{N}_]/gu, '')
    .toLowerCase();
}

/** The id Specter gives a new user: the alias, or with 2, 3, … appended while it is taken. */
export function specterUserId(username: string, isTaken: (id: string) => boolean): string {
  const base = specterAlias(username);
  if (!base) throw new CofferError('INVALID_PARAMS', 'The username has no letter or digit to make a user id from');
  let id = base;
  for (let n = 2; isTaken(id); n++) id = `${base}${n}`;
  return id;
}

function safe(name: string, what: string): string {
  if (!isSafeExistingName(name)) throw new CofferError('INVALID_PARAMS', `${what} cannot be used in a file name`);
  return name;
}

export type ServicesFileKind = 'encrypted' | 'unencrypted';

/** `<username>_services.json` or `<username>_unencrypted_services.json`, relative to the data folder. */
export function servicesFileName(username: string, kind: ServicesFileKind): string {
  return `${safe(username, 'This username')}_${kind === 'encrypted' ? '' : 'unencrypted_'}services.json`;
}

/** `wallets` for the admin, `wallets_<userid>` for everyone else, relative to the data folder. */
export function walletsRootName(userId: string, isAdmin: boolean): string {
  return isAdmin ? 'wallets' : `wallets_${safe(userId, 'This user id')}`;
}

/** `<wallet_alias>_<service_id>.json`, directly in the wallets root. Service ids never contain `_`. */
export function annotationsFileName(walletAlias: string, serviceId: string): string {
  if (serviceId.includes('_')) throw new CofferError('INVALID_PARAMS', 'A service id cannot contain _');
  return `${safe(walletAlias, 'This wallet alias')}_${safe(serviceId, 'This service id')}.json`;
}

/** Splits an annotations file name at its last `_`; undefined for any other file. */
export function parseAnnotationsFileName(fileName: string): { walletAlias: string; serviceId: string } | undefined {
  const match = /^(.+)_([^_]+)\.json$/.exec(fileName);
  if (!match) return undefined;
  const [, walletAlias, serviceId] = match as unknown as [string, string, string];
  return { walletAlias, serviceId };
}
