import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import { CliError, ExitCode, NotSignedInError, UsageError } from './errors.ts';
import type { Io } from './io.ts';
import { configure, REFRESH_MARGIN_MS, refresh } from './oidc.ts';

/** The identity provider a `drawbridge login` went through, and what renews its token. */
export const SavedOidc = z.object({
  issuer: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  audience: z.optional(z.string()),
  resource: z.optional(z.string()),
  idToken: z.optional(z.string()),
  refreshToken: z.optional(z.string()),
  /** epoch ms at which `token` expires */
  expiresAt: z.number(),
});
export type SavedOidc = z.infer<typeof SavedOidc>;

/**
 * What `drawbridge login` saves: `token` is the access token the API gets, `oidc` how to renew
 * it. Bearer credentials, hence mode 0600 in a 0700 directory, both checked on every read.
 */
export const SavedConfig = z.looseObject({
  apiUrl: z.optional(z.string()),
  token: z.optional(z.string()),
  oidc: z.optional(SavedOidc),
});
export type SavedConfig = z.infer<typeof SavedConfig>;

const LocalJson = z.looseObject({ url: z.string() });

export interface Paths {
  configFile: string;
  /** the config file's directory; ephemeral keys live under its keys/ */
  configDir: string;
  keysDir: string;
  /** local mode's data directory (issuer key, local.json) */
  dataDir: string;
}

