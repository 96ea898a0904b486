import path from 'node:path';
import { CofferError, isDocName, isServiceId, isUsername, isWalletAlias } from '@coffer/protocol';
import { CofferFieldCipher } from '../../crypto/field-cipher.js';
import type { Fs } from '../../store/fs.js';
import type { FileSpec, Layout, AnnotationsModel, DocFormat, DocModel, ServicesModel, ValueCipher } from '../layout.js';
import { annotationsCodec, docCodec, servicesCodec } from './codecs.js';
import { PlainFileIo } from './file-io.js';

/** Schemas check these names already; a layout never builds a path from an unchecked one. */
function checkName(ok: boolean, what: string): void {
  if (!ok) throw new CofferError('INVALID_PARAMS', `Invalid params: ${what} is not a valid name`);
}

/**
 * The coffer layout (DESIGN §3.1):
 *   services/<username>_services.json, services/<username>_unencrypted_services.json,
 *   docs/<name>.json, wallets/<username>/<wallet_alias>_<service>.json
 * Names are checked (protocol name rules) before any path is built from them.
 */
export class CofferLayout implements Layout {
  readonly name = 'coffer' as const;
  private readonly io = new PlainFileIo();
  private readonly encryptedCodec = servicesCodec(true);
  private readonly unencryptedCodec = servicesCodec(false);
  private readonly fieldCipher = new CofferFieldCipher();

  readonly valueText = {
    encode: (value: unknown): string => JSON.stringify(value),
    decode: (text: string): unknown => JSON.parse(text),
  };

  readonly docFormat: DocFormat = { owner: 'recorded', sealedText: this.valueText, plainNull: false, reservedFields: [] };

  readonly cipher: ValueCipher = {
    seal: (user, place, text) => user.withSecret((secret) => this.fieldCipher.encrypt(secret, place, Buffer.from(text, 'utf8'))),
    open: (user, place, token) => user.withSecret((secret) => this.fieldCipher.decrypt(secret, place, token)).toString('utf8'),
  };

  constructor(
    readonly dataDir: string,
    private readonly fs: Fs,
  ) {}

  checkUsername(username: string): void {
    if (!isUsername(username)) {
      throw new CofferError(
        'INVALID_PARAMS',
        'Invalid params: username must match ^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$ without ".."',
      );
    }
  }

  checkWalletAlias(alias: string): void {
    if (!isWalletAlias(alias)) {
      throw new CofferError('INVALID_PARAMS', 'Invalid params: wallet must match ^[a-z0-9][a-z0-9_-]{0,63}$');
    }
  }

  servicesFile(username: string, encrypted: boolean): FileSpec<ServicesModel> {
    this.checkUsername(username);
    const name = `${username}_${encrypted ? 'services' : 'unencrypted_services'}.json`;
    return {
      path: path.join(this.dataDir, 'services', name),
      topic: { scope: 'services', username, encrypted },
      codec: encrypted ? this.encryptedCodec : this.unencryptedCodec,
      io: this.io,
    };
  }

  annotationsFile(username: string, wallet: string, service: string): FileSpec<AnnotationsModel> {
    this.checkUsername(username);
    this.checkWalletAlias(wallet);
    checkName(isServiceId(service), 'service');
    return {
      path: path.join(this.walletsDir(username), `${wallet}_${service}.json`),
      topic: { scope: 'annotations', username, wallet, service },
      codec: annotationsCodec,
      io: this.io,
    };
  }

  async listAnnotationsFiles(username: string): Promise<Array<{ wallet: string; service: string }>> {
    const found: Array<{ wallet: string; service: string }> = [];
    for (const name of await this.readdir(this.walletsDir(username))) {
      const match = /^(.+)_([a-z0-9]+(?:-[a-z0-9]+)*)\.json$/.exec(name);
      if (match && isWalletAlias(match[1])) found.push({ wallet: match[1]!, service: match[2]! });
    }
    return found;
  }

  docFile(name: string): FileSpec<DocModel> {
    if (!isDocName(name)) {
      throw new CofferError(
        'INVALID_PARAMS',
        'Invalid params: in the coffer layout a document name is lowercase letters and digits in dash-separated words, at most 64 characters',
      );
    }
    return { path: path.join(this.dataDir, 'docs', `${name}.json`), topic: { scope: 'docs', name }, codec: docCodec, io: this.io };
  }

  async listDocs(): Promise<string[]> {
    return (await this.readdir(path.join(this.dataDir, 'docs')))
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => name.slice(0, -'.json'.length))
      // Files whose names our rules refuse are not ours to serve.
      .filter((name) => isDocName(name));
  }

  async sweepDirs(): Promise<string[]> {
    const wallets = path.join(this.dataDir, 'wallets');
    const users = await this.readdir(wallets);
    return [
      this.dataDir,
      path.join(this.dataDir, 'services'),
      path.join(this.dataDir, 'docs'),
      ...users.map((user) => path.join(wallets, user)),
    ];
  }

  private walletsDir(username: string): string {
    return path.join(this.dataDir, 'wallets', username);
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
