// Shared by the break-glass, approval and extension tests: a policy with every feature of
// issue 5 switched on, the identities that use it, and the request they send.
import { requestSession, type SessionRequest } from '../../lib/app/request-session.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity } from '../../lib/domain/session.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';

export const MINUTE = 60_000;

export const LIFECYCLE_POLICY_YAML = `
version: 1
adminGroup: drawbridge-admins
quota:
  activeSessionsPerUser: 1
provisioningDeadlineMinutes: 10
selfDestructGraceMinutes: 5
breakGlass:
  groups: [oncall]
  maxDurationMinutes: 60
  quota: 1
  targets: [prod-db, payments, demo]
  requireMfa: { maxAgeMinutes: 15 }
  notify: [granted, ended]
targets:
  - name: prod-db
    mode: ec2
    host: 10.0.1.20
    port: 5432
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    extensionHeadroomMinutes: 30
    notify: [granted, expiring, ended]
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
  - name: payments
    mode: ec2
    host: 10.0.3.40
    port: 5432
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    approval: { approverGroups: [leads], timeoutMinutes: 15 }
    requireMfa: { maxAgeMinutes: 10 }
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
  - name: secrets
    mode: ec2
    host: 10.0.4.50
    port: 8200
    allowedGroups: [vault]
    defaultDurationMinutes: 15
    maxDurationMinutes: 30
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
  - name: demo
    mode: local
    host: 127.0.0.1
    port: 7777
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    notify: [expiring]
`;

export const lifecyclePolicy = () => parsePolicy(LIFECYCLE_POLICY_YAML, 'lifecycle test policy');

export const lifecycleWorld = (): TestWorld => testWorld(lifecyclePolicy());

/** Someone who signed in with a second factor at `signedInAt`. */
export function person(
  subject: string,
  groups: string[],
  signedInAt: number,
  amr: string[] = ['pwd', 'mfa'],
): Identity {
  return { subject, groups, amr, authTime: signedInAt };
}

export const SOURCE_IP = '203.0.113.9';

export function request(overrides: Partial<SessionRequest> = {}): SessionRequest {
  return {
    target: 'prod-db',
    durationMinutes: 30,
    reason: 'database is down, INC-123',
    publicKey: ALICE_PUBLIC_KEY,
    ...overrides,
  };
}

export function open(
  world: TestWorld,
  identity: Identity,
  overrides: Partial<SessionRequest> = {},
) {
  return requestSession(world.deps, { identity, sourceIp: SOURCE_IP, request: request(overrides) });
}
