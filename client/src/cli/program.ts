import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CofferError } from '@coffer/protocol';
import { CliContext, type Act } from './context.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor, hintFor } from './exit-codes.js';
import { Failed, Interrupted, UsageError, type CliIo } from './io.js';
import { registerCompletion } from './completion.js';
import { CLIENT_VERSION } from '../version.js';
import { registerAnnotations } from './commands/annotations.js';
import { registerDocs } from './commands/docs.js';
import { registerServices } from './commands/services.js';
import { registerUsers } from './commands/users.js';
import { registerStatus } from './commands/status.js';
import { registerOps } from './commands/ops.js';
import { registerMigrate } from './commands/migrate.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

function buildProgram(io: CliIo): Command {
  const program = new Command('coffer')
    .description('Command-line client of cofferd, the Coffer secret-and-data store.')
    .addOption(
      new Option(
        '--socket <path>',
        'cofferd socket (default: $COFFER_SOCKET, else the first that exists of /run/coffer/cofferd.sock and ./.coffer/cofferd.sock)',
      ),
    )
    .option('--json', 'print results as JSON, for scripts (errors too, on stderr)')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for an answer').default(30).argParser(seconds))
    .helpOption('-h, --help', 'show help')
    .version(CLIENT_VERSION, '-V, --version', 'print the version')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  const act: Act =
    <A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      // commander passes the positional arguments, the options, then the command itself.
      const ctx = new CliContext(io, args[args.length - 1] as Command);
      try {
        await fn(ctx, ...(args.slice(0, -1) as A));
      } finally {
        await ctx.close();
      }
    };
  registerStatus(program, act);
  registerUsers(program, act);
  registerServices(program, act);
  registerAnnotations(program, act);
  registerDocs(program, act);
  registerOps(program, act);
  registerMigrate(program, act);
  // Last, so the script it prints lists every command above.
  registerCompletion(program, (text) => io.stdout.write(text));
  // Every subcommand inherits the root's output, error handling and exit override.
  for (const command of allCommands(program)) {
    command.exitOverride().showHelpAfterError('(add --help for usage)').configureOutput(program.configureOutput());
  }
  return program;
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** Runs the CLI on `argv` (without node and script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.OK;
  } catch (error) {
    return report(io, json, error);
  }
}

function report(io: CliIo, json: boolean, error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (help and version are "errors" that exit 0).
    return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
  }
  if (error instanceof CofferError) {
    const hint = hintFor(error);
    if (json) {
      const body = { error: { reason: error.reason, code: error.code, message: error.message, data: error.data, ...(hint ? { hint } : {}) } };
      io.stderr.write(`${JSON.stringify(body)}\n`);
    } else {
      io.stderr.write(`coffer: ${error.message} [${error.reason}]\n${hint ? `  next: ${hint}\n` : ''}`);
    }
    return exitCodeFor(error);
  }
  if (error instanceof Interrupted) return EXIT.INTERRUPTED;
  if (error instanceof Failed) {
    io.stderr.write(json ? `${JSON.stringify({ error: { reason: error.reason, message: error.message } })}\n` : `coffer: ${error.message}\n`);
    return error.code;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) io.stderr.write(`${JSON.stringify({ error: { reason: error instanceof UsageError ? 'USAGE' : 'CLI_ERROR', message } })}\n`);
  else io.stderr.write(`coffer: ${message}\n`);
  return error instanceof UsageError ? EXIT.USAGE : EXIT.DAEMON_ERROR;
}
