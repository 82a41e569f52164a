import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  CorruptItemError,
  DynamoDbSessionStore,
  SessionStoreError,
} from '../../lib/aws/dynamodb-session-store.ts';
import { itemKey } from '../../lib/aws/table-definition.ts';
import { GENESIS_HASH, verifyChain } from '../../lib/domain/audit.ts';
import {
  DrawbridgeError,
  IdempotencyConflictError,
  QuotaExceededError,
  StaleSessionError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import { type LifecycleEvent, transition } from '../../lib/domain/lifecycle.ts';
import type { Session } from '../../lib/domain/session.ts';
import type { AuditDraft } from '../../lib/ports/session-store.ts';
import { ManualClock, useDynamo } from '../support/dynamo.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

const dynamo = useDynamo({ retentionDays: 30 });

const MINUTE = 60_000;
const requested: AuditDraft = { type: 'requested', actor: 'alice', detail: { target: 'prod-db' } };
const connection = { bastionHost: '127.0.0.1', bastionPort: 2222, linuxUser: 'db-x' };

async function create(overrides: Partial<Session> = {}, quota = 5) {
  const session = makeSession(overrides);
  const result = await dynamo.store.create(session, {
    quota,
    event: { ...requested, actor: session.owner },
  });
  return result.session;
}

/** Moves a stored session through the domain lifecycle and persists the step. */
async function step(session: Session, event: LifecycleEvent, actor = 'drawbridge') {
  const next = transition(session, event, dynamo.clock.now());
  const { session: stored } = await dynamo.store.transition(session, next, {
    type: event.type,
    actor,
  });
  return stored;
}

async function end(session: Session) {
  const ending = await step(session, { type: 'end', reason: 'revoked' }, session.owner);
  return step(ending, { type: 'ended' });
}

async function rawItem(key: { pk: string; sk: string }) {
  const { Item } = await dynamo.documentClient.send(
    new GetCommand({ TableName: dynamo.tableName, Key: key, ConsistentRead: true }),
  );
  return Item;
}

const settle = async <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe('create and get', () => {
  it('stores the session with its first audit event and reads it back intact', async () => {
    const session = makeSession({
      resources: { instanceId: undefined, subnetId: 'subnet-1' },
      connection: undefined,
    });
    const result = await dynamo.store.create(session, { quota: 2, event: requested });

    expect(result.replayed).toBe(false);
    expect(result.event).toMatchObject({
      sessionId: session.id,
      seq: 1,
      at: BASE_TIME,
      status: 'REQUESTED',
      type: 'requested',
      actor: 'alice',
      detail: { target: 'prod-db' },
      prevHash: GENESIS_HASH,
    });
    expect(result.session).toMatchObject({ auditSeq: 1, auditHead: result.event?.hash });
    expect(await dynamo.store.get(session.id)).toEqual({
      ...session,
      resources: { subnetId: 'subnet-1' },
      connection: undefined,
      auditSeq: 1,
      auditHead: result.event?.hash,
    });
  });

  it('answers undefined for a session that does not exist', async () => {
    expect(await dynamo.store.get('s-00000000000000000000')).toBeUndefined();
  });

  it('raises a clear internal error, not a crash, for a malformed stored session', async () => {
    await dynamo.documentClient.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: { ...itemKey.session('s-broken'), id: 's-broken', owner: 'alice', status: 'READY' },
      }),
    );

    const failure = await settle(dynamo.store.get('s-broken'));
    expect(failure.ok).toBe(false);
    if (failure.ok) return;
    expect(failure.error).toBeInstanceOf(CorruptItemError);
    expect(failure.error).toMatchObject({ expose: false });
    expect((failure.error as Error).message).toMatch(/stored session s-broken is malformed/);
  });

  it('turns DynamoDB failures into a DrawbridgeError that reveals nothing to the caller', async () => {
    const store = new DynamoDbSessionStore({
      client: dynamo.documentClient,
      tableName: 'no-such-table',
      retentionDays: 30,
      clock: dynamo.clock,
    });

    const failure = await settle(store.get('s-00000000000000000000'));
    expect(failure.ok).toBe(false);
    if (failure.ok) return;
    expect(failure.error).toBeInstanceOf(SessionStoreError);
    expect(failure.error).toMatchObject({ expose: false });
  });
});

