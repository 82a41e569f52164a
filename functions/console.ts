import { fileURLToPath } from 'node:url';
import { lazy } from '../lib/composition/lazy.ts';
import { loadConfig } from '../lib/config.ts';
import { type ConsoleAssetsOptions, serveConsoleAsset } from '../lib/http/console-assets.ts';
import type { HttpEvent, HttpResult } from '../lib/http/http-handler.ts';

/** The build beside this file's own: dist/console in the repository and in the artifact. */
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));

/** Reads no table and calls no AWS service: it only serves the console's files. */
export const composeConsole = (): ConsoleAssetsOptions => {
  const issuer = loadConfig().settings.OIDC_ISSUER;
  const origin = issuer ? URL.parse(issuer)?.origin : undefined;
  return { dir: CONSOLE_DIR, ...(origin ? { connectSources: [origin] } : {}) };
};

/**
 * GET / and GET /assets/{file}: the console, unauthenticated (it is what signs people in),
 * with its Content-Security-Policy. Everything it shows comes from the API, which decides.
 */
export const createConsoleHandler =
  (deps: () => ConsoleAssetsOptions) =>
  async (event: HttpEvent): Promise<HttpResult> =>
    serveConsoleAsset(deps(), event.rawPath);

export const handler = createConsoleHandler(lazy(composeConsole));
