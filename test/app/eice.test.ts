// The eice mode end to end, in process: the real use cases over the real eice provider and STS
// grant with AWS mocked (aws-sdk-client-mock), the store in memory — and the real HTTP handler
// over dynalite to prove that the credentials are written nowhere but the answer.
import {
  DescribeInstanceConnectEndpointsCommand,
  DescribeInstancesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createIssueCredentialsHandler } from '../../functions/issue-credentials.ts';
import { expireSession } from '../../lib/app/expire-session.ts';
import {
  type EiceCredentialsResponse,
  type IssueCredentialsDeps,
  issueCredentials,
} from '../../lib/app/issue-credentials.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { EiceGrant } from '../../lib/aws/eice-grant.ts';
import { EiceProvider } from '../../lib/aws/eice-provider.ts';
import { LoggerAuditLog, logger } from '../../lib/aws/logger.ts';
import { SsmGrant } from '../../lib/aws/ssm-grant.ts';
import { ConflictError, QuotaExceededError } from '../../lib/domain/errors.ts';
import { findTarget } from '../../lib/domain/policy.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import { useDynamo } from '../support/dynamo.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { useCapturedOutput } from '../support/output.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';

const ec2Mock = mockClient(EC2Client);
const stsMock = mockClient(STSClient);

const REGION = 'eu-west-1';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/drawbridge-test-eu-west-1-eice-session';
const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const OTHER = 'i-0ccccccccccccccc3';
const ENDPOINT = 'eice-0123456789abcdef0';
const ENDPOINT_DNS = `${ENDPOINT}.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com`;
const PRIVATE_IP = '10.0.1.5';
const VPC = 'vpc-0123456789abcdef0';
const SUBNET = 'subnet-0123456789abcdef0';
const ALICE: Identity = { subject: 'alice', groups: ['dev'] };
const BOB: Identity = { subject: 'bob', groups: ['dev'] };
const ALICE_IP = '203.0.113.7';
const SECRET = {
  AccessKeyId: 'ASIAZZZEICEKEYID9999',
  SecretAccessKey: 'wJalrXUtnFEMI-K7MDENG-EICESECRETVALUEzz',
  SessionToken: 'FwoGZXIvYXdzEBYaDEICESESSIONTOKENzzzzzzzzzzzzzzzzzzzzzzzz',
};

const POLICY = `
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
eiceSessionsPerEndpoint: 1
targets:
  - name: web-ssh
    mode: eice
    host: ${PRIVATE_IP}
    port: 22
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    eice:
      instanceTags: { Name: web }
      osUser: ec2-user
  - name: app-db
    mode: eice
    host: ${PRIVATE_IP}
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    eice:
      instanceId: ${INSTANCE}
      endpointId: ${ENDPOINT}
`;

interface EiceWorld extends TestWorld {
  grantDeps: IssueCredentialsDeps;
}

function eiceWorld(): EiceWorld {
  const world = testWorld(parsePolicy(POLICY, 'eice test policy'));
  const eice = new EiceProvider({
    ec2: new EC2Client({ region: REGION }),
    findTarget: (name) => findTarget(world.deps.policy, name),
  });
  world.deps.providers = { ...world.deps.providers, eice };
  world.deps.targetChecks = { eice };
  const sts = new STSClient({ region: REGION });
  const grantDeps: IssueCredentialsDeps = {
    ...world.deps,
    grant: new SsmGrant({
      sts,
      roleArn: 'arn:aws:iam::123456789012:role/drawbridge-test-eu-west-1-ssm-session',
      region: REGION,
      shellDocument: 'drawbridge-test-shell',
    }),
    eiceGrant: new EiceGrant({ sts, roleArn: ROLE_ARN, region: REGION }),
  };
  return { ...world, grantDeps };
}

const instance = (id = INSTANCE, state: 'running' | 'stopped' = 'running') => ({
  InstanceId: id,
  State: { Name: state },
  PrivateIpAddress: PRIVATE_IP,
  VpcId: VPC,
  SubnetId: SUBNET,
});

function ec2Answers(instances = [instance()]): void {
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: instances }] });
  ec2Mock.on(DescribeInstanceConnectEndpointsCommand).resolves({
    InstanceConnectEndpoints: [
      {
        InstanceConnectEndpointId: ENDPOINT,
        State: 'create-complete',
        VpcId: VPC,
        SubnetId: SUBNET,
        DnsName: ENDPOINT_DNS,
      },
    ],
  });
}

const ask = (world: EiceWorld, target: string, identity = ALICE) =>
  requestSession(world.deps, {
    identity,
    sourceIp: ALICE_IP,
    request: { target, durationMinutes: 30, reason: 'INC-42', publicKey: ALICE_PUBLIC_KEY },
  });

async function readySession(world: EiceWorld, target = 'web-ssh'): Promise<Session> {
  const { session } = await ask(world, target);
  const ready = await provisionSession(world.deps, session.id);
  if (ready?.status !== 'READY') throw new Error(`not READY: ${ready?.status}`);
  return ready;
}

