import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../cli/main.ts';
import { freePort } from '../../lib/local/free-port.ts';
import { createJwtAuthorizer } from '../../lib/local/jwt-authorizer.ts';
import { startLocalApi } from '../../lib/local/local-api.ts';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { scriptedSignIn } from '../../lib/local/scripted-user-agent.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { type CliRun, runCli } from '../support/cli.ts';
import { writeLocalPolicy } from '../support/local-mode.ts';

/**
 * Both sign-in flows end to end against local mode's OpenID Provider, with a scripted user
 * agent in the browser's place; then refresh, expiry, logout and the tokens the API refuses.
 */
let root: string;
let dataDir: string;
let apiPort: number;
let orchestrator: LocalOrchestrator;
let env: Record<string, string>;
let configFile: string;

type CryptoKeyLike = Parameters<SignJWT['sign']>[0];
const ALICE = { username: 'alice', password: 'alice-demo', otp: '123456' };

function cli(args: string[], io: Partial<Io> = {}): Promise<CliRun> {
  return runCli(args, { env, cwd: root, openUrl: io.openUrl, now: io.now, onStderr: io.stderr });
}

interface Saved {
  apiUrl: string;
  token?: string;
  oidc?: { issuer: string; clientId: string; refreshToken?: string; expiresAt: number };
}
const saved = async (): Promise<Saved> => JSON.parse(await readFile(configFile, 'utf8')) as Saved;

async function start(): Promise<void> {
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile: await writeLocalPolicy(root, 7),
    apiPort,
    logger: silentLogger,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-sign-in-'));
  dataDir = join(root, 'data');
  configFile = join(root, 'config', 'config.json');
  apiPort = await freePort('127.0.0.1');
  await start();
  env = { DRAWBRIDGE_CONFIG: configFile, DRAWBRIDGE_API_URL: orchestrator.url, HOME: root };
});

afterAll(async () => {
  await orchestrator?.stop();
  await rm(root, { recursive: true, force: true });
});

/** The API answers with what it saw of the token; 401 JSON when the token is refused. */
async function callApi(token: string, url = orchestrator.url) {
  const response = await fetch(`${url}/sessions`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('authorization code with PKCE and a loopback redirect', () => {
  it('the browser signs in on the provider page and the CLI caches the tokens privately', async () => {
    const opened: string[] = [];
    const run = await cli(['login'], {
      openUrl: async (url) => {
        opened.push(url);
        await scriptedSignIn(url, ALICE);
        return true;
      },
    });
    expect(run.stderr).toContain('Opened your browser');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('as alice (groups: dev)');
    const request = new URL(opened[0] ?? '');
    expect(request.origin + request.pathname).toBe(`${orchestrator.oidc.issuer}/auth`);
    expect(request.searchParams.get('code_challenge_method')).toBe('S256');
    expect(request.searchParams.get('redirect_uri')).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/callback$/,
    );

    const config = await saved();
    expect(config.oidc?.refreshToken).toEqual(expect.any(String));
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'config'))).mode & 0o777).toBe(0o700);
    const claims = decodeJwt(config.token ?? '');
    expect(claims).toMatchObject({
      iss: orchestrator.oidc.issuer,
      aud: 'drawbridge',
      sub: 'alice',
      groups: ['dev'],
      amr: ['pwd', 'otp'],
    });
    expect(claims.auth_time).toEqual(expect.any(Number));
    expect((await callApi(config.token ?? '')).status).toBe(200);
  });

  it('whoami shows subject, groups, MFA and its age, and expiry', async () => {
    const run = await cli(['whoami']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^subject {2}alice$/m);
    expect(run.stdout).toMatch(/^groups {3}dev$/m);
    expect(run.stdout).toMatch(/^mfa {6}yes \(pwd, otp\), signed in (just now|\d+s ago)$/m);
    expect(run.stdout).toMatch(/^expires {2}\S+ \(in 1[45]m\d*s?\)$/m);
    expect(run.stdout).toMatch(/^issuer {3}http:\/\/127\.0\.0\.1:\d+\/oidc$/m);
  });

  it('--no-browser prints the URL; skipping the second factor gives amr pwd only', async () => {
    const signedIn: Promise<unknown>[] = [];
    const run = await cli(['login', '--no-browser', '--json'], {
      stderr: (text) => {
        const url = /https?:\/\/\S+/.exec(text)?.[0];
        if (url)
          signedIn.push(
            scriptedSignIn(url, { username: ALICE.username, password: ALICE.password }),
          );
      },
    });
    await Promise.all(signedIn);
    expect(run.stderr).toContain('Open this URL in a browser to sign in:');
    expect(run.code).toBe(0);
    expect(decodeJwt((await saved()).token ?? '').amr).toEqual(['pwd']);
    const who = await cli(['whoami', '--json']);
    expect(JSON.parse(who.stdout)).toMatchObject({ subject: 'alice', mfa: false, amr: ['pwd'] });
  });

  it('a wrong password is refused on the page and the CLI says so', async () => {
    const refused = scriptedSignIn(
      (
        await client.buildAuthorizationUrl(
          await client.discovery(
            new URL(orchestrator.oidc.issuer),
            'drawbridge-cli',
            undefined,
            client.None(),
            {
              execute: [client.allowInsecureRequests],
            },
          ),
          {
            redirect_uri: 'http://127.0.0.1/callback',
            scope: 'openid',
            code_challenge: await client.calculatePKCECodeChallenge(
              client.randomPKCECodeVerifier(),
            ),
            code_challenge_method: 'S256',
          },
        )
      ).href,
      { ...ALICE, password: 'wrong' },
    );
    await expect(refused).rejects.toThrow('Unknown user or wrong password.');
  });
});

