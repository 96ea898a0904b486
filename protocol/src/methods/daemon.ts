import { Type } from '@sinclair/typebox';
import { defineMethod } from './define.js';
import { Params } from './common.js';

/** The rights of a peer (cofferd --policy; DESIGN-NOTES "Who may connect, and what they may do"). */
export const PeerScope = Type.Object({
  users: Type.Union([Type.Literal('*'), Type.Array(Type.String())]),
  services: Type.Union([Type.Literal('*'), Type.Array(Type.String())]),
  access: Type.Union([Type.Literal('read'), Type.Literal('write')]),
  admin: Type.Boolean(),
});

export const StatusResult = Type.Object({
  version: Type.String(),
  protocolVersion: Type.Integer(),
  pid: Type.Integer(),
  uptimeS: Type.Number(),
  dataDir: Type.String(),
  layout: Type.Union([Type.Literal('coffer'), Type.Literal('specter')]),
  store: Type.Object(
    {
      kind: Type.Union([Type.Literal('files'), Type.Literal('postgres')]),
      reachable: Type.Union([Type.Boolean(), Type.Null()], { description: 'postgres: whether a query answered just now (null for files)' }),
      changeFeed: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('off'), Type.Null()], {
        description: "postgres: the notifications that carry other daemons' changes (off with --no-watch; null for files)",
      }),
      error: Type.Union([Type.String(), Type.Null()], { description: 'postgres: why the last query failed, when it did' }),
    },
    { description: 'where data is kept (--store) and, for a database, its health' },
  ),
  socket: Type.String(),
  connections: Type.Integer({ description: 'open client connections' }),
  queuedAnswerBytes: Type.Integer({ description: 'answer bytes written by the daemon and not yet read by clients, all connections' }),
  users: Type.Object({
    total: Type.Union([Type.Integer(), Type.Null()], {
      description: 'users in users.json, or null while it does not parse (it is then in corruptFiles)',
    }),
    unlocked: Type.Integer({ description: 'users with at least one live session' }),
  }),
  sessions: Type.Integer({ description: 'live sessions' }),
  sessionsStored: Type.Boolean({
    description: 'sessions are stored, sealed under their tokens (--persist-sessions; on with --store postgres): they survive a restart and every cofferd on the same store serves them',
  }),
  writes: Type.Object({
    pending: Type.Integer({ description: 'mutations waiting or being written' }),
    committed: Type.Integer({ description: 'durable file writes since start (one per group)' }),
    failed: Type.Integer({ description: 'durable file writes that failed since start' }),
    reapplied: Type.Integer({
      description: 'groups of mutations applied again because another cofferd sharing the database wrote the same unit first (--store postgres; always 0 on files)',
    }),
  }),
  corruptFiles: Type.Array(Type.String(), {
    description:
      'files that do not parse, left untouched and never written until fixed: a data file changed outside cofferd serves its last good state, one never read (and users.json) answers CORRUPT',
  }),
  externalOverwrites: Type.Object(
    {
      count: Type.Integer({ description: 'acknowledged writes replaced by a writer outside cofferd since start' }),
      files: Type.Array(Type.String(), { description: 'the last files where that happened (up to 10), newest last' }),
    },
    { description: 'another writer (e.g. Specter itself) replaced files holding writes cofferd acknowledged: those writes are lost' },
  ),
  kdfRuns: Type.Integer({
    description: 'password KDF runs since start (Argon2id or PBKDF2: unlock, create, password change, and the decoy run for an unknown user)',
  }),
  degraded: Type.Union([Type.String(), Type.Null()], {
    description: 'why writes are refused until restart (a directory fsync failed), or null',
  }),
  peer: Type.Object(
    {
      uid: Type.Integer(),
      gid: Type.Integer(),
      pid: Type.Integer(),
      scope: PeerScope,
      grantedBy: Type.String({ description: 'what gave this scope: a --policy entry (uid:N, gid:N) or "default"' }),
    },
    { description: 'the calling connection: its credentials (SO_PEERCRED) and what it may do' },
  ),
});

export const daemonMethods = {
  'daemon.status': defineMethod({
    summary: 'Version, paths and counters of the running daemon.',
    params: Params({}),
    result: StatusResult,
    errors: [],
  }),
  'rpc.discover': defineMethod({
    summary: 'The method catalogue as an OpenRPC document, generated from @coffer/protocol.',
    params: Params({}),
    result: Type.Object({
      openrpc: Type.String(),
      info: Type.Object({ title: Type.String(), version: Type.String() }),
      methods: Type.Array(Type.Unknown()),
      components: Type.Object({ errors: Type.Unknown() }),
      'x-notifications': Type.Array(Type.Unknown()),
    }),
    errors: [],
  }),
};