describe('transition', () => {
  it('writes the next state and advances the audit head', async () => {
    const session = await create();
    dynamo.clock.advance(MINUTE);

    const next = transition(
      session,
      { type: 'provision', resources: { instanceId: 'i-1' } },
      dynamo.clock.now(),
    );
    const result = await dynamo.store.transition(session, next, {
      type: 'provision',
      actor: 'drawbridge',
    });

    expect(result.event).toMatchObject({
      seq: 2,
      prevHash: session.auditHead,
      status: 'PROVISIONING',
    });
    expect(result.session).toMatchObject({
      status: 'PROVISIONING',
      version: 1,
      auditSeq: 2,
      auditHead: result.event.hash,
    });
    expect(await dynamo.store.get(session.id)).toEqual(result.session);
  });

  it('rejects a write from a stale version and writes nothing', async () => {
    const session = await create();
    const provisioning = await step(session, { type: 'provision' });

    // A second worker still holding the REQUESTED copy tries to fail it.
    const stale = transition(session, { type: 'fail', reason: 'late' }, dynamo.clock.now());
    await expect(
      dynamo.store.transition(session, stale, { type: 'fail', actor: 'worker-2' }),
    ).rejects.toBeInstanceOf(StaleSessionError);

    expect(await dynamo.store.get(session.id)).toEqual(provisioning);
    expect(await dynamo.store.listEvents(session.id)).toHaveLength(2);
  });

  it('rejects a write whose expected status no longer holds, even at the same version', async () => {
    const session = await create();
    const claimed = { ...session, status: 'PROVISIONING' as const };
    const next = transition(claimed, { type: 'ready', connection }, dynamo.clock.now());

    await expect(
      dynamo.store.transition(claimed, next, { type: 'ready', actor: 'drawbridge' }),
    ).rejects.toBeInstanceOf(StaleSessionError);
    expect(await dynamo.store.get(session.id)).toMatchObject({ status: 'REQUESTED', version: 0 });
  });

  it('lets exactly one of two racing transitions from the same state win', async () => {
    const session = await create();
    const now = dynamo.clock.now();
    const results = await Promise.all([
      settle(
        dynamo.store.transition(session, transition(session, { type: 'provision' }, now), {
          type: 'provision',
          actor: 'worker-1',
        }),
      ),
      settle(
        dynamo.store.transition(
          session,
          transition(session, { type: 'end', reason: 'revoked' }, now),
          { type: 'end', actor: 'alice' },
        ),
      ),
    ]);

    expect(results.filter((result) => result.ok)).toHaveLength(1);
    const loser = results.find((result) => !result.ok);
    expect(loser && !loser.ok && loser.error).toBeInstanceOf(StaleSessionError);
    expect(await dynamo.store.listEvents(session.id)).toHaveLength(2);
  });
});

describe('quota', () => {
  it('admits exactly 2 of 50 concurrent requests from one user with quota 2', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => settle(create({ owner: 'carol' }, 2))),
    );

    expect(results.filter((result) => result.ok)).toHaveLength(2);
    const refusals = results.flatMap((result) => (result.ok ? [] : [result.error]));
    expect(refusals).toHaveLength(48);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(QuotaExceededError);
      expect((refusal as Error).message).toBe(
        'you already have 2 live sessions, the most this policy allows; end one first',
      );
    }
    const { items } = await dynamo.store.listByOwner('carol', { limit: 100 });
    expect(items).toHaveLength(2);
  });

  it('gives the slot back when a session ends, and when one fails', async () => {
    const first = await create({ owner: 'dave' }, 1);
    await expect(create({ owner: 'dave' }, 1)).rejects.toBeInstanceOf(QuotaExceededError);

    await end(first);
    const second = await create({ owner: 'dave' }, 1);
    await expect(create({ owner: 'dave' }, 1)).rejects.toBeInstanceOf(QuotaExceededError);

    await step(second, { type: 'fail', reason: 'no capacity' });
    await expect(create({ owner: 'dave' }, 1)).resolves.toMatchObject({ owner: 'dave' });
  });

  it('counts each user separately: 100 concurrent requests from 100 users all succeed', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) => settle(create({ owner: `user-${index}` }, 1))),
    );

    expect(results.filter((result) => result.ok)).toHaveLength(100);
  });

  it('still ends a session when the counter is already at zero, without going negative', async () => {
    const session = await create({ owner: 'erin' }, 1);
    await dynamo.documentClient.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: { ...itemKey.quota('erin'), subject: 'erin', active: 0 },
      }),
    );

    await expect(end(session)).resolves.toMatchObject({ status: 'ENDED' });
    expect(await rawItem(itemKey.quota('erin'))).toMatchObject({ active: 0 });
  });

  it('says so plainly when the policy allows no sessions at all', async () => {
    await expect(create({ owner: 'frank' }, 0)).rejects.toThrow(
      'this policy allows you no live sessions',
    );
  });
});

