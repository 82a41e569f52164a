import type { StdioOptions } from 'node:child_process';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import {
  EICE_MAX_TUNNEL_SECONDS,
  type EiceCommands,
  type EiceConnect,
  eiceCommands,
} from '../lib/domain/eice-session-policy.ts';
import { afterConnection } from './after-connection.ts';
import type { ApiClient, SessionView } from './api-client.ts';
import {
  AWS_CLI,
  credentialsAnswer,
  type GrantSection,
  grantEnvironment,
  PROFILE,
  printGrant,
  requestCredentials,
  withCredentialsFile,
} from './aws-credentials.ts';
import type { Context } from './context.ts';
import { CliError, ExitCode } from './errors.ts';
import { clean, relativeTime, shellLine } from './format.ts';
import { requireTools, runProgram } from './io.ts';
import { chooseLocalPort, discardKey, rememberExpiry, type SessionKey, SSH_CLIENT } from './ssh.ts';

// Everything in `connect` ends up in an argument vector (and ssh's ProxyCommand, which a shell
// reads): checked strictly, even from our API.
const Port = z.int().check(z.minimum(1), z.maximum(65535));
const Host = z.string().check(z.regex(/^[A-Za-z0-9.-]{1,253}$/));

/** POST /sessions/{id}/credentials for an eice session, as this CLI reads it. */
export const EiceCredentialsAnswer = credentialsAnswer(
  z.looseObject({
    region: z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/)),
    instanceId: z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/)),
    endpointId: z.string().check(z.regex(/^eice-[0-9a-f]{8,17}$/)),
    endpointDns: Host,
    privateIpAddress: z.string().check(z.refine((address) => isIP(address) !== 0, 'an IP address')),
    remotePort: Port,
    osUser: z.optional(z.string().check(z.regex(/^[a-z_][a-z0-9_-]{0,31}$/))),
    sendSshPublicKey: z.boolean(),
    maxTunnelSeconds: z.int().check(z.minimum(1), z.maximum(EICE_MAX_TUNNEL_SECONDS)),
    openUntil: z.string(),
    localPort: Port,
  }),
);
export type EiceCredentialsAnswer = z.infer<typeof EiceCredentialsAnswer>;

/** The answer's `connect` as the domain type eiceCommands takes. */
function connectOf(answer: EiceCredentialsAnswer): EiceConnect {
  const { osUser, ...rest } = answer.connect;
  return { ...rest, ...(osUser ? { osUser } : {}) };
}

/** A connection shorter than this that closes counts as a failure to connect, not a close. */
const QUICK_MS = 10_000;
/** Give up after this many quick failures in a row: the grant or the tunnel is refused. */
const QUICK_FAILURES = 3;

export interface EiceOpenOptions {
  localPort?: number | undefined;
  isInterrupted: () => boolean;
}

/** How the key is named to send-ssh-public-key: its file when drawbridge knows it. */
const keyArgument = (key: SessionKey): string =>
  key.identityFile ? `file://${key.identityFile}.pub` : key.publicKey;

/**
 * ssh through the tunnel: the tunnel command is ssh's ProxyCommand, which ssh starts with its
 * own environment (where the credentials are). The instance id names the host key: one file per
 * session, the first key accepted and every reconnect checked against it.
 */
export function eiceSshArgv(
  connect: EiceConnect,
  commands: EiceCommands,
  key: SessionKey,
  extra: readonly string[] = [],
): string[] {
  return [
    'ssh',
    ...(key.identityFile ? ['-i', key.identityFile, '-o', 'IdentitiesOnly=yes'] : []),
    '-o',
    `HostKeyAlias=${connect.instanceId}`,
    ...(key.dir
      ? [
          '-o',
          `UserKnownHostsFile=${join(key.dir, 'known_hosts')}`,
          '-o',
          'StrictHostKeyChecking=accept-new',
        ]
      : []),
    '-o',
    `ProxyCommand=${shellLine([...commands.tunnel, ...extra])}`,
    `${connect.osUser ?? ''}@${connect.instanceId}`,
  ];
}

/**
 * `drawbridge open <eice target>` once the session is READY: get the credentials, then print the
 * lines for manual use (with a private profile), or with --connect push the key, open the
 * tunnel and run ssh (or the port forward) with the credentials in the children's environment
 * only, reconnecting with fresh credentials while the window lasts.
 */
