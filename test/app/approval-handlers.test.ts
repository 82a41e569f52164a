// The issue-5 HTTP routes through the real middy stack, on the fixtures in events/http.
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApproveSessionHandler } from '../../functions/approve-session.ts';
import { createDenySessionHandler } from '../../functions/deny-session.ts';
import { createExtendSessionHandler } from '../../functions/extend-session.ts';
import { createListReviewsHandler } from '../../functions/list-reviews.ts';
import { createRequestSessionHandler } from '../../functions/request-session.ts';
import { createReviewSessionHandler } from '../../functions/review-session.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import type { HttpEvent, HttpResult } from '../../lib/http/http-handler.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import type { TestWorld } from '../support/fakes.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';
import { lifecycleWorld } from './break-glass-world.ts';

let world: TestWorld;
const deps = () => ({ ...world.deps, groupsClaim: 'groups' });
const approveHandler = createApproveSessionHandler(deps);
const denyHandler = createDenySessionHandler(deps);
const extendHandler = createExtendSessionHandler(deps);
const listReviewsHandler = createListReviewsHandler(deps);
const requestHandler = createRequestSessionHandler(deps);
const reviewHandler = createReviewSessionHandler(deps);
beforeEach(() => {
  world = lifecycleWorld();
});

type Handler = (event: HttpEvent, context: typeof lambdaContext) => Promise<HttpResult>;
async function call(handler: Handler, event: HttpEvent) {
  const result = await handler(event, lambdaContext);
  return {
    status: result.statusCode ?? 0,
    body: JSON.parse(result.body ?? 'null') as Record<string, unknown>,
  };
}

/** The caller, as API Gateway flattens the claims: strings, groups as "[a b]". */
const as =
  (sub: string, groups: string[], mfa = true) =>
  (event: HttpEvent) => {
    const claims = event.requestContext.authorizer.jwt.claims;
    claims.sub = sub;
    claims.groups = `[${groups.join(' ')}]`;
    claims.auth_time = String(Math.floor(world.clock.now() / 1000));
    claims.amr = mfa ? '[pwd mfa]' : '[pwd]';
  };
const on = (id: string) => (event: HttpEvent) => {
  event.pathParameters = { id };
};
const body = (value: unknown) => (event: HttpEvent) => {
  event.body = typeof value === 'string' ? value : JSON.stringify(value);
  event.headers['content-type'] = 'application/json';
};
const both =
  (...patches: ((event: HttpEvent) => void)[]) =>
  (event: HttpEvent) => {
    for (const patch of patches) patch(event);
  };

async function create(sub: string, groups: string[], extra: Record<string, unknown>) {
  return call(
    requestHandler,
    httpEvent(
      'create-session',
      both(
        as(sub, groups),
        body({ reason: 'db down', publicKey: ALICE_PUBLIC_KEY, ...extra }),
        (event) => {
          delete event.headers['idempotency-key'];
        },
      ),
    ),
  );
}

describe('POST /sessions with breakGlass', () => {
  it('answers 202 with the break-glass fields and whether the alert went out', async () => {
    const response = await create('carol', ['oncall'], {
      target: 'prod-db',
      breakGlass: true,
      incidentId: 'INC-42',
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ breakGlass: true, incidentId: 'INC-42', alert: 'sent' });
    world.notifier.failPublish = new Error('down');
    world.store.sessions.clear();
    world.store.active.clear();
    const again = await create('carol', ['oncall'], {
      target: 'prod-db',
      breakGlass: true,
      incidentId: 'INC-42',
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({
      alert: 'failed',
      notices: [expect.stringContaining('tell your security channel yourself')],
    });
  });

  it('403 for a non-member, 400 for an unknown field, 401 without MFA', async () => {
    expect(
      (await create('dave', ['dba'], { target: 'prod-db', breakGlass: true, incidentId: 'INC-1' }))
        .status,
    ).toBe(403);
    expect(
      (await create('carol', ['oncall'], { target: 'prod-db', breakGlass: 'yes' })).status,
    ).toBe(400);
    const noMfa = await call(
      requestHandler,
      httpEvent(
        'create-session',
        both(
          as('carol', ['oncall'], false),
          body({
            target: 'prod-db',
            reason: 'x y z',
            publicKey: ALICE_PUBLIC_KEY,
            breakGlass: true,
            incidentId: 'INC-1',
          }),
        ),
      ),
    );
    expect(noMfa.status).toBe(401);
    expect(noMfa.body).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringContaining('sign in again with MFA') },
    });
  });
});

