import { join } from 'node:path';
import type { Connection } from '../../cli/api-client.ts';
import { pinHostKey } from '../../cli/ssh.ts';
import type { apiClient } from './local-mode.ts';
import { openTerminal, type Terminal } from './terminal.ts';

type Client = ReturnType<typeof apiClient>;

/** Asks for a session on a recorded target and waits until it is READY (or fails the test). */
export async function openRecordedSession(
  client: Client,
  target: string,
  publicKey: string,
): Promise<{ id: string; connection: Connection }> {
  const created = await client.call('POST', '/sessions', {
    target,
    durationMinutes: 10,
    reason: 'recorded end-to-end test',
    publicKey,
  });
  if (created.status !== 202) throw new Error(`POST /sessions: ${JSON.stringify(created.body)}`);
  const ready = await client.settle(String(created.body.id));
  if (ready.body.status !== 'READY' || !ready.body.connection)
    throw new Error(`the recorded session is ${String(ready.body.status)}, not READY`);
  if (ready.body.recording !== 'full') throw new Error('the session does not say it is recorded');
  return { id: String(ready.body.id), connection: ready.body.connection as Connection };
}

/**
 * A real `ssh -tt` to the session's bastion with the engineer's key, trusting only the host key
 * Drawbridge issued for it (pinned in a known_hosts file, as the CLI does).
 */
export async function recordedShell(
  session: { id: string; connection: Connection },
  privateKeyPath: string,
  dir: string,
): Promise<Terminal> {
  const knownHostsFile = join(dir, 'known_hosts', session.id);
  await pinHostKey(session.connection, knownHostsFile);
  return openTerminal({
    host: session.connection.bastion.host,
    port: session.connection.bastion.port,
    user: session.connection.bastion.user,
    privateKeyPath,
    knownHostsFile,
  });
}

export interface Step {
  /** a command line, typed and followed by Enter */
  command: string;
  /** what its output shows (spelled so that the command line itself does not match) */
  output: RegExp;
}

/**
 * Types each command and waits for its output, then `exit`: resolves with when each output was
 * seen (epoch ms), once ssh has ended.
 */
export async function runAndExit(shell: Terminal, steps: readonly Step[]): Promise<number[]> {
  const seen: number[] = [];
  for (const step of steps) {
    const from = shell.output().length;
    shell.send(`${step.command}\r`);
    await shell.waitFor(step.output, from);
    seen.push(Date.now());
  }
  shell.send('exit\r');
  const code = await shell.exited;
  if (code !== 0) throw new Error(`ssh exited ${code}: ${shell.output().slice(-300)}`);
  return seen;
}
