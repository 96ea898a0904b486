import type { AnnotationsModel, DocModel, ServicesModel } from '../port/layout.js';
import { annotationsRevision } from '../store/annotations.js';
import { docRevision } from '../store/doc-fields.js';
import { serviceRevision } from '../store/services.js';
import type { FileChange } from '../store/store.js';

/** One change as subscribers see it: the API's keys, the new revision, and who made it. */
export interface ChangeNotice {
  scope: 'services' | 'annotations' | 'docs' | 'users';
  username?: string;
  encrypted?: boolean;
  service?: string;
  wallet?: string;
  name?: string;
  change?: 'created' | 'deleted' | 'password';
  revision: string | null;
  source: 'rpc' | 'external';
}

/**
 * Turns a committed file change into notices, one per entry that changed: a services file holds
 * many services, an annotations file or a document is one entry. Revisions are computed the way
 * the API reports them, so a subscriber can compare them with what it read.
 */
export function describeChange(change: FileChange): ChangeNotice[] {
  const { topic, source } = change;
  switch (topic.scope) {
    case 'services': {
      const before = (change.before as ServicesModel).entries;
      const after = (change.after as ServicesModel).entries;
      const notices: ChangeNotice[] = [];
      for (const service of new Set([...before.keys(), ...after.keys()])) {
        const stored = after.get(service);
        if (stored === before.get(service)) continue;
        const revision = stored === undefined ? null : serviceRevision(topic.encrypted, topic.username, service, stored);
        notices.push({ scope: 'services', username: topic.username, encrypted: topic.encrypted, service, revision, source });
      }
      return notices;
    }
    case 'annotations': {
      const before = annotationsRevision(topic, change.before as AnnotationsModel);
      const revision = annotationsRevision(topic, change.after as AnnotationsModel);
      if (before === revision) return [];
      return [{ scope: 'annotations', username: topic.username, wallet: topic.wallet, service: topic.service, revision, source }];
    }
    case 'docs': {
      const before = docRevision(topic.name, change.before as DocModel);
      const revision = docRevision(topic.name, change.after as DocModel);
      return before === revision ? [] : [{ scope: 'docs', name: topic.name, revision, source }];
    }
    case 'accounts':
      return [];
  }
}