describe('refresh, expiry and the token cache', () => {
  it('renews an expired access token silently with the refresh token', async () => {
    const before = await saved();
    // The CLI's clock past the access token's expiry: the next command renews first.
    const later = () => Date.now() + 16 * 60_000;
    const run = await cli(['ls', '--json'], { now: later });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const after = await saved();
    expect(after.token).not.toBe(before.token);
    expect(after.oidc?.refreshToken).not.toBe(before.oidc?.refreshToken);
    expect(decodeJwt(after.token ?? '')).toMatchObject({ sub: 'alice', groups: ['dev'] });
    expect((await callApi(after.token ?? '')).status).toBe(200);
  });

  it('the API refuses an expired token with 401 JSON, as API Gateway does', async () => {
    const token = (await saved()).token ?? '';
    const ahead = createJwtAuthorizer({
      issuer: orchestrator.oidc.issuer,
      audience: 'drawbridge',
      clock: { now: () => Date.now() + 16 * 60_000 },
    });
    const api = await startLocalApi({
      routes: [{ method: 'GET', path: '/sessions', handler: async () => ({ statusCode: 200 }) }],
      verify: ahead,
      logger: silentLogger,
    });
    try {
      const answer = await callApi(token, api.url);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        error: { code: 'unauthorized', message: 'token expired: run drawbridge login again' },
      });
    } finally {
      api.server.closeAllConnections();
      api.server.close();
    }
  });

  it('refuses a token cache other users can read, or a directory they can write', async () => {
    await chmod(configFile, 0o644);
    const open = await cli(['ls']);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`run chmod 600 ${configFile}`);
    await chmod(configFile, 0o600);
    await chmod(join(root, 'config'), 0o777);
    const directory = await cli(['whoami']);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toContain('writable by other users');
    await chmod(join(root, 'config'), 0o700);
    expect((await cli(['whoami'])).code).toBe(0);
  });
});

