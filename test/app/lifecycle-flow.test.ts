import { beforeEach, describe, expect, it } from 'vitest';

import { expireSession } from '../../lib/app/expire-session.ts';

import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';

import { reap } from '../../lib/app/reap.ts';

import { requestSession } from '../../lib/app/request-session.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';

import { verifyChain } from '../../lib/domain/audit.ts';

import {
  ForbiddenError,
  NotFoundError,
  ProvisioningError,
  ProvisioningUnavailableError,
  QuotaExceededError,
  UnknownInstanceError,
  ValidationError,
} from '../../lib/domain/errors.ts';

import type { Identity, Session } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';

import { ed25519PublicKey } from '../support/keys.ts';
import { proveReady } from '../support/readiness.ts';

const alice: Identity = { subject: 'alice', groups: ['dba', 'dev'] };
const bob: Identity = { subject: 'bob', groups: ['dba'] };
const admin: Identity = { subject: 'root-admin', groups: ['drawbridge-admins'] };
const MINUTE = 60_000;

let world: TestWorld;
beforeEach(() => {
  world = testWorld();
});

async function request(
  identity = alice,
  target = 'prod-db',
  durationMinutes = 30,
  sourceIp = '203.0.113.9',
): Promise<Session> {
  const { session } = await requestSession(world.deps, {
    identity,
    sourceIp,
    request: {
      target,
      durationMinutes,
      reason: 'investigating INC-42',
      publicKey: ed25519PublicKey(),
    },
  });
  return session;
}

/** Request, provision and bring an ec2 session to READY as EC2's state-change event would. */
async function readySession(identity = alice, durationMinutes = 30): Promise<Session> {
  const requested = await request(identity, 'prod-db', durationMinutes);
  const provisioning = await provisionSession(world.deps, requested.id);
  const instanceId = provisioning?.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  await onInstanceState(world.deps, instanceId, 'running');
  return proveReady(world.deps, requested.id);
}