describe('POST /sessions/{id}/approve and /deny', () => {
  it('approver approves (202, REQUESTED); the requester gets 403; a stranger 404', async () => {
    const created = await create('alice', ['dba'], { target: 'payments' });
    expect(created.body.status).toBe('PENDING_APPROVAL');
    const id = String(created.body.id);
    const own = await call(
      approveHandler,
      httpEvent('approve-session', both(as('alice', ['dba', 'leads']), on(id))),
    );
    expect(own.status).toBe(403);
    const stranger = await call(
      approveHandler,
      httpEvent('approve-session', both(as('mallory', ['dba']), on(id))),
    );
    expect(stranger.status).toBe(404);
    const approved = await call(
      approveHandler,
      httpEvent('approve-session', both(as('bob', ['leads']), on(id))),
    );
    expect(approved.status).toBe(202);
    expect(approved.body).toMatchObject({
      status: 'REQUESTED',
      approval: { decidedBy: 'bob', comment: 'approved for the INC-42 fix' },
    });
    expect(world.queue.queued).toEqual([id]);
  });

  it('deny works with no body at all', async () => {
    const created = await create('alice', ['dba'], { target: 'payments' });
    const denied = await call(
      denyHandler,
      httpEvent(
        'deny-session',
        both(as('bob', ['leads']), on(String(created.body.id)), (event) => {
          delete event.body;
        }),
      ),
    );
    expect(denied.status).toBe(200);
    expect(denied.body).toMatchObject({ status: 'ENDED', endReason: 'denied' });
  });
});

describe('POST /sessions/{id}/extend', () => {
  it('extends a READY session and refuses past the maximum with a 400 that says how much is left', async () => {
    const created = await create('alice', ['dev'], { target: 'demo', durationMinutes: 30 });
    const id = String(created.body.id);
    await provisionSession(world.deps, id);
    const ok = await call(
      extendHandler,
      httpEvent('extend-session', both(as('alice', ['dev']), on(id))),
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'READY', durationMinutes: 45, extendedMinutes: 15 });
    const tooMuch = await call(
      extendHandler,
      httpEvent(
        'extend-session',
        both(as('alice', ['dev']), on(id), body({ byMinutes: 16, reason: 'more' })),
      ),
    );
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body).toMatchObject({
      error: { message: expect.stringContaining('at most 15 more') },
    });
  });

  it('property: any body is a 2xx or a 4xx, never a 5xx', async () => {
    const created = await create('alice', ['dev'], { target: 'demo', durationMinutes: 5 });
    const id = String(created.body.id);
    await provisionSession(world.deps, id);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .record({
              byMinutes: fc.oneof(fc.integer(), fc.double(), fc.string()),
              reason: fc.string(),
            })
            .map((v) => JSON.stringify(v)),
        ),
        async (text) => {
          const response = await call(
            extendHandler,
            httpEvent('extend-session', both(as('alice', ['dev']), on(id), body(text))),
          );
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('GET /reviews and POST /reviews/{id}', () => {
  it('admins list and close reviews; others get 403', async () => {
    const created = await create('carol', ['oncall'], {
      target: 'prod-db',
      breakGlass: true,
      incidentId: 'INC-42',
    });
    const id = String(created.body.id);
    const forbidden = await call(
      listReviewsHandler,
      httpEvent('reviews-list', as('carol', ['oncall'])),
    );
    expect(forbidden.status).toBe(403);
    const listed = await call(
      listReviewsHandler,
      httpEvent('reviews-list', as('erin', ['drawbridge-admins'])),
    );
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({
      items: [
        {
          sessionId: id,
          status: 'open',
          requester: 'carol',
          incidentId: 'INC-42',
          links: { session: `/sessions/${id}` },
        },
      ],
    });
    const closed = await call(
      reviewHandler,
      httpEvent('reviews-close', both(as('erin', ['drawbridge-admins']), on(id))),
    );
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({
      status: 'reviewed',
      verdict: 'appropriate',
      reviewedBy: 'erin',
    });
    const again = await call(
      reviewHandler,
      httpEvent('reviews-close', both(as('erin', ['drawbridge-admins']), on(id))),
    );
    expect(again.status).toBe(409);
    const badVerdict = await call(
      reviewHandler,
      httpEvent(
        'reviews-close',
        both(as('erin', ['drawbridge-admins']), on(id), body({ verdict: 'meh', comment: 'abc' })),
      ),
    );
    expect(badVerdict.status).toBe(400);
    const badQuery = await call(
      listReviewsHandler,
      httpEvent(
        'reviews-list',
        both(as('erin', ['drawbridge-admins']), (event) => {
          event.queryStringParameters = { status: 'maybe' };
        }),
      ),
    );
    expect(badQuery.status).toBe(400);
  });
});
