import { formatMinutes } from '../lib/domain/durations.ts';
import type { Connection, SessionView } from './api-client.ts';
import { clean, relativeTime, shellLine } from './format.ts';
import {
  type BastionAuth,
  forwardArgs,
  jumpArgs,
  shellArgs,
  sshConfigSnippet,
  stdioArgs,
} from './ssh.ts';

/** An unrecorded session: the bastion is a hop to the target. */
export interface TunnelCommands {
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

/** A recorded session: its shell on the bastion, the only thing that bastion allows. */
export interface ShellCommands {
  /** `ssh -tt … user@bastion` */
  shell: string[];
  config: string;
}

export type SshCommands = TunnelCommands | ShellCommands;

/** The API marks a recorded session's connection; it then has a shell line and no tunnel. */
export const isRecorded = (connection: Connection): boolean => connection.recorded === true;

const TARGET_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The ~/.ssh/config alias, `drawbridge-<target>` as the API names it. The target's name is
 * not checked on the way in (a list must show whatever comes); one that is not a policy name
 * (only a spoofed API sends one) gets the session id's alias, checked on the way in.
 */
export const hostAlias = (view: Pick<SessionView, 'id' | 'target'>): string =>
  `drawbridge-${TARGET_NAME.test(view.target) ? view.target : view.id}`;

export function sshCommands(
  view: SessionView,
  connection: Connection,
  localPort: number,
  auth: BastionAuth,
): TunnelCommands {
  return {
    localPort,
    forward: ['ssh', ...forwardArgs(connection, localPort, auth)],
    jump: ['ssh', ...jumpArgs(connection, auth)],
    stdio: ['ssh', ...stdioArgs(connection, auth)],
    config: sshConfigSnippet(connection, hostAlias(view), { localPort }, auth),
  };
}

export function shellCommands(
  view: SessionView,
  connection: Connection,
  auth: BastionAuth,
): ShellCommands {
  return {
    shell: ['ssh', ...shellArgs(connection, auth)],
    config: sshConfigSnippet(connection, hostAlias(view), { shell: true }, auth),
  };
}

/**
 * The view as open and show print it with --json: its ~/.ssh/config block and its ssh lines
 * are the ones built here from checked fields (the API's config text was dropped as it was
 * read, cli/api-client.ts), so a script that runs `connection.sshJump` runs what this CLI
 * would, never an option a spoofed API slipped in (`-oProxyCommand=…`).
 */
export function withCheckedConfig(view: SessionView, commands: SshCommands | undefined) {
  if (!view.connection || !commands) return view;
  const { sshShell: _shell, sshJump: _jump, sshForward: _forward, ...connection } = view.connection;
  const lines =
    'shell' in commands
      ? { sshShell: shellLine(commands.shell) }
      : { sshJump: shellLine(commands.jump), sshForward: shellLine(commands.forward) };
  return { ...view, connection: { ...connection, ...lines, sshConfig: commands.config } };
}

/**
 * What a recorded session keeps and what it is, in plain words: "This session is recorded
 * (terminal output, and input except passwords); …". From the view's recording policy.
 */
export function recordedNotice(view: SessionView, connection: Connection): string[] {
  const policy = view.recordingPolicy;
  const what = policy?.input
    ? 'terminal output, and input except passwords'
    : 'terminal output; not what you type';
  const idle = policy?.idleTimeoutMinutes;
  const target = `${clean(view.target, 64)} (${clean(connection.target.host, 253)}:${connection.target.port})`;
  return [
    `This session is recorded (${what}): the owner, admins and auditors can replay it (drawbridge replay ${view.id}).`,
    `It is a shell on the bastion, never a tunnel: reach ${target} from there; ssh -J, -W, -L, -N, sftp and remote commands are refused.`,
    ...(idle !== undefined && Number.isInteger(idle) && idle > 0
      ? [
          `No activity for ${formatMinutes(idle)} closes the connection${policy?.idleEndsSession === false ? '' : ' and ends the session'}.`,
        ]
      : []),
  ];
}

const indent = (text: string): string =>
  text
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

function tunnelLines(view: SessionView, connection: Connection, commands: TunnelCommands) {
  const targetAddress = `${clean(connection.target.host, 253)}:${connection.target.port}`;
  const forward = [
    `Port forward (leave it running, then use 127.0.0.1:${commands.localPort} to reach ${clean(view.target, 64)}):`,
    `  ${clean(shellLine(commands.forward), 2000)}`,
  ];
  const jump = [
    `SSH to ${targetAddress} through the bastion:`,
    `  ${clean(shellLine(commands.jump), 2000)}`,
  ];
  // ssh -W to a port that does not speak SSH is no use: the jump line is for SSH targets.
  return connection.target.port === 22 ? [...jump, '', ...forward] : forward;
}

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
    ...('shell' in commands
      ? [
          ...recordedNotice(view, connection),
          '',
          'Shell on the bastion (recorded):',
          `  ${clean(shellLine(commands.shell), 2000)}`,
        ]
      : tunnelLines(view, connection, commands)),
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
