import { Argument, type Command } from 'commander';

/** One completion context: the words after `coffer <path…>`. */
interface Level {
  path: string;
  words: string[];
}

/** Every command path with its subcommands, options and argument choices, walked from the program itself. */
function levels(program: Command): Level[] {
  const globals = [...program.options.map((o) => o.long), '--help'];
  const walk = (command: Command, path: string): Level[] => {
    const words = [
      ...command.commands.map((sub) => sub.name()),
      ...command.registeredArguments.flatMap((arg) => arg.argChoices ?? []),
      ...command.options.map((o) => o.long),
      ...globals,
    ];
    const unique = [...new Set(words.filter((w): w is string => w !== undefined))];
    return [{ path, words: unique }, ...command.commands.flatMap((sub) => walk(sub, `${path} ${sub.name()}`))];
  };
  return walk(program, program.name());
}

/**
 * A bash completion function generated from the program, so it never lists a command that does not
 * exist: it follows the command words typed so far to a level, then offers that level's words.
 */
function bashScript(program: Command): string {
  const all = levels(program);
  const nested = all.filter((l) => l.path !== program.name()).map((l) => `'${l.path}'`);
  const cases = all.map((l) => `    '${l.path}') words='${l.words.join(' ')}' ;;`);
  return [
    `# ${program.name()} completion for bash: eval "$(${program.name()} completion bash)", e.g. in ~/.bashrc`,
    `_${program.name()}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" key='${program.name()}' words='' i`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "$key ${COMP_WORDS[i]}" in',
    `      ${nested.join('|')}) key="$key \${COMP_WORDS[i]}" ;;`,
    '    esac',
    '  done',
    '  case "$key" in',
    ...cases,
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    `complete -F _${program.name()} ${program.name()}`,
    '',
  ].join('\n');
}

/** zsh runs the same function through its bash compatibility layer (bashcompinit). */
function zshScript(program: Command): string {
  return [
    `# ${program.name()} completion for zsh: eval "$(${program.name()} completion zsh)", e.g. in ~/.zshrc`,
    'autoload -U +X compinit && compinit',
    'autoload -U +X bashcompinit && bashcompinit',
    bashScript(program).split('\n').slice(1).join('\n'),
  ].join('\n');
}

/** `coffer completion bash|zsh`: prints the script for the program it is registered on. */
export function registerCompletion(program: Command, print: (text: string) => void): void {
  program
    .command('completion')
    .description('print a shell completion script: eval "$(coffer completion bash)" (or zsh)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => print(shell === 'bash' ? bashScript(program) : zshScript(program)));
}
