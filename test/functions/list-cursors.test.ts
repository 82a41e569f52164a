import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createListReviewsHandler } from '../../functions/list-reviews.ts';
import { createListSessionsHandler } from '../../functions/list-sessions.ts';
import type { HttpEvent } from '../../lib/http/http-handler.ts';
import { useDynamo } from '../support/dynamo.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { testWorld } from '../support/fakes.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

// The handlers on the real store (dynalite): the 500 lived in the DynamoDB marshaller.
const dynamo = useDynamo();
const deps = () => ({ ...testWorld().deps, store: dynamo.store, groupsClaim: 'groups' });
const listSessions = createListSessionsHandler(deps);
const listReviews = createListReviewsHandler(deps);
beforeEach(async () => {
  for (const owner of ['alice', 'bob']) {
    for (let index = 0; index < 3; index += 1) {
      await dynamo.store.create(makeSession({ owner, createdAt: BASE_TIME + index * 60_000 }), {
        quota: 5,
        event: { type: 'requested', actor: owner },
      });
    }
  }
});

const cursorOf = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

async function list(
  name: 'list-sessions' | 'reviews-list',
  query: Record<string, string>,
  sub = 'alice',
  groups = '[dba]',
) {
  const event = httpEvent(name, (e: HttpEvent) => {
    e.queryStringParameters = query;
    e.requestContext.authorizer.jwt.claims.sub = sub;
    e.requestContext.authorizer.jwt.claims.groups = groups;
  });
  const result = await (name === 'list-sessions' ? listSessions : listReviews)(
    event,
    lambdaContext,
  );
  return {
    status: result.statusCode ?? 0,
    body: JSON.parse(result.body ?? 'null') as { error?: { code: string; message: string } },
  };
}

const huge = cursorOf({
  pk: 'SESSION#s-0123456789abcdefghjk',
  sk: 'SESSION',
  owner: 'alice',
  createdAt: 1e38,
});

describe('list cursors over HTTP', () => {
  it.each([
    ['GET /sessions', {}],
    ['GET /sessions?status=', { status: 'REQUESTED' }],
  ])('%s with a cursor holding createdAt 1e38 answers 400 invalid cursor', async (_, extra) => {
    const response = await list('list-sessions', { cursor: huge, ...extra });
    expect(response.status).toBe(400);
    expect(response.body.error?.message).toMatch(/^invalid cursor/);
  });

  it('GET /sessions?all=true (admin) and GET /reviews refuse a crafted cursor with 400', async () => {
    const hugeCreated = cursorOf({
      pk: 'SESSION#s-0123456789abcdefghjk',
      sk: 'SESSION',
      kind: 'session',
      createdAt: 1e38,
    });
    const admin = ['root', '[drawbridge-admins]'] as const;
    expect(
      (await list('list-sessions', { all: 'true', cursor: hugeCreated }, ...admin)).status,
    ).toBe(400);
    const hugeReview = cursorOf({
      pk: 'REVIEW#s-0123456789abcdefghjk',
      sk: 'REVIEW',
      kind: 'review-open',
      createdAt: 1e38,
    });
    const reviews = await list('reviews-list', { status: 'open', cursor: hugeReview }, ...admin);
    expect(reviews.status).toBe(400);
    expect(reviews.body.error?.message).toMatch(/^invalid cursor/);
  });

  it("answers bob's cursor on alice's listing with 400, not bob's sessions", async () => {
    const bobs = await list('list-sessions', { limit: '1' }, 'bob');
    const cursor = (bobs.body as { cursor?: string }).cursor ?? '';
    expect(cursor).not.toBe('');
    expect((await list('list-sessions', { cursor })).status).toBe(400);
  });

  it('answers random cursors with 200 or 400, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map(cursorOf),
          fc
            .record({
              pk: fc.oneof(fc.string(), fc.constant('SESSION#s-0123456789abcdefghjk')),
              sk: fc.constantFrom('SESSION', 'REVIEW'),
              owner: fc.constantFrom('alice', 'alice', 'bob'),
              createdAt: fc.oneof(fc.double(), fc.integer(), fc.constantFrom(1e38, -1e38, 2 ** 60)),
            })
            .map(cursorOf),
          fc.string({ maxLength: 300 }),
        ),
        async (cursor) => {
          const { status } = await list('list-sessions', { cursor, status: 'REQUESTED' });
          expect([200, 400]).toContain(status);
        },
      ),
      { numRuns: 120 },
    );
  });
});
