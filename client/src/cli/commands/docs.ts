import type { Command } from 'commander';
import { objectTable, table } from '../format.js';
import { ifRevisionOf, type Act } from '../context.js';

interface SessionOptions {
  session?: string;
}

interface WriteOptions extends SessionOptions {
  ifRevision?: string;
  ifAbsent?: boolean;
}

function withSession(command: Command): Command {
  return command.option('--session <token>', 'the owner\'s session, for encrypted fields (default: $COFFER_SESSION if set)');
}

function withRevision(command: Command): Command {
  return withSession(command)
    .option('--if-revision <rev>', 'only if the stored revision is still this one (else CONFLICT)')
    .option('--if-absent', 'only if the document does not exist yet (else CONFLICT)');
}

/** Splits `a,b, c` into field names. */
function fieldList(value: string): string[] {
  return value
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
}

export function registerDocs(program: Command, act: Act): void {
  const docs = program.command('docs').description('generic documents, with optional encrypted fields');

  docs
    .command('list')
    .description('every document, its owner and encrypted fields')
    .action(
      act(async (ctx) => {
        const result = await (await ctx.client()).call('docs.list', {});
        const rows = result.docs.map((d) => [d.name, d.owner ?? '-', d.encryptedFields.join(',') || '-']);
        ctx.print(result, rows.length ? table(['NAME', 'OWNER', 'ENCRYPTED'], rows) : '(no documents)');
      }),
    );

  withSession(docs.command('get <name>').description("print a document (encrypted fields only with the owner's session)")).action(
    act(async (ctx, name: string, opts: SessionOptions) => {
      const session = ctx.session(opts.session, false);
      const result = await (await ctx.client()).callExact('docs.get', { name, ...(session ? { session } : {}) });
      const lines = [objectTable(result.data, '(no fields)'), `revision: ${result.revision}`];
      if (result.locked.length) lines.push(`locked: ${result.locked.join(', ')} (encrypted; need the owner's session)`);
      ctx.print(result, lines);
    }),
  );

  withRevision(
    docs
      .command('set <name> [json]')
      .description('replace a document (JSON object; omitted or -: stdin)')
      .option('--encrypted-fields <fields>', 'comma-separated top-level fields to store encrypted (needs a session)', fieldList),
  ).action(
    act(async (ctx, name: string, json: string | undefined, opts: WriteOptions & { encryptedFields?: string[] }) => {
      const data = await ctx.objectArg(json, 'document');
      const session = ctx.session(opts.session, false);
      const result = await (await ctx.client()).callExact('docs.set', {
        name,
        data,
        ...(opts.encryptedFields ? { encryptedFields: opts.encryptedFields } : {}),
        ...(session ? { session } : {}),
        ...ifRevisionOf(opts),
      });
      ctx.print(result, result.revision === null ? `removed ${name}` : `saved ${name} (revision ${result.revision})`);
    }),
  );

  withRevision(docs.command('update <name> [patch]').description('merge a JSON patch (RFC 7396) into a document')).action(
    act(async (ctx, name: string, json: string | undefined, opts: WriteOptions) => {
      const patch = await ctx.objectArg(json, 'patch');
      const session = ctx.session(opts.session, false);
      const result = await (await ctx.client()).callExact('docs.update', { name, patch, ...(session ? { session } : {}), ...ifRevisionOf(opts) });
      ctx.print(result, [objectTable(result.data, '(no fields)'), `revision: ${result.revision ?? '(none)'}`]);
    }),
  );

  withRevision(docs.command('delete <name>').description('remove a document (absent: not an error)')).action(
    act(async (ctx, name: string, opts: WriteOptions) => {
      const session = ctx.session(opts.session, false);
      const result = await (await ctx.client()).call('docs.delete', { name, ...(session ? { session } : {}), ...ifRevisionOf(opts) });
      ctx.print(result, `removed ${name}`);
    }),
  );
}