describe('tokens the local API refuses (401 JSON)', () => {
  async function providerKey(): Promise<{ key: CryptoKeyLike; kid: string }> {
    const jwks = JSON.parse(await readFile(join(dataDir, 'oidc', 'jwks.json'), 'utf8')) as {
      keys: JWK[];
    };
    const jwk = jwks.keys[0] as JWK;
    return { key: (await importJWK(jwk, 'RS256')) as CryptoKeyLike, kid: String(jwk.kid) };
  }

  const forge = (
    key: CryptoKeyLike,
    kid: string,
    claims: { iss?: string; aud?: string; iat?: number } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ groups: ['drawbridge-admins'] })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('mallory')
      .setIssuer(claims.iss ?? orchestrator.oidc.issuer)
      .setAudience(claims.aud ?? 'drawbridge')
      .setIssuedAt(claims.iat ?? now)
      .setExpirationTime(now + 600)
      .sign(key);
  };

  it('another key, even under the provider kid', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const { kid } = await providerKey();
    const sameKid = await callApi(await forge(privateKey, kid));
    expect(sameKid).toEqual({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'token signature invalid' } },
    });
    const ownKid = await calculateJwkThumbprint(await exportJWK(publicKey));
    const unknown = await callApi(await forge(privateKey, ownKid));
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toMatchObject({
      message: 'token signed by a key the issuer does not publish',
    });
  });

  it('another issuer, another audience, or issued in the future, even with the provider key', async () => {
    const { key, kid } = await providerKey();
    // Control: the same forgery with the right claims passes, so each refusal is the claim.
    expect((await callApi(await forge(key, kid))).status).toBe(200);
    const issuer = await callApi(await forge(key, kid, { iss: 'https://elsewhere.example/' }));
    expect(issuer.status).toBe(401);
    expect(issuer.body.error).toMatchObject({
      message: `token issuer is not ${orchestrator.oidc.issuer}`,
    });
    const audience = await callApi(await forge(key, kid, { aud: 'another-api' }));
    expect(audience.status).toBe(401);
    expect(audience.body.error).toMatchObject({ message: 'token audience is not drawbridge' });
    const future = await callApi(
      await forge(key, kid, { iat: Math.floor(Date.now() / 1000) + 3600 }),
    );
    expect(future.status).toBe(401);
    expect(future.body.error).toMatchObject({
      message: 'token is not valid yet (issued in the future)',
    });
  });
});

describe('device authorization grant', () => {
  it('--device prints a code; approving it on the verification page signs the CLI in', async () => {
    const approvals: Promise<unknown>[] = [];
    const run = await cli(['login', '--device'], {
      stderr: (text) => {
        const match = /open (\S+) on any device and enter the code (\S+)/.exec(text);
        if (match?.[1] && match[2]) {
          approvals.push(scriptedSignIn(match[1], { ...ALICE, userCode: match[2] }));
        }
      },
    });
    await Promise.all(approvals);
    expect(approvals).toHaveLength(1);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('as alice (groups: dev)');
    expect(decodeJwt((await saved()).token ?? '')).toMatchObject({
      sub: 'alice',
      aud: 'drawbridge',
      amr: ['pwd', 'otp'],
    });
  }, 30_000);
});

describe('restart and logout', () => {
  it('keys and grants survive a restart: the token and the refresh token still work', async () => {
    const before = await saved();
    await orchestrator.stop();
    await start();
    expect((await callApi(before.token ?? '')).status).toBe(200);
    const run = await cli(['ls', '--json'], { now: () => Date.now() + 16 * 60_000 });
    expect(run.code).toBe(0);
    expect((await saved()).token).not.toBe(before.token);
  });

  it('logout revokes at the provider and forgets: the refresh token is dead, commands say sign in', async () => {
    const before = await saved();
    const run = await cli(['logout']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('tokens revoked at the identity provider');
    const after = await saved();
    expect(after.token).toBeUndefined();
    expect(after.oidc).toBeUndefined();
    const config = await client.discovery(
      new URL(orchestrator.oidc.issuer),
      'drawbridge-cli',
      undefined,
      client.None(),
      { execute: [client.allowInsecureRequests] },
    );
    await expect(
      client.refreshTokenGrant(config, before.oidc?.refreshToken ?? ''),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await cli(['ls'])).code).toBe(3);
  });
});
