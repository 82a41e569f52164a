import type { Connection, SessionView } from './api-client.ts';
import { clean, relativeTime, shellLine } from './format.ts';
import { type BastionAuth, forwardArgs, jumpArgs, sshConfigSnippet, stdioArgs } from './ssh.ts';

export interface SshCommands {
  /** the local end of the port forward */
  localPort: number;
  /** argument vectors, `ssh` first */
  forward: string[];
  jump: string[];
  /** `ssh -W`: this terminal joined to the target, as nc would do, with nothing to install */
  stdio: string[];
  /** for ~/.ssh/config */
  config: string;
}

export function sshCommands(
  connection: Connection,
  localPort: number,
  auth: BastionAuth,
): SshCommands {
  return {
    localPort,
    forward: ['ssh', ...forwardArgs(connection, localPort, auth)],
    jump: ['ssh', ...jumpArgs(connection, auth)],
    stdio: ['ssh', ...stdioArgs(connection, auth)],
    config: sshConfigSnippet(connection, localPort, auth),
  };
}

const indent = (text: string): string =>
  text
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

/** The READY block: where the bridge is, how long it stands, and the lines to paste. */
export function renderReady(
  view: SessionView,
  connection: Connection,
  commands: SshCommands,
  identityFile: string | undefined,
  now: number,
): string {
  const { bastion, target } = connection;
  const targetName = clean(view.target, 64);
  const targetAddress = `${clean(target.host, 253)}:${target.port}`;
  const forward = [
    `Port forward (leave it running, then use 127.0.0.1:${commands.localPort} to reach ${targetName}):`,
    `  ${clean(shellLine(commands.forward), 2000)}`,
  ];
  const jump = [
    `SSH to ${targetAddress} through the bastion:`,
    `  ${clean(shellLine(commands.jump), 2000)}`,
  ];
  const lines = [
    `${view.id} is READY: ${targetName} (${targetAddress}) until ${view.expiresAt ?? '?'} (${relativeTime(view.expiresAt, now)})`,
    `  bastion   ${clean(bastion.user, 64)}@${clean(bastion.host, 253)}:${bastion.port}`,
    ...(connection.hostKeyFingerprint
      ? [
          `  host key  ${clean(connection.hostKeyFingerprint, 100)} (ssh will trust it on first use; compare if it asks)`,
        ]
      : []),
    identityFile
      ? `  key       ${identityFile}`
      : '  key       the private half of the public key you sent (not on this machine)',
    '',
    // ssh -W to a port that does not speak SSH is no use: the jump line is for SSH targets.
    ...(target.port === 22 ? [...jump, '', ...forward] : forward),
    '',
    'For ~/.ssh/config:',
    indent(
      commands.config
        .split('\n')
        .map((line) => clean(line, 500))
        .join('\n'),
    ),
    '',
    `End it early: drawbridge end ${view.id}`,
  ];
  return `${lines.join('\n')}\n`;
}
