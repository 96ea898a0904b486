import type { ResultOf } from '@coffer/protocol';
import type { Command } from 'commander';
import { keyValues, yesNo } from '../format.js';
import type { Act } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { Failed } from '../io.js';

type Scope = ResultOf<'daemon.status'>['peer']['scope'];

/** A peer's scope in words: "every user, every service, write, admin". */
export function scopeText(scope: Scope): string {
  const names = (list: Scope['users'], what: string): string => (list === '*' ? `every ${what}` : `${what}s ${list.join(', ')}`);
  return [names(scope.users, 'user'), names(scope.services, 'service'), scope.access, ...(scope.admin ? ['admin'] : [])].join(', ');
}

export function registerStatus(program: Command, act: Act): void {
  program
    .command('status')
    .description("the daemon's version, paths and counters")
    .action(
      act(async (ctx) => {
        const s = await (await ctx.client()).call('daemon.status', {});
        ctx.print(s, keyValues([
          ['cofferd', `${s.version} (protocol ${s.protocolVersion}), pid ${s.pid}, up ${Math.round(s.uptimeS)} s`],
          ['data dir', `${s.dataDir} (layout ${s.layout})`],
          ['socket', s.socket],
          ['users', `${s.users.total ?? 'unknown: users.json does not parse'} (${s.users.unlocked} unlocked), ${s.sessions} sessions${s.sessionsStored ? ' (stored: they survive a restart)' : ''}, ${s.connections} connections`],
          ['writes', `${s.writes.pending} pending, ${s.writes.committed} committed, ${s.writes.failed} failed`],
          ['you', `uid ${s.peer.uid}, gid ${s.peer.gid}, pid ${s.peer.pid}: ${scopeText(s.peer.scope)} (${s.peer.grantedBy})`],
          ['degraded', s.degraded ?? yesNo(false)],
        ]));
        // Monitoring runs `coffer status`: a daemon that refuses writes must not look healthy.
        if (s.degraded !== null) {
          throw new Failed(EXIT.DEGRADED, 'DEGRADED', `cofferd is degraded (${s.degraded}): it refuses writes until it is restarted`);
        }
      }),
    );
}
