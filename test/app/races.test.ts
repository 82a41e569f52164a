import { beforeEach, describe, expect, it } from 'vitest';
import { expireSession } from '../../lib/app/expire-session.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import type { Session } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { proveReady } from '../support/readiness.ts';

const MINUTE = 60_000;
let world: TestWorld;
beforeEach(() => {
  world = testWorld();
});

async function provisioning(): Promise<Session> {
  const { session } = await requestSession(world.deps, {
    identity: { subject: 'alice', groups: ['dba'] },
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'races',
      publicKey: ed25519PublicKey(),
    },
  });
  const started = await provisionSession(world.deps, session.id);
  if (!started) throw new Error('not provisioned');
  return started;
}

async function ready(): Promise<Session> {
  const session = await provisioning();
  const instanceId = session.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  await onInstanceState(world.deps, instanceId, 'running');
  const result = await proveReady(world.deps, session.id);
  return result;
}

/** Lets `change` land in the table just before the next write, as a concurrent request would. */
function beforeNextWrite(change: (stored: Session) => Session): void {
  const original = world.store.transition.bind(world.store);
  let fired = false;
  world.store.transition = async (current, next, draft) => {
    if (!fired) {
      fired = true;
      const stored = world.store.sessions.get(current.id);
      if (stored) world.store.sessions.set(current.id, change(stored));
    }
    return original(current, next, draft);
  };
}

describe('races the lifecycle must survive', () => {
  it('keeps a session whose extension commits while the schedule fires a second early', async () => {
    const session = await ready();
    world.clock.current = (session.expiresAt ?? 0) - 1_000;
    beforeNextWrite((stored) => ({
      ...stored,
      expiresAt: (stored.expiresAt ?? 0) + 15 * MINUTE,
      version: stored.version + 1,
    }));
    const result = await expireSession(world.deps, session.id);
    expect(result?.status).toBe('READY');
    expect(world.ec2.running.size).toBe(1);
  });

  it('still ends a session when the race was only another end', async () => {
    const session = await ready();
    world.clock.current = session.expiresAt ?? 0;
    beforeNextWrite((stored) => ({
      ...stored,
      updatedAt: world.clock.now(),
      version: stored.version + 1,
    }));
    expect((await expireSession(world.deps, session.id))?.status).toBe('ENDED');
    expect(world.ec2.running.size).toBe(0);
  });

  it('does not fail a session that became READY while the reaper judged it overdue', async () => {
    const session = await provisioning();
    world.clock.current = session.provisioningDeadline;
    beforeNextWrite((stored) => ({
      ...stored,
      status: 'READY',
      readyAt: world.clock.now() - 1,
      expiresAt: world.clock.now() + 30 * MINUTE,
      version: stored.version + 1,
    }));
    await reap(world.deps);
    expect((await world.store.get(session.id))?.status).toBe('READY');
  });
});

describe('revoked while the bastion starts', () => {
  it('takes down a local bastion that came up after its session was revoked', async () => {
    const { session } = await requestSession(world.deps, {
      identity: { subject: 'alice', groups: ['dev'] },
      sourceIp: '127.0.0.1',
      request: {
        target: 'demo',
        durationMinutes: 10,
        reason: 'races',
        publicKey: ed25519PublicKey(),
      },
    });
    // The revoke lands while launch runs: its release finds nothing yet.
    const launch = world.local.launch.bind(world.local);
    world.local.launch = async (plan) => {
      const result = await launch(plan);
      const stored = world.store.sessions.get(plan.session.id);
      if (stored)
        world.store.sessions.set(plan.session.id, {
          ...stored,
          status: 'ENDED',
          endReason: 'revoked',
          version: stored.version + 2,
        });
      return result;
    };
    const result = await provisionSession(world.deps, session.id);
    expect(result?.status).toBe('ENDED');
    expect(world.local.running.size).toBe(0);
  });
});

describe('the first intent to end wins', () => {
  it('keeps a revoke that lands while the reaper fails the session for its deadline', async () => {
    const session = await provisioning();
    world.clock.current = session.provisioningDeadline;
    // The owner's DELETE commits between the reaper's read and its write.
    beforeNextWrite((stored) => ({
      ...stored,
      status: 'ENDING',
      endReason: 'revoked',
      updatedAt: world.clock.now(),
      version: stored.version + 1,
    }));
    await reap(world.deps);
    const stored = await world.store.get(session.id);
    expect(stored).toMatchObject({ status: 'ENDED', endReason: 'revoked' });
    expect(stored?.failureReason).toBeUndefined();
    expect(world.ec2.running.size).toBe(0);
  });
});