const issue = (world: EiceWorld, id: string, identity = ALICE, sourceIp = ALICE_IP) =>
  issueCredentials(world.grantDeps, {
    identity,
    sourceIp,
    sessionId: id,
  }) as Promise<EiceCredentialsResponse>;

interface ParsedPolicy {
  Statement: {
    Sid: string;
    Action: string;
    Resource: string;
    Condition: Record<string, Record<string, string>>;
  }[];
}
const sentPolicy = (): ParsedPolicy => {
  const [call] = stsMock.commandCalls(AssumeRoleCommand);
  return JSON.parse(call?.args[0].input.Policy ?? '{}') as ParsedPolicy;
};

let world: EiceWorld;
beforeEach(() => {
  ec2Mock.reset();
  stsMock.reset();
  ec2Answers();
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: { ...SECRET, Expiration: new Date(Date.parse('2026-11-24T09:15:00Z')) },
  });
  world = eiceWorld();
});

describe('an eice target', () => {
  it('is resolved at request to one running instance and its VPC endpoint, and READY at provisioning with no instance launched', async () => {
    const { session } = await ask(world, 'web-ssh');
    expect(session.resources).toEqual({
      targetInstanceId: INSTANCE,
      privateIpAddress: PRIVATE_IP,
      eiceEndpointId: ENDPOINT,
      eiceEndpointDns: ENDPOINT_DNS,
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [{ Name: 'tag:Name', Values: ['web'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstanceConnectEndpointsCommand, {
      Filters: [{ Name: 'vpc-id', Values: [VPC] }],
    });
    const ready = await provisionSession(world.deps, session.id);
    expect(ready).toMatchObject({
      status: 'READY',
      readyAt: world.clock.now(),
      connection: { bastionHost: ENDPOINT_DNS, bastionPort: 22, linuxUser: 'ec2-user' },
    });
    expect(world.scheduler.schedules.get(session.id)).toBe(ready?.expiresAt);
  });

  it('refuses tags that match two running instances, and a stopped instance, with a 409 that takes no quota', async () => {
    ec2Answers([instance(), instance(OTHER)]);
    await expect(ask(world, 'web-ssh')).rejects.toThrow(
      `target 'web-ssh': tags Name=web match 2 running instances (${INSTANCE}, ${OTHER}); the policy must single out one`,
    );
    ec2Answers([instance(INSTANCE, 'stopped')]);
    await expect(ask(world, 'app-db')).rejects.toBeInstanceOf(ConflictError);
    expect(world.store.active.get('alice') ?? 0).toBe(0);
  });

  it('refuses a second live session through a full endpoint with a 429 naming it, and admits one once the first expired', async () => {
    const first = await readySession(world);
    await expect(ask(world, 'app-db', BOB)).rejects.toThrow(
      new QuotaExceededError(
        `EC2 Instance Connect Endpoint ${ENDPOINT} already carries 1 live session, the most this policy allows; retry when one ends`,
      ),
    );
    world.clock.advance(30 * 60_000);
    await expireSession(world.deps, first.id);
    await expect(ask(world, 'app-db', BOB)).resolves.toMatchObject({ replayed: false });
  });
});

describe('the grant', () => {
  it('is exactly one AssumeRole: one endpoint, each condition, the time and tunnel bounds, the key for one OS user on one instance', async () => {
    const ready = await readySession(world);
    const now = world.clock.now();
    const expiresAt = ready.expiresAt ?? 0;
    const answer = await issue(world, ready.id);

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE_ARN,
      RoleSessionName: ready.id,
      DurationSeconds: 900,
      SourceIdentity: 'alice',
      Tags: [
        { Key: 'drawbridge:session', Value: ready.id },
        { Key: 'drawbridge:owner', Value: 'alice' },
        { Key: 'drawbridge:break-glass', Value: 'false' },
      ],
      TransitiveTagKeys: ['drawbridge:session', 'drawbridge:owner', 'drawbridge:break-glass'],
    });
    const openUntil = now + 300_000;
    const maxTunnel = (expiresAt - openUntil) / 1000;
    expect(maxTunnel).toBe(25 * 60);
    expect(sentPolicy().Statement).toEqual([
      {
        Sid: 'OpenTunnelToTheTarget',
        Effect: 'Allow',
        Action: 'ec2-instance-connect:OpenTunnel',
        Resource: `arn:aws:ec2:${REGION}:123456789012:instance-connect-endpoint/${ENDPOINT}`,
        Condition: {
          NumericEquals: { 'ec2-instance-connect:remotePort': '22' },
          IpAddress: {
            'ec2-instance-connect:privateIpAddress': `${PRIVATE_IP}/32`,
            'aws:SourceIp': `${ALICE_IP}/32`,
          },
          NumericLessThanEquals: { 'ec2-instance-connect:maxTunnelDuration': String(maxTunnel) },
          DateLessThan: { 'aws:CurrentTime': new Date(openUntil).toISOString() },
        },
      },
      {
        Sid: 'PushKeyForTheOsUser',
        Effect: 'Allow',
        Action: 'ec2-instance-connect:SendSSHPublicKey',
        Resource: `arn:aws:ec2:${REGION}:123456789012:instance/${INSTANCE}`,
        Condition: {
          StringEquals: { 'ec2:osuser': 'ec2-user' },
          IpAddress: { 'aws:SourceIp': `${ALICE_IP}/32` },
          DateLessThan: { 'aws:CurrentTime': new Date(expiresAt).toISOString() },
        },
      },
    ]);
    // No tunnel opened before openUntil with at most maxTunnel outlives the window.
    expect(openUntil + maxTunnel * 1000).toBeLessThanOrEqual(expiresAt);

    expect(answer.connect).toEqual({
      region: REGION,
      instanceId: INSTANCE,
      endpointId: ENDPOINT,
      endpointDns: ENDPOINT_DNS,
      privateIpAddress: PRIVATE_IP,
      remotePort: 22,
      osUser: 'ec2-user',
      sendSshPublicKey: true,
      maxTunnelSeconds: maxTunnel,
      openUntil: new Date(openUntil).toISOString(),
      localPort: 10022,
    });
    expect(answer.commands.ssh).toBe(
      `ssh -o ProxyCommand="aws ec2-instance-connect open-tunnel --region ${REGION} --instance-connect-endpoint-id ${ENDPOINT} --instance-connect-endpoint-dns-name ${ENDPOINT_DNS} --private-ip-address ${PRIVATE_IP} --remote-port 22 --max-tunnel-duration ${maxTunnel}" ec2-user@${INSTANCE}`,
    );
    const [event] = (await world.store.listEvents(ready.id)).filter(
      (e) => e.type === 'credentials-issued',
    );
    expect(event?.detail).toMatchObject({
      endpointId: ENDPOINT,
      privateIpAddress: PRIVATE_IP,
      remotePort: 22,
      osUser: 'ec2-user',
      maxTunnelSeconds: maxTunnel,
    });
  });

  it('grants no key push for a non-SSH port, and near the end never a tunnel past the window', async () => {
    const ready = await readySession(world, 'app-db');
    world.clock.advance(29 * 60_000);
    const answer = await issue(world, ready.id);
    const statements = sentPolicy().Statement;
    expect(statements.map((statement) => statement.Action)).toEqual([
      'ec2-instance-connect:OpenTunnel',
    ]);
    expect(statements[0]?.Condition.NumericEquals).toEqual({
      'ec2-instance-connect:remotePort': '5432',
    });
    // 60 s left: 30 s to open, tunnels of at most 30 s.
    expect(answer.connect.maxTunnelSeconds).toBe(30);
    expect(Date.parse(answer.connect.openUntil) + 30_000).toBe(ready.expiresAt);
    expect(answer.commands).not.toHaveProperty('sendSshPublicKey');
    expect(answer.commands).not.toHaveProperty('ssh');
  });

  it('ends on time with nothing to terminate, and the audit trail says it expired', async () => {
    const ready = await readySession(world);
    await issue(world, ready.id);
    world.clock.advance(30 * 60_000);
    const ended = await expireSession(world.deps, ready.id);
    expect(ended).toMatchObject({ status: 'ENDED', endReason: 'expired' });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
    const types = (await world.store.listEvents(ready.id)).map((event) => event.type);
    expect(types.slice(-2)).toEqual(['end', 'ended']);
    const events = await world.store.listEvents(ready.id);
    expect(events.at(-2)?.detail).toMatchObject({ reason: 'expired' });
    await expect(issue(world, ready.id)).rejects.toThrow('is ENDED');
  });
});

describe('POST /sessions/{id}/credentials for eice writes the credentials nowhere but its answer', () => {
  const dynamo = useDynamo();
  const output = useCapturedOutput();

  it('leaves no trace of them in the table, the audit trail or the logs', async () => {
    const deps = {
      ...world.deps,
      grant: world.grantDeps.grant,
      eiceGrant: world.grantDeps.eiceGrant,
      store: dynamo.store,
      clock: dynamo.clock,
      auditLog: new LoggerAuditLog(logger),
      logger,
    };
    const handler = createIssueCredentialsHandler(() => ({ ...deps, groupsClaim: 'groups' }));
    const { session } = await requestSession(deps, {
      identity: ALICE,
      sourceIp: ALICE_IP,
      request: { target: 'web-ssh', reason: 'INC-42', publicKey: ALICE_PUBLIC_KEY },
    });
    await provisionSession(deps, session.id);
    const ok = await handler(
      httpEvent('issue-credentials', (event) => {
        event.pathParameters = { id: session.id };
        event.requestContext.authorizer.jwt.claims.sub = 'alice';
        event.requestContext.http.sourceIp = ALICE_IP;
      }),
      lambdaContext,
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain(SECRET.SecretAccessKey);

    const items = await dynamo.documentClient.send(
      new ScanCommand({ TableName: dynamo.tableName }),
    );
    const table = JSON.stringify(items.Items);
    const audit = JSON.stringify(await dynamo.store.listEvents(session.id));
    const logs = output.text();
    expect(audit).toContain('credentials-issued');
    expect(logs).toContain('credentials-issued');
    for (const secret of Object.values(SECRET)) {
      expect(table).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
