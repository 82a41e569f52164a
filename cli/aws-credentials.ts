import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import type { ApiClient, SessionView } from './api-client.ts';
import type { Context } from './context.ts';
import { ExitCode } from './errors.ts';
import { clean, json, relativeTime, shellLine } from './format.ts';
import { missingTools, type Tool } from './io.ts';

/**
 * The temporary AWS credentials of an ssm or eice grant, on the CLI's side: asking for them,
 * keeping them in a private profile for the printed commands, handing them to a child process
 * (and nothing else) under --connect, and the tools that need to be installed. What each mode
 * prints and runs with them is its own (ssm.ts, eice.ts).
 */

/** POST /sessions/{id}/credentials, as this CLI reads it: the same for every mode but `connect`. */
export function credentialsAnswer<Connect extends z.ZodMiniType>(connect: Connect) {
  return z.looseObject({
    sessionId: z.string().check(z.regex(SESSION_ID_PATTERN)),
    expiresAt: z.string(),
    credentials: z.looseObject({
      accessKeyId: z.string().check(z.regex(/^[A-Z0-9]{16,128}$/)),
      secretAccessKey: z.string().check(z.minLength(1), z.maxLength(1024)),
      sessionToken: z.string().check(z.minLength(1), z.maxLength(8192)),
      expiration: z.string(),
    }),
    sourceIdentity: z.optional(z.string()),
    connect,
  });
}

/** What every mode's answer holds besides `connect`. */
export interface GrantAnswer {
  sessionId: string;
  expiresAt: string;
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
  };
}

export async function requestCredentials<S extends z.ZodMiniType>(
  client: ApiClient,
  sessionId: string,
  answer: S,
): Promise<z.infer<S>> {
  const { data } = await client.request(
    'POST',
    `/sessions/${encodeURIComponent(sessionId)}/credentials`,
    answer,
    // Asking again only issues (and audits) fresh credentials; the session is unchanged.
    { retries: 1 },
  );
  return data;
}

/** The profile name in the private credentials file drawbridge writes. */
export const PROFILE = 'drawbridge';

/**
 * The credentials as a profile in a file of their own (directory 0700, file 0600), so the
 * printed commands work in another terminal without touching ~/.aws. Never used by --connect,
 * which hands them to the child process in its environment only.
 */
export async function writeProfile(
  dir: string,
  answer: Pick<GrantAnswer, 'credentials'>,
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

/** A printed command line that reads the credentials from drawbridge's private file. */
export const withCredentialsFile = (credentialsFile: string, argv: readonly string[]): string =>
  `AWS_SHARED_CREDENTIALS_FILE=${shellLine([credentialsFile])} ${shellLine(argv)}`;

/**
 * The environment a child runs with under --connect: the grant and nothing that could
 * override it (no profile, no other keys). The only place the credentials go.
 */
export function grantEnvironment(
  base: Readonly<Record<string, string | undefined>>,
  credentials: GrantAnswer['credentials'],
  region: string,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...base };
  for (const name of [
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
  ]) {
    delete env[name];
  }
  return Object.assign(env, {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
  });
}

export const AWS_CLI_MISSING =
  'the AWS CLI (aws) is not on PATH: install AWS CLI v2, https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html';
export const AWS_CLI: Tool = { name: 'aws', missing: AWS_CLI_MISSING };

/** One block of the printed answer: what it is for, then the lines to paste. */
export interface GrantSection {
  title: string;
  lines: string[];
}

export interface GrantPrintout<Connect> {
  mode: 'ssm' | 'eice';
  connect: Connect;
  /** the commands as the JSON output gives them */
  commands: object;
  /** how the target is reached, for the first line: `through …` */
  route: string;
  /** lines under the credentials' own */
  details?: string[];
  sections: (credentialsFile: string) => GrantSection[];
  /** what a person does once these credentials stop working */
  renewal: string;
  /** the tools the printed lines need: a warning for each one missing */
  tools: readonly Tool[];
}

/**
 * Without --connect: the credentials go to a private profile, and the answer is printed with
 * the lines that use it (or, with --json, as data: never the credentials themselves).
 */
export async function printGrant<Connect>(
  context: Context,
  view: SessionView,
  answer: GrantAnswer,
  printout: GrantPrintout<Connect>,
): Promise<number> {
  const { credentialsFile } = await writeProfile(
    join(context.paths.configDir, printout.mode, answer.sessionId),
    answer,
  );
  if (context.json) {
    context.out(
      json({
        ...view,
        [printout.mode]: {
          connect: printout.connect,
          commands: printout.commands,
          credentialsFile,
          profile: PROFILE,
          credentialsExpireAt: answer.credentials.expiration,
        },
      }),
    );
    return ExitCode.ok;
  }
  const lines = [
    `${view.id} is READY: ${clean(view.target, 64)} through ${printout.route} until ${clean(answer.expiresAt, 40)} (${relativeTime(answer.expiresAt, Date.now())})`,
    `  credentials  ${credentialsFile} (profile ${PROFILE}), valid until ${clean(answer.credentials.expiration, 40)}; only from this address`,
    ...(printout.details ?? []),
    '',
  ];
  for (const section of printout.sections(credentialsFile)) {
    lines.push(section.title, ...section.lines.map((line) => `  ${line}`), '');
  }
  lines.push(printout.renewal, `End it early: drawbridge end ${view.id}`);
  context.out(`${lines.join('\n')}\n`);
  for (const problem of await missingTools(printout.tools, context.io.env)) {
    context.err(`drawbridge: ${problem}\n`);
  }
  return ExitCode.ok;
}
