import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expireSession } from '../../lib/app/expire-session.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { MAX_EARLY_FIRE_MS } from '../../lib/aws/eventbridge-expiry-scheduler.ts';
import type { Session } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { proveReady } from '../support/readiness.ts';

async function ready(world: TestWorld): Promise<Session> {
  const { session } = await requestSession(world.deps, {
    identity: { subject: 'alice', groups: ['dba'] },
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'expiry',
      publicKey: ed25519PublicKey(),
    },
  });
  const provisioning = await provisionSession(world.deps, session.id);
  const instanceId = provisioning?.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  await onInstanceState(world.deps, instanceId, 'running');
  const result = await proveReady(world.deps, session.id);
  return result;
}

/** The clock port moves only when the use case sleeps: no real time passes. */
const sleepOn = (world: TestWorld) => async (ms: number) => world.clock.advance(ms);

describe('a scheduled end that fires early', () => {
  it('waits for expiresAt and ends the session then, wherever in its window the schedule fires', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: MAX_EARLY_FIRE_MS }), async (earlyMs) => {
        const world = testWorld();
        const session = await ready(world);
        const expiresAt = session.expiresAt ?? 0;
        world.clock.current = expiresAt - earlyMs;
        const ended = await expireSession(world.deps, session.id, {
          maxWaitMs: MAX_EARLY_FIRE_MS,
          sleep: sleepOn(world),
        });
        expect(ended).toMatchObject({ status: 'ENDED', endReason: 'expired' });
        expect(ended?.endedAt).toBeGreaterThanOrEqual(expiresAt - 2_000);
        expect(ended?.endedAt).toBeLessThanOrEqual(expiresAt);
        expect(world.ec2.running.size).toBe(0);
        const end = world.audit.events.find((event) => event.type === 'end');
        expect(end?.actor).toBe('scheduler');
      }),
      { numRuns: 25 },
    );
  });

  it('keeps a session extended while it waited', async () => {
    const world = testWorld();
    const session = await ready(world);
    const expiresAt = session.expiresAt ?? 0;
    world.clock.current = expiresAt - 50_000;
    const result = await expireSession(world.deps, session.id, {
      maxWaitMs: MAX_EARLY_FIRE_MS,
      sleep: async (ms) => {
        const stored = world.store.sessions.get(session.id);
        if (stored)
          world.store.sessions.set(session.id, {
            ...stored,
            expiresAt: expiresAt + 15 * 60_000,
            version: stored.version + 1,
          });
        world.clock.advance(ms);
      },
    });
    expect(result?.status).toBe('READY');
    expect(world.ec2.running.size).toBe(1);
  });

  it('does not wait for a window that ends beyond what the run may wait', async () => {
    const world = testWorld();
    const session = await ready(world);
    world.clock.current = (session.expiresAt ?? 0) - 10 * 60_000;
    let slept = 0;
    const result = await expireSession(world.deps, session.id, {
      maxWaitMs: MAX_EARLY_FIRE_MS,
      sleep: async (ms) => {
        slept += ms;
      },
    });
    expect(result?.status).toBe('READY');
    expect(slept).toBe(0);
  });
});
