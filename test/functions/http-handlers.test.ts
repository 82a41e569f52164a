import { beforeEach, describe, expect, it } from 'vitest';
import { createEndSessionHandler } from '../../functions/end-session.ts';
import { createGetSessionHandler } from '../../functions/get-session.ts';
import { createListSessionsHandler } from '../../functions/list-sessions.ts';
import { createRequestSessionHandler } from '../../functions/request-session.ts';
import { createSessionEventsHandler } from '../../functions/session-events.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import type { HttpEvent, HttpResult } from '../../lib/http/http-handler.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey, rsaModulus, rsaPublicKeyLine } from '../support/keys.ts';
import { proveReady } from '../support/readiness.ts';

const modulus = rsaModulus();

let world: TestWorld;
const deps = () => ({ ...world.deps, groupsClaim: 'groups' });
const endSession = createEndSessionHandler(deps);
const getSession = createGetSessionHandler(deps);
const listSessions = createListSessionsHandler(deps);
const requestSession = createRequestSessionHandler(deps);
const sessionEvents = createSessionEventsHandler(deps);
beforeEach(() => {
  world = testWorld();
});

type Handler = (event: HttpEvent, context: typeof lambdaContext) => Promise<HttpResult>;
async function call(
  handler: Handler,
  event: HttpEvent,
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  const result = await handler(event, lambdaContext);
  return {
    status: result.statusCode ?? 0,
    body: JSON.parse(result.body ?? 'null') as Record<string, unknown>,
    headers: (result.headers ?? {}) as Record<string, unknown>,
  };
}

const asUser = (sub: string, groups: string) => (event: HttpEvent) => {
  event.requestContext.authorizer.jwt.claims.sub = sub;
  event.requestContext.authorizer.jwt.claims.groups = groups;
};
const withBody = (body: string) => (event: HttpEvent) => {
  event.body = body;
};
const withId = (id: string) => (event: HttpEvent) => {
  event.pathParameters = { id };
};
const createBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    target: 'prod-db',
    durationMinutes: 30,
    reason: 'investigating INC-42',
    publicKey: ed25519PublicKey(),
    ...overrides,
  });

async function create(patch: (event: HttpEvent) => void = () => {}) {
  return call(
    requestSession,
    httpEvent('create-session', (event) => {
      delete event.headers['idempotency-key'];
      patch(event);
    }),
  );
}

