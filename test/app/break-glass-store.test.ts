// The DynamoDB store's part of issue 5, on dynalite: break-glass quota on its own counter,
// the review written in the session's transaction, reviews listed from the byCreated index,
// and the byDue index following approvals and "expiring soon" notices.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { itemKey } from '../../lib/aws/table-definition.ts';
import { closeReview, openReview } from '../../lib/domain/break-glass.ts';
import { dueAtFor } from '../../lib/domain/due.ts';
import { ConflictError, QuotaExceededError } from '../../lib/domain/errors.ts';
import { type LifecycleEvent, transition } from '../../lib/domain/lifecycle.ts';
import type { Session } from '../../lib/domain/session.ts';
import { useDynamo } from '../support/dynamo.ts';
import { makeSession } from '../support/sessions.ts';

const dynamo = useDynamo();
const MINUTE = 60_000;
const event = { type: 'requested', actor: 'carol' };

const breakGlassSession = (overrides: Partial<Session> = {}) =>
  makeSession({
    owner: 'carol',
    breakGlass: true,
    incidentId: 'INC-5',
    quotaKind: 'break-glass',
    notify: ['granted', 'ended'],
    ...overrides,
  });

async function step(session: Session, lifecycle: LifecycleEvent) {
  const next = transition(session, lifecycle, dynamo.clock.now());
  return (await dynamo.store.transition(session, next, { type: lifecycle.type, actor: 'x' }))
    .session;
}

async function counter(owner: string, kind?: 'standard' | 'break-glass') {
  const { Item } = await dynamo.documentClient.send(
    new GetCommand({ TableName: dynamo.tableName, Key: itemKey.quota(owner, kind) }),
  );
  return Item?.active as number | undefined;
}

describe('break-glass quota', () => {
  it('counts on its own counter, refused only by its own quota, and given back on its own', async () => {
    await dynamo.store.create(makeSession({ owner: 'carol' }), { quota: 1, event });
    await expect(
      dynamo.store.create(makeSession({ owner: 'carol' }), { quota: 1, event }),
    ).rejects.toThrow(QuotaExceededError);
    const first = breakGlassSession();
    const { session } = await dynamo.store.create(first, {
      quota: 1,
      event,
      review: openReview(first),
    });
    expect(await counter('carol')).toBe(1);
    expect(await counter('carol', 'break-glass')).toBe(1);
    const second = breakGlassSession();
    await expect(
      dynamo.store.create(second, { quota: 1, event, review: openReview(second) }),
    ).rejects.toThrow('live break-glass session');
    // The refused request left no review behind: it was part of the cancelled transaction.
    expect(await dynamo.store.getReview(second.id)).toBeUndefined();

    const failed = await step(session, { type: 'fail', reason: 'test' });
    expect(failed.status).toBe('FAILED');
    expect(await counter('carol', 'break-glass')).toBe(0);
    expect(await counter('carol')).toBe(1);
  });

  it('an owner named "x#break-glass" does not share x\'s break-glass counter', async () => {
    const tricky = makeSession({ owner: 'carol#break-glass' });
    await dynamo.store.create(tricky, { quota: 1, event });
    const real = breakGlassSession();
    await expect(
      dynamo.store.create(real, { quota: 1, event, review: openReview(real) }),
    ).resolves.toMatchObject({ replayed: false });
  });

  it('round-trips every new session field', async () => {
    const session = breakGlassSession({
      approval: {
        approverGroups: ['leads'],
        deadline: 5,
        decidedBy: 'bob',
        decidedAt: 4,
        comment: 'ok',
      },
      extendedMinutes: 15,
      expiryWarningAt: 123,
    });
    await dynamo.store.create(session, { quota: 1, event, review: openReview(session) });
    expect(await dynamo.store.get(session.id)).toMatchObject({
      breakGlass: true,
      incidentId: 'INC-5',
      quotaKind: 'break-glass',
      notify: ['granted', 'ended'],
      approval: session.approval,
      extendedMinutes: 15,
      expiryWarningAt: 123,
    });
  });
});

