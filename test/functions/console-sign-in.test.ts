// A deployed stage publishes where to sign in at GET /.well-known/drawbridge, from the console
// function, so `drawbridge login --api URL` and the console find the provider by themselves
// (local mode publishes its own provider the same way).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OidcSettings } from '../../cli/oidc.ts';
import { composeConsole, createConsoleHandler } from '../../functions/console.ts';
import { ConfigError } from '../../lib/domain/errors.ts';
import type { HttpEvent } from '../../lib/http/http-handler.ts';

const get = (rawPath: string) => ({ rawPath }) as HttpEvent;
const stage = {
  STAGE: 'prod',
  TABLE_NAME: 'drawbridge-prod',
  OIDC_ISSUER: 'https://login.example.org/realms/eng',
  OIDC_AUDIENCE: 'drawbridge',
  OIDC_SCOPES: 'openid offline_access drawbridge/api',
};

function deploy(env: Record<string, string>) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return createConsoleHandler(() => composeConsole());
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('GET /.well-known/drawbridge on a deployed stage', () => {
  it('publishes the provider, both public clients and the scopes, in the shape the CLI reads', async () => {
    const handler = deploy({
      ...stage,
      OIDC_CLIENT_ID: 'drawbridge-cli',
      OIDC_CONSOLE_CLIENT_ID: 'drawbridge-console',
    });
    const response = await handler(get('/.well-known/drawbridge'));
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    const body = JSON.parse(String(response.body));
    expect(body).toEqual({
      issuer: 'https://login.example.org/realms/eng',
      clientId: 'drawbridge-cli',
      consoleClientId: 'drawbridge-console',
      audience: 'drawbridge',
      scopes: ['openid', 'offline_access', 'drawbridge/api'],
    });
    // the CLI's own schema for this document reads it whole
    expect(OidcSettings.parse(body)).toMatchObject({
      issuer: body.issuer,
      clientId: body.clientId,
    });
  });

  it('says the stage publishes none when it names no CLI client (the CLI then asks for --issuer)', async () => {
    const response = await deploy(stage)(get('/.well-known/drawbridge'));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(String(response.body))).toEqual({
      error: { code: 'not_found', message: 'this stage publishes no sign-in settings' },
    });
  });

  it('leaves the console page where it was', async () => {
    const handler = deploy({ ...stage, OIDC_CLIENT_ID: 'drawbridge-cli' });
    const response = await handler(get('/assets/no-such-file.js'));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(String(response.body)).error.message).toBe('no such console file');
  });

  it('fails at cold start, naming the setting, when a value is not what a provider issues', () => {
    for (const bad of [
      { OIDC_ISSUER: 'http://login.example.org/' },
      { OIDC_CLIENT_ID: 'drawbridge cli' },
      { OIDC_SCOPES: 'offline_access' },
    ]) {
      vi.stubEnv('OIDC_CLIENT_ID', 'drawbridge-cli');
      for (const [name, value] of Object.entries({ ...stage, ...bad })) vi.stubEnv(name, value);
      expect(() => composeConsole()).toThrow(ConfigError);
      vi.unstubAllEnvs();
    }
  });
});
