import type { Command } from 'commander';
import { table, yesNo } from '../format.js';
import { positiveInt, type Act, type CliContext } from '../context.js';
import { UsageError } from '../io.js';

/** A new password: asked twice on a terminal (a typo would lock the data away), once from stdin. */
async function newPassword(ctx: CliContext, prompt: string): Promise<string> {
  const password = await ctx.input.secret(`${prompt}: `, 'new password');
  if (ctx.io.stdin.isTTY && (await ctx.input.secret('Repeat it: ', 'new password')) !== password) {
    throw new UsageError('the two passwords differ; nothing was changed');
  }
  return password;
}

export function registerUsers(program: Command, act: Act): void {
  const users = program.command('users').description('create, list, delete users; change passwords');

  users
    .command('create <username>')
    .description('create a user; with a password (prompted, or read from stdin) unless --no-password')
    .option('--no-password', 'a user without a password: unencrypted data and annotations only')
    .action(
      act(async (ctx, username: string, opts: { password: boolean }) => {
        const password = opts.password ? await newPassword(ctx, `Password for ${username}`) : undefined;
        const created = await (await ctx.client()).call('users.create', { username, ...(password ? { password } : {}) });
        ctx.print(created, `created user ${created.username} (${created.hasPassword ? 'with' : 'without'} a password)`);
      }),
    );

  users
    .command('list')
    .description('every user, whether they have a password and are unlocked')
    .action(
      act(async (ctx) => {
        const result = await (await ctx.client()).call('users.list', {});
        const rows = result.users.map((u) => [u.username, yesNo(u.hasPassword), yesNo(u.unlocked)]);
        ctx.print(result, rows.length ? table(['USERNAME', 'PASSWORD', 'UNLOCKED'], rows) : '(no users)');
      }),
    );

  users
    .command('delete <username>')
    .description("delete a user and all their data (their password is asked unless --no-password)")
    .option('--no-password', 'the user has no password')
    .action(
      act(async (ctx, username: string, opts: { password: boolean }) => {
        const password = opts.password ? await ctx.input.secret(`Password of ${username}: `, 'password') : undefined;
        const result = await (await ctx.client()).call('users.delete', { username, ...(password ? { password } : {}) });
        ctx.print(result, `deleted user ${username} and their data`);
      }),
    );

  users
    .command('passwd <username>')
    .description('change a password (stdin: the old one, then the new one, one per line)')
    .option('--first', 'the user has no password yet: only the new one is read')
    .action(
      act(async (ctx, username: string, opts: { first?: boolean }) => {
        const oldPassword = opts.first ? undefined : await ctx.input.secret('Current password: ', 'current password');
        const password = await newPassword(ctx, 'New password');
        const result = await (await ctx.client()).call('users.changePassword', {
          username,
          newPassword: password,
          ...(oldPassword ? { oldPassword } : {}),
        });
        ctx.print(result, `changed the password of ${username}`);
      }),
    );

  users
    .command('rotate-secret')
    .description("give the session's user a new secret and re-encrypt their data under it")
    .option('--session <token>', 'session (default: $COFFER_SESSION)')
    .action(
      act(async (ctx, opts: { session?: string }) => {
        const result = await (await ctx.client()).call('users.rotateSecret', { session: ctx.session(opts.session, true) });
        ctx.print(result, 'rotated the secret; the data is re-encrypted under the new one');
      }),
    );

  program
    .command('unlock <username>')
    .description('log in: prints `export COFFER_SESSION=…` (use: eval "$(coffer unlock alice)")')
    .option('--ttl <seconds>', 'end the session this long after now (at most the daemon\'s limit)', positiveInt('--ttl'))
    .option('--idle <seconds>', 'end it after this long unused (at most the daemon\'s limit)', positiveInt('--idle'))
    .action(
      act(async (ctx, username: string, opts: { ttl?: number; idle?: number }) => {
        const password = await ctx.input.secret(`Password for ${username}: `, 'password');
        const unlocked = await (await ctx.client()).call('users.unlock', {
          username,
          password,
          ...(opts.ttl ? { ttlS: opts.ttl } : {}),
          ...(opts.idle ? { idleS: opts.idle } : {}),
        });
        // The token is the one secret the CLI prints: handing it to the shell is this command's purpose.
        ctx.print(unlocked, `export COFFER_SESSION=${unlocked.session}`);
        // Both ends: the idle one comes first unless the session is used (default 1 h vs 24 h).
        ctx.note(
          `# ${unlocked.username} unlocked until ${unlocked.expiresAt} at the latest; ` +
            `it ends at ${unlocked.idleExpiresAt} if unused until then (each use moves that on)`,
        );
      }),
    );

  program
    .command('lock <username>')
    .description("end every session of a user and zero their secret in the daemon")
    .action(
      act(async (ctx, username: string) => {
        const result = await (await ctx.client()).call('users.lock', { username });
        ctx.print(result, `locked ${username}: every session of theirs ended`);
      }),
    );

  const session = program.command('session').description('check or end the current session ($COFFER_SESSION or --session)');
  session
    .command('check')
    .description('whose session it is and when it expires')
    .option('--session <token>', 'session (default: $COFFER_SESSION)')
    .action(
      act(async (ctx, opts: { session?: string }) => {
        const result = await (await ctx.client()).call('sessions.check', { session: ctx.session(opts.session, true) });
        ctx.print(result, `session of ${result.username}, expires ${result.expiresAt} (idle: ${result.idleExpiresAt})`);
      }),
    );
  session
    .command('end')
    .description('log out')
    .option('--session <token>', 'session (default: $COFFER_SESSION)')
    .action(
      act(async (ctx, opts: { session?: string }) => {
        const result = await (await ctx.client()).call('sessions.end', { session: ctx.session(opts.session, true) });
        ctx.print(result, 'session ended (unset COFFER_SESSION)');
      }),
    );
}
