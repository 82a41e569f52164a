import { constants } from 'node:fs';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import {
  type SsmCommands,
  type SsmConnect,
  ssmCommands,
} from '../lib/domain/ssm-session-policy.ts';
import { afterConnection } from './after-connection.ts';
import type { ApiClient, SessionView } from './api-client.ts';
import type { Context } from './context.ts';
import { CliError, ExitCode } from './errors.ts';
import { clean, json, relativeTime, shellLine } from './format.ts';
import { chooseLocalPort } from './ssh.ts';

// Everything in `connect` ends up in an argument vector: checked strictly, even from our API.
const DocumentName = z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,128}$/));
const Host = z.string().check(z.regex(/^[A-Za-z0-9.:-]{1,253}$/));
const Port = z.int().check(z.minimum(1), z.maximum(65535));

/** POST /sessions/{id}/credentials, as this CLI reads it. */
export const CredentialsAnswer = z.looseObject({
  sessionId: z.string().check(z.regex(SESSION_ID_PATTERN)),
  expiresAt: z.string(),
  credentials: z.looseObject({
    accessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
    secretAccessKey: z.string().check(z.minLength(1), z.maxLength(1024)),
    sessionToken: z.string().check(z.minLength(1), z.maxLength(8192)),
    expiration: z.string(),
  }),
  sourceIdentity: z.optional(z.string()),
  connect: z.looseObject({
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
});
export type CredentialsAnswer = z.infer<typeof CredentialsAnswer>;

/** The profile name in the private credentials file drawbridge writes. */
export const PROFILE = 'drawbridge';

/** The programs `aws ssm start-session` needs, and where to get them. */
const TOOLS = [
  {
    name: 'aws',
    missing:
      'the AWS CLI (aws) is not on PATH: install AWS CLI v2, https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html',
  },
  {
    name: 'session-manager-plugin',
    missing:
      'the Session Manager plugin (session-manager-plugin) is not on PATH: install it, https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
  },
] as const;

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

async function missingTools(env: Readonly<Record<string, string | undefined>>): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of TOOLS) if (!(await findOnPath(tool.name, env))) missing.push(tool.missing);
  return missing;
}

/**
 * The credentials as a profile in a file of their own (directory 0700, file 0600), so the
 * printed commands work in another terminal without touching ~/.aws. Never used by --connect,
 * which hands them to the child process in its environment only.
 */
async function writeProfile(
  dir: string,
  answer: CredentialsAnswer,
): Promise<{ credentialsFile: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const credentialsFile = join(dir, 'credentials');
  const { accessKeyId, secretAccessKey, sessionToken } = answer.credentials;
  const text = [
    `[${PROFILE}]`,
    `aws_access_key_id = ${accessKeyId}`,
    `aws_secret_access_key = ${secretAccessKey}`,
    `aws_session_token = ${sessionToken}`,
    '',
  ].join('\n');
  await writeFile(credentialsFile, text, { mode: 0o600 });
  await chmod(credentialsFile, 0o600);
  return { credentialsFile };
}

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
  const { data: answer } = await client.request(
    'POST',
    `/sessions/${encodeURIComponent(view.id)}/credentials`,
    CredentialsAnswer,
    // Asking again only issues (and audits) fresh credentials; the session is unchanged.
    { retries: 1 },
  );
  const connect: SsmConnect = answer.connect;
  const forwards = connect.documents['port-forwarding'] !== undefined;
  const localPort = forwards
    ? (options.localPort ?? (await chooseLocalPort(connect.localPort)))
    : connect.localPort;
  const commands = ssmCommands(connect, localPort);

  if (!context.flag('connect')) {
    const { credentialsFile } = await writeProfile(
      join(context.paths.configDir, 'ssm', answer.sessionId),
      answer,
    );
    if (context.json) {
      context.out(
        json({
          ...view,
          ssm: {
            connect,
            commands,
            credentialsFile,
            profile: PROFILE,
            credentialsExpireAt: answer.credentials.expiration,
          },
        }),
      );
    } else {
      context.out(renderSsmReady(view, answer, commands, localPort, credentialsFile, Date.now()));
      for (const problem of await missingTools(context.io.env)) {
        context.err(`drawbridge: ${problem}\n`);
      }
    }
    return ExitCode.ok;
  }
  return connectSsm(context, client, view, answer, commands, localPort, options);
}

