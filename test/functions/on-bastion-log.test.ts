import { beforeEach, describe, expect, it } from 'vitest';
import { createOnBastionLogHandler } from '../../functions/on-bastion-log.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { canonical } from '../../lib/domain/audit.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import { encodeLogsSubscriptionEvent } from '../../lib/http/logs-subscription.ts';
import { lambdaContext } from '../support/events.ts';
import { TEST_POLICY_YAML, type TestWorld, testWorld } from '../support/fakes.ts';
import { ed25519PublicKey } from '../support/keys.ts';
import { proofMessage } from '../support/readiness.ts';
import { makeSession } from '../support/sessions.ts';

const POLICY = parsePolicy(
  `${TEST_POLICY_YAML}
  - name: recorded-ec2
    mode: ec2
    host: 10.0.3.40
    port: 22
    access: shell
    recording: full
    idleTimeoutMinutes: 15
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
`,
  'bastion log policy',
);

let world: TestWorld;
const handler = createOnBastionLogHandler(() => world.deps);
beforeEach(() => {
  world = testWorld(POLICY);
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

/** A READY recorded ec2 session on its own instance. */
async function recordedSession(instanceId: string) {
  const session = makeSession({
    target: 'recorded-ec2',
    mode: 'ec2',
    recording: 'full',
    status: 'READY',
    resources: { instanceId },
  });
  return (await world.store.create(session, { quota: 5, event: { type: 'requested', actor: 'a' } }))
    .session;
}

/** The recorder's end chunk for a connection it closed for inactivity, as the agent ships it. */
const idleChunk = (sessionId: string) =>
  canonical(
    sealChunk({
      v: 1,
      sid: sessionId,
      seq: 4,
      prev: 'b'.repeat(64),
      conn: '1796165246736-2672',
      kind: 'end',
      at: 1_796_165_246_736,
      reason: 'idle',
    }),
  );

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
    const session = await recordedSession('i-0000000000000000a');
    const result = await handler(
      delivery('i-0000000000000000a', ['an sshd line', idleChunk(session.id)]),
      lambdaContext,
    );
    expect(result).toEqual({ outcomes: ['ignored', 'idle'] });
    expect(await world.store.get(session.id)).toMatchObject({ status: 'ENDED', endReason: 'idle' });
    expect((await world.store.listEvents(session.id)).map((event) => event.type)).toContain(
      'idle-disconnected',
    );
  });

  it("ignores an idle end chunk delivered from another session's stream", async () => {
    const mine = await recordedSession('i-0000000000000000a');
    const theirs = await recordedSession('i-0000000000000000b');
    const result = await handler(
      delivery('i-0000000000000000b', [idleChunk(mine.id)]),
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
