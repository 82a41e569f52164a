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
import { DrawbridgeError, QuotaExceededError } from '../../lib/domain/errors.ts';
import { type LifecycleEvent, transition } from '../../lib/domain/lifecycle.ts';
import type { Session } from '../../lib/domain/session.ts';
import type { AuditDraft } from '../../lib/ports/session-store.ts';
import { ManualClock, useDynamo } from '../support/dynamo.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

// What only the DynamoDB store has: raw items, exact requests, SDK errors. Behaviour every
// SessionStore shares is pinned once, in test/ports/session-store.contract.ts.
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

describe('quota', () => {
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
});

describe('idempotency', () => {
  const claim = { key: 'retry-1', bodyHash: 'a'.repeat(64) };

  it('stamps the record with a purge time a day out', async () => {
    await dynamo.store.create(makeSession(), { quota: 5, idempotency: claim, event: requested });

    expect(await rawItem(itemKey.idempotency('alice', claim.key))).toMatchObject({
      purgeAfter: BASE_TIME / 1000 + 86_400,
    });
  });
});

describe('audit trail', () => {
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

describe('index attributes and purge times', () => {
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

  it('stamps every event even when a session has more than one transaction can hold', async () => {
    let session = await step(await create(), { type: 'provision' });
    session = await step(session, { type: 'ready', connection });
    for (let index = 0; index < 110; index += 1) {
      session = (
        await dynamo.store.transition(
          session,
          { ...session, version: session.version + 1 },
          { type: 'credentials-issued', actor: 'alice' },
        )
      ).session;
    }
    await end(session);

    const events = await Promise.all(
      Array.from({ length: session.auditSeq + 2 }, (_, index) =>
        rawItem(itemKey.event(session.id, index + 1)),
      ),
    );
    expect(events).toHaveLength(115);
    expect(events.every((event) => typeof event?.purgeAfter === 'number')).toBe(true);
  });

  it('keeps owner off the quota counter, so the owner index holds sessions only', async () => {
    await create();
    const counter = await rawItem(itemKey.quota('alice'));

    expect(counter).toMatchObject({ subject: 'alice', active: 1 });
    expect(counter).not.toHaveProperty('owner');
    expect(counter).not.toHaveProperty('purgeAfter');
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

  it('maps cancellation reasons back to the named item: a failed quota counter is a 429 with its count', async () => {
    const documentClient = DynamoDBDocumentClient.from(dynamo.client);
    const mock = mockClient(documentClient);
    mock.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled [None, ConditionalCheckFailed, None]',
        $metadata: {},
        CancellationReasons: [
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { active: { N: '3' } } },
          { Code: 'None' },
        ],
      }),
    );
    const store = new DynamoDbSessionStore({
      client: documentClient,
      tableName: 'any',
      retentionDays: 30,
      clock: new ManualClock(),
    });

    const failure = await settle(store.create(makeSession(), { quota: 3, event: requested }));
    expect(failure.ok).toBe(false);
    if (!failure.ok) {
      expect(failure.error).toBeInstanceOf(QuotaExceededError);
      expect((failure.error as Error).message).toMatch(/you already have 3 live sessions/);
    }
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
