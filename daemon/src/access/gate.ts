import { CofferError, type MethodName, type WireError } from '@coffer/protocol';
import type { JSONRPCResponse } from 'json-rpc-2.0';
import type { AuditLog, AuditRecord } from './audit.js';
import type { SessionOwner } from '../keyring/sessions.js';
import type { Logger } from '../base/logger.js';
import { METHOD_RULES, type MethodRule } from './method-rules.js';
import type { Peer } from './peers.js';
import type { Scope } from './policy.js';

/** What the gate needs from the keyring: who holds a session, and binding a new one to its uid. */
export interface SessionOwners {
  sessionOwner(session: string): SessionOwner | null;
  bindSession(session: string, uid: number): void;
}

/** A call let through: after it ran, `finish` trims its answer to the scope and records its outcome. */
export interface Admission {
  finish(response: JSONRPCResponse | null, failure: WireError | undefined): void;
}

/** The caller as the gate sees it: its peer and, for log lines, its connection. */
export interface GateCaller {
  readonly peer: Peer;
  readonly connectionId: number;
  readonly log: Logger;
}

type Params = Readonly<Record<string, unknown>>;

/**
 * Checks every call against its method's rule (method-rules.ts) and the caller's scope before it
 * runs, refusing with FORBIDDEN (nothing happens), binds new sessions to the uid that unlocked
 * them, and writes the audit stream: an intent line before an audited call (fail closed: no line,
 * no call) and its outcome after.
 */
export class AccessGate {
  constructor(
    private readonly sessions: SessionOwners,
    private readonly audit: AuditLog | undefined,
  ) {}

  admit(method: MethodName, params: Params, caller: GateCaller): Admission {
    const rule = METHOD_RULES[method];
    const { peer } = caller;
    const base = { event: method, peer: auditPeer(peer), conn: caller.connectionId };
    const session = typeof params['session'] === 'string' ? params['session'] : undefined;
    const owner = session === undefined ? null : this.sessions.sessionOwner(session);
    const user = rule.target === 'session' ? owner?.username : stringParam(params, 'username');
    const service = stringParam(params, 'service');
    const where = { ...base, ...(user === undefined ? {} : { user }), ...(service === undefined ? {} : { service }) };
    const missing = missingRight(method, rule, params, peer, owner, user);
    if (missing !== null) {
      this.refuse(where, missing, caller.log);
      throw new CofferError('FORBIDDEN', `Forbidden: ${missing} (cofferd --policy); nothing was done`, { missing });
    }
    const audited = rule.audit === true || (rule.audit === 'session' && session !== undefined);
    if (audited) this.audit?.record({ ...where, phase: 'intent' });
    return {
      finish: (response, failure) => {
        if (!failure && response && 'result' in response) this.afterSuccess(method, rule, response, peer);
        if (audited) this.recordDone({ ...where, phase: 'done', result: failure ? String(failure.data?.reason) : 'ok' }, caller.log);
      },
    };
  }

  /** A connection refused before it was read (server.ts): recorded, never refused for it. */
  peerRefused(cred: { uid: number; gid: number; pid: number }, log: Logger): void {
    this.recordDone({ event: 'peer.refused', phase: 'refused', peer: { uid: cred.uid, gid: cred.gid, pid: cred.pid }, result: 'FORBIDDEN' }, log);
  }

  private afterSuccess(method: MethodName, rule: MethodRule, response: JSONRPCResponse & { result?: unknown }, peer: Peer): void {
    const result = response.result as Record<string, unknown>;
    // The token goes back to this peer only, and from now on works for its uid only.
    if (method === 'users.unlock') this.sessions.bindSession(result['session'] as string, peer.cred.uid);
    if (rule.trim === 'users' && peer.scope.users !== '*') {
      const users = peer.scope.users;
      result['users'] = (result['users'] as Array<{ username: string }>).filter((u) => users.includes(u.username));
    }
    if (rule.trim === 'services' && peer.scope.services !== '*') {
      const services = peer.scope.services;
      result['services'] = (result['services'] as string[]).filter((s) => services.includes(s));
    }
  }