export async function openEice(
  context: Context,
  client: ApiClient,
  view: SessionView,
  key: SessionKey,
  options: EiceOpenOptions,
): Promise<number> {
  const answer = await requestCredentials(client, view.id, EiceCredentialsAnswer);
  const connect = connectOf(answer);
  const ssh = connect.osUser !== undefined;
  // Only an SSH target uses the session's key; a port forward never does.
  const keyDir = ssh ? key.dir : undefined;
  if (ssh) await rememberExpiry(key.dir, answer.expiresAt);
  else await discardKey(key.dir);
  const localPort = ssh
    ? connect.localPort
    : (options.localPort ?? (await chooseLocalPort(connect.localPort)));
  if (!context.flag('connect')) {
    return printManual(context, view, answer, connect, key, localPort);
  }
  await requireTools(ssh ? [AWS_CLI, SSH_CLIENT] : [AWS_CLI], context.io.env);
  const spawn = context.io.spawn;
  if (!spawn) throw new CliError('cannot start aws here', ExitCode.unexpected, 'no_spawn');
  const now = Date.now;

  const run = (argv: string[], env: Record<string, string | undefined>, stdio: StdioOptions) =>
    runProgram(
      spawn,
      argv,
      { stdio, env },
      argv[0] === 'ssh' ? SSH_CLIENT.missing : AWS_CLI.missing,
    );

  let current = answer;
  let quickFailures = 0;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    const here = connectOf(current);
    const commands = eiceCommands(here, keyArgument(key), localPort);
    const env = grantEnvironment(context.io.env, current.credentials, here.region);
    if (commands.sendSshPublicKey) {
      // The pushed key lives 60 s on the instance: pushed right before each connection.
      const pushed = await run(commands.sendSshPublicKey, env, ['ignore', 'ignore', 'inherit']);
      if (pushed.code !== 0) {
        context.err(
          `drawbridge: could not push the session's key to ${here.instanceId} (aws exited ${pushed.code ?? pushed.signal})\n`,
        );
        return afterConnection(context, client, view, {
          ...pushed,
          interrupted: options.isInterrupted(),
          keyDir,
        });
      }
    }
    const argv = ssh ? eiceSshArgv(here, commands, key) : commands.portForward;
    context.err(
      ssh
        ? `connecting to ${here.osUser}@${here.instanceId} through EC2 Instance Connect Endpoint ${here.endpointId}\n`
        : `forwarding 127.0.0.1:${localPort} to ${here.privateIpAddress}:${here.remotePort} through EC2 Instance Connect Endpoint ${here.endpointId}\nuse 127.0.0.1:${localPort}; Ctrl-C stops the forward\n`,
    );
    const startedAt = now();
    const exit = await run(argv, env, 'inherit');
    const interrupted = options.isInterrupted();
    const ended = { ...exit, interrupted, keyDir };
    if (!reconnects(ssh, ended, now(), Date.parse(current.expiresAt))) {
      return afterConnection(context, client, view, ended);
    }
    quickFailures = now() - startedAt < QUICK_MS ? quickFailures + 1 : 0;
    if (quickFailures >= QUICK_FAILURES) {
      context.err(
        `drawbridge: the tunnel closed within ${QUICK_MS / 1000}s ${quickFailures} times in a row; giving up\n`,
      );
      return afterConnection(context, client, view, ended);
    }
    // Waits only when the tunnel keeps closing at once; a tunnel that ran reconnects at once.
    if (quickFailures > 1) {
      await sleep(1_000 * (quickFailures - 1));
    }
    if (options.isInterrupted()) return afterConnection(context, client, view, ended);
    context.err(
      `${view.id}: the tunnel closed before the window's end (${relativeTime(current.expiresAt, now())}); reconnecting with fresh credentials (${attempt + 1})\n`,
    );
    try {
      current = await requestCredentials(client, view.id, EiceCredentialsAnswer);
    } catch (error) {
      context.err(`drawbridge: no fresh credentials: ${(error as Error).message}\n`);
      return afterConnection(context, client, view, ended);
    }
  }
}

/**
 * Whether a connection that ended should be opened again: not after Ctrl-C, not once the
 * window is over. ssh exits 255 for its own errors, a closed connection among them (the tunnel
 * hit its maxTunnelDuration or the endpoint's hour); any other code is the remote shell's, i.e.
 * the person left. A port forward runs until stopped, so any end of it is the tunnel's.
 */
export function reconnects(
  ssh: boolean,
  exit: { code: number | null; signal: NodeJS.Signals | null; interrupted: boolean },
  now: number,
  expiresAt: number,
): boolean {
  if (exit.interrupted || exit.signal === 'SIGINT') return false;
  if (!(now < expiresAt)) return false;
  return ssh ? exit.code === 255 : true;
}

function printManual(
  context: Context,
  view: SessionView,
  answer: EiceCredentialsAnswer,
  connect: EiceConnect,
  key: SessionKey,
  localPort: number,
): Promise<number> {
  const profile = ['--profile', PROFILE];
  const commands = eiceCommands(connect, keyArgument(key), localPort);
  const ssh = connect.osUser ? eiceSshArgv(connect, commands, key, profile) : undefined;
  const lines: { sendSshPublicKey?: string[]; ssh?: string[]; portForward?: string[] } = {
    ...(commands.sendSshPublicKey
      ? { sendSshPublicKey: [...commands.sendSshPublicKey, ...profile] }
      : {}),
    ...(ssh ? { ssh } : { portForward: [...commands.portForward, ...profile] }),
  };
  const sections = (credentialsFile: string): GrantSection[] => {
    const withFile = (argv: string[]) => withCredentialsFile(credentialsFile, argv);
    return [
      ...(lines.sendSshPublicKey
        ? [
            {
              title: `Push the session's key (it stays 60 s on the instance: push it right before ssh):`,
              lines: [withFile(lines.sendSshPublicKey)],
            },
          ]
        : []),
      ...(lines.ssh
        ? [
            {
              title: `SSH through the endpoint (as ${connect.osUser}):`,
              lines: [withFile(lines.ssh)],
            },
          ]
        : []),
      ...(lines.portForward
        ? [
            {
              title: `Port forward (leave it running, then use 127.0.0.1:${localPort} to reach ${connect.privateIpAddress}:${connect.remotePort}):`,
              lines: [withFile(lines.portForward)],
            },
          ]
        : []),
    ];
  };
  return printGrant(context, view, answer, {
    mode: 'eice',
    connect,
    commands: lines,
    route: `EC2 Instance Connect Endpoint ${connect.endpointId} to ${connect.instanceId} (${connect.privateIpAddress}:${connect.remotePort})`,
    details: [
      `  tunnels      opened before ${clean(connect.openUntil, 40)}, each at most ${connect.maxTunnelSeconds}s`,
    ],
    sections,
    renewal: `After ${clean(connect.openUntil, 40)} these credentials open no new tunnel: drawbridge open --connect asks for fresh ones and reconnects by itself.`,
    tools: [AWS_CLI],
  });
}