describe('idempotency', () => {
  const claim = { key: 'retry-1', bodyHash: 'a'.repeat(64) };

  it('replays the same session for the same key and body, without taking quota twice', async () => {
    const first = await dynamo.store.create(makeSession(), {
      quota: 1,
      idempotency: claim,
      event: requested,
    });
    // The retry builds a new session object (new id), exactly as the use case would.
    const again = await dynamo.store.create(makeSession(), {
      quota: 1,
      idempotency: claim,
      event: requested,
    });

    expect(again).toEqual({ session: first.session, replayed: true });
    expect(await rawItem(itemKey.quota('alice'))).toMatchObject({ active: 1 });
    expect(await dynamo.store.listEvents(first.session.id)).toHaveLength(1);
  });

  it('creates one session for concurrent retries of one request', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        dynamo.store.create(makeSession(), { quota: 5, idempotency: claim, event: requested }),
      ),
    );

    expect(new Set(results.map((result) => result.session.id)).size).toBe(1);
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(await rawItem(itemKey.quota('alice'))).toMatchObject({ active: 1 });
  });

  it('refuses the same key with a different body', async () => {
    await dynamo.store.create(makeSession(), { quota: 5, idempotency: claim, event: requested });

    await expect(
      dynamo.store.create(makeSession(), {
        quota: 5,
        idempotency: { ...claim, bodyHash: 'b'.repeat(64) },
        event: requested,
      }),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect((await dynamo.store.listByOwner('alice', { limit: 10 })).items).toHaveLength(1);
  });

  it("keeps one user's keys apart from another's, even when the names could run together", async () => {
    const alice = await dynamo.store.create(makeSession({ owner: 'a#b' }), {
      quota: 5,
      idempotency: { ...claim, key: 'c' },
      event: requested,
    });
    const bob = await dynamo.store.create(makeSession({ owner: 'a' }), {
      quota: 5,
      idempotency: { ...claim, key: 'b#c' },
      event: requested,
    });

    expect(bob.replayed).toBe(false);
    expect(bob.session.id).not.toBe(alice.session.id);
  });

  it('stamps the record with a purge time a day out', async () => {
    await dynamo.store.create(makeSession(), { quota: 5, idempotency: claim, event: requested });

    expect(await rawItem(itemKey.idempotency('alice', claim.key))).toMatchObject({
      purgeAfter: BASE_TIME / 1000 + 86_400,
    });
  });
});

describe('audit trail', () => {
  it('chains every event of a session in order, each linked to the previous hash', async () => {
    const session = await create();
    dynamo.clock.advance(MINUTE);
    const provisioning = await step(session, { type: 'provision' });
    dynamo.clock.advance(MINUTE);
    const ready = await step(provisioning, { type: 'ready', connection });
    dynamo.clock.advance(MINUTE);
    const ended = await end(ready);

    const events = await dynamo.store.listEvents(session.id);
    expect(events.map((event) => [event.seq, event.status])).toEqual([
      [1, 'REQUESTED'],
      [2, 'PROVISIONING'],
      [3, 'READY'],
      [4, 'ENDING'],
      [5, 'ENDED'],
    ]);
    expect(verifyChain(events)).toEqual({ intact: true });
    for (const [index, event] of events.entries()) {
      expect(event.prevHash).toBe(index === 0 ? GENESIS_HASH : events[index - 1]?.hash);
    }
    expect(ended).toMatchObject({ auditSeq: 5, auditHead: events[4]?.hash });
  });

  it('exposes tampering: an edited event breaks the chain', async () => {
    const session = await create();
    await step(session, { type: 'provision' });
    await dynamo.documentClient.send(
      new PutCommand({
        TableName: dynamo.tableName,
        Item: {
          ...itemKey.event(session.id, 1),
          ...(await dynamo.store.listEvents(session.id))[0],
          actor: 'mallory',
        },
      }),
    );

    expect(verifyChain(await dynamo.store.listEvents(session.id))).toEqual({
      intact: false,
      brokenAt: 1,
    });
  });
});