describe('reviews in the table', () => {
  it('are listed newest first by status from the byCreated index, and stay out of the owner index', async () => {
    const ids: string[] = [];
    for (const minute of [0, 1, 2]) {
      const session = breakGlassSession({ createdAt: dynamo.clock.now() + minute * MINUTE });
      await dynamo.store.create(session, { quota: 5, event, review: openReview(session) });
      ids.push(session.id);
    }
    const review = await dynamo.store.getReview(ids[0] ?? '');
    if (!review) throw new Error('no review');
    await dynamo.store.closeReview(
      closeReview(review, { verdict: 'appropriate', comment: 'fine' }, 'erin', dynamo.clock.now()),
    );
    const open = await dynamo.store.listReviews({ status: 'open', limit: 10 });
    expect(open.items.map((r) => r.sessionId)).toEqual([ids[2], ids[1]]);
    const reviewed = await dynamo.store.listReviews({ status: 'reviewed', limit: 10 });
    expect(reviewed.items).toEqual([
      expect.objectContaining({ sessionId: ids[0], verdict: 'appropriate', reviewedBy: 'erin' }),
    ]);
    // Paging with the store's cursor.
    const page = await dynamo.store.listReviews({ status: 'open', limit: 1 });
    expect(page.items.map((r) => r.sessionId)).toEqual([ids[2]]);
    const next = await dynamo.store.listReviews({ status: 'open', limit: 1, cursor: page.cursor });
    expect(next.items.map((r) => r.sessionId)).toEqual([ids[1]]);
    // Open reviews older than a moment (usage: "open reviews older than N days").
    const older = await dynamo.store.listReviews({
      status: 'open',
      limit: 10,
      requestedBefore: dynamo.clock.now() + 2 * MINUTE,
    });
    expect(older.items.map((r) => r.sessionId)).toEqual([ids[1]]);
    // The owner index still lists only sessions (a review item would not parse as one).
    const mine = await dynamo.store.listByOwner('carol', { limit: 10 });
    expect(mine.items).toHaveLength(3);
  });

  it('closes once: a second close is a conflict', async () => {
    const session = breakGlassSession();
    await dynamo.store.create(session, { quota: 5, event, review: openReview(session) });
    const closed = closeReview(
      openReview(session),
      { verdict: 'inappropriate', comment: 'no' },
      'erin',
      1,
    );
    await dynamo.store.closeReview(closed);
    await expect(dynamo.store.closeReview(closed)).rejects.toThrow(ConflictError);
    await expect(
      dynamo.store.closeReview({ ...closed, sessionId: 's-aaaaaaaaaaaaaaaaaaaa' }),
    ).rejects.toThrow(ConflictError);
  });
});

describe('the byDue index', () => {
  it('holds a pending request until its approval deadline and a READY one until its notice, then its end', async () => {
    const now = dynamo.clock.now();
    const pending = makeSession({
      status: 'PENDING_APPROVAL',
      approval: { approverGroups: ['leads'], deadline: now + 15 * MINUTE },
    });
    expect(dueAtFor(pending)).toBe(now + 15 * MINUTE);
    await dynamo.store.create(pending, { quota: 5, event });
    expect(await dynamo.store.listDue(now + 15 * MINUTE - 1, 10)).toEqual([]);
    expect((await dynamo.store.listDue(now + 15 * MINUTE, 10)).map((s) => s.id)).toEqual([
      pending.id,
    ]);
    const ready = makeSession({
      status: 'READY',
      readyAt: now,
      expiresAt: now + 30 * MINUTE,
      expiryWarningAt: now + 25 * MINUTE,
    });
    expect(dueAtFor(ready)).toBe(now + 25 * MINUTE);
    expect(dueAtFor({ ...ready, expiryWarningAt: undefined })).toBe(now + 30 * MINUTE);
  });
});
