import type { Command } from 'commander';
import type { LosslessParamsOf, LosslessResultOf } from '@coffer/protocol';
import type { CofferClient } from '../../client.js';
import { objectTable } from '../format.js';
import { ifRevisionOf, type Act, type CliContext } from '../context.js';
import { UsageError } from '../io.js';

interface OwnerOptions {
  encrypted?: boolean;
  user?: string;
  session?: string;
}

interface WriteOptions extends OwnerOptions {
  ifRevision?: string;
  ifAbsent?: boolean;
}

type Verb = 'get' | 'set' | 'update' | 'delete' | 'list';
type Owner = { session: string } | { username: string };

/** Encrypted data belongs to a session, unencrypted data to a username: the options pick one. */
function ownerOf(ctx: CliContext, opts: OwnerOptions): { kind: 'encrypted' | 'unencrypted'; who: Owner } {
  if (opts.encrypted) {
    if (opts.user !== undefined) throw new UsageError('--user is for unencrypted data; encrypted data is reached through a session');
    return { kind: 'encrypted', who: { session: ctx.session(opts.session, true) } };
  }
  if (opts.user === undefined) throw new UsageError('say whose data: --user <name> (unencrypted), or --encrypted (with a session)');
  if (opts.session !== undefined) throw new UsageError('--session goes with --encrypted');
  return { kind: 'unencrypted', who: { username: opts.user } };
}

/**
 * services.encrypted.X and services.unencrypted.X have the same params and results except the owner
 * field, so one typed call serves both (the daemon validates the owner field it expects).
 */
function call<V extends Verb>(
  client: CofferClient,
  owner: { kind: 'encrypted' | 'unencrypted'; who: Owner },
  verb: V,
  params: Omit<LosslessParamsOf<`services.encrypted.${V}`>, 'session'>,
): Promise<LosslessResultOf<`services.encrypted.${V}`>> {
  const method = `services.${owner.kind}.${verb}` as `services.encrypted.${V}`;
  // Exact values both ways: the CLI prints what is stored (`1.0`, big ints, key order).
  return client.callExact(method, { ...params, ...owner.who } as unknown as LosslessParamsOf<`services.encrypted.${V}`>);
}

function withOwner(command: Command): Command {
  return command
    .option('--encrypted', "the user's encrypted data (needs their session)")
    .option('--user <name>', "the user's unencrypted data")
    .option('--session <token>', 'session for --encrypted (default: $COFFER_SESSION)');
}

function withRevision(command: Command): Command {
  return withOwner(command)
    .option('--if-revision <rev>', 'only if the stored revision is still this one (else CONFLICT)')
    .option('--if-absent', 'only if the service has no data yet (else CONFLICT)');
}

export function registerServices(program: Command, act: Act): void {
  const services = program
    .command('services')
    .description("a user's service data: unencrypted (--user NAME) or encrypted (--encrypted, with a session)");

  withOwner(services.command('get <service>').description("print a service's data (absent: empty)")).action(
    act(async (ctx, service: string, opts: OwnerOptions) => {
      const result = await call(await ctx.client(), ownerOf(ctx, opts), 'get', { service });
      ctx.print(result, [objectTable(result.data), `revision: ${result.revision ?? '(none)'}`]);
    }),
  );

  withRevision(services.command('set <service> [json]').description("replace a service's data (JSON object; omitted or -: stdin; {} removes present data)")).action(
    act(async (ctx, service: string, json: string | undefined, opts: WriteOptions) => {
      const owner = ownerOf(ctx, opts);
      const data = await ctx.objectArg(json, 'data');
      const result = await call(await ctx.client(), owner, 'set', { service, data, ...ifRevisionOf(opts) });
      ctx.print(result, result.revision === null ? `removed ${service}` : `saved ${service} (revision ${result.revision})`);
    }),
  );

  withRevision(
    services
      .command('update <service> [patch]')
      .description('merge a JSON patch into the data (RFC 7396: nested objects merge, null deletes); omitted or -: stdin')
      .option('--shallow', "Specter's update_service_data instead: top-level keys replaced, null stored"),
  ).action(
    act(async (ctx, service: string, json: string | undefined, opts: WriteOptions & { shallow?: boolean }) => {
      const owner = ownerOf(ctx, opts);
      const patch = await ctx.objectArg(json, 'patch');
      const result = await call(await ctx.client(), owner, 'update', { service, patch, shallow: opts.shallow === true, ...ifRevisionOf(opts) });
      ctx.print(result, [objectTable(result.data), `revision: ${result.revision ?? '(none)'}`]);
    }),
  );

  withRevision(services.command('delete <service>').description("remove a service's data (absent: not an error)")).action(
    act(async (ctx, service: string, opts: WriteOptions) => {
      const result = await call(await ctx.client(), ownerOf(ctx, opts), 'delete', { service, ...ifRevisionOf(opts) });
      ctx.print(result, `removed ${service}`);
    }),
  );

  services
    .command('ids <user>')
    .description("the services that have encrypted data for a user, without a session (never a value)")
    .action(
      act(async (ctx, user: string) => {
        const result = await (await ctx.client()).call('services.encrypted.ids', { username: user });
        ctx.print(result, result.services.length ? result.services : '(no encrypted data)');
      }),
    );

  services
    .command('wipe <user>')
    .description("remove all of a user's encrypted or unencrypted service data, without a session (Specter does this when a password is removed)")
    .option('--encrypted', 'the encrypted data')
    .option('--unencrypted', 'the unencrypted data')
    .option('--yes', 'really: this cannot be undone')
    .action(
      act(async (ctx, user: string, opts: { encrypted?: boolean; unencrypted?: boolean; yes?: boolean }) => {
        if (opts.encrypted === opts.unencrypted) throw new UsageError('say which data to wipe: --encrypted or --unencrypted');
        if (!opts.yes) throw new UsageError('wiping cannot be undone: add --yes to go ahead');
        const method = opts.encrypted ? 'services.encrypted.wipe' : 'services.unencrypted.wipe';
        const result = await (await ctx.client()).call(method, { username: user });
        ctx.print(result, `wiped ${result.removed} service${result.removed === 1 ? '' : 's'} of ${user}`);
      }),
    );

  withOwner(services.command('list').description('the services that have data')).action(
    act(async (ctx, opts: OwnerOptions) => {
      const result = await call(await ctx.client(), ownerOf(ctx, opts), 'list', {});
      ctx.print(result, result.services.length ? result.services : '(no services)');
    }),
  );
}
