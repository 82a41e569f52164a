import { beforeEach, describe, expect, it } from 'vitest';
import { createOnBastionLogHandler } from '../../functions/on-bastion-log.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { encodeLogsSubscriptionEvent } from '../../lib/http/logs-subscription.ts';
import { lambdaContext } from '../support/events.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { proofMessage } from '../support/readiness.ts';
import { idleEndChunk, RECORDED_EC2_POLICY, readyRecordedEc2 } from '../support/recorded-ec2.ts';

let world: TestWorld;
const handler = createOnBastionLogHandler(() => world.deps);
beforeEach(() => {
  world = testWorld(RECORDED_EC2_POLICY);
});

async function runningSession() {
  const { session } = await requestSession(world.deps, {
    identity: { subject: 'alice', groups: ['dba'] },
    sourceIp: '203.0.113.9',
    request: {
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'INC-42',
      publicKey: ed25519PublicKey(),
    },
  });
  const provisioned = await provisionSession(world.deps, session.id);
  const instanceId = provisioned?.resources.instanceId ?? '';
  const bastion = world.ec2.running.get(instanceId);
  if (bastion) bastion.state = 'running';
  await onInstanceState(world.deps, instanceId, 'running');
  const stored = await world.store.get(session.id);
  if (!stored) throw new Error('gone');
  return stored;
}

const delivery = (logStream: string, messages: string[]) =>
  encodeLogsSubscriptionEvent({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/drawbridge/test/sessions',
    logStream,
    subscriptionFilters: ['readiness'],
    logEvents: messages.map((message, i) => ({ id: String(i), timestamp: 1, message })),
  });

describe('onBastionLog: the subscription filter on the bastion log group', () => {
  it("marks the session READY on its bastion's proof, delivered gzip+base64", async () => {
    const session = await runningSession();
    const stream = session.resources.instanceId ?? '';
    const result = await handler(
      delivery(stream, [proofMessage(session.id, session.hostKey?.fingerprint ?? '')]),
      lambdaContext,
    );
    expect(result).toEqual({ outcomes: ['ready'] });
    expect((await world.store.get(session.id))?.status).toBe('READY');
  });

  it("ends a recorded session on the idle end chunk from its own instance's stream", async () => {
    const session = await readyRecordedEc2(world, 'i-0000000000000000a');
    const result = await handler(
      delivery('i-0000000000000000a', ['an sshd line', idleEndChunk(session.id)]),
      lambdaContext,
    );
    expect(result).toEqual({ outcomes: ['ignored', 'idle'] });
    expect(await world.store.get(session.id)).toMatchObject({ status: 'ENDED', endReason: 'idle' });
    expect((await world.store.listEvents(session.id)).map((event) => event.type)).toContain(
      'idle-disconnected',
    );
  });

  it("ignores an idle end chunk delivered from another session's stream", async () => {
    const mine = await readyRecordedEc2(world, 'i-0000000000000000a');
    const theirs = await readyRecordedEc2(world, 'i-0000000000000000b');
    const result = await handler(
      delivery('i-0000000000000000b', [idleEndChunk(mine.id)]),
      lambdaContext,
    );
    expect(result).toEqual({ outcomes: ['ignored'] });
    expect((await world.store.get(mine.id))?.status).toBe('READY');
    expect((await world.store.get(theirs.id))?.status).toBe('READY');
    expect(world.ec2.released).toEqual([]);
  });

  it('drops what is not a subscription event, and the CloudWatch control message, changing nothing', async () => {
    const session = await runningSession();
    expect(await handler({ awslogs: { data: 'not gzip' } }, lambdaContext)).toEqual({
      outcomes: [],
    });
    const control = encodeLogsSubscriptionEvent({
      messageType: 'CONTROL_MESSAGE',
      owner: 'CloudwatchLogs',
      logGroup: '',
      logStream: '',
      subscriptionFilters: [],
      logEvents: [],
    });
    // An empty group and stream are refused by the schema: dropped as well.
    expect(await handler(control, lambdaContext)).toEqual({ outcomes: [] });
    expect((await world.store.get(session.id))?.status).toBe('PROVISIONING');
  });
});
