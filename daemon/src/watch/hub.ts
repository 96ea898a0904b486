import { randomBytes } from 'node:crypto';
import { CofferError } from '@coffer/protocol';
import type { ChangeNotice } from './describe.js';

/** A topic filter from watch.subscribe: its scope, and keys that must match (absent = any). */
export type TopicFilter = { scope: ChangeNotice['scope'] } & Partial<Record<'username' | 'service' | 'wallet' | 'name', string>> & {
  encrypted?: boolean;
};

/** The part of a client connection the hub needs. */
export interface NotifyPort {
  readonly id: number;
  notify(method: string, params: unknown): void;
  onClose(listener: () => void): void;
}

interface Subscription {
  readonly port: NotifyPort;
  readonly topics: readonly TopicFilter[];
}

function matches(filter: TopicFilter, notice: ChangeNotice): boolean {
  if (filter.scope !== notice.scope) return false;
  for (const key of ['username', 'service', 'wallet', 'name', 'encrypted'] as const) {
    if (filter[key] !== undefined && filter[key] !== notice[key]) return false;
  }
  return true;
}

/**
 * Subscriptions, per connection (DESIGN §2): the daemon sends `watch.changed` only on connections
 * that subscribed, and forgets a connection's subscriptions when it closes.
 */
export class WatchHub {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly tracked = new WeakSet<NotifyPort>();

  get size(): number {
    return this.subscriptions.size;
  }

  subscribe(port: NotifyPort, topics: readonly TopicFilter[]): string {
    const id = `w${randomBytes(8).toString('hex')}`;
    this.subscriptions.set(id, { port, topics });
    if (!this.tracked.has(port)) {
      this.tracked.add(port);
      port.onClose(() => {
        for (const [key, sub] of this.subscriptions) if (sub.port === port) this.subscriptions.delete(key);
      });
    }
    return id;
  }

  /** Only the connection that made a subscription can end it. */
  unsubscribe(port: NotifyPort, id: string): void {
    const sub = this.subscriptions.get(id);
    if (!sub || sub.port !== port) throw new CofferError('NOT_FOUND', `No subscription ${id} on this connection`);
    this.subscriptions.delete(id);
  }

  publish(notice: ChangeNotice): void {
    for (const [id, sub] of this.subscriptions) {
      if (sub.topics.some((filter) => matches(filter, notice))) sub.port.notify('watch.changed', { subscription: id, ...notice });
    }
  }
}
