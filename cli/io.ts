import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';

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
