import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration } from '../lib/domain/durations.ts';
import { ValidationError } from '../lib/domain/errors.ts';
import { LocalIssuer } from '../lib/local/local-issuer.ts';
import { localApiUrl, normalizeApiUrl, readConfig, writeConfig } from './config.ts';
import type { Context } from './context.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { clean, json } from './format.ts';

interface TokenSummary {
  subject?: string;
  groups?: string[];
  expiresAt?: string;
}

/** Reads (does not verify: only the API can) what a JWT says about its holder, for the message. */
function summarize(token: string): TokenSummary {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!claims || typeof claims !== 'object') return {};
    const { sub, exp, groups } = claims as Record<string, unknown>;
    return {
      ...(typeof sub === 'string' ? { subject: clean(sub, 256) } : {}),
      ...(Array.isArray(groups)
        ? {
            groups: groups
              .filter((g): g is string => typeof g === 'string')
              .map((g) => clean(g, 128)),
          }
        : {}),
      ...(typeof exp === 'number' ? { expiresAt: new Date(exp * 1000).toISOString() } : {}),
    };
  } catch {
    return {};
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

async function mintLocalToken(context: Context): Promise<{ token: string; apiUrl: string }> {
  const user = context.string('user');
  if (!user) throw new UsageError('login --local needs --user NAME');
  const groups = (context.string('groups') ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean);
  let ttlSeconds = 3600;
  const ttl = context.string('ttl');
  if (ttl !== undefined) {
    try {
      ttlSeconds = parseDuration(ttl) * 60;
    } catch (error) {
      throw new UsageError(`--ttl: ${(error as Error).message}`);
    }
  }
  const { dataDir } = context.paths;
  try {
    // Only where local mode runs: the key that signs local tokens never leaves its data dir.
    await access(join(dataDir, 'issuer', 'key.json'));
  } catch {
    throw new CliError(
      `no local Drawbridge in ${dataDir}: start local mode with npm start, or pass --data-dir`,
      ExitCode.unexpected,
      'no_local_mode',
    );
  }
  const flagged = context.string('api') ?? context.io.env.DRAWBRIDGE_API_URL;
  const apiUrl = flagged
    ? normalizeApiUrl(flagged, context.string('api') ? '--api' : 'DRAWBRIDGE_API_URL')
    : await localApiUrl(dataDir);
  if (!apiUrl) {
    throw new CliError(
      `local mode is not running: ${join(dataDir, 'local.json')} not found; start it with npm start`,
      ExitCode.unexpected,
      'no_local_mode',
    );
  }
  let issuer: LocalIssuer;
  try {
    issuer = await LocalIssuer.open(dataDir);
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.unexpected, 'local_issuer');
  }
  try {
    // --mfa: the token says a second factor was used now (amr, auth_time), as an IdP's would
    // after an MFA sign-in; targets and break-glass that require fresh MFA accept it.
    const amr = context.flag('mfa') ? { amr: ['pwd', 'mfa'] } : {};
    return { token: await issuer.mint({ subject: user, groups, ttlSeconds, ...amr }), apiUrl };
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

export async function login(context: Context): Promise<number> {
  const { configFile } = context.paths;
  const saved = await readConfig(configFile);
  let token: string;
  let apiUrl: string;
  if (context.flag('local')) {
    if (context.string('token')) throw new UsageError('use either --local or --token, not both');
    ({ token, apiUrl } = await mintLocalToken(context));
  } else {
    const given = context.string('token');
    if (!given) {
      throw new UsageError(
        'login needs --local (local mode) or --token JWT --api URL (a deployment; the token comes from your identity provider)',
      );
    }
    if (!JWT_SHAPE.test(given)) throw new UsageError('--token is not a JWT');
    const url = context.string('api') ?? context.io.env.DRAWBRIDGE_API_URL ?? saved.apiUrl;
    if (!url) throw new UsageError('login --token needs --api URL');
    token = given;
    apiUrl = normalizeApiUrl(url, '--api');
  }
  await writeConfig(configFile, { ...saved, apiUrl, token });
  const summary = summarize(token);
  if (context.json) {
    context.out(json({ apiUrl, ...summary, configFile }));
    return ExitCode.ok;
  }
  const who = summary.subject ?? 'the token holder';
  const groups = summary.groups?.length ? ` (groups: ${summary.groups.join(', ')})` : '';
  const until = summary.expiresAt ? ` until ${summary.expiresAt}` : '';
  context.out(`signed in to ${apiUrl} as ${who}${groups}${until}\nsaved to ${configFile}\n`);
  return ExitCode.ok;
}
