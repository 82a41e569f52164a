import { beforeEach, describe, expect, it } from 'vitest';
import { LAUNCH_RETRY_SECONDS, provisionSession } from '../../lib/app/provision-session.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { ProvisioningError } from '../../lib/domain/errors.ts';
import type { Session } from '../../lib/domain/session.ts';
import type { LaunchPlan, LaunchResult } from '../../lib/ports/provider.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';

let world: TestWorld;
beforeEach(() => {
  world = testWorld();
});

async function requested(): Promise<Session> {
  const { session } = await requestSession(world.deps, {
    identity: { subject: 'alice', groups: ['dba'] },
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'resume',
      publicKey: ed25519PublicKey(),
    },
  });
  return session;
}

describe('a provision run killed half-way', () => {
  it('resumes on redelivery: the same bastion is found again and recorded', async () => {
    const session = await requested();
    // The first run launches, then the function is killed before its attach write: its
    // launch call never returns.
    const launch = world.ec2.launch.bind(world.ec2);
    world.ec2.launch = async (plan: LaunchPlan): Promise<LaunchResult> => {
      await launch(plan);
      return new Promise<LaunchResult>(() => undefined);
    };
    void provisionSession(world.deps, session.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await world.store.get(session.id))?.status).toBe('PROVISIONING');
    expect(world.ec2.running.size).toBe(1);

    // SQS redelivers after the visibility timeout.
    world.ec2.launch = launch;
    world.clock.advance(90_000);
    const resumed = await provisionSession(world.deps, session.id);
    const [instanceId] = [...world.ec2.running.keys()];
    expect(resumed).toMatchObject({ status: 'PROVISIONING', resources: { instanceId } });
    expect(world.ec2.running.size).toBe(1);
    expect(world.audit.events.map((event) => event.type)).toEqual([
      'requested',
      'provision',
      'attach',
    ]);
  });

  it('fails a resumed session whose provisioning deadline has passed and releases its bastion', async () => {
    const session = await requested();
    const launch = world.ec2.launch.bind(world.ec2);
    world.ec2.launch = async (plan) => {
      await launch(plan);
      return new Promise<LaunchResult>(() => undefined);
    };
    void provisionSession(world.deps, session.id);
    await new Promise((resolve) => setImmediate(resolve));
    world.clock.current = session.provisioningDeadline + 1;
    const failed = await provisionSession(world.deps, session.id);
    expect(failed?.status).toBe('FAILED');
    expect(world.ec2.released).toEqual([session.id]);
  });
});

describe('a launch failure that may pass', () => {
  const noCapacity = () =>
    new ProvisioningError('no capacity for t4g.nano in subnet-0123456789abcdef0', {
      retryable: true,
    });

  it('goes back to the queue with a delay, and a later try launches', async () => {
    const session = await requested();
    world.queue.messages.length = 0;
    world.ec2.failLaunch = noCapacity();
    const waiting = await provisionSession(world.deps, session.id);
    expect(waiting?.status).toBe('PROVISIONING');
    expect(world.queue.messages).toEqual([
      { sessionId: session.id, delaySeconds: LAUNCH_RETRY_SECONDS },
    ]);
    expect(world.store.active.get('alice')).toBe(1);

    world.ec2.failLaunch = undefined;
    world.clock.advance(LAUNCH_RETRY_SECONDS * 1000);
    const launched = await provisionSession(world.deps, session.id);
    expect(launched?.resources.instanceId).toMatch(/^i-/);
  });

  it('fails with the last reason once the next try would miss the provisioning deadline', async () => {
    const session = await requested();
    world.queue.messages.length = 0;
    world.ec2.failLaunch = noCapacity();
    await provisionSession(world.deps, session.id);
    let result: Session | undefined;
    for (let tries = 0; tries < 100; tries += 1) {
      world.clock.advance(LAUNCH_RETRY_SECONDS * 1000);
      result = await provisionSession(world.deps, session.id);
      if (result?.status !== 'PROVISIONING') break;
    }
    expect(result).toMatchObject({
      status: 'FAILED',
      failureReason: 'no capacity for t4g.nano in subnet-0123456789abcdef0',
    });
    expect(world.clock.now()).toBeLessThan(session.provisioningDeadline);
    expect(world.store.active.get('alice')).toBe(0);
  });

  it('fails at once when the failure cannot pass', async () => {
    const session = await requested();
    world.queue.messages.length = 0;
    world.ec2.failLaunch = new ProvisioningError(
      'restricting the security group failed: AccessDenied',
    );
    expect((await provisionSession(world.deps, session.id))?.status).toBe('FAILED');
    expect(world.queue.messages).toEqual([]);
  });
});
