import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import { CliError, ExitCode, NotSignedInError, UsageError } from './errors.ts';
import type { Io } from './io.ts';

/** What `drawbridge login` saves. The token is a bearer credential, hence mode 0600. */
export const SavedConfig = z.looseObject({
  apiUrl: z.optional(z.string()),
  token: z.optional(z.string()),
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

export async function readConfig(file: string): Promise<SavedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isMissing(error)) return {};
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
  const token = flags.token ?? io.env.DRAWBRIDGE_TOKEN ?? config.token;
  if (!token) {
    throw new NotSignedInError(
      'not signed in: run `drawbridge login --local --user NAME --groups GROUPS` (local mode) or `drawbridge login --token JWT --api URL`',
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
