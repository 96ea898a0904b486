import { CofferError, isAddress, isTxid } from '@coffer/protocol';
import type { UserDirectory } from '../port/users.js';
import type { Layout } from '../port/layout.js';
import type { AnnotationKind, Annotations, AnnotationsKey } from '../store/annotations.js';
import type { Handlers } from './dispatcher.js';

export interface AnnotationsDeps {
  readonly annotations: Annotations;
  readonly users: UserDirectory;
  readonly layout: Layout;
}

type AnnotationMethods = 'annotations.get' | 'annotations.set' | 'annotations.update' | 'annotations.delete' | 'annotations.list';

/** The schema admits both kinds' ids; the kind decides which rule applies (DESIGN §3). */
function checkId(kind: AnnotationKind, id: string): void {
  if (kind === 'addr' ? !isAddress(id) : !isTxid(id)) {
    throw new CofferError(
      'INVALID_PARAMS',
      kind === 'addr'
        ? 'Invalid params: id must be an address (base58/bech32 characters, 14-90 long)'
        : 'Invalid params: id must be a txid (64 hex digits)',
    );
  }
}

/**
 * annotations.* by username (no session: annotations are not encrypted, as in Specter). Every name
 * is checked before the user is looked up and before any path is built; the user must exist.
 */
export function annotationsHandlers({ annotations, users, layout }: AnnotationsDeps): Pick<Handlers, AnnotationMethods> {
  const fileOf = (p: { username: string; wallet: string; service: string }, kind?: AnnotationKind, id?: string): AnnotationsKey => {
    layout.checkUsername(p.username);
    layout.checkWalletAlias(p.wallet);
    if (kind !== undefined && id !== undefined) checkId(kind, id);
    users.requireUser(p.username);
    return { username: p.username, wallet: p.wallet, service: p.service };
  };
  return {
    'annotations.get': async (p) => {
      if ((p.kind === undefined) !== (p.id === undefined)) {
        throw new CofferError('INVALID_PARAMS', 'Invalid params: kind and id go together (both for one annotation, neither for all)');
      }
      const file = fileOf(p, p.kind, p.id);
      return p.kind !== undefined && p.id !== undefined ? annotations.get(file, p.kind, p.id) : annotations.getAll(file);
    },
    'annotations.set': (p) => annotations.set(fileOf(p, p.kind, p.id), p.kind, p.id, p.data, p.ifRevision),
    'annotations.update': (p) => annotations.update(fileOf(p, p.kind, p.id), p.kind, p.id, p.patch, p.ifRevision),
    'annotations.delete': (p) => annotations.delete(fileOf(p, p.kind, p.id), p.kind, p.id, p.ifRevision),
    'annotations.list': async (p) => {
      layout.checkUsername(p.username);
      if (p.wallet !== undefined) layout.checkWalletAlias(p.wallet);
      users.requireUser(p.username);
      return { entries: await annotations.list(p.username, { wallet: p.wallet, service: p.service }) };
    },
  };
}
