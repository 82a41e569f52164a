import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLocalUsers } from '../lib/local/local-users.ts';
import { scriptedSignIn } from '../lib/local/scripted-user-agent.ts';
import {
  DEFAULT_LOCAL_USERS_FILE,
  localApiUrl,
  normalizeApiUrl,
  readConfig,
  writeConfig,
} from './config.ts';
import type { Context } from './context.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { clean, json } from './format.ts';
import {
  type BrowserLogin,
  type CachedTokens,
  configure,
  fetchSettings,
  loginWithBrowser,
  loginWithDevice,
  type OidcSettings,
  platformOpen,
} from './oidc.ts';

interface TokenSummary {
  subject?: string;
  groups?: string[];
  amr?: string[];
  /** ISO time of the sign-in (auth_time) */
  authTime?: string;
  expiresAt?: string;
}

/** Reads (does not verify: only the API can) what a JWT says about its holder, for the message. */
function summarize(token: string): TokenSummary {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!claims || typeof claims !== 'object') return {};
    const { sub, exp, groups, amr, auth_time: authTime } = claims as Record<string, unknown>;
    const strings = (value: unknown, max: number) =>
      Array.isArray(value)
        ? value.filter((v): v is string => typeof v === 'string').map((v) => clean(v, max))
        : undefined;
    const groupList = strings(groups, 128);
    const amrList = strings(amr, 32);
    return {
      ...(typeof sub === 'string' ? { subject: clean(sub, 256) } : {}),
      ...(groupList ? { groups: groupList } : {}),
      ...(amrList ? { amr: amrList } : {}),
      ...(typeof authTime === 'number'
        ? { authTime: new Date(authTime * 1000).toISOString() }
        : {}),
      ...(typeof exp === 'number' ? { expiresAt: new Date(exp * 1000).toISOString() } : {}),
    };
  } catch {
    return {};
  }
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The API of local mode on this machine: --api, DRAWBRIDGE_API_URL, or local.json. */
async function localApi(context: Context): Promise<string> {
  const flagged = context.string('api') ?? context.io.env.DRAWBRIDGE_API_URL;
  if (flagged) {
    return normalizeApiUrl(flagged, context.string('api') ? '--api' : 'DRAWBRIDGE_API_URL');
  }
  const { dataDir } = context.paths;
  const url = await localApiUrl(dataDir);
  if (!url) {
    throw new CliError(
      `no local Drawbridge in ${dataDir}: start local mode with npm start, or pass --data-dir`,
      ExitCode.unexpected,
      'no_local_mode',
    );
  }
  return url;
}

/** The demo user's password and one-time code: --password, or the local users file. */
async function demoCredentials(
  context: Context,
  user: string,
): Promise<{ password: string; otp?: string }> {
  let usersFile = DEFAULT_LOCAL_USERS_FILE;
  try {
    const local = JSON.parse(await readFile(join(context.paths.dataDir, 'local.json'), 'utf8'));
    if (local && typeof local.usersFile === 'string') usersFile = local.usersFile;
  } catch {
    // local.json without a users file: npm start uses the default one.
  }
  let users: ReturnType<typeof parseLocalUsers> = [];
  try {
    users = parseLocalUsers(await readFile(usersFile, 'utf8'), usersFile);
  } catch (error) {
    if (!context.string('password')) {
      throw new CliError((error as Error).message, ExitCode.unexpected, 'local_users');
    }
  }
  const found = users.find((candidate) => candidate.name === user);
  const password =
    context.string('password') ?? context.io.env.DRAWBRIDGE_PASSWORD ?? found?.password;
  if (!password) {
    throw new UsageError(
      `no local user ${user} in ${usersFile}; the demo users are ${users.map((u) => u.name).join(', ')}`,
    );
  }
  return { password, ...(found?.otp ? { otp: found.otp } : {}) };
}

/** Where to sign in: --issuer/--client-id, else the API's published settings. */
async function signInSettings(context: Context, apiUrl: string): Promise<OidcSettings> {
  const issuer = context.string('issuer');
  const clientId = context.string('client-id');
  if (issuer || clientId) {
    if (!issuer || !clientId) throw new UsageError('--issuer and --client-id go together');
    const scopes = (context.string('scopes') ?? 'openid offline_access')
      .split(/[\s,]+/)
      .filter(Boolean);
    return { issuer, clientId, scopes };
  }
  return fetchSettings(apiUrl, context.fetch);
}