describe('requesting a session', () => {
  it('records a REQUESTED session bound to the caller address and hands it to the provisioner', async () => {
    const session = await request();
    expect(session).toMatchObject({
      status: 'REQUESTED',
      owner: 'alice',
      sourceCidr: '203.0.113.9/32',
      target: 'prod-db',
    });
    expect(session.publicKey).not.toContain('alice@laptop');
    expect(world.queue.queued).toEqual([session.id]);
    expect(world.audit.events.map((e) => e.type)).toEqual(['requested']);
  });

  it('refuses a third live session for the same user and queues nothing for it', async () => {
    await request();
    await request();
    await expect(request()).rejects.toBeInstanceOf(QuotaExceededError);
    expect(world.queue.queued).toHaveLength(2);
  });

  it('refuses targets the caller may not use, and callers outside the allowed source CIDRs', async () => {
    await expect(request({ subject: 'carol', groups: ['dev'] })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(request(alice, 'office-only', 15, '198.51.100.4')).rejects.toThrow(
      /may not be opened from 198\.51\.100\.4/,
    );
    expect((await request(alice, 'office-only', 15, '203.0.113.200')).target).toBe('office-only');
    world.store.sessions.clear();
    await expect(request(alice, 'prod-db', 121)).rejects.toBeInstanceOf(ValidationError);
    expect(world.store.sessions.size).toBe(0);
  });

  it('fails the session and gives the quota back when the provision queue is down', async () => {
    world.queue.failEnqueue = new Error('sqs down');
    await expect(request()).rejects.toBeInstanceOf(ProvisioningUnavailableError);
    const [failed] = [...world.store.sessions.values()];
    expect(failed?.status).toBe('FAILED');
    expect(world.store.active.get('alice')).toBe(0);
  });
});

describe('provisioning', () => {
  it('launches with the key options written by the server, then waits for EC2', async () => {
    const requested = await request();
    const provisioning = await provisionSession(world.deps, requested.id);
    expect(provisioning?.status).toBe('PROVISIONING');
    expect(provisioning?.resources.instanceId).toMatch(/^i-/);
    const plan = world.ec2.launched[0];
    expect(plan?.authorizedKey).toMatch(
      /^restrict,port-forwarding,permitopen="10\.0\.1\.20:5432",from="203\.0\.113\.9\/32",expiry-time="\d{14}Z" ssh-ed25519 /,
    );
    // self-destruct: window bound plus grace, in minutes from now (10 deadline + 30 duration + 5 grace)
    expect(plan?.selfDestructMinutes).toBe(45);
  });

  it('ignores a redelivered message', async () => {
    const requested = await request();
    await provisionSession(world.deps, requested.id);
    await provisionSession(world.deps, requested.id);
    expect(world.ec2.launched).toHaveLength(1);
  });

  it('records FAILED with the provider reason and releases what was created', async () => {
    world.ec2.failLaunch = new ProvisioningError(
      'no capacity for t4g.nano in subnet-0123456789abcdef0',
    );
    const requested = await request();
    const failed = await provisionSession(world.deps, requested.id);
    expect(failed).toMatchObject({
      status: 'FAILED',
      failureReason: 'no capacity for t4g.nano in subnet-0123456789abcdef0',
    });
    expect(world.ec2.released).toEqual([requested.id]);
    expect(world.store.active.get('alice')).toBe(0);
  });

  it('never shows internal error text to the owner', async () => {
    world.ec2.failLaunch = new Error('AccessDenied: arn:aws:iam::123456789012:role/secret');
    const failed = await provisionSession(world.deps, (await request()).id);
    expect(failed?.failureReason).toBe('internal error while launching the bastion');
  });

  it('starts the window at READY and arms the expiry schedule there', async () => {
    const requested = await request();
    world.clock.advance(2 * MINUTE);
    const ready = await readySession();
    expect(ready.status).toBe('READY');
    expect(ready.readyAt).toBe(world.clock.now());
    expect(ready.expiresAt).toBe(world.clock.now() + 30 * MINUTE);
    expect(world.scheduler.schedules.get(ready.id)).toBe(ready.expiresAt);
    expect(requested.id).not.toBe(ready.id);
  });

  it('fails a session whose instance reports running after the provisioning deadline', async () => {
    const requested = await request();
    const provisioning = await provisionSession(world.deps, requested.id);
    world.clock.advance(11 * MINUTE);
    const instanceId = provisioning?.resources.instanceId ?? '';
    const bastion = world.ec2.running.get(instanceId);
    if (bastion) bastion.state = 'running';
    const result = await onInstanceState(world.deps, instanceId, 'running');
    expect(result?.status).toBe('FAILED');
    expect(world.ec2.running.size).toBe(0);
  });

  it('asks EventBridge to retry when the running event beats the write that records the instance', async () => {
    await expect(
      onInstanceState(world.deps, 'i-0000000000000dead', 'running'),
    ).rejects.toBeInstanceOf(UnknownInstanceError);
  });

  it('releases the bastion when the write that records it fails', async () => {
    const requested = await request();
    world.ec2.failLaunch = undefined;
    const original = world.store.transition.bind(world.store);
    let calls = 0;
    world.store.transition = async (current, next, draft) => {
      calls += 1;
      if (calls === 2) throw new Error('dynamodb unavailable');
      return original(current, next, draft);
    };
    await expect(provisionSession(world.deps, requested.id)).rejects.toThrow(
      'dynamodb unavailable',
    );
    expect(world.ec2.running.size).toBe(0);
  });
});

describe('ending', () => {
  it('expires a READY session at expiresAt: bastion released, quota back, schedule gone', async () => {
    const ready = await readySession();
    world.clock.advance(30 * MINUTE);
    const ended = await expireSession(world.deps, ready.id);
    expect(ended).toMatchObject({ status: 'ENDED', endReason: 'expired' });
    expect(world.ec2.running.size).toBe(0);
    expect(world.store.active.get('alice')).toBe(0);
    expect(world.scheduler.schedules.has(ready.id)).toBe(false);
  });

  it('ignores a schedule that fires before expiresAt (the session was extended)', async () => {
    const ready = await readySession();
    world.clock.advance(10 * MINUTE);
    expect((await expireSession(world.deps, ready.id))?.status).toBe('READY');
  });

  it('lets the owner and admins revoke, and answers 404 to anyone else', async () => {
    const mine = await readySession();
    await expect(revokeSession(world.deps, bob, mine.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await revokeSession(world.deps, alice, mine.id)).endReason).toBe('revoked');
    const other = await readySession(bob);
    expect((await revokeSession(world.deps, admin, other.id)).status).toBe('ENDED');
  });

  it('keeps a session ENDING when the bastion cannot be released, and the reaper finishes it', async () => {
    const ready = await readySession();
    world.ec2.failRelease = new Error('ec2 throttled');
    const ending = await revokeSession(world.deps, alice, ready.id);
    expect(ending.status).toBe('ENDING');
    expect(world.store.active.get('alice')).toBe(1);
    world.ec2.failRelease = undefined;
    const report = await reap(world.deps);
    expect(report.resumed).toBe(1);
    expect((await world.store.get(ready.id))?.status).toBe('ENDED');
    expect(world.store.active.get('alice')).toBe(0);
  });

  it('ends a READY session whose instance was terminated from outside', async () => {
    const ready = await readySession();
    world.ec2.running.clear();
    const ended = await onInstanceState(world.deps, ready.resources.instanceId ?? '', 'terminated');
    expect(ended).toMatchObject({
      status: 'ENDED',
      endReason: 'failed',
      failureReason: 'the bastion ended outside Drawbridge',
    });
  });

  it('keeps one consistent history when the scheduler and the reaper race', async () => {
    const ready = await readySession();
    world.clock.advance(31 * MINUTE);
    await Promise.all([expireSession(world.deps, ready.id), reap(world.deps)]);
    const events = await world.store.listEvents(ready.id);
    expect(events.filter((e) => e.type === 'ended')).toHaveLength(1);
    expect(verifyChain(events).intact).toBe(true);
  });
});

describe('the reaper (layer 3)', () => {
  it('ends a session on time when the expiry schedule could not be created', async () => {
    world.scheduler.failSchedule = new Error('scheduler unavailable');
    const ready = await readySession();
    expect(world.scheduler.schedules.size).toBe(0);
    world.clock.advance(29 * MINUTE);
    expect((await reap(world.deps)).expired).toBe(0);
    world.clock.advance(MINUTE);
    expect((await reap(world.deps)).expired).toBe(1);
    expect((await world.store.get(ready.id))?.status).toBe('ENDED');
    expect(world.ec2.running.size).toBe(0);
  });

  it('fails sessions not READY by the provisioning deadline and destroys their instance', async () => {
    const requested = await request();
    await provisionSession(world.deps, requested.id);
    world.clock.advance(10 * MINUTE);
    const report = await reap(world.deps);
    expect(report.failed).toBe(1);
    expect((await world.store.get(requested.id))?.status).toBe('FAILED');
    expect(world.ec2.running.size).toBe(0);
  });

  it('destroys nothing when the table cannot be read during reconciliation', async () => {
    await readySession();
    world.ec2.running.set('i-orphan', { sessionId: 's-00000000000000000000', state: 'running' });
    world.store.getMany = async () => {
      throw new Error('dynamodb unavailable');
    };
    const report = await reap(world.deps);
    expect(report.orphansDestroyed).toBe(0);
    expect(world.ec2.running.has('i-orphan')).toBe(true);
  });

  it('destroys instances no live session accounts for, and leaves live ones alone', async () => {
    const ready = await readySession();
    world.ec2.running.set('i-orphan', { sessionId: 's-00000000000000000000', state: 'running' });
    world.ec2.running.set('i-untagged', { sessionId: '', state: 'running' });
    const report = await reap(world.deps);
    expect(report.orphansDestroyed).toBe(2);
    expect([...world.ec2.running.values()].map((b) => b.sessionId)).toEqual([ready.id]);
  });
});
