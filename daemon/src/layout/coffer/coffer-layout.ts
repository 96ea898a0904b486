import path from 'node:path';
import {
  CofferError,
  isDocName,
  isServiceId,
  isUsername,
  isWalletAlias,
  parseLossless,
  SERVICE_ID_RULE,
  stringifyLossless,
  USERNAME_RULE,
  WALLET_ALIAS_RULE,
} from '@coffer/protocol';
import { CofferFieldCipher } from '../../crypto/field-cipher.js';
import { ifPresent, type Fs } from '../../disk/fs.js';
import { VALUE_MAX_DEPTH, type FileSpec, type Layout, type AnnotationsModel, type DocFormat, type DocModel, type ServicesModel, type ValueCipher, type ValueText } from '../../port/layout.js';
import { annotationsCodec, docCodec, servicesCodec } from './codecs.js';
import { PlainFileIo } from './file-io.js';
import { FileUnits } from '../../files/unit.js';
import type { Units } from '../../port/storage.js';

/** Schemas check these names already; a layout never builds a path from an unchecked one. */
function checkName(ok: boolean, what: string, rule: string): void {
  if (!ok) throw new CofferError('INVALID_PARAMS', `Invalid params: ${what} must be ${rule}`);
}

/**
 * The service part of an annotations file name. Wallet aliases may hold `_`, and so may service
 * ids now (Python identifiers); a service id's `_` is written `%5F` (`%` is in no name), so the
 * name splits at its last `_`, and files of ids without `_` keep their name from before.
 */
function serviceInFileName(service: string): string {
  return service.replaceAll('_', '%5F');
}

function serviceFromFileName(part: string): string {
  return part.replaceAll('%5F', '_');
}

/**
 * The coffer layout (DESIGN §3.1):
 *   services/<username>_services.json, services/<username>_unencrypted_services.json,
 *   docs/<name>.json, wallets/<username>/<wallet_alias>_<service>.json
 * Names are checked (protocol name rules) before any path is built from them.
 */
export class CofferLayout implements Layout {
  readonly name = 'coffer' as const;
  readonly servicesNeedAccount = true;
  private readonly encryptedCodec = servicesCodec(true);
  private readonly unencryptedCodec = servicesCodec(false);
  private readonly fieldCipher = new CofferFieldCipher();

  /** Compact JSON of the lossless model: exact number text and key order, UTF-8 as is. */
  readonly valueText: ValueText = {
    encode: (value) => stringifyLossless(value),
    decode: (text) => parseLossless(text, { maxDepth: VALUE_MAX_DEPTH }),
  };

  readonly docFormat: DocFormat = { owner: 'recorded', sealedText: this.valueText, plainNull: false, reservedFields: [] };

  readonly cipher: ValueCipher = {
    // The plaintext Buffers are wiped once used (issue 13); the JS strings cannot be (SECURITY.md).
    seal: (user, place, text) => withWiped(Buffer.from(text, 'utf8'), (plain) => user.withSecret((secret) => this.fieldCipher.encrypt(secret, place, plain))),
    open: (user, place, token) => withWiped(user.withSecret((secret) => this.fieldCipher.decrypt(secret, place, token)), (plain) => plain.toString('utf8')),
  };

  /** Every file of the layout, users.json too: plain durable files. */
  readonly units: Units;

  /** `units`: a database's (--store postgres); by default, plain durable files under `dataDir`. */
  constructor(
    readonly dataDir: string,
    private readonly fs: Fs,
    units?: Units,
  ) {
    this.units = units ?? new FileUnits(fs, new PlainFileIo());
  }

  checkUsername(username: string): void {
    checkName(isUsername(username), 'username', USERNAME_RULE);
  }

  checkWalletAlias(alias: string): void {
    checkName(isWalletAlias(alias), 'wallet', WALLET_ALIAS_RULE);
  }

  servicesFile(username: string, encrypted: boolean): FileSpec<ServicesModel> {
    this.checkUsername(username);
    const name = `${username}_${encrypted ? 'services' : 'unencrypted_services'}.json`;
    return {
      path: path.join(this.dataDir, 'services', name),
      topic: { scope: 'services', username, encrypted },
      codec: encrypted ? this.encryptedCodec : this.unencryptedCodec,
      units: this.units,
    };
  }

  annotationsFile(username: string, wallet: string, service: string): FileSpec<AnnotationsModel> {
    this.checkUsername(username);
    this.checkWalletAlias(wallet);
    checkName(isServiceId(service), 'service', SERVICE_ID_RULE);
    return {
      path: path.join(this.walletsDir(username), `${wallet}_${serviceInFileName(service)}.json`),
      topic: { scope: 'annotations', username, wallet, service },
      codec: annotationsCodec,
      units: this.units,
    };
  }

  async listAnnotationsFiles(username: string): Promise<Array<{ wallet: string; service: string }>> {
    const found: Array<{ wallet: string; service: string }> = [];
    for (const name of await this.units.list(this.walletsDir(username))) {
      const match = /^(.+)_([^_]+)\.json$/.exec(name);
      const service = match && serviceFromFileName(match[2]!);
      if (match && isWalletAlias(match[1]) && isServiceId(service)) found.push({ wallet: match[1]!, service });
    }
    return found;
  }

  docFile(name: string): FileSpec<DocModel> {
    // Main's rule in words, with the layout said: a specter-layout name (otp.json) is valid JSON-Schema-wise here.
    checkName(isDocName(name), 'name', `in the coffer layout ${SERVICE_ID_RULE}`);
    return { path: path.join(this.dataDir, 'docs', `${name}.json`), topic: { scope: 'docs', name }, codec: docCodec, units: this.units };
  }

  async listDocs(): Promise<string[]> {
    return (await this.units.list(path.join(this.dataDir, 'docs')))
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => name.slice(0, -'.json'.length))
      // Files whose names our rules refuse are not ours to serve.
      .filter((name) => isDocName(name));
  }

  async sweepDirs(): Promise<string[]> {
    if (this.units.kind !== 'files') return [];
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

  private readdir(dir: string): Promise<string[]> {
    return ifPresent(this.fs.readdir(dir), []);
  }
}

/** `fn(buf)`, then `buf` zeroed however it ends. */
function withWiped<T>(buf: Buffer, fn: (buf: Buffer) => T): T {
  try {
    return fn(buf);
  } finally {
    buf.fill(0);
  }
}
