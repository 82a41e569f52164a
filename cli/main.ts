import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { cliVersion, logout, targets, whoami } from './account-commands.ts';
import { audit } from './audit-command.ts';
import { Context, type OptionValue } from './context.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { approve, deny, extend } from './extend-command.ts';
import { clean, json } from './format.ts';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import type { Io } from './io.ts';
import { login } from './login-command.ts';
import { open } from './open-command.ts';
import { recording, replay } from './replay-command.ts';
import { review, reviews } from './review-command.ts';
import { end, events, list, show } from './session-commands.ts';
import { sweepKeys } from './ssh.ts';
import { usage } from './usage-command.ts';

export type { Io } from './io.ts';

const COMMON_OPTIONS: ParseArgsOptionsConfig = {
  api: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

interface Command {
  options: ParseArgsOptionsConfig;
  /** names of the positional arguments, all required */
  positionals: string[];
  run: (context: Context) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  login: {
    options: {
      local: { type: 'boolean' },
      user: { type: 'string' },
      password: { type: 'string' },
      mfa: { type: 'boolean' },
      device: { type: 'boolean' },
      'no-browser': { type: 'boolean' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      scopes: { type: 'string' },
    },
    positionals: [],
    run: login,
  },
  open: {
    options: {
      for: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      connect: { type: 'boolean' },
      keep: { type: 'boolean' },
      stdio: { type: 'boolean' },
      shell: { type: 'boolean' },
      'break-glass': { type: 'boolean' },
      incident: { type: 'string' },
      'local-port': { type: 'string' },
      'wait-timeout': { type: 'string' },
    },
    positionals: ['target'],
    run: open,
  },
  ls: {
    options: {
      all: { type: 'boolean' },
      status: { type: 'string' },
      target: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    positionals: [],
    run: list,
  },
  show: { options: {}, positionals: ['session-id'], run: show },
  end: { options: {}, positionals: ['session-id'], run: end },
  events: { options: {}, positionals: ['session-id'], run: events },
  extend: {
    options: { by: { type: 'string' }, reason: { type: 'string' } },
    positionals: ['session-id'],
    run: extend,
  },
  approve: { options: { comment: { type: 'string' } }, positionals: ['session-id'], run: approve },
  deny: { options: { comment: { type: 'string' } }, positionals: ['session-id'], run: deny },
  reviews: {
    options: { status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    positionals: [],
    run: reviews,
  },
  review: {
    options: { verdict: { type: 'string' }, comment: { type: 'string' } },
    positionals: ['session-id'],
    run: review,
  },
  usage: {
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'group-by': { type: 'string' },
      csv: { type: 'boolean' },
    },
    positionals: [],
    run: usage,
  },
  audit: { options: {}, positionals: ['action', 'session-id'], run: audit },
  replay: {
    options: { speed: { type: 'string' }, 'idle-limit': { type: 'string' } },
    positionals: ['session-id'],
    run: replay,
  },
  recording: {
    options: { out: { type: 'string' }, text: { type: 'boolean' } },
    positionals: ['session-id'],
    run: recording,
  },
  targets: { options: {}, positionals: [], run: targets },
  whoami: { options: {}, positionals: [], run: whoami },
  logout: { options: {}, positionals: [], run: logout },
};

/** Edit distance with swapped neighbours counting one (`--fro` is one slip from `--for`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest of `known` to `word`, if it is close enough to be what was meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const bare = (text: string): string => text.replace(/^-+/, '');
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    const score =
      bare(word).length >= 2 && bare(name).startsWith(bare(word))
        ? 1
        : distance(bare(word), bare(name));
    if (!best || score < best.score) best = { name, score };
  }
  return best && best.score <= Math.max(1, Math.floor(bare(word).length / 3))
    ? best.name
    : undefined;
}

const hint = (suggestion: string | undefined): string =>
  suggestion ? `; did you mean ${suggestion}?` : '';

/**
 * Unknown options are found here rather than from parseArgs' message, which is two sentences
 * of Node's own words with quotes that do not pair up.
 */
function checkOptions(name: string, options: ParseArgsOptionsConfig, args: string[]): void {
  const long = Object.keys(options).map((option) => `--${option}`);
  const short = Object.values(options).flatMap((option) =>
    option.short ? [`-${option.short}`] : [],
  );
  for (const arg of args) {
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) continue;
    const option = arg.startsWith('--') ? (arg.split('=')[0] ?? arg) : arg.slice(0, 2);
    if (long.includes(option) || short.includes(option)) continue;
    throw new UsageError(
      `unknown option ${clean(option, 40)} for drawbridge ${name}${hint(didYouMean(option, long))} (see drawbridge ${name} --help)`,
    );
  }
}

function parse(name: string, command: Command, args: string[]) {
  const options = { ...COMMON_OPTIONS, ...command.options };
  checkOptions(name, options, args);
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const option = /'(--?[a-z-]+)/.exec((error as Error).message)?.[1];
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option
        ? (error as Error).message.includes('does not take')
          ? `${option} takes no value`
          : `${option} needs a value`
        : clean(
            ((error as Error).message.split('\n')[0] ?? 'bad arguments').replaceAll("'", ''),
            200,
          );
    throw new UsageError(`${message} (see drawbridge ${name} --help)`);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(MAIN_HELP);
    return ExitCode.usage;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.stdout(`drawbridge ${cliVersion()}\n`);
    return ExitCode.ok;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    io.stdout(topic && COMMAND_HELP[topic] ? COMMAND_HELP[topic] : MAIN_HELP);
    return ExitCode.ok;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    throw new UsageError(
      `unknown command ${clean(first, 40)}${hint(didYouMean(first, Object.keys(COMMANDS)))} (see drawbridge --help)`,
    );
  }
  const { values, positionals } = parse(first, command, rest);
  if (values.help === true) {
    io.stdout(COMMAND_HELP[first] ?? MAIN_HELP);
    return ExitCode.ok;
  }
  const expected = command.positionals;
  if (positionals.length < expected.length) {
    throw new UsageError(
      `missing <${expected[positionals.length]}> (usage: drawbridge ${first} ${expected.map((p) => `<${p}>`).join(' ')})`,
    );
  }
  if (positionals.length > expected.length) {
    throw new UsageError(
      `unexpected argument '${clean(positionals[expected.length] ?? '', 40)}' (see drawbridge ${first} --help)`,
    );
  }
  const context = new Context(io, values as Record<string, OptionValue>, positionals);
  // Keys of sessions whose window is over go, whatever ended them: best effort, never a failure.
  await sweepKeys(context.paths.keysDir, Date.now()).catch(() => []);
  return command.run(context);
}

/**
 * The whole command line, in-process: returns the exit code instead of exiting, so tests run
 * it directly. Every failure becomes one line on stderr (and, with --json, an error object
 * on stdout); stack traces only with DRAWBRIDGE_DEBUG=1.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    const known = error instanceof CliError;
    const code = known ? error.code : 'unexpected';
    const message = known
      ? error.message
      : `unexpected error: ${clean(String((error as Error)?.message ?? error), 500)}`;
    io.stderr(`drawbridge: ${message}\n`);
    if (!known && io.env.DRAWBRIDGE_DEBUG === '1' && error instanceof Error && error.stack) {
      io.stderr(`${error.stack}\n`);
    }
    if (argv.includes('--json')) io.stdout(json({ error: { code, message } }));
    return known ? error.exitCode : ExitCode.unexpected;
  }
}