// cli/*.ts and the bundled dist/drawbridge.mjs both sit one level below the repository root,
// which is where `npm start` keeps local mode's data by default.
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The demo users `npm start` signs in by default (local mode's OpenID Provider). */
export const DEFAULT_LOCAL_USERS_FILE = join(REPO_ROOT, 'policy', 'local-users.yaml');

export function resolvePaths(io: Io, dataDirFlag?: string): Paths {
  const { env } = io;
  const home = env.HOME || homedir();
  const configFile = env.DRAWBRIDGE_CONFIG
    ? resolve(io.cwd, env.DRAWBRIDGE_CONFIG)
    : join(
        env.XDG_CONFIG_HOME ? resolve(io.cwd, env.XDG_CONFIG_HOME) : join(home, '.config'),
        'drawbridge',
        'config.json',
      );
  const configDir = dirname(configFile);
  const dataDir = dataDirFlag
    ? resolve(io.cwd, dataDirFlag)
    : env.DRAWBRIDGE_DATA_DIR
      ? resolve(io.cwd, env.DRAWBRIDGE_DATA_DIR)
      : join(REPO_ROOT, '.drawbridge');
  return { configFile, configDir, keysDir: join(configDir, 'keys'), dataDir };
}

const isMissing = (error: unknown): boolean =>
  (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** Refuses a token cache others could read, or a directory others could swap it in. */
async function checkPrivate(file: string): Promise<void> {
  const [fileInfo, directoryInfo] = await Promise.all([stat(file), stat(dirname(file))]);
  if ((fileInfo.mode & 0o077) !== 0) {
    throw new CliError(
      `${file} holds your tokens and is readable or writable by other users; run chmod 600 ${file} (or delete it and sign in again)`,
      ExitCode.unexpected,
      'config_permissions',
    );
  }
  if ((directoryInfo.mode & 0o022) !== 0) {
    throw new CliError(
      `${dirname(file)} is writable by other users, who could replace your token cache; run chmod 700 ${dirname(file)}`,
      ExitCode.unexpected,
      'config_permissions',
    );
  }
}

export async function readConfig(file: string): Promise<SavedConfig> {
  let text: string;
  try {
    await checkPrivate(file);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return {};
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read ${file}: ${(error as Error).message}`,
      ExitCode.unexpected,
      'config',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = SavedConfig.safeParse(parsed);
  if (!result.success) {
    throw new CliError(
      `${file} is not a drawbridge config file; delete it and run drawbridge login again`,
      ExitCode.unexpected,
      'config',
    );
  }
  return result.data;
}

/** Written whole to a private temporary name and renamed, so a crash never leaves half a token. */
export async function writeConfig(file: string, config: SavedConfig): Promise<void> {
  const directory = dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const staging = join(directory, `.config.${randomUUID()}.tmp`);
  try {
    await writeFile(staging, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The mode given to writeFile is filtered by the umask; the token must never be readable
    // by anyone else whatever the umask says.
    await chmod(staging, 0o600);
    await rename(staging, file);
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
}

/** The URL `npm start` announced in `<dataDir>/local.json`, if local mode runs here. */
export async function localApiUrl(dataDir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, 'local.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const result = LocalJson.safeParse(JSON.parse(text));
    return result.success ? result.data.url : undefined;
  } catch {
    return undefined;
  }
}

export function normalizeApiUrl(text: string, source: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${source} '${text.slice(0, 100)}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${source} must be an http or https URL`);
  }
  return url.href.replace(/\/+$/, '');
}

export interface ApiFlags {
  api?: string | undefined;
  token?: string | undefined;
  'data-dir'?: string | undefined;
}

export interface ApiTarget {
  url: string;
  token: string;
}

/** Flags, then environment, then the config file, then (for the URL only) local mode's local.json. */
export async function resolveApiTarget(io: Io, flags: ApiFlags): Promise<ApiTarget> {
  const paths = resolvePaths(io, flags['data-dir']);
  const config = await readConfig(paths.configFile);
  const token =
    flags.token ?? io.env.DRAWBRIDGE_TOKEN ?? (await freshToken(io, paths.configFile, config));
  if (!token) {
    throw new NotSignedInError(
      'not signed in: run `drawbridge login` (your identity provider) or `drawbridge login --local --user alice` (local mode)',
    );
  }
  const fromFlag = flags.api ?? io.env.DRAWBRIDGE_API_URL;
  if (fromFlag) {
    return { url: normalizeApiUrl(fromFlag, flags.api ? '--api' : 'DRAWBRIDGE_API_URL'), token };
  }
  const url = config.apiUrl ?? (await localApiUrl(paths.dataDir));
  if (!url) {
    throw new NotSignedInError(
      'no API URL: pass --api URL, set DRAWBRIDGE_API_URL, or run drawbridge login',
    );
  }
  return { url: normalizeApiUrl(url, paths.configFile), token };
}

/**
 * The cached access token, renewed with the refresh token when it expires within a minute
 * (silently, as `aws sso` does), and the renewed tokens saved. A refresh token the provider
 * no longer honours (revoked, expired) means signing in again.
 */
export async function freshToken(
  io: Io,
  configFile: string,
  config: SavedConfig,
): Promise<string | undefined> {
  const { token, oidc } = config;
  const now = (io.now ?? Date.now)();
  if (!token || !oidc || oidc.expiresAt - REFRESH_MARGIN_MS > now) return token;
  if (!oidc.refreshToken) {
    throw new NotSignedInError('your sign-in expired: run drawbridge login again');
  }
  const fetchFn = io.fetch ?? globalThis.fetch;
  const settings = {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    scopes: oidc.scopes,
    ...(oidc.resource ? { resource: oidc.resource } : {}),
  };
  let renewed: Awaited<ReturnType<typeof refresh>>;
  try {
    renewed = await refresh(
      await configure(settings, fetchFn),
      settings,
      {
        accessToken: token,
        refreshToken: oidc.refreshToken,
        ...(oidc.idToken ? { idToken: oidc.idToken } : {}),
        expiresAt: oidc.expiresAt,
      },
      now,
    );
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new NotSignedInError(
      `your sign-in expired and could not be renewed (${(error as Error).message}): run drawbridge login again`,
    );
  }
  const { accessToken, idToken, refreshToken, expiresAt } = renewed;
  await writeConfig(configFile, {
    ...config,
    token: accessToken,
    oidc: {
      ...oidc,
      ...(idToken ? { idToken } : {}),
      ...(refreshToken ? { refreshToken } : {}),
      expiresAt,
    },
  });
  return accessToken;
}
