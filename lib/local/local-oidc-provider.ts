import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, {
  type Account,
  errors,
  type GrantInstance,
  type KoaContextWithOIDC,
  type TokenLike,
} from 'oidc-provider';
import type { LocalUser } from './local-users.ts';
import { OidcFileStore } from './oidc-file-adapter.ts';

/** The client id of the Drawbridge CLI, registered as a public native client. */
export const LOCAL_CLIENT_ID = 'drawbridge-cli';
/**
 * The console's client id: a public browser client (PKCE, no secret) whose only redirect is the
 * API's own origin, where the console is served.
 */
export const LOCAL_CONSOLE_CLIENT_ID = 'drawbridge-console';
/** The API's audience: the `jwtAudience` param a deployment gives API Gateway. */
export const LOCAL_AUDIENCE = 'drawbridge';
/** The path under the API's origin where the provider lives; the issuer is origin + this. */
export const OIDC_PREFIX = '/oidc';
/** What the CLI asks for: an ID token, a refresh token, the groups claim, the API. */
export const LOCAL_SCOPES = ['openid', 'offline_access', 'groups', 'drawbridge'];
const API_SCOPE = 'drawbridge';
const ALGORITHM = 'RS256';
const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const REFRESH_TOKEN_TTL_SECONDS = 12 * 60 * 60;
const MAX_FORM_BYTES = 16 * 1024;
const { InvalidTarget } = errors;

export interface LocalOidcOptions {
  /** the data directory; the provider keeps its keys and state under oidc/ */
  dataDir: string;
  /** the issuer URL: the API's origin followed by /oidc */
  issuer: string;
  users: readonly LocalUser[];
}

export interface LocalOidcProvider {
  issuer: string;
  clientId: string;
  /** the console's client: redirects to the API's origin `/` only */
  consoleClientId: string;
  audience: string;
  scopes: string[];
  /** handles requests under /oidc; the local API passes them here */
  handle(request: IncomingMessage, response: ServerResponse): void;
}

/** Creates a private file once: written whole, then linked into place (link fails if it exists). */
async function createOnce(path: string, content: string): Promise<void> {
  try {
    await stat(path);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const staging = `${path}.${randomUUID()}.tmp`;
  await writeFile(staging, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(staging, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(staging);
  }
}

async function readPrivateJson(path: string, what: string): Promise<unknown> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    throw new Error(
      `${path} is readable or writable by other users; run chmod 600 on it (${what})`,
    );
  }
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is not JSON; delete it to have a new one made (${what})`, {
      cause: error,
    });
  }
}

async function signingKeys(directory: string): Promise<{ keys: JWK[] }> {
  const path = join(directory, 'jwks.json');
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  await createOnce(
    path,
    `${JSON.stringify({ keys: [{ ...jwk, kid, alg: ALGORITHM, use: 'sig' }] })}\n`,
  );
  const jwks = (await readPrivateJson(path, 'it signs every local token')) as { keys?: unknown };
  const keys = Array.isArray(jwks.keys) ? (jwks.keys as JWK[]) : [];
  if (keys.length === 0 || !keys.every((key) => key.kty === 'RSA' && typeof key.d === 'string')) {
    throw new Error(`${path} is not a set of RSA private keys; delete it to have a new one made`);
  }
  return { keys };
}

async function cookieKeys(directory: string): Promise<string[]> {
  const path = join(directory, 'cookie-keys.json');
  await createOnce(path, `${JSON.stringify([randomBytes(32).toString('base64url')])}\n`);
  const keys = await readPrivateJson(path, 'it signs the sign-in cookies');
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string' && key.length >= 32)) {
    throw new Error(`${path} is not a list of cookie keys; delete it to have a new one made`);
  }
  return keys as string[];
}

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Drawbridge local sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}input{padding:.5rem}
button{padding:.6rem}.error{color:#b00020}.hint{color:#555;font-size:.9rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * The provider's pages: no script at all, styles inline, forms posting to this origin only —
 * and to the CLI's loopback redirect, since browsers apply form-action to every redirect that
 * follows a form post, and the sign-in form's post ends at http://127.0.0.1:<port>/callback.
 */
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:* http://localhost:*";

interface HtmlContext {
  body: string;
  set(header: string, value: string): void;
}

function sendHtml(response: ServerResponse, status: number, html: string): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': PAGE_CSP,
  });
  response.end(html);
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const loginForm = (uid: string, error?: string): string =>
  page(
    'Sign in',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${OIDC_PREFIX}/interaction/${escapeHtml(uid)}/login">
<label for="username">User</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Continue</button></form>
<p class="hint">Demo users and passwords are in policy/local-users.yaml.</p>`,
  );

