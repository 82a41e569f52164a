import { fileURLToPath } from 'node:url';
import { lazy } from '../lib/composition/lazy.ts';
import { loadConfig } from '../lib/config.ts';
import { signInSettings } from '../lib/domain/sign-in-settings.ts';
import {
  type ConsoleAssetsOptions,
  SIGN_IN_PATH,
  serveConsoleAsset,
  serveSignInSettings,
} from '../lib/http/console-assets.ts';
import type { HttpEvent, HttpResult } from '../lib/http/http-handler.ts';

/** The build beside this file's own: dist/console in the repository and in the artifact. */
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));

/**
 * Reads no table and calls no AWS service: it serves the console's files and the stage's
 * sign-in settings (checked here, at cold start: a bad one fails naming itself).
 */
export const composeConsole = (): ConsoleAssetsOptions => {
  const settings = loadConfig().settings;
  const issuer = settings.OIDC_ISSUER;
  const origin = issuer ? URL.parse(issuer)?.origin : undefined;
  const signIn = signInSettings({
    issuer,
    clientId: settings.OIDC_CLIENT_ID,
    consoleClientId: settings.OIDC_CONSOLE_CLIENT_ID,
    audience: settings.OIDC_AUDIENCE,
    scopes: settings.OIDC_SCOPES,
  });
  return {
    dir: CONSOLE_DIR,
    ...(origin ? { connectSources: [origin] } : {}),
    ...(signIn ? { signIn } : {}),
  };
};

/**
 * GET /, GET /assets/{file} and GET /.well-known/drawbridge: the console and where to sign
 * in, unauthenticated (they are what signs people in), with the console's
 * Content-Security-Policy. Everything the console shows comes from the API, which decides.
 */
export const createConsoleHandler =
  (deps: () => ConsoleAssetsOptions) =>
  async (event: HttpEvent): Promise<HttpResult> =>
    event.rawPath === SIGN_IN_PATH
      ? serveSignInSettings(deps())
      : serveConsoleAsset(deps(), event.rawPath);

export const handler = createConsoleHandler(lazy(composeConsole));