function browser(context: Context, open: BrowserLogin['open']): BrowserLogin {
  return {
    open,
    print: (text) => context.err(text),
    now: context.io.now ?? Date.now,
  };
}

async function signIn(
  context: Context,
): Promise<{ apiUrl: string; settings: OidcSettings; tokens: CachedTokens }> {
  if (context.flag('local')) {
    const user = context.string('user');
    if (!user) throw new UsageError('login --local needs --user NAME (e.g. alice)');
    if (context.flag('device')) throw new UsageError('use either --local or --device, not both');
    const apiUrl = await localApi(context);
    const settings = await fetchSettings(apiUrl, context.fetch);
    const { password, otp } = await demoCredentials(context, user);
    const config = await configure(settings, context.fetch);
    // The scripted user agent is the browser: it fills the provider's login form (and the
    // one-time code with --mfa) and lands on the CLI's loopback listener like a browser does.
    const scripted = async (url: string) => {
      await scriptedSignIn(url, {
        username: user,
        password,
        ...(context.flag('mfa') && otp ? { otp } : {}),
      });
      return true;
    };
    const quiet: BrowserLogin = { ...browser(context, scripted), print: () => {} };
    try {
      return { apiUrl, settings, tokens: await loginWithBrowser(config, settings, quiet) };
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError((error as Error).message, ExitCode.auth, 'login_refused');
    }
  }
  if (context.string('user') || context.flag('mfa')) {
    throw new UsageError(
      '--user and --mfa go with --local; a deployment asks your identity provider',
    );
  }
  const saved = await readConfig(context.paths.configFile);
  const url = context.string('api') ?? context.io.env.DRAWBRIDGE_API_URL ?? saved.apiUrl;
  const apiUrl = url
    ? normalizeApiUrl(url, context.string('api') ? '--api' : 'the config file')
    : await localApi(context);
  const settings = await signInSettings(context, apiUrl);
  const config = await configure(settings, context.fetch);
  const open = context.flag('no-browser')
    ? async () => false
    : (context.io.openUrl ?? platformOpen(context.io.env));
  const agent = browser(context, open);
  try {
    const tokens = context.flag('device')
      ? await loginWithDevice(config, settings, agent, {
          openVerificationPage: !context.flag('no-browser') && context.io.openUrl !== undefined,
        })
      : await loginWithBrowser(config, settings, agent);
    return { apiUrl, settings, tokens };
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `sign-in failed: ${(error as Error).message}`,
      ExitCode.auth,
      'login_refused',
    );
  }
}

function report(context: Context, apiUrl: string, token: string, configFile: string): void {
  const summary = summarize(token);
  if (context.json) {
    context.out(json({ apiUrl, ...summary, configFile }));
    return;
  }
  const who = summary.subject ?? 'the token holder';
  const groups = summary.groups?.length ? ` (groups: ${summary.groups.join(', ')})` : '';
  const until = summary.expiresAt ? ` until ${summary.expiresAt}` : '';
  context.out(`signed in to ${apiUrl} as ${who}${groups}${until}\nsaved to ${configFile}\n`);
}

export async function login(context: Context): Promise<number> {
  const { configFile } = context.paths;
  const given = context.string('token');
  if (given) {
    if (context.flag('local') || context.flag('device')) {
      throw new UsageError('--token saves a token as given; it goes without --local or --device');
    }
    if (!JWT_SHAPE.test(given)) throw new UsageError('--token is not a JWT');
    const saved = await readConfig(configFile);
    const url = context.string('api') ?? context.io.env.DRAWBRIDGE_API_URL ?? saved.apiUrl;
    if (!url) throw new UsageError('login --token needs --api URL');
    const apiUrl = normalizeApiUrl(url, '--api');
    const { oidc: _dropped, ...rest } = saved;
    await writeConfig(configFile, { ...rest, apiUrl, token: given });
    report(context, apiUrl, given, configFile);
    return ExitCode.ok;
  }
  const { apiUrl, settings, tokens } = await signIn(context);
  const saved = await readConfig(configFile);
  await writeConfig(configFile, {
    ...saved,
    apiUrl,
    token: tokens.accessToken,
    oidc: {
      ...settings,
      ...(tokens.idToken ? { idToken: tokens.idToken } : {}),
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      expiresAt: tokens.expiresAt,
    },
  });
  report(context, apiUrl, tokens.accessToken, configFile);
  return ExitCode.ok;
}
