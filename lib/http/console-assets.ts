import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SignInSettings } from '../domain/sign-in-settings.ts';
import type { HttpResult } from './http-handler.ts';

/**
 * The console's files as HTTP responses. Only two shapes of path exist: `/` (the page) and
 * `/assets/<name>` where the name is one plain file name (letters, digits, `.`, `_`, `-`, not
 * starting with a dot). Nothing else maps to the file system, so no path — encoded or not —
 * can climb out of the build directory.
 */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Text only: every file the build writes is one of these, and each is served as UTF-8. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Strict by construction: scripts, styles, images and fetches from this origin only (plus the
 * identity provider's origin when it is elsewhere, for the token endpoint), no inline script,
 * no framing. `style-src` has no 'unsafe-inline' either: charts and the player set styles
 * through the CSSOM, which CSP does not govern.
 */
export function contentSecurityPolicy(connectSources: readonly string[] = []): string {
  return [
    "default-src 'none'",
    // 'wasm-unsafe-eval' lets the recording player compile its terminal emulator (WebAssembly);
    // it allows no eval of JavaScript and no inline script.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${["'self'", ...connectSources].join(' ')}`,
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface ConsoleAssetsOptions {
  /** the build directory: index.html and assets/ */
  dir: string;
  /** origins besides this one the page may fetch from (the OpenID Provider's) */
  connectSources?: readonly string[];
  /** what /.well-known/drawbridge publishes; none when the stage names no CLI client */
  signIn?: SignInSettings;
}

/** Where the CLI and the console read where to sign in (cli/oidc.ts, console/src/auth.ts). */
export const SIGN_IN_PATH = '/.well-known/drawbridge';

function securityHeaders(options: ConsoleAssetsOptions): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(options.connectSources),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

const notFound = (options: ConsoleAssetsOptions): HttpResult => ({
  statusCode: 404,
  headers: { ...securityHeaders(options), 'content-type': 'application/json' },
  body: JSON.stringify({ error: { code: 'not_found', message: 'no such console file' } }),
});

/** `/` or `/assets/<name>` → the file's path in the build directory, or undefined. */
export function consoleFilePath(dir: string, path: string): string | undefined {
  if (path === '/' || path === '/index.html') return join(dir, 'index.html');
  const name = /^\/assets\/([^/]+)$/.exec(path)?.[1];
  if (name === undefined || !ASSET_NAME.test(name) || extensionOf(name) === undefined)
    return undefined;
  return join(dir, 'assets', name);
}

function extensionOf(name: string): string | undefined {
  const extension = /\.[a-z]+$/.exec(name)?.[0];
  return extension !== undefined && extension in CONTENT_TYPES ? extension : undefined;
}

/**
 * The stage's sign-in settings, or a 404 that says the stage publishes none (the CLI then asks
 * for --issuer and --client-id; the console offers its pasted-token form).
 */
export function serveSignInSettings(options: ConsoleAssetsOptions): HttpResult {
  const headers = { ...securityHeaders(options), 'content-type': 'application/json' };
  if (!options.signIn) {
    return {
      statusCode: 404,
      headers,
      body: JSON.stringify({
        error: { code: 'not_found', message: 'this stage publishes no sign-in settings' },
      }),
    };
  }
  // no-cache: a stage that moves to another provider is followed on the next sign-in
  return {
    statusCode: 200,
    headers: { ...headers, 'cache-control': 'no-cache' },
    body: JSON.stringify(options.signIn),
  };
}

/**
 * Serves one console path. The page itself is revalidated on every load (it names the current
 * build's files); the files under /assets carry a content hash in their names, so a browser
 * may keep them for a year without asking again.
 */
export async function serveConsoleAsset(
  options: ConsoleAssetsOptions,
  path: string,
): Promise<HttpResult> {
  const file = consoleFilePath(options.dir, path);
  if (file === undefined) return notFound(options);
  let body: string;
  try {
    body = await readFile(file, 'utf8');
  } catch {
    return notFound(options);
  }
  const isPage = file.endsWith('index.html');
  return {
    statusCode: 200,
    headers: {
      ...securityHeaders(options),
      'content-type': CONTENT_TYPES[extensionOf(file) ?? '.html'] ?? 'text/plain; charset=utf-8',
      'cache-control': isPage ? 'no-cache' : 'public, max-age=31536000, immutable',
    },
    body,
  };
}
