import type { Command } from 'commander';
import { cell, table } from '../format.js';
import { ifRevisionOf, type Act } from '../context.js';
import { UsageError } from '../io.js';
import { stringifyLossless, type LosslessObject, type LosslessValue } from '@coffer/protocol';

interface TargetOptions {
  addr?: string;
  tx?: string;
}

interface WriteOptions extends TargetOptions {
  ifRevision?: string;
}

/** --addr ADDRESS or --tx TXID: which annotation of the wallet's file. */
function target(opts: TargetOptions): { kind: 'addr' | 'tx'; id: string } {
  if (opts.addr !== undefined && opts.tx !== undefined) throw new UsageError('give --addr or --tx, not both');
  if (opts.addr !== undefined) return { kind: 'addr', id: opts.addr };
  if (opts.tx !== undefined) return { kind: 'tx', id: opts.tx };
  throw new UsageError('say which annotation: --addr <address> or --tx <txid>');
}

function withTarget(command: Command): Command {
  return command.option('--addr <address>', 'the annotation of this address').option('--tx <txid>', 'the annotation of this transaction');
}

function withRevision(command: Command): Command {
  return withTarget(command).option('--if-revision <rev>', "only if the file's revision is still this one (else CONFLICT)");
}

export function registerAnnotations(program: Command, act: Act): void {
  const annotations = program.command('annotations').description('per-wallet annotations of addresses and transactions');
  const where = '<user> <wallet> <service>';

  annotations
    .command('list <user>')
    .description("every annotation of a user, optionally of one wallet and/or service")
    .option('--wallet <alias>', 'only this wallet')
    .option('--service <id>', 'only this service')
    .action(
      act(async (ctx, username: string, opts: { wallet?: string; service?: string }) => {
        const result = await (await ctx.client()).call('annotations.list', {
          username,
          ...(opts.wallet ? { wallet: opts.wallet } : {}),
          ...(opts.service ? { service: opts.service } : {}),
        });
        const rows = result.entries.map((e) => [e.wallet, e.service, e.kind, e.id]);
        ctx.print(result, rows.length ? table(['WALLET', 'SERVICE', 'KIND', 'ID'], rows) : '(no annotations)');
      }),
    );

  withTarget(annotations.command(`get ${where}`).description('print the annotations of a wallet and service, or one with --addr/--tx')).action(
    act(async (ctx, username: string, wallet: string, service: string, opts: TargetOptions) => {
      const client = await ctx.client();
      if (opts.addr === undefined && opts.tx === undefined) {
        const all = (await client.callExact('annotations.get', { username, wallet, service })) as {
          addrs: LosslessObject;
          txs: LosslessObject;
          revision: string | null;
        };
        const rows = [
          ...[...all.addrs].map(([id, data]) => ['addr', id, cell(data)]),
          ...[...all.txs].map(([id, data]) => ['tx', id, cell(data)]),
        ];
        ctx.print(all, [rows.length ? table(['KIND', 'ID', 'DATA'], rows) : '(no annotations)', `revision: ${all.revision ?? '(none)'}`]);
        return;
      }
      const one = (await client.callExact('annotations.get', { username, wallet, service, ...target(opts) })) as { data: LosslessValue; revision: string | null };
      ctx.print(one, [one.data === null ? '(no annotation)' : stringifyLossless(one.data, { indent: 2 }), `revision: ${one.revision ?? '(none)'}`]);
    }),
  );

  withRevision(annotations.command(`set ${where} [json]`).description('replace one annotation (any JSON; omitted or -: stdin)')).action(
    act(async (ctx, username: string, wallet: string, service: string, json: string | undefined, opts: WriteOptions) => {
      const which = target(opts);
      const data = await ctx.jsonArg(json, 'annotation');
      const result = await (await ctx.client()).callExact('annotations.set', { username, wallet, service, ...which, data, ...ifRevisionOf(opts) });
      ctx.print(result, `saved the annotation of ${which.id} (revision ${result.revision})`);
    }),
  );

  withRevision(annotations.command(`update ${where} [patch]`).description('merge a JSON patch (RFC 7396) into one annotation')).action(
    act(async (ctx, username: string, wallet: string, service: string, json: string | undefined, opts: WriteOptions) => {
      const which = target(opts);
      const patch = await ctx.objectArg(json, 'patch');
      const result = await (await ctx.client()).callExact('annotations.update', { username, wallet, service, ...which, patch, ...ifRevisionOf(opts) });
      ctx.print(result, [stringifyLossless(result.data, { indent: 2 }), `revision: ${result.revision}`]);
    }),
  );

  withRevision(annotations.command(`delete ${where}`).description('remove one annotation (absent: not an error)')).action(
    act(async (ctx, username: string, wallet: string, service: string, opts: WriteOptions) => {
      const which = target(opts);
      const result = await (await ctx.client()).call('annotations.delete', { username, wallet, service, ...which, ...ifRevisionOf(opts) });
      ctx.print(result, `removed the annotation of ${which.id}`);
    }),
  );
}
