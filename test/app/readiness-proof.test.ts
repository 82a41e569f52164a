import { beforeEach, describe, expect, it } from 'vitest';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { onBastionLogLine } from '../../lib/app/prove-readiness.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { deliverProof, proofMessage } from '../support/readiness.ts';
import { RecordingMetrics } from '../support/recording-metrics.ts';

const alice: Identity = { subject: 'alice', groups: ['dba', 'dev'] };
const SECOND = 1_000;
const MINUTE = 60 * SECOND;

let world: TestWorld;
beforeEach(() => {
  world = testWorld();
});

async function provisioned(): Promise<Session> {
  const { session } = await requestSession(world.deps, {
    identity: alice,
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'investigating INC-42',
      publicKey: ed25519PublicKey(),
    },
  });
  const result = await provisionSession(world.deps, session.id);
  if (!result) throw new Error('not provisioned');
  return result;
}

/** EC2 says running: the fake instance runs, and the state-change event arrives. */
async function running(session: Session): Promise<Session> {
  const instanceId = session.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  const after = await onInstanceState(world.deps, instanceId, 'running');
  if (!after) throw new Error('no session for the instance');
  return after;
}

const stored = async (id: string): Promise<Session> => {
  const session = await world.store.get(id);
  if (!session) throw new Error('gone');
  return session;
};

describe('READY means connectable and logging', () => {
  it('stays PROVISIONING after EC2 says running, and turns READY on its own readiness proof', async () => {
    const session = await running(await provisioned());
    expect(session.status).toBe('PROVISIONING');
    expect(session.bastionRunningAt).toBe(world.clock.now());
    expect(world.scheduler.schedules.size).toBe(0);

    world.clock.advance(12 * SECOND);
    const outcome = await deliverProof(world.deps, session.id);
    expect(outcome.outcome).toBe('ready');
    const ready = await stored(session.id);
    expect(ready.status).toBe('READY');
    // The window starts at the proof, not at running.
    expect(ready.readyAt).toBe(world.clock.now());
    expect(ready.expiresAt).toBe(world.clock.now() + 30 * MINUTE);
    expect(ready.connection?.hostKeyFingerprint).toBe(session.hostKey?.fingerprint);
    const readyEvent = world.audit.events.find((event) => event.type === 'ready');
    expect(readyEvent?.detail?.via).toBe('readiness-proof');
  });

  it('still turns READY when the running signal wrote the session between its read and its write', async () => {
    const session = await provisioned();
    const bastion = world.ec2.running.get(session.resources.instanceId ?? '');
    if (bastion) bastion.state = 'running';
    const store = world.deps.store;
    let raced = false;
    world.deps.store = Object.assign(Object.create(Object.getPrototypeOf(store)), store, {
      transition: async (...args: Parameters<typeof store.transition>) => {
        if (!raced && args[1].status === 'READY') {
          raced = true;
          await onInstanceState(world.deps, session.resources.instanceId ?? '', 'running');
        }
        return store.transition(...args);
      },
    });
    const outcome = await deliverProof(world.deps, session.id);
    expect(raced).toBe(true);
    expect(outcome.outcome).toBe('ready');
    expect((await store.get(session.id))?.status).toBe('READY');
  });

  it("ignores a proof written to another session's stream", async () => {
    const mine = await running(await provisioned());
    const theirs = await running(await provisioned());
    const outcome = await onBastionLogLine(world.deps, 'ec2', {
      stream: theirs.resources.instanceId ?? '',
      message: proofMessage(mine.id, mine.hostKey?.fingerprint ?? ''),
    });
    expect(outcome.outcome).toBe('ignored');
    expect((await stored(mine.id)).status).toBe('PROVISIONING');
    expect((await stored(theirs.id)).status).toBe('PROVISIONING');
  });

  it('ignores a proof carrying a host key Drawbridge did not issue', async () => {
    const session = await running(await provisioned());
    const outcome = await onBastionLogLine(world.deps, 'ec2', {
      stream: session.resources.instanceId ?? '',
      message: proofMessage(session.id, issueHostKey().fingerprint),
    });
    expect(outcome).toMatchObject({
      outcome: 'ignored',
      why: 'the host key is not the one Drawbridge issued',
    });
    expect((await stored(session.id)).status).toBe('PROVISIONING');
  });

  it.each([
    ['an ordinary sshd line', 'sshd[812]: Server listening on 0.0.0.0 port 22.'],
    ['a truncated proof', 'drawbridge-ready session=s-0123'],
    ['a proof with text after it', 'PROOF trailing'],
    ['a proof with a short fingerprint', 'drawbridge-ready session=SID hostkey=SHA256:abc'],
  ])('ignores a malformed proof: %s', async (_, template) => {
    const session = await running(await provisioned());
    const proof = proofMessage(session.id, session.hostKey?.fingerprint ?? '');
    const message = template.replace('PROOF', proof).replace('SID', session.id);
    const outcome = await onBastionLogLine(world.deps, 'ec2', {
      stream: session.resources.instanceId ?? '',
      message,
    });
    expect(outcome.outcome).toBe('ignored');
    expect((await stored(session.id)).status).toBe('PROVISIONING');
  });

  it('ignores a proof for a session that already ended', async () => {
    const session = await running(await provisioned());
    await revokeSession(world.deps, alice, session.id);
    const ended = await stored(session.id);
    expect(['ENDING', 'ENDED']).toContain(ended.status);
    const outcome = await onBastionLogLine(world.deps, 'ec2', {
      stream: session.resources.instanceId ?? '',
      message: proofMessage(session.id, session.hostKey?.fingerprint ?? ''),
    });
    expect(outcome.outcome).toBe('ignored');
    expect(await stored(session.id)).toEqual(ended);
  });

  it('fails and releases a bastion that ran but never proved readiness, saying so', async () => {
    const session = await running(await provisioned());
    world.clock.advance(11 * MINUTE);
    await reap(world.deps);
    const failed = await stored(session.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/never sent its readiness proof/);
    expect(world.ec2.running.size).toBe(0);
  });

  it('fails an instance that never reached running with that reason', async () => {
    const session = await provisioned();
    world.clock.advance(11 * MINUTE);
    await reap(world.deps);
    const failed = await stored(session.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/instance never reached running/);
  });
});

