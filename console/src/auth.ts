// Sign-in, in one place: the rest of the console asks for `accessToken()` and `me()` only.
//
// With an OpenID Provider advertised at /.well-known/drawbridge (local mode's, or the stage's
// identity provider): authorization code with PKCE (oauth4webapi, the protocol core of
// openid-client). Tokens live in this module's memory only: never localStorage or cookies.
// The code verifier and state survive the round trip to the provider in sessionStorage (they
// are useless without the provider's code). A reload signs in again silently (prompt=none)
// while the provider's own session lasts; an expiring access token is refreshed in place.
import * as oauth from 'oauth4webapi';

export interface Me {
  subject: string;
  groups: string[];
}

interface Discovery {
  issuer: string;
  /** the CLI's client (a native app with a loopback redirect): not usable from a page */
  clientId: string;
  /**
   * The console's own client (a public browser client whose redirect is this origin's `/`).
   * A deployment that registers none gets the pasted-token form instead.
   */
  consoleClientId?: string;
  /** what the API's tokens carry as aud (informational: the provider decides) */
  audience?: string;
  /** an RFC 8707 resource indicator to send, for providers that want one (as the CLI does) */
  resource?: string;
  scopes?: string[];
}

interface Tokens {
  access: string;
  refresh?: string;
  idToken?: string;
  /** epoch ms */
  expiresAt: number;
}

let tokens: Tokens | undefined;
let provider:
  | { as: oauth.AuthorizationServer; client: oauth.Client; scopes: string; resource?: string }
  | undefined;
const PENDING = 'drawbridge.signin';
const REFRESH_MARGIN_MS = 30_000;
const redirectUri = (): string => `${location.origin}/`;

function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json) as Record<string, unknown>;
}

/** Who the token says this is: for display and for hiding what the API would refuse anyway. */
export function me(): Me | undefined {
  if (!tokens) return undefined;
  const claims = decodePayload(tokens.access);
  const groups = Array.isArray(claims.groups) ? claims.groups.map(String) : [];
  return { subject: String(claims.sub ?? ''), groups };
}

async function discover(): Promise<typeof provider> {
  if (provider) return provider;
  const response = await fetch('/.well-known/drawbridge');
  if (!response.ok) return undefined;
  const discovery = (await response.json()) as Discovery;
  if (!discovery.consoleClientId) return undefined;
  const issuer = new URL(discovery.issuer);
  const options = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options }),
  );
  provider = {
    as,
    client: { client_id: discovery.consoleClientId },
    ...(discovery.resource ? { resource: discovery.resource } : {}),
    scopes: (discovery.scopes ?? ['openid', 'offline_access']).join(' '),
  };
  return provider;
}

const insecure = (as: oauth.AuthorizationServer) =>
  as.issuer.startsWith('http:') ? { [oauth.allowInsecureRequests]: true } : {};

function keep(response: oauth.TokenEndpointResponse): void {
  tokens = {
    access: response.access_token,
    ...(response.refresh_token ? { refresh: response.refresh_token } : {}),
    ...(response.id_token ? { idToken: response.id_token } : {}),
    expiresAt: Date.now() + (response.expires_in ?? 300) * 1000,
  };
}

/** Sends the browser to the provider; `silent` asks it not to show anything (prompt=none). */
export async function signIn(silent = false): Promise<void> {
  const found = await discover();
  if (!found) throw new Error('this Drawbridge advertises no identity provider');
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem(
    PENDING,
    JSON.stringify({ verifier, state, nonce, silent, back: location.hash }),
  );
  const url = new URL(found.as.authorization_endpoint ?? '');
  url.search = new URLSearchParams({
    client_id: found.client.client_id,
    redirect_uri: redirectUri(),
    response_type: 'code',
    scope: found.scopes,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(found.resource ? { resource: found.resource } : {}),
    ...(silent ? { prompt: 'none' } : {}),
  }).toString();
  location.assign(url.toString());
}

/**
 * At page load: finishes a sign-in coming back from the provider, or tries a silent one once.
 * Returns who is signed in, or undefined (the page then offers the sign-in button).
 */
export async function startAuth(): Promise<Me | undefined> {
  const params = new URLSearchParams(location.search);
  const pendingText = sessionStorage.getItem(PENDING);
  const pending = pendingText
    ? (JSON.parse(pendingText) as {
        verifier: string;
        state: string;
        nonce: string;
        silent: boolean;
        back: string;
      })
    : undefined;
  if (pending && (params.has('code') || params.has('error'))) {
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, '', `/${pending.back}`);
    const found = await discover();
    if (!found || params.has('error')) return undefined;
    const callback = oauth.validateAuthResponse(found.as, found.client, params, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(
      found.as,
      found.client,
      oauth.None(),
      callback,
      redirectUri(),
      pending.verifier,
      insecure(found.as),
    );
    keep(
      await oauth.processAuthorizationCodeResponse(found.as, found.client, response, {
        expectedNonce: pending.nonce,
      }),
    );
    return me();
  }
  if (!pending && (await discover())) {
    await signIn(true);
    return new Promise<never>(() => {});
  }
  sessionStorage.removeItem(PENDING);
  return undefined;
}

/** A token good for at least half a minute more: refreshed silently when it is not. */
export async function accessToken(): Promise<string> {
  if (!tokens) throw new SignedOutError();
  if (tokens.expiresAt - Date.now() < REFRESH_MARGIN_MS && tokens.refresh && provider) {
    const { as, client } = provider;
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      tokens.refresh,
      insecure(as),
    );
    keep(await oauth.processRefreshTokenResponse(as, client, response));
  }
  return tokens.access;
}

/** Forgets the tokens and ends the provider's session too, so the next visit asks again. */
export async function signOut(): Promise<void> {
  const idToken = tokens?.idToken;
  tokens = undefined;
  const found = provider;
  if (found?.as.end_session_endpoint) {
    const url = new URL(found.as.end_session_endpoint);
    url.search = new URLSearchParams({
      client_id: found.client.client_id,
      post_logout_redirect_uri: redirectUri(),
      ...(idToken ? { id_token_hint: idToken } : {}),
    }).toString();
    sessionStorage.setItem(PENDING, JSON.stringify({ signedOut: true }));
    location.assign(url.toString());
    return;
  }
  location.assign('/');
}

/**
 * The fallback for a deployment whose discovery names no console client: a bearer token pasted
 * by hand (the one `drawbridge login` stores), kept in memory like any other.
 */
export function useToken(token: string): Me | undefined {
  tokens = { access: token.trim(), expiresAt: Number.MAX_SAFE_INTEGER };
  return me();
}

export const hasProvider = async (): Promise<boolean> => (await discover()) !== undefined;

export class SignedOutError extends Error {
  override name = 'SignedOutError';
}
