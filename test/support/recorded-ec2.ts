// A recorded ec2 target and what its bastion ships, shared by the tests of the idle end that
// the log subscription delivers (the use case and the handler in front of it).
import { canonical } from '../../lib/domain/audit.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { sealChunk } from '../../lib/domain/recording-chain.ts';
import type { Session } from '../../lib/domain/session.ts';
import { TEST_POLICY_YAML, type TestWorld } from './fakes.ts';
import { makeSession } from './sessions.ts';

/** The test policy plus `recorded-ec2`: an ec2 shell target, recorded, idle after 15 minutes. */
export const RECORDED_EC2_POLICY = parsePolicy(
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
  'recorded ec2 policy',
);

/** The recorder's end chunk (seq 9) for a connection it closed for inactivity, as the agent ships it. */
export const idleEndChunk = (sessionId: string, conn = '1796165246736-2672'): string =>
  canonical(
    sealChunk({
      v: 1,
      sid: sessionId,
      seq: 9,
      prev: 'a'.repeat(64),
      conn,
      kind: 'end',
      at: 1_796_165_246_736,
      reason: 'idle',
    }),
  );

/** A READY recorded ec2 session on its own instance, stored in `world`. */
export async function readyRecordedEc2(
  world: TestWorld,
  instanceId: string,
  overrides: Partial<Session> = {},
): Promise<Session> {
  const session = makeSession({
    target: 'recorded-ec2',
    mode: 'ec2',
    recording: 'full',
    status: 'READY',
    resources: { instanceId },
    ...overrides,
  });
  return (await world.store.create(session, { quota: 5, event: { type: 'requested', actor: 'a' } }))
    .session;
}
