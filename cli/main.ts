import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { audit } from './audit-command.ts';
import { Context, type OptionValue } from './context.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { approve, deny, extend } from './extend-command.ts';
import { clean, json } from './format.ts';
import { COMMAND_HELP, MAIN_HELP } from './help.ts';
import type { Io } from './io.ts';
import { login, logout, whoami } from './login-command.ts';
import { open } from './open-command.ts';
import { review, reviews } from './review-command.ts';
import { end, events, list, show } from './session-commands.ts';
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
  whoami: { options: {}, positionals: [], run: whoami },
  logout: { options: {}, positionals: [], run: logout },
  open: {
    options: {
      for: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      connect: { type: 'boolean' },
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
};

function parse(name: string, command: Command, args: string[]) {
  try {
    return parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs explains itself ("Unknown option '--fro'"), minus the hint on where to look.
    const message = (error as Error).message.split('\n')[0] ?? 'bad arguments';
    throw new UsageError(`${clean(message, 200)} (see drawbridge ${name} --help)`);
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(MAIN_HELP);
    return ExitCode.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    io.stdout(topic && COMMAND_HELP[topic] ? COMMAND_HELP[topic] : MAIN_HELP);
    return ExitCode.ok;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    throw new UsageError(`unknown command '${clean(first, 40)}' (see drawbridge --help)`);
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
