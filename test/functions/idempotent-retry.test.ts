import { beforeEach, describe, expect, it } from 'vitest';
import { createRequestSessionHandler } from '../../functions/request-session.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';

let world: TestWorld;
const requestSession = createRequestSessionHandler(() => ({
  ...world.deps,
  groupsClaim: 'groups',
}));
beforeEach(() => {
  world = testWorld();
});

async function post() {
  const result = await requestSession(httpEvent('create-session'), lambdaContext);
  return {
    status: result.statusCode ?? 0,
    body: JSON.parse(result.body ?? 'null') as { id?: string; status?: string },
    replayed: result.headers?.['idempotent-replayed'],
  };
}

describe('POST /sessions retried with the same Idempotency-Key', () => {
  it('after a 503 "retry", answers 202 with a new, queued session, not the FAILED one', async () => {
    world.queue.failEnqueue = new Error('SQS is down');
    const failed = await post();
    expect(failed.status).toBe(503);
    world.queue.failEnqueue = undefined;

    const retry = await post();

    expect(retry.status).toBe(202);
    expect(retry.body.status).toBe('REQUESTED');
    expect(retry.replayed).toBeUndefined();
    expect(world.queue.queued).toEqual([retry.body.id]);
    const statuses = [...world.store.sessions.values()].map((session) => session.status).sort();
    expect(statuses).toEqual(['FAILED', 'REQUESTED']);
  });

  it('re-enqueues a replayed REQUESTED session', async () => {
    const first = await post();
    world.queue.queued.length = 0; // the send was lost with the function that made it

    const retry = await post();

    expect(retry).toMatchObject({ status: 202, replayed: 'true', body: { id: first.body.id } });
    expect(world.queue.queued).toEqual([first.body.id]);
  });
});
