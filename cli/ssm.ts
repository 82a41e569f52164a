import * as z from 'zod/mini';
import {
  type SsmCommands,
  type SsmConnect,
  ssmCommands,
} from '../lib/domain/ssm-session-policy.ts';
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
import { clean, shellLine } from './format.ts';
import { requireTools, runProgram } from './io.ts';
import { chooseLocalPort } from './ssh.ts';

// Everything in `connect` ends up in an argument vector: checked strictly, even from our API.
const DocumentName = z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,128}$/));
const Host = z.string().check(z.regex(/^[A-Za-z0-9.:-]{1,253}$/));
const Port = z.int().check(z.minimum(1), z.maximum(65535));

/** POST /sessions/{id}/credentials for an ssm session, as this CLI reads it. */
export const SsmCredentialsAnswer = credentialsAnswer(
  z.looseObject({
    instanceId: z.string().check(z.regex(/^(?:i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/)),
    region: z.string().check(z.regex(/^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/)),
    documents: z.looseObject({
      shell: z.optional(DocumentName),
      ssh: z.optional(DocumentName),
      'port-forwarding': z.optional(DocumentName),
    }),
    target: z.looseObject({ host: Host, port: Port }),
    viaBastion: z.boolean(),
    localPort: Port,
  }),
);
export type SsmCredentialsAnswer = z.infer<typeof SsmCredentialsAnswer>;

/** The programs `aws ssm start-session` needs, and where to get them. */
const TOOLS = [
  AWS_CLI,
  {
    name: 'session-manager-plugin',
    missing:
      'the Session Manager plugin (session-manager-plugin) is not on PATH: install it, https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
  },
] as const;

export interface SsmOpenOptions {
  localPort?: number | undefined;
  /** --shell: run the shell even when a port forward is allowed */
  shell: boolean;
  isInterrupted: () => boolean;
}

/**
 * `drawbridge open <ssm target>` once the session is READY: get the credentials, then print the
 * `aws ssm start-session` lines (with a private profile), or with --connect run one of them
 * with the credentials in its environment only.
 */
export async function openSsm(
  context: Context,
  client: ApiClient,
  view: SessionView,
  options: SsmOpenOptions,
): Promise<number> {
  const answer = await requestCredentials(client, view.id, SsmCredentialsAnswer);
  const connect: SsmConnect = answer.connect;
  const forwards = connect.documents['port-forwarding'] !== undefined;
  const localPort = forwards
    ? (options.localPort ?? (await chooseLocalPort(connect.localPort)))
    : connect.localPort;
  const commands = ssmCommands(connect, localPort);

  if (!context.flag('connect')) {
    return printGrant(context, view, answer, {
      mode: 'ssm',
      connect,
      commands,
      route: `Session Manager (${connect.instanceId})`,
      sections: (credentialsFile) => ssmSections(connect, commands, localPort, credentialsFile),
      renewal:
        'The credentials stop working at the end of the window; run drawbridge open again for a new session.',
      tools: TOOLS,
    });
  }
  return connectSsm(context, client, view, answer, commands, localPort, options);
}

function ssmSections(
  connect: SsmConnect,
  commands: SsmCommands,
  localPort: number,
  credentialsFile: string,
): GrantSection[] {
  const withProfile = (argv: string[]): string =>
    withCredentialsFile(credentialsFile, [...argv, '--profile', PROFILE]);
  const target = `${clean(connect.target.host, 253)}:${connect.target.port}`;
  const sections: GrantSection[] = [];
  if (commands.portForward) {
    sections.push({
      title: `Port forward (leave it running, then use 127.0.0.1:${localPort} to reach ${target}):`,
      lines: [withProfile(commands.portForward)],
    });
  }
  if (commands.shell) sections.push({ title: 'Shell:', lines: [withProfile(commands.shell)] });
  if (commands.sshProxyCommand) {
    sections.push({
      title: 'SSH over Session Manager (your own key and user on the instance):',
      lines: [
        `ssh -o ProxyCommand=${shellLine([`${shellLine(commands.sshProxyCommand)} --profile ${PROFILE}`])} ${connect.instanceId}`,
        `(with AWS_SHARED_CREDENTIALS_FILE=${shellLine([credentialsFile])} exported)`,
      ],
    });
  }
  return sections;
}

/** --connect: run start-session in the foreground with the credentials in its environment only. */
async function connectSsm(
  context: Context,
  client: ApiClient,
  view: SessionView,
  answer: SsmCredentialsAnswer,
  commands: SsmCommands,
  localPort: number,
  options: SsmOpenOptions,
): Promise<number> {
  const argv = options.shell || !commands.portForward ? commands.shell : commands.portForward;
  if (!argv) {
    throw new CliError(
      `target ${clean(view.target, 64)} allows only ssh over Session Manager: run drawbridge open without --connect for the ProxyCommand`,
      ExitCode.refused,
      'no_command',
    );
  }
  await requireTools(TOOLS, context.io.env);
  const spawn = context.io.spawn;
  if (!spawn) throw new CliError('cannot start aws here', ExitCode.unexpected, 'no_spawn');

  const env = grantEnvironment(context.io.env, answer.credentials, answer.connect.region);
  context.err(
    argv === commands.portForward
      ? `forwarding 127.0.0.1:${localPort} to ${clean(answer.connect.target.host, 253)}:${answer.connect.target.port} through Session Manager\nuse 127.0.0.1:${localPort}; Ctrl-C stops the forward\n`
      : `opening a shell on ${answer.connect.instanceId} through Session Manager\n`,
  );
  const result = await runProgram(spawn, argv, { stdio: 'inherit', env }, AWS_CLI.missing);
  return afterConnection(context, client, view, {
    ...result,
    interrupted: options.isInterrupted(),
  });
}
