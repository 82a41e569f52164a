import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { formatMinutes } from '../lib/domain/durations.ts';
import { recordingTermsWords } from '../lib/domain/recording-words.ts';
import { freshToken, readConfig, writeConfig } from './config.ts';
import type { Context } from './context.ts';
import { ExitCode, NotSignedInError } from './errors.ts';
import { clean, json, relativeTime, table } from './format.ts';
import { configure, revoke } from './oidc.ts';

/** The version of the package this CLI came from (cli/ and dist/ both sit below its root). */
export function cliVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? clean(version, 40) : 'unknown';
  } catch {
    return 'unknown';
  }
}

const TargetItem = z.looseObject({
  name: z.string(),
  description: z.optional(z.string()),
  mode: z.string(),
  access: z.optional(z.string()),
  recording: z.optional(z.string()),
  /** input too? idle timeout? (an older API sends only `recording`) */
  recordingPolicy: z.optional(
    z.looseObject({
      mode: z.optional(z.string()),
      input: z.optional(z.boolean()),
      idleTimeoutMinutes: z.optional(z.number()),
      idleEndsSession: z.optional(z.boolean()),
    }),
  ),
  defaultDurationMinutes: z.number(),
  maxDurationMinutes: z.number(),
  approval: z.optional(z.looseObject({ approverGroups: z.array(z.string()) })),
  requireMfa: z.optional(z.looseObject({ maxAgeMinutes: z.number() })),
  breakGlass: z.optional(z.looseObject({ maxDurationMinutes: z.number() })),
});
export const TargetList = z.looseObject({ items: z.array(TargetItem) });

type TargetItem = z.infer<typeof TargetItem>;

/**
 * What the policy's recording means for the person opening it, in a table cell:
 * "YES: terminal, input too, idle 15 min ends session".
 */
export function recordedWords(target: Pick<TargetItem, 'recording' | 'recordingPolicy'>): string {
  const { recording } = target;
  if (recording === 'full') {
    const terms = recordingTermsWords({ ...target.recordingPolicy, mode: 'full' });
    return `YES: terminal${terms ? `, ${terms}` : ''}`;
  }
  if (recording === 'off') return 'no';
  return recording === undefined ? '-' : 'connections';
}

/** `drawbridge targets`: what I may open, and on what terms. */
export async function targets(context: Context): Promise<number> {
  const client = await context.client();
  const { data } = await client.request('GET', '/targets', TargetList, { retries: 2 });
  if (context.json) {
    context.out(json(data));
    return ExitCode.ok;
  }
  if (data.items.length === 0) {
    context.out('your groups may open no target\n');
    return ExitCode.ok;
  }
  const minutes = (value: number): string =>
    Number.isInteger(value) && value > 0 ? formatMinutes(value) : '-';
  context.out(
    table(
      [
        'TARGET',
        'MODE',
        'ACCESS',
        'RECORDED',
        'DEFAULT',
        'MAX',
        'APPROVAL',
        'MFA',
        'BREAK-GLASS',
        'ABOUT',
      ],
      data.items.map((target) => [
        clean(target.name, 64),
        clean(target.mode, 16),
        clean(target.access ?? '-', 16),
        recordedWords(target),
        minutes(target.defaultDurationMinutes),
        minutes(target.maxDurationMinutes),
        target.approval
          ? `by ${target.approval.approverGroups.map((group) => clean(group, 64)).join(',')}`
          : 'no',
        target.requireMfa ? `within ${minutes(target.requireMfa.maxAgeMinutes)}` : 'no',
        target.breakGlass ? `up to ${minutes(target.breakGlass.maxDurationMinutes)}` : '-',
        clean(target.description ?? '', 60),
      ]),
    ),
  );
  if (data.items.some((target) => target.recording === 'full')) {
    context.out(
      [
        '',
        'RECORDED YES: a session there is a shell on the bastion (ssh -tt) whose terminal is kept and can be replayed; never a tunnel (no ssh -J, -W or port forward)',
        '  input too: what you type is kept as well, except what you type while the terminal hides it (passwords)',
        '  idle N min: no terminal activity for N minutes closes the connection; "ends session" ends the session too',
        '',
      ].join('\n'),
    );
  }
  return ExitCode.ok;
}

// RFC 8176 methods that show a factor beyond a password (lib/domain/mfa.ts reads them so too).
const SECOND_FACTORS = [
  'mfa',
  'otp',
  'hwk',
  'swk',
  'sms',
  'tel',
  'face',
  'fpt',
  'iris',
  'retina',
  'vbm',
  'pop',
];