describe('the host key Drawbridge issues', () => {
  it('hands the private half to the bastion only and keeps the public half on the session', async () => {
    const session = await provisioned();
    const plan = world.ec2.launched.at(-1);
    expect(plan?.hostKey?.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(session.hostKey).toEqual({
      publicKey: plan?.hostKey?.publicKey,
      fingerprint: plan?.hostKey?.fingerprint,
    });
    const everythingStored = JSON.stringify([
      await world.store.get(session.id),
      await world.store.listEvents(session.id),
      world.audit.events,
    ]);
    expect(everythingStored).not.toContain('PRIVATE KEY');
    const secret = plan?.hostKey?.privateKey.split('\n')[1] ?? 'missing';
    expect(everythingStored).not.toContain(secret);
  });
});

describe('time to ready, in phases', () => {
  it('records requested, launch sent, running and ready, in the session and its audit trail', async () => {
    const metrics = new RecordingMetrics();
    world.deps.metrics = metrics;
    const requestedAt = world.clock.now();
    world.clock.advance(300);
    const session = await provisioned();
    const launchSentAt = world.clock.now();
    world.clock.advance(9 * SECOND);
    await running(session);
    world.clock.advance(14 * SECOND);
    await deliverProof(world.deps, session.id);
    const ready = await stored(session.id);
    expect(ready).toMatchObject({
      launchSentAt,
      bastionRunningAt: launchSentAt + 9 * SECOND,
      readyAt: launchSentAt + 23 * SECOND,
    });
    expect(ready.createdAt).toBe(requestedAt + 300);
    expect(world.audit.events.map((event) => event.type)).toEqual([
      'requested',
      'provision',
      'attach',
      'running',
      'ready',
    ]);
    expect(world.audit.events[2]?.detail?.launchSentAt).toBe(launchSentAt);
    expect(metrics.values('TimeToReady')).toEqual([23]);
    expect(metrics.values('TimeToReady', { phase: 'launch' })).toEqual([0]);
    expect(metrics.values('TimeToReady', { phase: 'running' })).toEqual([9]);
    expect(metrics.values('TimeToReady', { phase: 'ready' })).toEqual([14]);
  });
});
