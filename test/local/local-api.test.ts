import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApi } from '../../lib/local/local-api.ts';
import { silentLogger } from '../../lib/ports/logger.ts';

let server: Server;
let url: string;
let seen: { sourceIp?: string; claims?: unknown; id?: string } = {};

beforeAll(async () => {
  ({ server, url } = await startLocalApi({
    routes: [
      {
        method: 'GET',
        path: '/sessions/{id}',
        handler: async (event) => {
          seen = {
            sourceIp: event.requestContext.http.sourceIp,
            claims: event.requestContext.authorizer.jwt.claims,
            id: event.pathParameters?.id,
          };
          return { statusCode: 200, body: '{}' };
        },
      },
      { method: 'POST', path: '/sessions', handler: async () => ({ statusCode: 202, body: '{}' }) },
    ],
    verify: async (token) => {
      if (token !== 'good.token.here') throw Object.assign(new Error('bad'), { name: 'Nope' });
      return { sub: 'alice' };
    },
    logger: silentLogger,
  }));
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const get = (path: string, token = 'good.token.here', headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });

describe('the local HTTP host', () => {
  it('passes verified claims and the TCP peer as sourceIp, never X-Forwarded-For', async () => {
    const response = await get('/sessions/s-abc', 'good.token.here', {
      'x-forwarded-for': '6.6.6.6',
    });
    expect(response.status).toBe(200);
    expect(seen).toEqual({ sourceIp: '127.0.0.1', claims: { sub: 'alice' }, id: 's-abc' });
  });

  it('answers 401 without a bearer token, before any handler runs', async () => {
    seen = {};
    const response = await fetch(`${url}/sessions/s-abc`);
    expect(response.status).toBe(401);
    expect(seen).toEqual({});
  });

  it('answers 404 (not 500) for a malformed escape in the path', async () => {
    const response = await get('/sessions/%E0%A4%A');
    expect(response.status).toBe(404);
  });

  it('answers 413 (not 500) for a body over 10 MB', async () => {
    const response = await fetch(`${url}/sessions`, {
      method: 'POST',
      headers: { authorization: 'Bearer good.token.here', 'content-type': 'application/json' },
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    }).catch(() => undefined);
    expect(response?.status).toBe(413);
  });
});
