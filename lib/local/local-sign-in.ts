import * as client from 'openid-client';
import type { LocalUser } from './local-users.ts';
import { scriptedSignIn } from './scripted-user-agent.ts';

export interface LocalSignInOptions {
  issuer: string;
  clientId: string;
  audience: string;
  scopes: readonly string[];
  user: LocalUser;
  /** enter the one-time code (amr pwd+otp) instead of skipping it (amr pwd) */
  mfa?: boolean;
}

const REDIRECT_URI = 'http://127.0.0.1/callback';

/**
 * Signs a demo user in through local mode's OpenID Provider, as the CLI does, with the
 * scripted user agent for the browser part: authorization code with PKCE, the login form,
 * the one-time code, the token request. Returns the token response (access token for the API,
 * ID token, refresh token). For tests, benchmarks and demos; nothing here mints a token.
 */
export async function signInLocally(
  options: LocalSignInOptions,
): Promise<client.TokenEndpointResponse> {
  const config = await client.discovery(
    new URL(options.issuer),
    options.clientId,
    undefined,
    client.None(),
    { execute: [client.allowInsecureRequests] },
  );
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: options.scopes.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const callback = await scriptedSignIn(
    url.href,
    {
      username: options.user.name,
      password: options.user.password,
      ...(options.mfa && options.user.otp ? { otp: options.user.otp } : {}),
    },
    { stopAt: REDIRECT_URI },
  );
  if (!callback?.startsWith(REDIRECT_URI)) throw new Error('sign-in did not come back with a code');
  return client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
}