interface Claims {
  subject?: string;
  issuer?: string;
  groups: string[];
  amr: string[];
  mfa: boolean;
  authTime?: number;
  expiresAt?: number;
}

/** What the token says about its holder. Not verified (only the API can): for display only. */
function readClaims(token: string): Claims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!claims || typeof claims !== 'object') return undefined;
  const { sub, iss, groups, amr, auth_time, exp } = claims as Record<string, unknown>;
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return {
    ...(typeof sub === 'string' ? { subject: clean(sub, 256) } : {}),
    ...(typeof iss === 'string' ? { issuer: clean(iss, 256) } : {}),
    groups: strings(groups).map((group) => clean(group, 128)),
    amr: strings(amr).map((method) => clean(method, 32)),
    mfa: strings(amr).some((method) => SECOND_FACTORS.includes(method)),
    ...(typeof auth_time === 'number' ? { authTime: auth_time * 1000 } : {}),
    ...(typeof exp === 'number' ? { expiresAt: exp * 1000 } : {}),
  };
}

/** `drawbridge whoami`: who the saved token says I am, from the token alone (no network). */
export async function whoami(context: Context): Promise<number> {
  const config = await readConfig(context.paths.configFile);
  // An expired cached token is renewed first (refresh token), as any other command would.
  const token =
    context.string('token') ??
    context.io.env.DRAWBRIDGE_TOKEN ??
    (await freshToken(context.io, context.paths.configFile, config));
  if (!token) throw new NotSignedInError('not signed in: run drawbridge login');
  const claims = readClaims(token);
  if (!claims) throw new NotSignedInError('the saved token is not a JWT: run drawbridge login');
  const now = (context.io.now ?? Date.now)();
  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  const expired = claims.expiresAt !== undefined && claims.expiresAt <= now;
  if (context.json) {
    context.out(
      json({
        ...claims,
        authTime: iso(claims.authTime),
        expiresAt: iso(claims.expiresAt),
        expired,
        ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}),
      }),
    );
    return expired ? ExitCode.auth : ExitCode.ok;
  }
  const rows = [
    ['subject', claims.subject ?? '-'],
    ['groups', claims.groups.length ? claims.groups.join(', ') : '(none)'],
    [
      'mfa',
      claims.mfa
        ? `yes (${claims.amr.join(', ')})${claims.authTime ? `, signed in ${relativeTime(iso(claims.authTime), now)}` : ''}`
        : 'no',
    ],
    [
      'expires',
      claims.expiresAt
        ? `${iso(claims.expiresAt)} (${expired ? 'EXPIRED, run drawbridge login' : relativeTime(iso(claims.expiresAt), now)})`
        : 'never said',
    ],
    ...(claims.issuer ? [['issuer', claims.issuer]] : []),
    ...(config.apiUrl ? [['api', clean(config.apiUrl, 200)]] : []),
  ];
  context.out(`${rows.map(([label, value]) => `${(label ?? '').padEnd(9)}${value}`).join('\n')}\n`);
  return expired ? ExitCode.auth : ExitCode.ok;
}

/**
 * `drawbridge logout`: revoke the refresh token at the identity provider (which ends the
 * grant), then forget the tokens (the API URL stays, for the next login).
 */
export async function logout(context: Context): Promise<number> {
  const { configFile } = context.paths;
  const { token, oidc, ...rest } = await readConfig(configFile);
  let revoked = false;
  if (token !== undefined && oidc) {
    const { issuer, clientId, scopes, refreshToken, expiresAt } = oidc;
    try {
      await revoke(await configure({ issuer, clientId, scopes }, context.fetch), {
        accessToken: token,
        ...(refreshToken ? { refreshToken } : {}),
        expiresAt,
      });
      revoked = true;
    } catch (error) {
      context.err(
        `drawbridge: could not revoke at ${issuer} (${(error as Error).message}); the tokens are forgotten here and expire on their own\n`,
      );
    }
  }
  if (token !== undefined || oidc !== undefined) await writeConfig(configFile, rest);
  const message = token
    ? `signed out${revoked ? ' (tokens revoked at the identity provider)' : ''}: the token is gone from ${configFile}`
    : `not signed in (${configFile} holds no token)`;
  if (context.json) context.out(json({ signedOut: token !== undefined, revoked, configFile }));
  else context.out(`${message}\n`);
  if (context.io.env.DRAWBRIDGE_TOKEN) {
    context.err('drawbridge: note: DRAWBRIDGE_TOKEN is still set in this shell\n');
  }
  return ExitCode.ok;
}
