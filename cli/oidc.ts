import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import * as z from 'zod/mini';
import { CliError, ExitCode, UsageError } from './errors.ts';

/** Where to sign in: what the API's /.well-known/drawbridge says, or flags/config. */
export const OidcSettings = z.object({
  issuer: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  /** what the API's tokens carry as aud (informational: the provider decides) */
  audience: z.optional(z.string()),
  /** an RFC 8707 resource indicator to send, for providers that want one */
  resource: z.optional(z.string()),
});
export type OidcSettings = z.infer<typeof OidcSettings>;

/** The cached tokens: what the CLI sends (accessToken) and what renews it (refreshToken). */
export const CachedTokens = z.object({
  accessToken: z.string(),
  idToken: z.optional(z.string()),
  refreshToken: z.optional(z.string()),
  /** epoch ms at which the access token expires */
  expiresAt: z.number(),
});
export type CachedTokens = z.infer<typeof CachedTokens>;

/** Seconds before expiry at which a cached token is renewed rather than sent. */
export const REFRESH_MARGIN_MS = 60_000;

const isLoopback = (url: URL): boolean =>
  url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

export async function fetchSettings(apiUrl: string, fetchFn: typeof fetch): Promise<OidcSettings> {
  const url = `${apiUrl}/.well-known/drawbridge`;
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (error) {
    throw new CliError(
      `cannot reach ${apiUrl}: ${(error as Error).message}`,
      ExitCode.unexpected,
      'unreachable',
    );
  }
  const parsed = OidcSettings.safeParse(response.ok ? await response.json() : undefined);
  if (!parsed.success) {
    throw new UsageError(
      `${apiUrl} does not publish its sign-in settings (${url}); pass --issuer URL and --client-id ID`,
    );
  }
  return parsed.data;
}

/** openid-client's view of the issuer, from its discovery document. */
export async function configure(
  settings: OidcSettings,
  fetchFn: typeof fetch,
): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  // Plain http only for a provider on this machine (local mode); anything else needs TLS.
  const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
  try {
    return await client.discovery(issuer, settings.clientId, undefined, client.None(), {
      [client.customFetch]: (url: string, options: RequestInit) => fetchFn(url, options),
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
  } catch (error) {
    throw new CliError(
      `cannot read the identity provider's discovery document at ${settings.issuer}: ${(error as Error).message}`,
      ExitCode.unexpected,
      'oidc_discovery',
    );
  }
}

function toCache(
  response: client.TokenEndpointResponse,
  now: number,
  previous?: CachedTokens,
): CachedTokens {
  const expiresIn = response.expires_in ?? 300;
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  return {
    accessToken: response.access_token,
    ...(idToken ? { idToken } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: now + expiresIn * 1000,
  };
}

const authorizationParameters = (settings: OidcSettings): Record<string, string> => ({
  scope: settings.scopes.join(' '),
  ...(settings.resource ? { resource: settings.resource } : {}),
});

export interface BrowserLogin {
  /** opens the URL in a browser; returns false when it cannot (then the URL is printed) */
  open: (url: string) => Promise<boolean>;
  print: (text: string) => void;
  now: () => number;
}

/**
 * Authorization code with PKCE and a loopback redirect (RFC 8252): a listener on 127.0.0.1 at
 * a port the system picks receives the code; the provider matches the redirect URI without
 * its port, as registered for native clients.
 */
export async function loginWithBrowser(
  config: client.Configuration,
  settings: OidcSettings,
  browser: BrowserLogin,
): Promise<CachedTokens> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  let resolveCallback: (url: URL) => void = () => {};
  const received = new Promise<URL>((resolve) => {
    resolveCallback = resolve;
  });
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      '<!DOCTYPE html><meta charset="utf-8"><title>Drawbridge</title><p>Signed in. You can close this tab and return to the terminal.</p>',
    );
    resolveCallback(url);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  try {
    const url = client.buildAuthorizationUrl(config, {
      ...authorizationParameters(settings),
      redirect_uri: redirectUri,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    if (!(await browser.open(url.href))) {
      browser.print(`Open this URL in a browser to sign in:\n  ${url.href}\n`);
    } else {
      browser.print(`Opened your browser to sign in; waiting (or open ${url.href})\n`);
    }
    const callback = await received;
    const error = callback.searchParams.get('error');
    if (error) {
      const description = callback.searchParams.get('error_description') ?? error;
      throw new CliError(`sign-in refused: ${description}`, ExitCode.auth, 'login_refused');
    }
    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(`${redirectUri}${callback.search}`),
      { pkceCodeVerifier: verifier, expectedState: state },
      settings.resource ? { resource: settings.resource } : undefined,
    );
    return toCache(tokens, browser.now());
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** The device authorization grant (RFC 8628), for a machine with no browser. */
export async function loginWithDevice(
  config: client.Configuration,
  settings: OidcSettings,
  browser: BrowserLogin,
  options: { openVerificationPage?: boolean } = {},
): Promise<CachedTokens> {
  const authorization = await client.initiateDeviceAuthorization(
    config,
    authorizationParameters(settings),
  );
  const complete = authorization.verification_uri_complete;
  browser.print(
    `To sign in, open ${authorization.verification_uri} on any device and enter the code ${authorization.user_code}\n${complete ? `  (or open ${complete})\n` : ''}`,
  );
  if (options.openVerificationPage && complete) await browser.open(complete);
  const tokens = await client.pollDeviceAuthorizationGrant(
    config,
    authorization,
    settings.resource ? { resource: settings.resource } : undefined,
  );
  return toCache(tokens, browser.now());
}

export async function refresh(
  config: client.Configuration,
  settings: OidcSettings,
  tokens: CachedTokens,
  now: number,
): Promise<CachedTokens> {
  if (!tokens.refreshToken) throw new Error('no refresh token');
  const response = await client.refreshTokenGrant(
    config,
    tokens.refreshToken,
    settings.resource ? { resource: settings.resource } : undefined,
  );
  return toCache(response, now, tokens);
}

/**
 * Revokes the refresh token, which ends the grant at the provider (and with it every token
 * of this sign-in); with no refresh token, the access token itself. A JWT access token cannot
 * be recalled by most providers: it stays valid until its short expiry, as with API Gateway.
 */
export async function revoke(config: client.Configuration, tokens: CachedTokens): Promise<void> {
  if (!config.serverMetadata().revocation_endpoint) {
    throw new Error('the identity provider has no revocation endpoint');
  }
  if (tokens.refreshToken) {
    await client.tokenRevocation(config, tokens.refreshToken, {
      token_type_hint: 'refresh_token',
    });
    return;
  }
  await client.tokenRevocation(config, tokens.accessToken, { token_type_hint: 'access_token' });
}

/** Opens a URL with the platform's opener; false when there is none (a headless machine). */
export function platformOpen(env: Readonly<Record<string, string | undefined>>) {
  return (url: string): Promise<boolean> => {
    const [command, args] =
      process.platform === 'darwin'
        ? ['open', [url]]
        : process.platform === 'win32'
          ? ['cmd', ['/c', 'start', '""', url]]
          : ['xdg-open', [url]];
    if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const child = spawn(command as string, args as string[], {
        stdio: 'ignore',
        detached: true,
      });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
  };
}