describe('POST /sessions', () => {
  it('answers 202 with the id, status and links, bound to requestContext.http.sourceIp (not X-Forwarded-For)', async () => {
    const response = await call(requestSession, httpEvent('create-session'));
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({
      status: 'REQUESTED',
      target: 'prod-db',
      sourceCidr: '203.0.113.9/32',
    });
    expect(response.body.links).toEqual({
      self: `/sessions/${response.body.id}`,
      events: `/sessions/${response.body.id}/events`,
    });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(world.queue.queued).toEqual([response.body.id]);
  });

  it('replays the same session for the same Idempotency-Key and body, and refuses another body with 409', async () => {
    const first = await call(requestSession, httpEvent('create-session'));
    const again = await call(requestSession, httpEvent('create-session'));
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = await call(requestSession, httpEvent('create-session', withBody(createBody())));
    expect(other.status).toBe(409);
    expect(other.body).toEqual({
      error: { code: 'idempotency_conflict', message: expect.stringContaining('Idempotency-Key') },
    });
    expect(world.store.sessions.size).toBe(1);
  });

  it.each([
    ['malformed JSON', '{"target": "prod-db",', 400, /not valid JSON/],
    [
      'an unknown field',
      createBody({ sourceIp: '1.2.3.4' }),
      400,
      /unrecognized key.*sourceIp|sourceIp/i,
    ],
    ['a bad duration', createBody({ durationMinutes: 0 }), 400, /durationMinutes/],
    ['a fractional duration', createBody({ durationMinutes: 2.5 }), 400, /durationMinutes/],
    [
      'a duration over the target maximum',
      createBody({ durationMinutes: 121 }),
      400,
      /maximum of 120/,
    ],
    [
      'a key with options',
      createBody({ publicKey: `command="sh" ${ed25519PublicKey()}` }),
      400,
      /publicKey/,
    ],
    [
      'a 3072-bit RSA key with e = 1',
      createBody({ publicKey: rsaPublicKeyLine(Buffer.from([1]), modulus) }),
      400,
      /publicKey has RSA public exponent 1; at least 65537/,
    ],
    [
      'a 3072-bit RSA key with an even modulus',
      createBody({
        publicKey: rsaPublicKeyLine(
          Buffer.from([1, 0, 1]),
          Buffer.concat([modulus.subarray(0, -1), Buffer.from([(modulus.at(-1) ?? 0) & 0xfe])]),
        ),
      }),
      400,
      /publicKey has an even RSA modulus/,
    ],
    [
      'a reason with a line break',
      createBody({ reason: 'ok\nPermitRootLogin yes' }),
      400,
      /reason/,
    ],
    ['an unknown target', createBody({ target: 'nope' }), 400, /unknown target 'nope'/],
    ['an array body', '[]', 400, /body/],
  ])('rejects %s with a JSON 4xx that says what is wrong', async (_name, body, status, message) => {
    const response = await create(withBody(body));
    expect(response.status).toBe(status);
    const error = response.body.error as { code: string; message: string };
    expect(error.message).toMatch(message);
    expect(world.store.sessions.size).toBe(0);
  });

  it('rejects a body over 8 KB before parsing it (413)', async () => {
    const response = await create(withBody(createBody({ reason: 'x'.repeat(9000) })));
    expect(response).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('rejects a non-JSON content type (415)', async () => {
    const response = await create((event) => {
      event.headers['content-type'] = 'text/plain';
    });
    expect(response.status).toBe(415);
  });

  it('answers 403 for a target the caller\u2019s groups may not open, and 429 over quota', async () => {
    expect((await create(asUser('carol', '[dev]'))).status).toBe(403);
    await create();
    await create();
    const third = await create();
    expect(third.status).toBe(429);
    expect((third.body.error as { message: string }).message).toMatch(/2/);
  });

  it('rejects a malformed Idempotency-Key', async () => {
    const response = await call(
      requestSession,
      httpEvent('create-session', (event) => {
        event.headers['idempotency-key'] = 'bad key!';
      }),
    );
    expect(response.status).toBe(400);
  });

  it('answers 401 when the token carries no subject', async () => {
    const response = await create((event) => {
      delete event.requestContext.authorizer.jwt.claims.sub;
    });
    expect(response.status).toBe(401);
  });

  it('reveals nothing when something inside breaks (500)', async () => {
    world.store.failNextWrite = new Error(
      'ProvisionedThroughputExceededException arn:aws:dynamodb:eu-west-1:123456789012:table/secret',
    );
    const response = await create();
    expect(response).toEqual({
      status: 500,
      headers: expect.anything(),
      body: { error: { code: 'internal_error', message: 'internal error' } },
    });
  });
});

describe('GET, DELETE /sessions/{id} and the events', () => {
  async function readyForAlice(): Promise<string> {
    const created = await create();
    const id = String(created.body.id);
    await provisionSession(world.deps, id);
    const instanceId = (await world.store.get(id))?.resources.instanceId ?? '';
    const bastion = world.ec2.running.get(instanceId);
    if (bastion) bastion.state = 'running';
    const { onInstanceState } = await import('../../lib/app/observe-bastion.ts');
    await onInstanceState(world.deps, instanceId, 'running');
    await proveReady(world.deps, id);
    return id;
  }

  it('shows connection details and ready-to-paste ssh lines once READY', async () => {
    const id = await readyForAlice();
    const response = await call(getSession, httpEvent('get-session', withId(id)));
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('READY');
    const connection = response.body.connection as Record<string, string>;
    const user = (await world.store.get(id))?.linuxUser;
    const hostKey = (await world.store.get(id))?.hostKey;
    const knownHostsFile = `~/.ssh/drawbridge-${id}.known_hosts`;
    // The host key Drawbridge issued, pinned in every printed line: never trust on first use.
    expect(connection.hostKey).toBe(hostKey?.publicKey);
    expect(connection.knownHosts).toBe(`198.51.100.7 ${hostKey?.publicKey}`);
    expect(connection.hostKeyFingerprint).toBe(hostKey?.fingerprint);
    expect(connection.sshJump).toBe('ssh -J drawbridge-prod-db -p 5432 10.0.1.20');
    expect(connection.sshForward).toBe(
      `ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile} -N -L 127.0.0.1:5432:10.0.1.20:5432 -p 22 ${user}@198.51.100.7`,
    );
    expect(connection.sshConfig).toContain('LocalForward 127.0.0.1:5432 10.0.1.20:5432');
    expect(connection.sshConfig).toContain('Host drawbridge-prod-db\n');
    expect(connection.sshConfig).toContain('  StrictHostKeyChecking yes\n');
    expect(connection.sshConfig).toContain(`  UserKnownHostsFile ${knownHostsFile}\n`);
    expect(JSON.stringify(response.body)).not.toContain('accept-new');
  });

  it('answers 404 for someone else\u2019s session on every route, exactly as for a missing one', async () => {
    const id = await readyForAlice();
    const bob = asUser('bob', '[dba]');
    for (const [handler, name] of [
      [getSession, 'get-session'],
      [endSession, 'delete-session'],
      [sessionEvents, 'session-events'],
    ] as const) {
      const foreign = await call(
        handler,
        httpEvent(name, (event) => {
          withId(id)(event);
          bob(event);
        }),
      );
      const missing = await call(handler, httpEvent(name, bob));
      expect(foreign).toEqual(missing);
      expect(foreign.status).toBe(404);
    }
    expect((await world.store.get(id))?.status).toBe('READY');
  });

  it('revokes on DELETE and the events show the whole chain', async () => {
    const id = await readyForAlice();
    const ended = await call(endSession, httpEvent('delete-session', withId(id)));
    expect(ended.body).toMatchObject({ status: 'ENDED', endReason: 'revoked' });
    const events = await call(sessionEvents, httpEvent('session-events', withId(id)));
    const items = events.body.items as { type: string; prevHash: string; hash: string }[];
    expect(items.map((e) => e.type)).toEqual([
      'requested',
      'provision',
      'attach',
      'running',
      'ready',
      'end',
      'ended',
    ]);
    for (const [index, event] of items.slice(1).entries()) {
      expect(event.prevHash).toBe(items[index]?.hash);
    }
  });
});

describe('GET /sessions', () => {
  it('lists only the caller\u2019s sessions and pages through them', async () => {
    await create();
    await create();
    await create(asUser('bob', '[dba]'));
    const page1 = await call(
      listSessions,
      httpEvent('list-sessions', (event) => {
        event.queryStringParameters = { limit: '1' };
      }),
    );
    expect((page1.body.items as unknown[]).length).toBe(1);
    expect(page1.body.cursor).toBeDefined();
    const page2 = await call(
      listSessions,
      httpEvent('list-sessions', (event) => {
        event.queryStringParameters = { limit: '1', cursor: String(page1.body.cursor) };
      }),
    );
    const owners = [
      ...(page1.body.items as { owner: string }[]),
      ...(page2.body.items as { owner: string }[]),
    ].map((s) => s.owner);
    expect(owners).toEqual(['alice', 'alice']);
  });

  it('lets admins list everyone\u2019s with filters, and refuses others with 403', async () => {
    await create();
    await create(asUser('bob', '[dba]'));
    const denied = await call(
      listSessions,
      httpEvent('list-sessions', (event) => {
        event.queryStringParameters = { all: 'true' };
      }),
    );
    expect(denied.status).toBe(403);
    const admin = await call(
      listSessions,
      httpEvent('list-sessions', (event) => {
        asUser('root', '[drawbridge-admins]')(event);
        event.queryStringParameters = { all: 'true', owner: 'bob' };
      }),
    );
    expect((admin.body.items as { owner: string }[]).map((s) => s.owner)).toEqual(['bob']);
  });

  it('rejects unknown query parameters', async () => {
    const response = await call(
      listSessions,
      httpEvent('list-sessions', (event) => {
        event.queryStringParameters = { sort: 'asc' };
      }),
    );
    expect(response.status).toBe(400);
  });
});
