import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../lib/http/openapi.ts';
import { ROUTES } from '../../lib/local/local-orchestrator.ts';

const root = new URL('../../', import.meta.url);
const document = buildOpenApi();
const paths = document.paths as Record<string, Record<string, unknown>>;

describe('the OpenAPI document', () => {
  it('is committed up to date (run npm run openapi after changing a schema)', () => {
    expect(JSON.parse(readFileSync(new URL('openapi.json', root), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(document)),
    );
  });

  it('documents every route serverless.yml deploys and local mode serves', () => {
    const all = [
      ...readFileSync(new URL('serverless.yml', root), 'utf8').matchAll(
        /httpApi: \{ method: (\w+), path: (?:'([^']+)'|([^,\s}]+))(,\s*authorizer)?/g,
      ),
    ].map(([, method, quoted, bare, authorized]) => ({
      route: `${String(method).toLowerCase()} ${quoted ?? bare}`,
      authorized: authorized !== undefined,
    }));
    // The API is every route behind the JWT authorizer; the only public routes are the
    // console's static page and assets, which are not part of the JSON API, and where to sign
    // in, which is (documented with no security requirement).
    expect(all.filter((r) => !r.authorized).map((r) => r.route)).toEqual([
      'get /',
      'get /assets/{file}',
      'get /.well-known/drawbridge',
    ]);
    expect(paths['/.well-known/drawbridge']?.get).toMatchObject({ security: [] });
    const deployed = all.filter((r) => r.authorized).map((r) => r.route);
    const local = ROUTES.map((route) => `${route.method.toLowerCase()} ${route.path}`);
    expect(deployed.length).toBeGreaterThan(5);
    for (const route of new Set([...deployed, ...local])) {
      const [method = '', path = ''] = route.split(' ');
      expect(paths[path]?.[method], route).toBeDefined();
    }
  });

  it('carries the same rules the handlers enforce: strict bodies, bounded fields', () => {
    const post = paths['/sessions']?.post as
      | { requestBody: { content: { 'application/json': { schema: Record<string, unknown> } } } }
      | undefined;
    const body = post?.requestBody.content['application/json'].schema ?? {};
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(expect.arrayContaining(['target', 'reason', 'publicKey']));
    expect((body.properties as Record<string, { maxLength?: number }>).publicKey?.maxLength).toBe(
      4096,
    );
  });

  it('documents a recorded session as a shell (sshShell), never a jump or forward, and its recording policy', () => {
    const schemas = (document.components as { schemas: Record<string, Record<string, unknown>> })
      .schemas;
    const recorded = schemas.RecordedConnection ?? {};
    const properties = Object.keys(recorded.properties as object);
    expect(recorded.required).toEqual(expect.arrayContaining(['recorded', 'sshShell']));
    expect(properties).not.toContain('sshJump');
    expect(properties).not.toContain('sshForward');
    expect(schemas.TunnelConnection?.required).toEqual(
      expect.arrayContaining(['sshJump', 'sshForward']),
    );
    const session = schemas.Session?.properties as Record<string, Record<string, unknown>>;
    expect(session.connection?.oneOf).toHaveLength(2);
    expect(session.recordingPolicy).toEqual({ $ref: '#/components/schemas/RecordingPolicy' });
    expect(schemas.RecordingPolicy?.required).toEqual(['mode', 'input']);
  });

  it("documents each target's recording terms with the session view's RecordingPolicy schema", () => {
    const get = paths['/targets']?.get as {
      responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }>;
    };
    const list = get.responses['200']?.content['application/json']?.schema as {
      properties: { items: { items: { properties: Record<string, unknown>; required: string[] } } };
    };
    const item = list.properties.items.items;
    expect(item.properties.recordingPolicy).toEqual({
      $ref: '#/components/schemas/RecordingPolicy',
    });
    expect(item.required).toContain('recordingPolicy');
  });
});
