import { describe, expect, it } from 'vitest';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { type RequestSessionInput, requestSession } from '../../lib/app/request-session.ts';
import { DynamoDbSessionStore } from '../../lib/aws/dynamodb-session-store.ts';
import { IdempotencyConflictError } from '../../lib/domain/errors.ts';
import type { SessionStore } from '../../lib/ports/session-store.ts';
import { useDynamo } from '../support/dynamo.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';

/**
 * Idempotency-Key retries as the request use case sees them, on both stores: a retry after a
 * failure that launched nothing is a fresh attempt, a REQUESTED session nothing provisions is
 * handed to the queue again, and an expired key counts as absent.
 */
const dynamo = useDynamo();
const DAY = 86_400_000;

const stores: Array<[string, (world: TestWorld) => SessionStore]> = [
  ['in memory', (world) => world.store],
  [
    'DynamoDB (dynalite)',
    (world) =>
      new DynamoDbSessionStore({
        client: dynamo.documentClient,
        tableName: dynamo.tableName,
        retentionDays: 30,
        clock: world.clock,
      }),
  ],
];

const publicKey = ed25519PublicKey();
function input(reason = 'investigating INC-42'): RequestSessionInput {
  return {
    identity: { subject: 'alice', groups: ['dba'] },
    sourceIp: '203.0.113.9',
    request: { target: 'prod-db', durationMinutes: 30, reason, publicKey },
    idempotency: { key: 'retry-key-1', bodyHash: reason === 'investigating INC-42' ? 'a' : 'b' },
  };
}

describe.each(stores)('Idempotency-Key replays (%s)', (_name, storeFor) => {
  function world() {
    const w = testWorld();
    const store = storeFor(w);
    return { ...w, deps: { ...w.deps, store }, sessionStore: store };
  }

  it('(a) after an enqueue failure (503), a retry starts afresh instead of replaying FAILED', async () => {
    const w = world();
    w.queue.failEnqueue = new Error('SQS is down');
    await expect(requestSession(w.deps, input())).rejects.toMatchObject({ status: 503 });
    w.queue.failEnqueue = undefined;

    const retry = await requestSession(w.deps, input());

    expect(retry.replayed).toBe(false);
    expect(retry.session.status).toBe('REQUESTED');
    expect(w.queue.queued).toEqual([retry.session.id]);
    // The key now points at the new attempt: a second retry replays it.
    const again = await requestSession(w.deps, input());
    expect(again).toMatchObject({ replayed: true, session: { id: retry.session.id } });
  });

  it('(a) does not start afresh when the failed session had launched something', async () => {
    const w = world();
    const first = await requestSession(w.deps, input());
    const stored = await w.sessionStore.get(first.session.id);
    if (!stored) throw new Error('missing');
    const provisioning = await w.sessionStore.transition(
      stored,
      { ...stored, status: 'PROVISIONING', version: stored.version + 1 },
      { type: 'provision', actor: 'drawbridge' },
    );
    await w.sessionStore.transition(
      provisioning.session,
      {
        ...provisioning.session,
        status: 'FAILED',
        version: provisioning.session.version + 1,
        resources: { instanceId: 'i-0123456789abcdef0' },
        endedAt: w.clock.now(),
        endReason: 'failed',
      },
      { type: 'fail', actor: 'drawbridge' },
    );

    const retry = await requestSession(w.deps, input());
    expect(retry).toMatchObject({
      replayed: true,
      session: { id: first.session.id, status: 'FAILED' },
    });
  });

  it('(b) a replayed REQUESTED session is handed to the queue again, and provisioning it twice is a no-op', async () => {
    const w = world();
    // The function died after the write and before the send: nothing was queued.
    w.queue.failEnqueue = undefined;
    const lost = await requestSession({ ...w.deps, queue: { enqueue: async () => {} } }, input());
    expect(w.queue.queued).toEqual([]);

    const retry = await requestSession(w.deps, input());

    expect(retry).toMatchObject({ replayed: true, session: { id: lost.session.id } });
    expect(w.queue.queued).toEqual([lost.session.id]);
    await provisionSession(w.deps, lost.session.id);
    const once = await w.sessionStore.get(lost.session.id);
    await provisionSession(w.deps, lost.session.id);
    expect(await w.sessionStore.get(lost.session.id)).toEqual(once);
    expect(once?.status).not.toBe('REQUESTED');
  });

  it('treats a key past its expiry as absent, before any TTL has deleted it', async () => {
    const w = world();
    const first = await requestSession(w.deps, input());
    w.clock.advance(DAY);

    const later = await requestSession(w.deps, input());

    expect(later.replayed).toBe(false);
    expect(later.session.id).not.toBe(first.session.id);
  });

  it('still refuses the same key with a different body, including after a failure', async () => {
    const w = world();
    w.queue.failEnqueue = new Error('SQS is down');
    await expect(requestSession(w.deps, input())).rejects.toMatchObject({ status: 503 });
    await expect(requestSession(w.deps, input('another reason'))).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    w.queue.failEnqueue = undefined;
    await requestSession(w.deps, input());
    await expect(requestSession(w.deps, input('another reason'))).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
  });
});
