// Audit verification against a real table (dynalite): the trail is tampered with the way
// someone with write access to the table would, and the verifier must say where.
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createVerifyAuditHandler } from '../../functions/verify-audit.ts';
import { checkTrail, verifySessionAudit } from '../../lib/app/verify-audit.ts';
import { itemKey } from '../../lib/aws/table-definition.ts';
import { NotFoundError } from '../../lib/domain/errors.ts';
import { transition } from '../../lib/domain/lifecycle.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import { useDynamo } from '../support/dynamo.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { testPolicy, testWorld } from '../support/fakes.ts';
import { makeSession } from '../support/sessions.ts';

const db = useDynamo();
const alice: Identity = { subject: 'alice', groups: ['dba'] };
const bob: Identity = { subject: 'bob', groups: ['dba'] };
const admin: Identity = { subject: 'root', groups: ['drawbridge-admins'] };

/** A session with six events: requested, provision, ready, end, ended... as the use cases write them. */
async function endedSession(): Promise<Session> {
  let { session } = await db.store.create(makeSession({ owner: 'alice' }), {
    quota: 5,
    event: { type: 'requested', actor: 'alice', detail: { target: 'prod-db' } },
  });
  const steps = [
    { type: 'provision' as const },
    { type: 'attach' as const, resources: { instanceId: 'i-0123456789abcdef0' } },
    {
      type: 'ready' as const,
      connection: { bastionHost: '198.51.100.7', bastionPort: 22, linuxUser: session.linuxUser },
    },
    { type: 'end' as const, reason: 'revoked' as const },
    { type: 'ended' as const },
  ];
  for (const step of steps) {
    db.clock.advance(1_000);
    const next = transition(session, step, db.clock.now());
    ({ session } = await db.store.transition(session, next, {
      type: step.type,
      actor: 'drawbridge',
      detail: { step: step.type },
    }));
  }
  return session;
}

const deps = () => ({ policy: testPolicy(), store: db.store });
const eventKey = (session: Session, seq: number) => ({
  TableName: db.tableName,
  Key: itemKey.event(session.id, seq),
});

async function readEvent(session: Session, seq: number): Promise<Record<string, unknown>> {
  const { Item } = await db.documentClient.send(new GetCommand(eventKey(session, seq)));
  if (!Item) throw new Error(`no event ${seq}`);
  return Item;
}

describe('audit verify', () => {
  it('finds an untouched trail intact, for the owner and for an admin', async () => {
    const session = await endedSession();
    const result = await verifySessionAudit(deps(), alice, session.id);
    expect(result).toEqual({
      sessionId: session.id,
      intact: true,
      events: 6,
      expectedEvents: 6,
    });
    expect((await verifySessionAudit(deps(), admin, session.id)).intact).toBe(true);
    await expect(verifySessionAudit(deps(), bob, session.id)).rejects.toThrow(NotFoundError);
  });

  it('detects a changed event', async () => {
    const session = await endedSession();
    await db.documentClient.send(
      new UpdateCommand({
        ...eventKey(session, 3),
        UpdateExpression: 'SET actor = :who',
        ExpressionAttributeValues: { ':who': 'nobody' },
      }),
    );
    expect(await verifySessionAudit(deps(), alice, session.id)).toMatchObject({
      intact: false,
      brokenAt: 3,
      problem: expect.stringContaining('was changed'),
    });
  });

  it('detects a removed event in the middle and at the end', async () => {
    const middle = await endedSession();
    await db.documentClient.send(new DeleteCommand(eventKey(middle, 2)));
    expect(await verifySessionAudit(deps(), alice, middle.id)).toMatchObject({
      intact: false,
      brokenAt: 2,
      events: 5,
      problem: expect.stringContaining('removed or the trail reordered'),
    });

    // The chain of what is left is perfect; only the head the session recorded tells.
    const tail = await endedSession();
    await db.documentClient.send(new DeleteCommand(eventKey(tail, 6)));
    expect(await verifySessionAudit(deps(), alice, tail.id)).toMatchObject({
      intact: false,
      brokenAt: 6,
      events: 5,
      expectedEvents: 6,
      problem: expect.stringContaining('events were removed'),
    });
  });

  it('detects reordered events, whether their seq numbers were swapped too or not', async () => {
    const swapped = await endedSession();
    const [third, fourth] = [await readEvent(swapped, 3), await readEvent(swapped, 4)];
    // bodies exchanged between the two items, keys and seq left in place...
    await db.documentClient.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...fourth, ...itemKey.event(swapped.id, 3), seq: 3 },
      }),
    );
    await db.documentClient.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...third, ...itemKey.event(swapped.id, 4), seq: 4 },
      }),
    );
    expect(await verifySessionAudit(deps(), alice, swapped.id)).toMatchObject({
      intact: false,
      brokenAt: 3,
    });

    // ...or whole items moved, seq and all
    const moved = await endedSession();
    const [second, fifth] = [await readEvent(moved, 2), await readEvent(moved, 5)];
    await db.documentClient.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...fifth, ...itemKey.event(moved.id, 2) },
      }),
    );
    await db.documentClient.send(
      new PutCommand({
        TableName: db.tableName,
        Item: { ...second, ...itemKey.event(moved.id, 5) },
      }),
    );
    expect(await verifySessionAudit(deps(), alice, moved.id)).toMatchObject({
      intact: false,
      brokenAt: 2,
      problem: expect.stringContaining('position 2 holds event 5'),
    });
  });

  it('detects an event appended after the head, and one from another session', async () => {
    const session = await endedSession();
    const events = await db.store.listEvents(session.id);
    const last = events.at(-1);
    if (!last) throw new Error('no events');
    expect(checkTrail({ ...session, auditSeq: 5 }, events)).toMatchObject({
      intact: false,
      problem: expect.stringContaining('added or replaced'),
    });
    expect(
      checkTrail(session, [...events.slice(0, -1), { ...last, sessionId: 's-other' }]),
    ).toMatchObject({
      intact: false,
      brokenAt: 6,
      problem: expect.stringContaining('another session'),
    });
  });

  it('answers GET /sessions/{id}/audit', async () => {
    const session = await endedSession();
    const world = testWorld();
    const verifyAuditHandler = createVerifyAuditHandler(() => ({
      ...world.deps,
      store: db.store,
      groupsClaim: 'groups',
    }));
    const result = await verifyAuditHandler(
      httpEvent('verify-audit', (event) => {
        event.pathParameters = { id: session.id };
        event.requestContext.authorizer.jwt.claims.sub = 'alice';
      }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ intact: true, events: 6 });
  });
});
