import { type Io, main } from '../../cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Everything `drawbridge` may touch besides its output; not a terminal unless said. */
export type CliIo = Omit<Io, 'stdout' | 'stderr' | 'isTTY'> & {
  isTTY?: boolean;
  /** sees stderr as it is written (a test that answers a prompt) */
  onStderr?: (text: string) => void;
};

/** `drawbridge …args` run in process: its exit code and what it printed. */
export async function runCli(args: readonly string[], io: CliIo): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const { onStderr, ...rest } = io;
  const code = await main([...args], {
    isTTY: false,
    ...rest,
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
      onStderr?.(text);
    },
  });
  return { code, stdout, stderr };
}