  /** A refusal's line: a refusal stands whether or not it could be written down. */
  private refuse(where: Omit<AuditRecord, 'phase'>, why: string, log: Logger): void {
    this.recordDone({ ...where, phase: 'refused', result: 'FORBIDDEN', why }, log);
  }

  /** After the fact nothing can be undone: a line that cannot be written is an error in the log. */
  private recordDone(record: AuditRecord, log: Logger): void {
    try {
      this.audit?.record(record);
    } catch (error) {
      log.error({ event: record.event, phase: record.phase, reason: (error as CofferError).data['audit'] }, 'audit line not written');
    }
  }
}

function auditPeer(peer: Peer): AuditRecord['peer'] {
  return { uid: peer.cred.uid, gid: peer.cred.gid, pid: peer.cred.pid };
}

function stringParam(params: Params, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' ? value : undefined;
}

function covers(list: Scope['users'], name: string): boolean {
  return list === '*' || list.includes(name);
}

/**
 * The right the call lacks, in words for the FORBIDDEN message (never a value), or null when the
 * scope allows it. Order: the session's uid, the kind of right, then whose data and which service.
 */
function missingRight(method: MethodName, rule: MethodRule, params: Params, peer: Peer, owner: SessionOwner | null, user: string | undefined): string | null {
  const { scope } = peer;
  // Every session is bound when users.unlock answers; one that somehow is not works for nobody.
  if (owner && owner.ownerUid !== peer.cred.uid) {
    return 'this session was opened by another uid and works for that uid only; unlock as this uid';
  }
  if (rule.right === 'admin' && !scope.admin && !holdsSession(method, owner, user)) {
    return method === 'users.lock'
      ? "locking a user needs the admin right, or that user's live session in `session`"
      : `${method} needs the admin right`;
  }
  if (rule.right === 'write' && scope.access !== 'write') return `${method} needs write access; this peer may only read`;
  if (rule.target === 'shared' && scope.users !== '*') return `${method} touches data shared by every user and needs a scope of every user`;
  if (user !== undefined && !covers(scope.users, user)) return "this peer's scope does not include that user";
  if (rule.target === 'topics') return topicsProblem(params, scope);
  return serviceProblem(rule, params, scope);
}

/** users.lock by the holder of that user's session: the token is the proof (DESIGN-NOTES). */
function holdsSession(method: MethodName, owner: SessionOwner | null, user: string | undefined): boolean {
  return method === 'users.lock' && owner !== null && owner.username === user;
}

function serviceProblem(rule: MethodRule, params: Params, scope: Scope): string | null {
  if (rule.service === undefined || scope.services === '*') return null;
  const service = stringParam(params, 'service');
  if (rule.service === 'all') return 'this touches every service of the user and needs a scope of every service';
  if (service === undefined) return 'name a service: this peer may touch only some services';
  return covers(scope.services, service) ? null : "this peer's scope does not include that service";
}

/** watch.subscribe: each topic must stay inside the scope; a topic that omits a name means "all". */
function topicsProblem(params: Params, scope: Scope): string | null {
  for (const topic of params['topics'] as Array<Record<string, unknown>>) {
    if (topic['scope'] === 'docs' && scope.users !== '*') return 'watching documents needs a scope of every user';
    const username = stringParam(topic, 'username');
    if (scope.users !== '*' && (username === undefined || !scope.users.includes(username))) {
      return 'each topic must name a user of this peer\'s scope';
    }
    if (topic['scope'] === 'users') continue;
    const service = stringParam(topic, 'service');
    if (scope.services !== '*' && (service === undefined || !scope.services.includes(service))) {
      return 'each topic must name a service of this peer\'s scope';
    }
  }
  return null;
}