function renderSsmReady(
  view: SessionView,
  answer: CredentialsAnswer,
  commands: SsmCommands,
  localPort: number,
  credentialsFile: string,
  now: number,
): string {
  const { connect } = answer;
  const withProfile = (argv: string[]): string =>
    `AWS_SHARED_CREDENTIALS_FILE=${shellLine([credentialsFile])} ${shellLine([...argv, '--profile', PROFILE])}`;
  const target = `${clean(connect.target.host, 253)}:${connect.target.port}`;
  const lines = [
    `${view.id} is READY: ${clean(view.target, 64)} through Session Manager (${connect.instanceId}) until ${answer.expiresAt} (${relativeTime(answer.expiresAt, now)})`,
    `  credentials  ${credentialsFile} (profile ${PROFILE}), valid until ${clean(answer.credentials.expiration, 40)}; only from this address`,
    '',
  ];
  if (commands.portForward) {
    lines.push(
      `Port forward (leave it running, then use 127.0.0.1:${localPort} to reach ${target}):`,
      `  ${withProfile(commands.portForward)}`,
      '',
    );
  }
  if (commands.shell) lines.push('Shell:', `  ${withProfile(commands.shell)}`, '');
  if (commands.sshProxyCommand) {
    lines.push(
      'SSH over Session Manager (your own key and user on the instance):',
      `  ssh -o ProxyCommand=${shellLine([`${shellLine(commands.sshProxyCommand)} --profile ${PROFILE}`])} ${connect.instanceId}`,
      `  (with AWS_SHARED_CREDENTIALS_FILE=${shellLine([credentialsFile])} exported)`,
      '',
    );
  }
  lines.push(
    `The credentials stop working at the end of the window; run drawbridge open again for a new session.`,
    `End it early: drawbridge end ${view.id}`,
  );
  return `${lines.join('\n')}\n`;
}

/** --connect: run start-session in the foreground with the credentials in its environment only. */
async function connectSsm(
  context: Context,
  client: ApiClient,
  view: SessionView,
  answer: CredentialsAnswer,
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
  const missing = await missingTools(context.io.env);
  if (missing.length > 0) {
    throw new CliError(missing.join('; '), ExitCode.unexpected, 'missing_tool');
  }
  const spawn = context.io.spawn;
  if (!spawn) throw new CliError('cannot start aws here', ExitCode.unexpected, 'no_spawn');

  // The child gets the grant and nothing that could override it: no profile, no other keys.
  const env: Record<string, string | undefined> = { ...context.io.env };
  for (const name of [
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: answer.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: answer.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: answer.credentials.sessionToken,
    AWS_REGION: answer.connect.region,
    AWS_DEFAULT_REGION: answer.connect.region,
  });
  context.err(
    argv === commands.portForward
      ? `forwarding 127.0.0.1:${localPort} to ${clean(answer.connect.target.host, 253)}:${answer.connect.target.port} through Session Manager\nuse 127.0.0.1:${localPort}; Ctrl-C stops the forward\n`
      : `opening a shell on ${answer.connect.instanceId} through Session Manager\n`,
  );
  const [command = 'aws', ...args] = argv;
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveExit, reject) => {
      const child = spawn(command, args, { stdio: 'inherit', env });
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    },
  ).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      error.code === 'ENOENT' ? TOOLS[0].missing : `could not run aws: ${error.message}`,
      ExitCode.unexpected,
      'aws',
    );
  });
  return afterConnection(context, client, view, {
    ...result,
    interrupted: options.isInterrupted(),
  });
}