describe('getMany (reconciliation)', () => {
  it('reads more than one batch of sessions consistently and leaves unknown ids out', async () => {
    const created = await Promise.all(
      Array.from({ length: 130 }, (_, index) => create({ owner: `owner-${index}` })),
    );
    const ids = created.map((session) => session.id);
    const missing = 's-00000000000000000000';
    const found = await dynamo.store.getMany([...ids, missing, ids[0] ?? '']);
    expect(found.size).toBe(130);
    expect(found.has(missing)).toBe(false);
    expect(found.get(ids[129] ?? '')?.owner).toBe('owner-129');
  });
});

describe('reaper index', () => {
  it('lists live sessions due by now, never ended ones or ones not yet due', async () => {
    const clock = dynamo.clock;
    const overdueRequest = await create({ createdAt: BASE_TIME - 10 * MINUTE });
    const pending = await create({ createdAt: BASE_TIME }); // deadline 5 minutes from now
    const readyLong = await step(await step(await create(), { type: 'provision' }), {
      type: 'ready',
      connection,
    });
    clock.advance(MINUTE);
    const readyShort = await step(
      await step(await create({ durationMinutes: 10 }), { type: 'provision' }),
      { type: 'ready', connection },
    );
    const ended = await end(await create({ createdAt: BASE_TIME - 20 * MINUTE }));

    const due = async () =>
      (await dynamo.store.listDue(clock.now(), 100)).map((session) => session.id).sort();
    expect(await due()).toEqual([overdueRequest.id]);

    // Eleven minutes on: the short window is over and the pending one missed its deadline.
    clock.current = (readyShort.expiresAt ?? 0) + 1;
    const expected = [overdueRequest.id, pending.id, readyShort.id].sort();
    expect(await due()).toEqual(expected);
    expect(await due()).not.toContain(ended.id);
    expect(await due()).not.toContain(readyLong.id);
  });

  it('makes an ENDING session due at once, so an interrupted revoke is retried long before expiresAt', async () => {
    const ready = await step(await step(await create(), { type: 'provision' }), {
      type: 'ready',
      connection,
    });
    dynamo.clock.advance(MINUTE);
    const ending = await step(ready, { type: 'end', reason: 'revoked' });

    expect(await dynamo.store.listDue(dynamo.clock.now() - 1, 10)).toEqual([]);
    const due = await dynamo.store.listDue(dynamo.clock.now(), 10);
    expect(due.map((session) => [session.id, session.status])).toEqual([[ending.id, 'ENDING']]);
    expect(ending.updatedAt).toBeLessThan(ready.expiresAt ?? 0);
  });

  it('honours the limit across pages', async () => {
    for (let index = 0; index < 5; index += 1) {
      await create({ owner: `u${index}`, createdAt: BASE_TIME - (20 + index) * MINUTE });
    }
    expect(await dynamo.store.listDue(BASE_TIME, 3)).toHaveLength(3);
  });

  it('drops the index attributes and sets purgeAfter only once a session is over', async () => {
    const session = await create();
    const provisioning = await step(session, {
      type: 'provision',
      resources: { instanceId: 'i-0abc' },
    });
    const live = await rawItem(itemKey.session(session.id));
    expect(live).toMatchObject({
      dueShard: 'due',
      dueAt: session.provisioningDeadline,
      instanceId: 'i-0abc',
    });
    expect(live).not.toHaveProperty('purgeAfter');

    dynamo.clock.advance(MINUTE);
    const ended = await end(provisioning);
    const over = await rawItem(itemKey.session(session.id));
    expect(over).not.toHaveProperty('dueShard');
    expect(over).not.toHaveProperty('dueAt');
    expect(over).toMatchObject({
      purgeAfter: Math.floor((ended.endedAt ?? 0) / 1000) + dynamo.retentionDays * 86_400,
    });
  });

  it('keeps owner off the quota counter, so the owner index holds sessions only', async () => {
    await create();
    const counter = await rawItem(itemKey.quota('alice'));

    expect(counter).toMatchObject({ subject: 'alice', active: 1 });
    expect(counter).not.toHaveProperty('owner');
    expect(counter).not.toHaveProperty('purgeAfter');
  });
});

describe('findByInstanceId', () => {
  it('finds the session that owns an instance, and nothing for an unknown one', async () => {
    const session = await create();
    await step(session, { type: 'provision', resources: { instanceId: 'i-0123456789abcdef0' } });
    await create();

    expect(await dynamo.store.findByInstanceId('i-0123456789abcdef0')).toMatchObject({
      id: session.id,
      status: 'PROVISIONING',
    });
    expect(await dynamo.store.findByInstanceId('i-ffffffffffffffff0')).toBeUndefined();
  });
});

