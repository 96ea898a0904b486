import path from 'node:path';
import { CofferError, isServiceId, isUsername, isWalletAlias, SERVICE_ID_RULE, specterDocNameProblem, USERNAME_RULE } from '@coffer/protocol';
import { ifPresent, type Fs } from '../../disk/fs.js';
import { annotationsFileName, annotationsFileSplits, servicesFileName, walletsRootName } from '../../specter/index.js';
import type { AnnotationsModel, DocFormat, DocModel, FileSpec, Layout, ServicesModel } from '../../port/layout.js';
import { specterAnnotationsCodec } from './annotations-codec.js';
import { specterDocCodec, specterDocFormat } from './doc-codec.js';
import { walkDocs } from './doc-files.js';
import { BackupFileIo } from './file-io.js';
import { FileUnits } from '../../files/unit.js';
import type { Units } from '../../port/storage.js';
import { specterServicesCodec } from './services-codec.js';
import { fernetValueCipher, pythonValueText } from './value-cipher.js';

/** Where a user's annotations go: Specter names wallet roots by user id, and the admin's is `wallets/`. */
export interface WalletsRoot {
  readonly id: string;
  readonly isAdmin: boolean;
}

/** The accounts the layout reads ids from (users.json, held by the keyring); undefined: no such user. */
export type WalletsRootLookup = (username: string) => WalletsRoot | undefined;

const SPECTER_ALIAS_RULE = "a Specter wallet alias: 1 to 64 lowercase letters (any script), digits and _";

function checkName(ok: boolean, what: string, rule: string): void {
  if (!ok) throw new CofferError('INVALID_PARAMS', `Invalid params: ${what} must be ${rule}`);
}

/**
 * The specter layout (DESIGN §3.2, specter-format §1): an existing Specter Desktop data folder,
 * served in place and kept byte-compatible:
 *   <username>_services.json, <username>_unencrypted_services.json   (at the root, by username)
 *   wallets/ (the admin) | wallets_<userid>/  <wallet_alias>_<service>.json   (by user id)
 *   <any path>.json                       documents: Specter's GenericDataManager files (otp.json, plugins/x.json)
 * Every file is written as Python's json.dump(indent=4) with Specter's `.bkp`. Names are checked
 * before any path is built; existing Specter usernames may hold spaces and Unicode (the lenient
 * rule), which is all a path needs.
 */
export class SpecterLayout implements Layout {
  readonly name = 'specter' as const;
  readonly servicesNeedAccount = false;
  readonly valueText = pythonValueText;
  readonly cipher = fernetValueCipher;
  readonly docFormat: DocFormat = specterDocFormat;
  private readonly encryptedCodec = specterServicesCodec(true);
  private readonly unencryptedCodec = specterServicesCodec(false);
  private lookup: WalletsRootLookup | undefined;

  /** Every file of the layout, users.json too: with its `.bkp`, as Specter keeps them. */
  readonly units: Units;

  constructor(
    readonly dataDir: string,
    private readonly fs: Fs,
  ) {
    this.units = new FileUnits(fs, new BackupFileIo());
  }

  /** Wired once the keyring has read users.json (the layout is made before it). */
  useAccounts(lookup: WalletsRootLookup): void {
    this.lookup = lookup;
  }

  checkUsername(username: string): void {
    checkName(isUsername(username), 'username', USERNAME_RULE);
  }

  checkWalletAlias(alias: string): void {
    // Specter's alias() turns every `-` into `_`: a dash names no wallet of a Specter folder.
    checkName(isWalletAlias(alias) && !alias.includes('-'), 'wallet', SPECTER_ALIAS_RULE);
  }

  servicesFile(username: string, encrypted: boolean): FileSpec<ServicesModel> {
    this.checkUsername(username);
    return {
      path: path.join(this.dataDir, servicesFileName(username, encrypted ? 'encrypted' : 'unencrypted')),
      topic: { scope: 'services', username, encrypted },
      codec: encrypted ? this.encryptedCodec : this.unencryptedCodec,
      units: this.units,
    };
  }

  annotationsFile(username: string, wallet: string, service: string): FileSpec<AnnotationsModel> {
    this.checkWalletAlias(wallet);
    checkName(isServiceId(service), 'service', SERVICE_ID_RULE);
    return {
      path: path.join(this.walletsDir(username), annotationsFileName(wallet, service)),
      topic: { scope: 'annotations', username, wallet, service },
      codec: specterAnnotationsCodec,
      units: this.units,
    };
  }

  /**
   * Annotations files sit directly in the wallets root; wallet files proper are in per-chain folders
   * (`<chain>/<alias>.json`). Both wallet aliases and service ids may hold `_`, so
   * `<alias>_<service>.json` splits at the `_` after the longest alias that names an existing wallet;
   * a file of a wallet no longer there splits at its last `_` (any split names the same file).
   */
  async listAnnotationsFiles(username: string): Promise<Array<{ wallet: string; service: string }>> {
    const root = this.walletsDir(username);
    const names = await this.readdir(root);
    const wallets = await this.walletAliases(root, names);
    const found: Array<{ wallet: string; service: string }> = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const splits = annotationsFileSplits(name).filter((s) => isWalletAlias(s.walletAlias) && isServiceId(s.serviceId));
      const chosen = [...splits].reverse().find((s) => wallets.has(s.walletAlias)) ?? splits.at(-1);
      if (chosen) found.push({ wallet: chosen.walletAlias, service: chosen.serviceId });
    }
    return found;
  }

  /** The aliases of the wallets in a wallets root's per-chain folders. */
  private async walletAliases(root: string, names: string[]): Promise<Set<string>> {
    const aliases = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.') || name.endsWith('.json')) continue;
      for (const file of await this.readdir(path.join(root, name))) {
        if (file.endsWith('.json')) aliases.add(file.slice(0, -'.json'.length));
      }
    }
    return aliases;
  }

  /** A document is the JSON file at `name`, relative to the data folder (GenericDataManager's file). */
  docFile(name: string): FileSpec<DocModel> {
    const problem = specterDocNameProblem(name);
    if (problem !== undefined) throw new CofferError('INVALID_PARAMS', `Invalid params: ${problem}`);
    return { path: path.join(this.dataDir, ...name.split('/')), topic: { scope: 'docs', name }, codec: specterDocCodec, units: this.units };
  }

  async listDocs(): Promise<string[]> {
    return (await walkDocs(this.fs, this.dataDir)).names;
  }

  /** Every folder documents may be written in (the root, wallets roots and the folders below). */
  async sweepDirs(): Promise<string[]> {
    return (await walkDocs(this.fs, this.dataDir)).dirs;
  }

  private walletsDir(username: string): string {
    this.checkUsername(username);
    if (!this.lookup) throw new Error('the specter layout is used before its accounts are wired');
    const root = this.lookup(username);
    if (!root) throw new CofferError('NOT_FOUND', 'Not found: no such user');
    return path.join(this.dataDir, walletsRootName(root.id, root.isAdmin));
  }

  private async readdir(dir: string): Promise<string[]> {
    try {
      return await ifPresent(this.fs.readdir(dir), []);
    } catch (error) {
      // ENOTDIR: a file taken for a chain folder (an annotations file's `.json.bkp`): no wallets in it.
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw error;
    }
  }
}
