import path from 'node:path';
import { CofferError, isSafeExistingName, isServiceId, isSpecterWalletAlias, specterDocNameProblem } from '@coffer/protocol';
import type { Fs } from '../../store/fs.js';
import { annotationsFileName, parseAnnotationsFileName, servicesFileName, walletsRootName } from '../../specter/index.js';
import type { AnnotationsModel, DocFormat, DocModel, FileSpec, Layout, ServicesModel } from '../layout.js';
import { specterAnnotationsCodec } from './annotations-codec.js';
import { specterDocCodec, specterDocFormat } from './doc-codec.js';
import { walkDocs } from './doc-files.js';
import { BackupFileIo } from './file-io.js';
import { specterServicesCodec } from './services-codec.js';
import { fernetValueCipher, pythonValueText } from './value-cipher.js';

/** Where a user's annotations go: Specter names wallet roots by user id, and the admin's is `wallets/`. */
export interface WalletsRoot {
  readonly id: string;
  readonly isAdmin: boolean;
}

/** The accounts the layout reads ids from (users.json, held by the keyring); undefined: no such user. */
export type WalletsRootLookup = (username: string) => WalletsRoot | undefined;

function checkName(ok: boolean, what: string): void {
  if (!ok) throw new CofferError('INVALID_PARAMS', `Invalid params: ${what} is not a valid name`);
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
  readonly valueText = pythonValueText;
  readonly cipher = fernetValueCipher;
  readonly docFormat: DocFormat = specterDocFormat;
  private readonly io = new BackupFileIo();
  private readonly encryptedCodec = specterServicesCodec(true);
  private readonly unencryptedCodec = specterServicesCodec(false);
  private lookup: WalletsRootLookup | undefined;

  constructor(
    readonly dataDir: string,
    private readonly fs: Fs,
  ) {}

  /** The io users.json is read and written with: with `.bkp`, as Specter keeps it. */
  get accountsIo(): BackupFileIo {
    return this.io;
  }

  /** Wired once the keyring has read users.json (the layout is made before it). */
  useAccounts(lookup: WalletsRootLookup): void {
    this.lookup = lookup;
  }

  checkUsername(username: string): void {
    if (!isSafeExistingName(username)) {
      throw new CofferError('INVALID_PARAMS', 'Invalid params: username cannot be used in a file name (no / \\ NUL, control characters or "..")');
    }
  }

  checkWalletAlias(alias: string): void {
    if (!isSpecterWalletAlias(alias)) {
      throw new CofferError('INVALID_PARAMS', "Invalid params: wallet must be a Specter wallet alias (lowercase letters, digits and _)");
    }
  }

  servicesFile(username: string, encrypted: boolean): FileSpec<ServicesModel> {
    this.checkUsername(username);
    return {
      path: path.join(this.dataDir, servicesFileName(username, encrypted ? 'encrypted' : 'unencrypted')),
      topic: { scope: 'services', username, encrypted },
      codec: encrypted ? this.encryptedCodec : this.unencryptedCodec,
      io: this.io,
    };
  }

  annotationsFile(username: string, wallet: string, service: string): FileSpec<AnnotationsModel> {
    this.checkWalletAlias(wallet);
    checkName(isServiceId(service), 'service');
    return {
      path: path.join(this.walletsDir(username), annotationsFileName(wallet, service)),
      topic: { scope: 'annotations', username, wallet, service },
      codec: specterAnnotationsCodec,
      io: this.io,
    };
  }

  /** Annotations files sit directly in the wallets root; wallet files proper are in per-chain folders. */
  async listAnnotationsFiles(username: string): Promise<Array<{ wallet: string; service: string }>> {
    const found: Array<{ wallet: string; service: string }> = [];
    for (const name of await this.readdir(this.walletsDir(username))) {
      const parsed = name.startsWith('.') ? undefined : parseAnnotationsFileName(name);
      if (parsed && isSpecterWalletAlias(parsed.walletAlias) && isServiceId(parsed.serviceId)) {
        found.push({ wallet: parsed.walletAlias, service: parsed.serviceId });
      }
    }
    return found;
  }

  /** A document is the JSON file at `name`, relative to the data folder (GenericDataManager's file). */
  docFile(name: string): FileSpec<DocModel> {
    const problem = specterDocNameProblem(name);
    if (problem !== undefined) throw new CofferError('INVALID_PARAMS', `Invalid params: ${problem}`);
    return { path: path.join(this.dataDir, ...name.split('/')), topic: { scope: 'docs', name }, codec: specterDocCodec, io: this.io };
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
      return await this.fs.readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}
