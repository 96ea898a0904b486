import { InvalidArgumentError, Option, type Command } from 'commander';

/** Repeatable, comma-separated list options: `--allow-uid a,b --allow-uid c` is [a, b, c]. */
function list(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new InvalidArgumentError('expected names or numbers separated by commas');
  return [...previous, ...items];
}

/** Who may connect, what each peer may do, and the audit stream (config.ts keeps the rest). */
export function addAccessOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--allow-uid <users>', 'also let these uids connect (names or numbers; repeat or comma-separate); the own uid and root always may')
        .env('COFFER_ALLOW_UID')
        .argParser(list)
        .default([]),
    )
    .addOption(
      new Option('--allow-gid <groups>', "also let peers in these groups connect (names or numbers; a peer's primary or supplementary group)")
        .env('COFFER_ALLOW_GID')
        .argParser(list)
        .default([]),
    )
    .addOption(
      new Option('--policy <file>', 'JSON file of per-peer scopes: which users and services each uid/gid may read or write, and admin').env(
        'COFFER_POLICY',
      ),
    )
    .addOption(
      new Option('--audit-log <file>', 'append a JSON-lines audit record of unlocks, locks, user changes, wipes, encrypted reads/writes and refused peers; a call that cannot be recorded is refused').env(
        'COFFER_AUDIT_LOG',
      ),
    );
}
