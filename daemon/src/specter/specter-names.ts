import { CofferError, isUsername } from '@coffer/protocol';

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
  if (!isUsername(name)) throw new CofferError('INVALID_PARAMS', `${what} cannot be used in a file name`);
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

/** `<wallet_alias>_<service_id>.json`, directly in the wallets root, as Specter names it. */
export function annotationsFileName(walletAlias: string, serviceId: string): string {
  return `${safe(walletAlias, 'This wallet alias')}_${safe(serviceId, 'This service id')}.json`;
}

/**
 * Every way an annotations file name splits into `<wallet_alias>_<service_id>`, the shortest alias
 * first: both may hold `_` (Specter's aliases and Python-identifier service ids), so the name alone
 * does not tell; the caller picks with what else it knows. Empty for any other file.
 */
export function annotationsFileSplits(fileName: string): Array<{ walletAlias: string; serviceId: string }> {
  if (!fileName.endsWith('.json')) return [];
  const stem = fileName.slice(0, -'.json'.length);
  const splits: Array<{ walletAlias: string; serviceId: string }> = [];
  for (let at = stem.indexOf('_'); at !== -1; at = stem.indexOf('_', at + 1)) {
    if (at > 0 && at < stem.length - 1) splits.push({ walletAlias: stem.slice(0, at), serviceId: stem.slice(at + 1) });
  }
  return splits;
}