const otpForm = (uid: string, error?: string): string =>
  page(
    'Second factor',
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${OIDC_PREFIX}/interaction/${escapeHtml(uid)}/otp">
<label for="otp">One-time code</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" autofocus>
<button type="submit" name="action" value="verify">Verify</button>
<button type="submit" name="action" value="skip">Skip (sign in with the password only)</button></form>
<p class="hint">Targets that require MFA, and break-glass, refuse a sign-in without it.</p>`,
  );

/**
 * Local mode's OpenID Provider: oidc-provider (a certified implementation) with the demo users
 * of policy/local-users.yaml, a password step and a one-time-code step that sets `amr` and
 * `auth_time` as a real provider does, RS256 keys and grants kept in the data directory. The
 * API's access tokens are JWTs for the `drawbridge` audience carrying the groups claim, which
 * is what API Gateway's JWT authorizer is given by Okta, Entra ID, Cognito or Keycloak.
 */
export async function createLocalOidcProvider(
  options: LocalOidcOptions,
): Promise<LocalOidcProvider> {
  if (!isAbsolute(options.dataDir)) throw new Error('the data directory must be an absolute path');
  const directory = join(options.dataDir, 'oidc');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const [jwks, keys] = await Promise.all([signingKeys(directory), cookieKeys(directory)]);
  const store = new OidcFileStore(directory);
  // RFC 8707 wants the resource named by an absolute URI: the API's origin. The tokens it gets
  // carry the audience API Gateway is configured with, which needs no URI shape.
  const resource = new URL(options.issuer).origin;
  const users = new Map(options.users.map((user) => [user.name, user]));
  // The password step's outcome, until the one-time-code step finishes the interaction. Lost on
  // a restart, which only means signing in again.
  const passed = new Map<string, { accountId: string; at: number }>();

  const authentication = (ctx: KoaContextWithOIDC): TokenLike | undefined =>
    ctx.oidc.entities.AuthorizationCode ??
    ctx.oidc.entities.RefreshToken ??
    ctx.oidc.entities.DeviceCode;

  const consoleHome = `${resource}/`;

  const grantFor = async (
    clientId: string,
    accountId: string,
    existingId?: string,
  ): Promise<GrantInstance> => {
    if (existingId) {
      const existing = await provider.Grant.find(existingId);
      if (existing) return existing;
    }
    const grant = new provider.Grant({ clientId, accountId });
    grant.addOIDCScope('openid offline_access groups');
    grant.addOIDCClaims(['groups']);
    grant.addResourceScope(resource, API_SCOPE);
    return grant;
  };

  const provider: Provider = new Provider(options.issuer, {
    adapter: (model: string) => store.adapter(model),
    jwks,
    cookies: { keys },
    clients: [
      {
        client_id: LOCAL_CLIENT_ID,
        client_name: 'Drawbridge CLI',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        // Native loopback redirect: any port matches (RFC 8252 §7.3).
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
        require_auth_time: true,
      },
      {
        client_id: LOCAL_CONSOLE_CLIENT_ID,
        client_name: 'Drawbridge console',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        // The console is served at the API's origin, so its token requests are same-origin
        // (oidc-provider's default CORS rule would also allow exactly this origin).
        redirect_uris: [consoleHome],
        post_logout_redirect_uris: [consoleHome],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        require_auth_time: true,
      },
    ],
    scopes: ['openid', 'offline_access', 'groups'],
    claims: { openid: ['sub'], groups: ['groups'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // Cross-origin calls only from the API's own origin (the console's token and refresh
    // requests carry an Origin header even though they are same-origin).
    clientBasedCORS: (_ctx: unknown, origin: string) => origin === resource,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      IdToken: ACCESS_TOKEN_TTL_SECONDS,
      RefreshToken: REFRESH_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Interaction: 600,
      Session: REFRESH_TOKEN_TTL_SECONDS,
      Grant: REFRESH_TOKEN_TTL_SECONDS,
    },
    enabledJWA: { idTokenSigningAlgValues: [ALGORITHM] },
    clientDefaults: { id_token_signed_response_alg: ALGORITHM },
    findAccount: async (_ctx: unknown, sub: string): Promise<Account | undefined> => {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ sub, groups: [...user.groups] }) };
    },
    // The CLI and the console are the provider's own first-party clients: no consent screen, as with a company
    // IdP where the admin granted the app for everyone.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const grant = await grantFor(client.clientId, session.accountId, grantId);
      await grant.save();
      return grant;
    },
    issueRefreshToken: async () => true,
    extraTokenClaims: async (ctx: KoaContextWithOIDC, token: TokenLike) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const user = users.get(token.accountId);
      const source = authentication(ctx);
      return {
        groups: [...(user?.groups ?? [])],
        ...(source?.amr ? { amr: source.amr } : {}),
        ...(source?.authTime ? { auth_time: source.authTime } : {}),
      };
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) =>
        `${OIDC_PREFIX}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // The provider's own pages, with their own CSP (the console's does not reach /oidc/*).
        logoutSource: async (ctx: HtmlContext, form: string) => {
          ctx.set('content-security-policy', PAGE_CSP);
          ctx.body = page(
            'Sign out',
            `<p>Sign out of Drawbridge's local provider? You will need your password again.</p>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button><button type="submit" form="op.logoutForm">Stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx: HtmlContext) => {
          ctx.set('content-security-policy', PAGE_CSP);
          ctx.body = page('Signed out', '<p>You are signed out.</p>');
        },
      },
      revocation: {
        enabled: true,
        // A public client may revoke only its own tokens (RFC 7009 §5: no error either way).
        allowedPolicy: async (
          _ctx: unknown,
          client: { clientId: string },
          token: { clientId?: string },
        ) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (
          ctx: { body: string },
          form: string,
          _out: unknown,
          error: unknown,
        ) => {
          ctx.body = page(
            'Connect a device',
            `${error ? '<p class="error">That code is not valid; try again.</p>' : '<p>Enter the code the CLI printed.</p>'}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
          );
        },
        userCodeConfirmSource: async (
          ctx: { body: string },
          form: string,
          _client: unknown,
          _device: unknown,
          userCode: string,
        ) => {
          ctx.body = page(
            'Confirm the device',
            `<p>Sign in the Drawbridge CLI that shows <strong>${escapeHtml(userCode)}</strong>?</p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`,
          );
        },
        successSource: async (ctx: { body: string }) => {
          ctx.body = page('Signed in', '<p>You can close this page and return to the CLI.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== resource) throw new InvalidTarget(`unknown resource ${indicator}`);
          return {
            scope: API_SCOPE,
            audience: LOCAL_AUDIENCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: ALGORITHM } },
          };
        },
      },
    },
  });
  provider.proxy = false;
  const callback = provider.callback();

  const interaction = async (
    request: IncomingMessage,
    response: ServerResponse,
    uid: string,
    step: string | undefined,
  ): Promise<void> => {
    const details = await provider.interactionDetails(request, response);
    if (details.uid !== uid) {
      sendHtml(response, 400, page('Sign in', '<p class="error">This sign-in expired.</p>'));
      return;
    }
    if (request.method === 'GET' && step === undefined) {
      if (details.prompt.name === 'consent' && details.session?.accountId) {
        // oidc-provider asks native clients for consent on every sign-in; the CLI and the
        // console are the provider's own first-party clients, so consent is given by configuration.
        const grant = await grantFor(
          String(details.params.client_id ?? ''),
          details.session.accountId,
          details.grantId,
        );
        await provider.interactionFinished(
          request,
          response,
          { consent: { grantId: await grant.save() } },
          { mergeWithLastSubmission: true },
        );
        return;
      }
      sendHtml(response, 200, loginForm(uid));
      return;
    }
    if (request.method !== 'POST') {
      sendHtml(response, 405, page('Sign in', '<p class="error">Method not allowed.</p>'));
      return;
    }
    const form = await readForm(request);
    if (step === 'login') {
      const user = users.get(form.get('username') ?? '');
      if (!user || !sameSecret(form.get('password') ?? '', user.password)) {
        sendHtml(response, 401, loginForm(uid, 'Unknown user or wrong password.'));
        return;
      }
      const at = Math.floor(Date.now() / 1000);
      if (!user.otp) {
        await provider.interactionFinished(
          request,
          response,
          { login: { accountId: user.name, amr: ['pwd'], ts: at } },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      passed.set(uid, { accountId: user.name, at });
      sendHtml(response, 200, otpForm(uid));
      return;
    }
    if (step === 'otp') {
      const first = passed.get(uid);
      const user = first ? users.get(first.accountId) : undefined;
      if (!first || !user) {
        sendHtml(response, 401, loginForm(uid, 'Sign in with your password first.'));
        return;
      }
      const skipped = form.get('action') === 'skip';
      if (!skipped && !sameSecret(form.get('otp') ?? '', user.otp ?? '')) {
        sendHtml(response, 401, otpForm(uid, 'That code is not valid.'));
        return;
      }
      passed.delete(uid);
      // auth_time is when the person finished signing in, the second factor included.
      await provider.interactionFinished(
        request,
        response,
        {
          login: {
            accountId: user.name,
            amr: skipped ? ['pwd'] : ['pwd', 'otp'],
            ts: Math.floor(Date.now() / 1000),
          },
        },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    sendHtml(response, 404, page('Sign in', '<p class="error">No such step.</p>'));
  };

  return {
    issuer: options.issuer,
    clientId: LOCAL_CLIENT_ID,
    consoleClientId: LOCAL_CONSOLE_CLIENT_ID,
    audience: LOCAL_AUDIENCE,
    scopes: [...LOCAL_SCOPES],
    handle(request, response) {
      const original = request.url ?? '/';
      const path = original.slice(OIDC_PREFIX.length) || '/';
      const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|otp))?(?:\?.*)?$/.exec(path);
      if (match?.[1]) {
        interaction(request, response, match[1], match[2]).catch(() => {
          if (!response.headersSent) {
            sendHtml(
              response,
              400,
              page(
                'Sign in',
                '<p class="error">This sign-in expired or is invalid; start again from the CLI or the console.</p>',
              ),
            );
          } else response.end();
        });
        return;
      }
      // Mounted under /oidc, as with express's app.use('/oidc', ...): the provider sees the
      // path below the mount point and finds the mount point in originalUrl.
      Object.assign(request, { originalUrl: original, url: path });
      callback(request, response);
    },
  };
}
