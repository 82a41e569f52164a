import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthorizedError, ValidationError } from '../../lib/domain/errors.ts';
import { identityFromClaims } from '../../lib/domain/identity.ts';
import { LocalIssuer } from '../../lib/local/local-issuer.ts';
import type { Clock } from '../../lib/ports/clock.ts';

let root: string;
let dataDir: string;
let issuer: LocalIssuer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-issuer-'));
  dataDir = join(root, 'data');
  issuer = await LocalIssuer.open(dataDir);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The issuer's signing key, read from disk as anyone with the data dir could. */
async function ownKey() {
  const jwk = JSON.parse(await readFile(join(dataDir, 'issuer', 'key.json'), 'utf8')) as JWK;
  return importJWK(jwk, 'EdDSA');
}

async function rejection(promise: Promise<unknown>): Promise<UnauthorizedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return error as UnauthorizedError;
}

describe('LocalIssuer', () => {
  it('mints a token that verifies, with the identity the API reads from it', async () => {
    const token = await issuer.mint({ subject: 'alice', groups: ['engineers', 'oncall'] });
    const claims = await issuer.verify(token);

    expect(claims).toMatchObject({
      iss: 'drawbridge-local',
      aud: 'drawbridge',
      sub: 'alice',
      groups: ['engineers', 'oncall'],
    });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims.auth_time).toBe(claims.iat);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(identityFromClaims({ ...claims }, 'groups')).toEqual({
      subject: 'alice',
      groups: ['engineers', 'oncall'],
      authTime: claims.auth_time * 1000,
    });
    expect(decodeProtectedHeader(token).alg).toBe('EdDSA');
  });

  it('carries amr when given and honours ttlSeconds', async () => {
    const token = await issuer.mint({
      subject: 'bob',
      groups: [],
      ttlSeconds: 60,
      amr: ['pwd', 'mfa'],
    });
    const claims = await issuer.verify(token);
    expect(claims.amr).toEqual(['pwd', 'mfa']);
    expect(claims.exp - claims.iat).toBe(60);
  });

  it('gives each token its own jti', async () => {
    const first = decodeJwt(await issuer.mint({ subject: 'alice', groups: [] }));
    const second = decodeJwt(await issuer.mint({ subject: 'alice', groups: [] }));
    expect(first.jti).not.toBe(second.jti);
  });

  it('refuses an expired token and says how to get a new one', async () => {
    const twoHoursAgo: Clock = { now: () => Date.now() - 2 * 3600_000 };
    const past = await LocalIssuer.open(dataDir, { clock: twoHoursAgo });
    const token = await past.mint({ subject: 'alice', groups: ['engineers'] });

    const error = await rejection(issuer.verify(token));
    expect(error.message).toBe('token expired: run drawbridge login --local again');
  });

  it('refuses a token issued in the future (iat after now), as the JWT authorizer does', async () => {
    const inAMinute: Clock = { now: () => Date.now() + 60_000 };
    const future = await LocalIssuer.open(dataDir, { clock: inAMinute });
    const token = await future.mint({ subject: 'alice', groups: ['engineers'], ttlSeconds: 3600 });
    expect(decodeJwt(token).nbf).toBeUndefined();

    const error = await rejection(issuer.verify(token));
    expect(error.message).toBe('token is not valid yet: it was issued in the future');
  });

  it('accepts a token issued within the clock tolerance of now', async () => {
    const mintedAt = Date.now();
    const minter = await LocalIssuer.open(dataDir, { clock: { now: () => mintedAt + 3000 } });
    const token = await minter.mint({ subject: 'alice', groups: [] });
    const verifier = await LocalIssuer.open(dataDir, { clock: { now: () => mintedAt } });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('tolerates a few seconds of clock skew, not more', async () => {
    const ttlSeconds = 60;
    const mintedAt = Date.now();
    const minter = await LocalIssuer.open(dataDir, { clock: { now: () => mintedAt } });
    const token = await minter.mint({ subject: 'alice', groups: [], ttlSeconds });
    const at = (ms: number) => LocalIssuer.open(dataDir, { clock: { now: () => ms } });

    await expect(
      (await at(mintedAt + (ttlSeconds + 3) * 1000)).verify(token),
    ).resolves.toBeDefined();
    await rejection((await at(mintedAt + (ttlSeconds + 10) * 1000)).verify(token));
  });

  it('refuses a token for another audience', async () => {
    // Signed with the issuer's own key, so that only the audience is wrong.
    const signing = await ownKey();
    const token = await new SignJWT({ groups: ['engineers'] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('drawbridge-local')
      .setAudience('someone-else')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('x')
      .sign(signing);

    expect((await rejection(issuer.verify(token))).message).toBe(
      'token audience is not drawbridge',
    );
  });

  it('refuses a token from another issuer', async () => {
    const token = await new SignJWT({ groups: [] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer('https://evil.example')
      .setAudience('drawbridge')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('x')
      .sign(await ownKey());

    expect((await rejection(issuer.verify(token))).message).toBe(
      'token issuer is not drawbridge-local',
    );
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const token = await issuer.mint({ subject: 'alice', groups: ['engineers'] });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    const tampered = `${header}.${b64({ ...claims, groups: ['admins'] })}.${signature}`;

    expect((await rejection(issuer.verify(tampered))).message).toBe('token signature invalid');
  });

  it('refuses a token signed by another key, even one with our issuer and audience', async () => {
    const otherDir = join(root, 'other');
    const other = await LocalIssuer.open(otherDir);
    const token = await other.mint({ subject: 'mallory', groups: ['admins'] });

    expect((await rejection(issuer.verify(token))).message).toBe('token signature invalid');
  });

  it('refuses alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
      iss: 'drawbridge-local',
      aud: 'drawbridge',
      sub: 'mallory',
      groups: ['admins'],
      iat: now,
      exp: now + 3600,
      jti: 'x',
    })}.`;

    expect((await rejection(issuer.verify(unsigned))).message).toMatch(/algorithm not allowed/);
  });

  it('refuses a token signed with another algorithm', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ groups: [] })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('drawbridge-local')
      .setAudience('drawbridge')
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('x')
      .sign(privateKey);

    expect((await rejection(issuer.verify(token))).message).toMatch(/algorithm not allowed/);
  });

  it.each(['', 'not-a-jwt', 'a.b.c', 'x'.repeat(10_000)])('refuses garbage (%#)', async (token) => {
    expect((await rejection(issuer.verify(token))).message).toBe('token is malformed');
  });

  it('keeps its key across open() calls, so tokens outlive a restart', async () => {
    const token = await issuer.mint({ subject: 'alice', groups: ['engineers'] });
    const reopened = await LocalIssuer.open(dataDir);
    await expect(reopened.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    expect(reopened.jwks()).toEqual(issuer.jwks());
  });

  it('agrees on one key when opened twice at once', async () => {
    const fresh = join(root, 'race');
    const [a, b] = await Promise.all([LocalIssuer.open(fresh), LocalIssuer.open(fresh)]);
    const token = await a.mint({ subject: 'alice', groups: [] });
    await expect(b.verify(token)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('stores the private key readable by its owner only', async () => {
    const path = join(dataDir, 'issuer', 'key.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'issuer'))).mode & 0o777).toBe(0o700);
  });

  it('refuses to use a key file others can read', async () => {
    const loose = join(root, 'loose');
    await LocalIssuer.open(loose);
    await chmod(join(loose, 'issuer', 'key.json'), 0o644);
    await expect(LocalIssuer.open(loose)).rejects.toThrow(/chmod 600/);
  });

  it('refuses a key file that is not an Ed25519 private key', async () => {
    const broken = join(root, 'broken');
    await LocalIssuer.open(broken);
    await writeFile(join(broken, 'issuer', 'key.json'), '{"kty":"oct","k":"AAAA"}', {
      mode: 0o600,
    });
    await expect(LocalIssuer.open(broken)).rejects.toThrow(/not an Ed25519 private key/);
  });

  it('publishes only the public half in its JWKS', () => {
    const [key] = issuer.jwks().keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(key).not.toHaveProperty('d');
  });

  it.each([
    ['an empty subject', { subject: '', groups: [] }],
    ['a subject with a newline', { subject: 'alice\nadmin', groups: [] }],
    ['a subject too long', { subject: 'a'.repeat(257), groups: [] }],
    ['a group with a space', { subject: 'alice', groups: ['eng ineers'] }],
    ['a group with a comma', { subject: 'alice', groups: ['a,b'] }],
    [
      'too many groups',
      { subject: 'alice', groups: Array.from({ length: 101 }, (_, i) => `g${i}`) },
    ],
    ['a zero ttl', { subject: 'alice', groups: [], ttlSeconds: 0 }],
    ['a ttl over a day', { subject: 'alice', groups: [], ttlSeconds: 86_401 }],
    ['an amr with a space', { subject: 'alice', groups: [], amr: ['p w d'] }],
  ])('will not mint a token with %s', async (_why, options) => {
    await expect(issuer.mint(options)).rejects.toBeInstanceOf(ValidationError);
  });
});
