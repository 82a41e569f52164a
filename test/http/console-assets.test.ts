import { mkdir, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { dirname, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../lib/composition/routes.ts';
import { consoleFilePath, contentSecurityPolicy } from '../../lib/http/console-assets.ts';
import { startLocalApi } from '../../lib/local/local-api.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { tempDir } from '../support/local-mode.ts';

let server: Server;
let url: string;
let dir: string;
const SECRET = 'secret-outside-the-console';

beforeAll(async () => {
  const root = await tempDir('console');
  dir = join(root, 'console');
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(dir, 'assets', 'app-ABC.js'), 'console.log(1)');
  await writeFile(join(dir, 'assets', 'styles-ABC.css'), 'body{}');
  await writeFile(join(dir, 'assets', '.hidden.js'), SECRET);
  await writeFile(join(root, 'secret.js'), SECRET);
  await writeFile(join(dir, 'secret.js'), SECRET);
  ({ server, url } = await startLocalApi({
    routes: [
      { method: 'GET', path: '/sessions', handler: async () => ({ statusCode: 200, body: '[]' }) },
      ...consoleRoutes(dir),
    ],
    verify: async () => {
      throw Object.assign(new Error('no'), { name: 'UnauthorizedError' });
    },
    logger: silentLogger,
  }));
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** A request with the path exactly as written (fetch would normalise dot segments away). */
function raw(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const call = request({ hostname, port, path, method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.on('error', reject);
    call.end();
  });
}

describe('the console, served by local mode', () => {
  it('serves the page at / with a strict Content-Security-Policy and no caching of the page', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/https?:/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves hashed assets with their content type, cached for a year', async () => {
    const script = await fetch(`${url}/assets/app-ABC.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe('console.log(1)');
    const styles = await fetch(`${url}/assets/styles-ABC.css`);
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(styles.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it.each([
    '/assets/../secret.js',
    '/assets/..%2fsecret.js',
    '/assets/%2e%2e%2fsecret.js',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.js',
    '/assets/..%5csecret.js',
    '/assets/.hidden.js',
    '/assets/%2ehidden.js',
    '/../secret.js',
    '/secret.js',
    '/assets/',
    '/assets/missing.js',
    '/assets/app-ABC.exe',
  ])('refuses %s without reading anything outside the build', async (path) => {
    const response = await raw(path);
    expect(response.status).toBe(404);
    expect(response.body).not.toContain(SECRET);
  });

  it('still asks a token of every API route', async () => {
    expect((await fetch(`${url}/sessions`)).status).toBe(401);
  });

  it('maps no path, however written, outside index.html and assets/', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((tail) => `/assets/${tail}`),
        ),
        (path) => {
          const file = consoleFilePath(dir, path);
          if (file === undefined) return;
          const inside = relative(dir, file);
          expect(
            inside === 'index.html' ||
              (dirname(inside) === 'assets' && !inside.slice(7).startsWith('.')),
          ).toBe(true);
        },
      ),
    );
  });

  it('lets the page fetch from the identity provider only when it is another origin', () => {
    expect(contentSecurityPolicy(['https://login.example.org'])).toContain(
      "connect-src 'self' https://login.example.org",
    );
  });
});