describe('listing', () => {
  async function fiveSessions(owner = 'alice') {
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      ids.push((await create({ owner, createdAt: BASE_TIME + index * MINUTE })).id);
    }
    return ids.reverse(); // newest first
  }

  it("pages through a user's sessions newest first, without gaps or repeats", async () => {
    const newestFirst = await fiveSessions();
    await create({ owner: 'bob' });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await dynamo.store.listByOwner('alice', {
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((session) => session.id));
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 10);

    expect(seen).toEqual(newestFirst);
    expect(pages).toBe(3);
  });

  it('rejects a tampered, foreign or garbage cursor as a client error', async () => {
    await fiveSessions();
    await fiveSessions('bob');
    const { cursor } = await dynamo.store.listByOwner('alice', { limit: 2 });
    const { cursor: bobCursor } = await dynamo.store.listByOwner('bob', { limit: 2 });
    const decoded = JSON.parse(Buffer.from(cursor ?? '', 'base64url').toString('utf8'));
    const tampered = Buffer.from(JSON.stringify({ ...decoded, extra: 'x' })).toString('base64url');

    for (const bad of [
      tampered,
      bobCursor ?? '',
      'not a cursor!',
      Buffer.from('[1]').toString('base64url'),
    ]) {
      const failure = await settle(dynamo.store.listByOwner('alice', { limit: 2, cursor: bad }));
      expect(failure.ok).toBe(false);
      if (failure.ok) continue;
      expect(failure.error).toBeInstanceOf(ValidationError);
      expect((failure.error as Error).message).toBe('invalid cursor');
    }
  });

  it('lists everyone newest first for admins, with target and status filters', async () => {
    const alice = await create({ owner: 'alice', createdAt: BASE_TIME });
    const bob = await create({ owner: 'bob', createdAt: BASE_TIME + MINUTE, target: 'staging-db' });
    const carol = await create({ owner: 'carol', createdAt: BASE_TIME + 2 * MINUTE });
    await end(carol);

    const ids = async (options: Parameters<typeof dynamo.store.listAll>[0]) =>
      (await dynamo.store.listAll(options)).items.map((session) => session.id);

    expect(await ids({ limit: 10 })).toEqual([carol.id, bob.id, alice.id]);
    expect(await ids({ limit: 10, target: 'prod-db' })).toEqual([carol.id, alice.id]);
    expect(await ids({ limit: 10, status: 'ENDED' })).toEqual([carol.id]);
    expect(await ids({ limit: 10, owner: 'bob' })).toEqual([bob.id]);
    expect(await ids({ limit: 10, owner: 'bob', target: 'prod-db' })).toEqual([]);
  });

  it('pages the admin listing with its own cursor', async () => {
    const newestFirst = await fiveSessions();
    const first = await dynamo.store.listAll({ limit: 3 });
    const second = await dynamo.store.listAll({
      limit: 3,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });

    expect([...first.items, ...second.items].map((session) => session.id)).toEqual(newestFirst);
  });
});

describe('contention on real DynamoDB', () => {
  it('retries a transaction cancelled by a conflicting one instead of failing the request', async () => {
    const documentClient = DynamoDBDocumentClient.from(dynamo.client);
    const mock = mockClient(documentClient);
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message:
            'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]',
          $metadata: {},
          CancellationReasons: [
            { Code: 'None' },
            { Code: 'TransactionConflict' },
            { Code: 'None' },
          ],
        }),
      )
      .resolves({});
    const store = new DynamoDbSessionStore({
      client: documentClient,
      tableName: 'any',
      retentionDays: 30,
      clock: new ManualClock(),
    });

    const result = await store.create(makeSession(), { quota: 2, event: requested });

    expect(result.replayed).toBe(false);
    expect(mock).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    mock.restore();
  });

  it('never lets an SDK error type escape', async () => {
    const documentClient = DynamoDBDocumentClient.from(dynamo.client);
    const mock = mockClient(documentClient);
    mock
      .on(TransactWriteCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const store = new DynamoDbSessionStore({
      client: documentClient,
      tableName: 'any',
      retentionDays: 30,
      clock: new ManualClock(),
    });

    const failure = await settle(store.create(makeSession(), { quota: 2, event: requested }));
    expect(failure.ok).toBe(false);
    if (!failure.ok) expect(failure.error).toBeInstanceOf(DrawbridgeError);
    mock.restore();
  });
});
