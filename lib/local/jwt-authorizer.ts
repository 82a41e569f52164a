import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { UnauthorizedError } from '../domain/errors.ts';
import { type Clock, systemClock } from '../ports/clock.ts';

// What API Gateway's HTTP API JWT authorizer accepts: RSA signatures only, keys from the
// issuer's jwks_uri found by OIDC discovery, iss/aud/exp/nbf/iat checked.
const ALGORITHMS = ['RS256', 'RS384', 'RS512'];
const CLOCK_TOLERANCE_SECONDS = 5;
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface JwtAuthorizerOptions {
  issuer: string;
  audience: string;
  clock?: Clock;
  fetch?: typeof fetch;
}

function describe(error: unknown, options: JwtAuthorizerOptions): string {
  if (error instanceof errors.JWTExpired) return 'token expired: run drawbridge login again';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof errors.JWKSNoMatchingKey) {
    return 'token signed by a key the issuer does not publish';
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return 'token algorithm not allowed: only RSA-signed tokens are accepted';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `token issuer is not ${options.issuer}`;
    if (error.claim === 'aud') return `token audience is not ${options.audience}`;
    if (error.claim === 'nbf') return 'token is not valid yet';
    return `token claim '${error.claim}' is missing or invalid`;
  }
  return 'token is malformed';
}

/**
 * Verifies bearer tokens as the HTTP API's JWT authorizer does for a deployment: it reads the
 * issuer's discovery document once, takes the signing keys from its jwks_uri (refetched when an
 * unknown kid shows up) and checks signature, issuer, audience, expiry, not-before and that
 * the token was not issued in the future. Returns the claims the handlers receive.
 */
export function createJwtAuthorizer(
  options: JwtAuthorizerOptions,
): (token: string) => Promise<JWTPayload> {
  const clock = options.clock ?? systemClock;
  const fetchFn = options.fetch ?? globalThis.fetch;
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const discover = async (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    const url = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetchFn(url);
    if (!response.ok) throw new Error(`discovery at ${url} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== options.issuer || typeof document.jwks_uri !== 'string') {
      throw new Error(`discovery at ${url} does not describe issuer ${options.issuer}`);
    }
    return createRemoteJWKSet(new URL(document.jwks_uri));
  };

  return async (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new UnauthorizedError('token is malformed');
    }
    keys ??= discover().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    const jwks = await keys;
    const now = clock.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: ALGORITHMS,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (error) {
      throw new UnauthorizedError(describe(error, options), { cause: error });
    }
    // jose checks iat only against a maximum age; a token from the future is refused here.
    if (typeof payload.iat !== 'number' || payload.iat > now / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new UnauthorizedError('token is not valid yet (issued in the future)');
    }
    return payload;
  };
}
