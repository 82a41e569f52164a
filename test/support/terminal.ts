import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { clientArgs } from './ssh.ts';

export interface Terminal {
  child: ChildProcessWithoutNullStreams;
  /** everything the client printed so far (the remote terminal's output and ssh's own errors) */
  output(): string;
  send(text: string): void;
  /** resolves once the output after `from` (default: everything) matches; rejects if ssh ends first */
  waitFor(pattern: RegExp, from?: number): Promise<string>;
  exited: Promise<number | null>;
  close(): Promise<number | null>;
}

/** A real `ssh -tt` to the bastion: the remote side gets a terminal, as an engineer's would. */
export function openTerminal(
  options: {
    host: string;
    port: number;
    user: string;
    privateKeyPath: string;
    /** trust only the host key pinned here (default: any host key) */
    knownHostsFile?: string;
  },
  extra: readonly string[] = ['-tt'],
  command: readonly string[] = [],
): Terminal {
  const child = spawn(
    'ssh',
    [
      ...clientArgs(options.privateKeyPath, options.port, options.knownHostsFile),
      ...extra,
      `${options.user}@${options.host}`,
      ...command,
    ],
    { stdio: 'pipe' },
  );
  let text = '';
  let listeners: (() => void)[] = [];
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      notify();
    });
  }
  child.stdin.on('error', () => undefined);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      done = true;
      notify();
      resolve(code);
    });
  });
  const waitFor = (pattern: RegExp, from = 0): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const seen = text.slice(from);
        if (pattern.test(seen)) {
          listeners = listeners.filter((listener) => listener !== check);
          resolve(seen);
        } else if (done) {
          listeners = listeners.filter((listener) => listener !== check);
          reject(
            new Error(`ssh ended before ${pattern} appeared; it printed: ${seen.slice(-500)}`),
          );
        }
      };
      listeners.push(check);
      check();
    });
  return {
    child,
    output: () => text,
    send: (data) => {
      child.stdin.write(data);
    },
    waitFor,
    exited,
    close: () => {
      if (child.exitCode === null && !done) child.kill('SIGTERM');
      return exited;
    },
  };
}
