import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { UnauthorizedError, ValidationError } from '../domain/errors.ts';
import { parseGroupsClaim } from '../domain/identity.ts';
import { type Clock, systemClock } from '../ports/clock.ts';

export const LOCAL_ISSUER = 'drawbridge-local';
export const LOCAL_AUDIENCE = 'drawbridge';
const ALGORITHM = 'EdDSA';
const CLOCK_TOLERANCE_SECONDS = 5;
const MAX_TTL_SECONDS = 24 * 60 * 60;
const MAX_TOKEN_LENGTH = 8192;
// The same shapes lib/domain/identity.ts accepts from a verified token, so that a token we
// mint is never one the API would read differently.
const GROUP_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const MAX_GROUPS = 100;
const SUBJECT_PATTERN = /^[\x20-\x7e]{1,256}$/;
const AMR_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export interface MintOptions {
  subject: string;
  groups: readonly string[];
  ttlSeconds?: number;
  /** authentication methods, e.g. ['pwd', 'mfa'] */
  amr?: readonly string[];
}

export interface LocalClaims {
  iss: string;
  aud: string;
  sub: string;
  groups: string[];
  iat: number;
  exp: number;
  auth_time: number;
  jti: string;
  amr?: string[];
}

export interface LocalIssuerOptions {
  clock?: Clock;
}

interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

async function createKeyFile(path: string): Promise<void> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  // Written whole under a private name, then linked into place: link fails if the file
  // exists, so two processes opening the same data dir at once agree on one key and neither
  // can read a half-written file.
  const staging = `${path}.${randomUUID()}.tmp`;
  await writeFile(staging, `${JSON.stringify({ ...jwk, alg: ALGORITHM })}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  try {
    await link(staging, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(staging);
  }
}

async function loadKeyPair(path: string): Promise<KeyPair> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    throw new Error(
      `${path} is readable or writable by other users; run chmod 600 on it (it signs every local token)`,
    );
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch (error) {
    throw new Error(`${path} is not a JSON Web Key; delete it to have a new one made`, {
      cause: error,
    });
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || !jwk.x) {
    throw new Error(`${path} is not an Ed25519 private key; delete it to have a new one made`);
  }
  const publicJwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const privateKey = (await importJWK(jwk, ALGORITHM)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, ALGORITHM)) as CryptoKey;
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    privateKey,
    publicKey,
    publicJwk: { ...publicJwk, alg: ALGORITHM, use: 'sig', kid },
    kid,
  };
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) {
    return 'token expired: run drawbridge login --local again';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return `token algorithm not allowed: only ${ALGORITHM} tokens from ${LOCAL_ISSUER} are accepted`;
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `token issuer is not ${LOCAL_ISSUER}`;
    if (error.claim === 'aud') return `token audience is not ${LOCAL_AUDIENCE}`;
    if (error.claim === 'nbf' || error.claim === 'iat') return 'token is not valid yet';
    return `token claim '${error.claim}' is missing or invalid`;
  }
  return 'token is malformed';
}

/**
 * The identity provider of local mode: it signs short-lived tokens with a key that never
 * leaves the data directory, and the local API accepts nothing else. It exists so that local
 * mode exercises the same "identity comes from a verified token" path as the JWT authorizer.
 */
export class LocalIssuer {
  readonly issuer = LOCAL_ISSUER;
  readonly audience = LOCAL_AUDIENCE;
  private readonly keys: KeyPair;
  private readonly clock: Clock;

  private constructor(keys: KeyPair, clock: Clock) {
    this.keys = keys;
    this.clock = clock;
  }

  /** Loads `<dataDir>/issuer/key.json`, creating it (mode 0600) on first use. */
  static async open(dataDir: string, options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
    if (!isAbsolute(dataDir)) throw new Error('the local data directory must be an absolute path');
    const directory = join(dataDir, 'issuer');
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const path = join(directory, 'key.json');
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await createKeyFile(path);
    }
    return new LocalIssuer(await loadKeyPair(path), options.clock ?? systemClock);
  }

  /** The public half, for anything that verifies our tokens without this object (a JWKS). */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.keys.publicJwk }] };
  }

  async mint(options: MintOptions): Promise<string> {
    const { subject, groups, ttlSeconds = 3600, amr } = options;
    if (typeof subject !== 'string' || !SUBJECT_PATTERN.test(subject)) {
      throw new ValidationError('subject must be 1 to 256 printable ASCII characters');
    }
    if (!Array.isArray(groups) || groups.length > MAX_GROUPS) {
      throw new ValidationError(`groups must be a list of at most ${MAX_GROUPS} names`);
    }
    for (const group of groups) {
      if (typeof group !== 'string' || !GROUP_PATTERN.test(group)) {
        throw new ValidationError(
          'each group must be 1 to 128 letters, digits or ._:@/+=- characters',
        );
      }
    }
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
      throw new ValidationError(`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
    }
    if (amr !== undefined && (!Array.isArray(amr) || !amr.every((m) => AMR_PATTERN.test(m)))) {
      throw new ValidationError('amr must be a list of short method names like pwd or mfa');
    }
    const now = Math.floor(this.clock.now() / 1000);
    return new SignJWT({
      groups: [...new Set(groups)],
      auth_time: now,
      ...(amr ? { amr: [...amr] } : {}),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: this.keys.kid })
      .setIssuer(LOCAL_ISSUER)
      .setAudience(LOCAL_AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.keys.privateKey);
  }

  /** Throws UnauthorizedError saying what is wrong with the token. */
  async verify(token: string): Promise<LocalClaims> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new UnauthorizedError('token is malformed');
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: [ALGORITHM],
        issuer: LOCAL_ISSUER,
        audience: LOCAL_AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch (error) {
      throw new UnauthorizedError(describe(error), { cause: error });
    }
    const { sub, iss, aud, iat, exp, jti, groups, auth_time: authTime, amr } = payload;
    // API Gateway's JWT authorizer refuses a token whose iat is after the current time; jose
    // checks iat only when given a maximum age, so the check is ours.
    if (typeof iat === 'number' && iat > this.clock.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new UnauthorizedError('token is not valid yet: it was issued in the future');
    }
    if (typeof sub !== 'string' || !SUBJECT_PATTERN.test(sub)) {
      throw new UnauthorizedError('token has no usable subject');
    }
    if (!Array.isArray(groups) || parseGroupsClaim(groups).length !== groups.length) {
      throw new UnauthorizedError('token groups claim is not a list of group names');
    }
    if (
      typeof iss !== 'string' ||
      typeof aud !== 'string' ||
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      typeof jti !== 'string'
    ) {
      throw new UnauthorizedError('token is malformed');
    }
    return {
      iss,
      aud,
      sub,
      groups: groups as string[],
      iat,
      exp,
      auth_time: typeof authTime === 'number' ? authTime : iat,
      jti,
      ...(Array.isArray(amr) && amr.every((m) => typeof m === 'string')
        ? { amr: amr as string[] }
        : {}),
    };
  }
}
