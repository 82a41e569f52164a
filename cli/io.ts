import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { CliError, ExitCode } from './errors.ts';

/** What a spawned process must offer; a real ChildProcess does, and so does a test's fake. */
export interface ChildLike {
  once(
    event: 'exit',
    listener: (code: number | null, signal: NodeJS.Signals | null) => void,
  ): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

export type SpawnFn = (command: string, args: string[], options: SpawnOptions) => ChildLike;

/**
 * Everything the CLI touches in the outside world besides the file system and ssh-keygen, so
 * that tests run `main` in-process and watch what it prints, sends and starts.
 */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** is stderr a terminal (progress redraws one line) or a log (one line per change) */
  isTTY: boolean;
  cwd: string;
  fetch?: typeof fetch;
  spawn?: SpawnFn;
  /** opens a URL in a browser (false: cannot); the platform opener when absent */
  openUrl?: (url: string) => Promise<boolean>;
  /** the time, epoch ms (Date.now when absent): token expiry and renewal */
  now?: () => number;
  /** waits (replay's timing); tests pass one that records the pauses instead */
  sleep?: (ms: number) => Promise<void>;
  /** subscribes to Ctrl-C; returns the unsubscribe function */
  onInterrupt?: (handler: () => void) => () => void;
}

export function processIo(): Io {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    spawn: nodeSpawn,
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}

/** How a program run in the foreground ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs `argv` and waits for it to exit. A program that cannot be started is a CliError named
 * after it: `missing` when it is not installed, the system's reason otherwise.
 */
export async function runProgram(
  spawn: SpawnFn,
  argv: readonly string[],
  options: SpawnOptions,
  missing: string,
): Promise<ChildExit> {
  const [command = '', ...args] = argv;
  try {
    return await new Promise<ChildExit>((resolveExit, reject) => {
      const child = spawn(command, args, options);
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new CliError(
      code === 'ENOENT' ? missing : `could not run ${command}: ${message}`,
      ExitCode.unexpected,
      command,
    );
  }
}

/** A program a mode runs, and what to tell a person who does not have it. */
export interface Tool {
  name: string;
  missing: string;
}

/** Where spawn would find `name`, without running anything. */
export async function findOnPath(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string | undefined> {
  const extensions =
    process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    for (const extension of extensions) {
      const candidate = join(dir, `${name}${extension}`);
      try {
        await access(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** What to tell about each tool that is not installed, in order. */
export async function missingTools(
  tools: readonly Tool[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of tools) if (!(await findOnPath(tool.name, env))) missing.push(tool.missing);
  return missing;
}

/** --connect cannot go on without them: one error that names every missing tool. */
export async function requireTools(
  tools: readonly Tool[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const missing = await missingTools(tools, env);
  if (missing.length > 0) {
    throw new CliError(missing.join('; '), ExitCode.unexpected, 'missing_tool');
  }
}
