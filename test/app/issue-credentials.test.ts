// The ssm mode end to end, in process: the real use cases over the real SSM provider, EC2
// launch path and STS grant, with AWS mocked (aws-sdk-client-mock) and the session store in
// memory — and, at the end, the real HTTP handler over dynalite to prove that the credentials
// are written nowhere but the answer.
import {
  AuthorizeSecurityGroupEgressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  SSMClient,
  SSMServiceException,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createIssueCredentialsHandler } from '../../functions/issue-credentials.ts';
import { expireSession } from '../../lib/app/expire-session.ts';
import {
  type CredentialsResponse,
  type IssueCredentialsDeps,
  issueCredentials,
  type SsmCredentialsResponse,
} from '../../lib/app/issue-credentials.ts';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { applyEvent } from '../../lib/app/record.ts';
import { requestSession } from '../../lib/app/request-session.ts';
import { sessionView } from '../../lib/app/session-view.ts';
import { Ec2Provider } from '../../lib/aws/ec2-provider.ts';
import { LoggerAuditLog, logger } from '../../lib/aws/logger.ts';
import { SsmGrant } from '../../lib/aws/ssm-grant.ts';
import { ManagedInstances, SsmProvider } from '../../lib/aws/ssm-provider.ts';
import {
  ConflictError,
  ForbiddenError,
  GrantError,
  NotFoundError,
} from '../../lib/domain/errors.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity, Session } from '../../lib/domain/session.ts';
import type { ProvisionQueue } from '../../lib/ports/provision-queue.ts';
import { useDynamo } from '../support/dynamo.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { type TestWorld, testWorld } from '../support/fakes.ts';
import { useCapturedOutput } from '../support/output.ts';
import { ALICE_PUBLIC_KEY } from '../support/sessions.ts';

const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);
const stsMock = mockClient(STSClient);

const REGION = 'eu-west-1';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/drawbridge-test-eu-west-1-ssm-session';
const PROFILE_ARN = 'arn:aws:iam::123456789012:instance-profile/drawbridge-test-ssm-bastion';
const SHELL = 'drawbridge-test-shell';
const TARGET = 'i-0aaaaaaaaaaaaaaa1';
const BASTION = 'i-0bbbbbbbbbbbbbbb2';
const SG = 'sg-0123456789abcdef0';
const ALICE: Identity = { subject: 'alice', groups: ['dev'] };
const ALICE_IP = '203.0.113.7';
const SECRET = {
  AccessKeyId: 'ASIAZZZSECRETKEYID99',
  SecretAccessKey: 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRETVALUE',
  SessionToken: 'FwoGZXIvYXdzEBYaDSECRETSESSIONTOKENzzzzzzzzzzzzzzzzzzzzzzzz',
};

const POLICY = `
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
provisioningDeadlineMinutes: 10
targets:
  - name: app-db
    mode: ssm
    host: 10.0.3.4
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    ssm:
      instanceId: ${TARGET}
      documents: [shell, port-forwarding]
  - name: fresh-db
    mode: ssm
    host: 10.0.3.5
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
    ssm:
      fresh: true
  - name: prod-db
    mode: ec2
    host: 10.0.1.20
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
`;

/** Records the delay a readiness check asked for. */
class DelayQueue implements ProvisionQueue {
  readonly queued: { sessionId: string; delaySeconds?: number }[] = [];
  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    this.queued.push({ sessionId, ...options });
  }
}

interface SsmWorld extends TestWorld {
  delayQueue: DelayQueue;
  grantDeps: IssueCredentialsDeps;
}

function ssmWorld(): SsmWorld {
  const world = testWorld(parsePolicy(POLICY, 'ssm test policy'));
  const instances = new ManagedInstances({ ssm: new SSMClient({ region: REGION }) });
  const ssm = new SsmProvider({
    instances,
    bastions: new Ec2Provider({
      ec2: new EC2Client({ region: REGION }),
      stage: 'test',
      launchTemplateId: 'lt-0123456789abcdef0',
      logGroupName: '/drawbridge/test/sessions',
    }),
    sessionRoleArn: ROLE_ARN,
    bastionInstanceProfileArn: PROFILE_ARN,
  });
  const delayQueue = new DelayQueue();
  world.deps.providers = { ...world.deps.providers, ssm };
  world.deps.targetChecks = { ssm: instances };
  world.deps.queue = delayQueue;
  const grant = new SsmGrant({
    sts: new STSClient({ region: REGION }),
    roleArn: ROLE_ARN,
    region: REGION,
    shellDocument: SHELL,
  });
  return { ...world, delayQueue, grantDeps: { ...world.deps, grant } };
}

const online = (id = TARGET, status: 'Online' | 'ConnectionLost' = 'Online') =>
  ssmMock
    .on(DescribeInstanceInformationCommand)
    .resolves({ InstanceInformationList: [{ InstanceId: id, PingStatus: status }] });

function stsAnswers(): void {
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: { ...SECRET, Expiration: new Date(Date.parse('2026-11-24T10:00:00Z')) },
  });
}

async function ask(world: SsmWorld, target: string, identity = ALICE, sourceIp = ALICE_IP) {
  return requestSession(world.deps, {
    identity,
    sourceIp,
    request: {
      target,
      durationMinutes: 30,
      reason: 'INC-42 slow queries',
      publicKey: ALICE_PUBLIC_KEY,
    },
  });
}

async function readySession(world: SsmWorld): Promise<Session> {
  online();
  const { session } = await ask(world, 'app-db');
  const ready = await provisionSession(world.deps, session.id);
  if (ready?.status !== 'READY') throw new Error(`not READY: ${ready?.status}`);
  return ready;
}

const issue = (world: SsmWorld, id: string, identity = ALICE, sourceIp = ALICE_IP) =>
  issueCredentials(world.grantDeps, {
    identity,
    sourceIp,
    sessionId: id,
  }) as Promise<SsmCredentialsResponse>;

function awsError<T extends SSMServiceException | STSServiceException>(
  Type: new (options: ConstructorParameters<typeof SSMServiceException>[0]) => T,
  name: string,
): T {
  return new Type({ name, $fault: 'client', $metadata: {}, message: name });
}

let world: SsmWorld;
beforeEach(() => {
  ssmMock.reset();
  ec2Mock.reset();
  stsMock.reset();
  ssmMock.on(DescribeSessionsCommand).resolves({ Sessions: [] });
  ssmMock.on(TerminateSessionCommand).resolves({});
  ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: SG });
  ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: BASTION }] });
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
  stsAnswers();
  world = ssmWorld();
});

describe('an existing target', () => {
  it('is checked at request, READY at provisioning, and hands its owner scoped credentials and the commands', async () => {
    online();
    const { session: requested } = await ask(world, 'app-db');
    expect(requested.resources).toEqual({ targetInstanceId: TARGET });
    const ready = await provisionSession(world.deps, requested.id);
    expect(ready?.status).toBe('READY');
    expect(world.scheduler.schedules.get(requested.id)).toBe(ready?.expiresAt);
    // GET /sessions/{id}: no ssh lines for ssm, the way to the credentials instead
    const view = sessionView(ready as Session, world.deps.policy);
    expect(view).not.toHaveProperty('connection');
    expect(view).toMatchObject({
      ssm: {
        instanceId: TARGET,
        documents: ['shell', 'port-forwarding'],
        credentials: `/sessions/${requested.id}/credentials`,
      },
      links: { credentials: `/sessions/${requested.id}/credentials` },
    });

    const answer = await issue(world, requested.id);
    expect(answer).toEqual({
      sessionId: requested.id,
      expiresAt: new Date(ready?.expiresAt ?? 0).toISOString(),
      credentials: {
        accessKeyId: SECRET.AccessKeyId,
        secretAccessKey: SECRET.SecretAccessKey,
        sessionToken: SECRET.SessionToken,
        expiration: '2026-11-24T10:00:00.000Z',
      },
      sourceIdentity: 'alice',
      connect: {
        instanceId: TARGET,
        region: REGION,
        documents: { shell: SHELL, 'port-forwarding': 'AWS-StartPortForwardingSession' },
        target: { host: '10.0.3.4', port: 5432 },
        viaBastion: false,
        localPort: 5432,
      },
      commands: {
        shell: `aws ssm start-session --region eu-west-1 --target ${TARGET} --document-name ${SHELL}`,
        portForward: `aws ssm start-session --region eu-west-1 --target ${TARGET} --document-name AWS-StartPortForwardingSession --parameters portNumber=5432,localPortNumber=5432`,
      },
    } satisfies CredentialsResponse);
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE_ARN,
      RoleSessionName: requested.id,
      SourceIdentity: 'alice',
    });

    const last = world.audit.events.at(-1);
    expect(last).toMatchObject({
      type: 'credentials-issued',
      actor: 'alice',
      status: 'READY',
      detail: {
        instanceId: TARGET,
        documents: `${SHELL},AWS-StartPortForwardingSession`,
        sourceIp: ALICE_IP,
        sourceIdentity: 'alice',
        durationSeconds: 1800,
        credentialsExpireAt: '2026-11-24T10:00:00.000Z',
      },
    });
    const stored = await world.store.get(requested.id);
    expect(stored?.status).toBe('READY');
    expect(stored?.version).toBe((ready?.version ?? 0) + 1);
  });

  it('refuses with 409 before anything is written when the agent is not Online, and uses no quota', async () => {
    online(TARGET, 'ConnectionLost');
    const error = await ask(world, 'app-db').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).message).toContain('the Session Manager agent is not Online');
    expect((await world.store.listByOwner('alice', { limit: 10 })).items).toEqual([]);
    expect(world.delayQueue.queued).toEqual([]);
    // the quota of 2 is intact
    ssmMock.reset();
    online();
    await ask(world, 'app-db');
    await ask(world, 'app-db');
  });

  it('answers 503, not 409, when Systems Manager cannot be asked', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .rejects(awsError(SSMServiceException, 'InternalServerError'));
    await expect(ask(world, 'app-db')).rejects.toMatchObject({ code: 'unavailable', expose: true });
  });

  it('gives credentials to the owner only, from the requesting address only, and only while READY', async () => {
    const ready = await readySession(world);
    await expect(issue(world, ready.id, { subject: 'mallory', groups: ['dev'] })).rejects.toThrow(
      NotFoundError,
    );
    await expect(issue(world, ready.id, { subject: 'root', groups: ['admins'] })).rejects.toThrow(
      ForbiddenError,
    );
    await expect(issue(world, ready.id, ALICE, '198.51.100.1')).rejects.toThrow(
      `credentials for session ${ready.id} work only from ${ALICE_IP}`,
    );
    await expect(issue(world, 'not-an-id')).rejects.toThrow(NotFoundError);
    world.clock.advance(31 * 60_000);
    await expect(issue(world, ready.id)).rejects.toThrow(ConflictError);
    expect(stsMock).not.toHaveReceivedCommand(AssumeRoleCommand);
  });

  it('has no credentials for an ec2 session or one that is not READY yet', async () => {
    const ec2 = await ask(world, 'prod-db');
    await expect(issue(world, ec2.session.id)).rejects.toThrow('it connects with ssh');
    online();
    const pending = await ask(world, 'app-db');
    await expect(issue(world, pending.session.id)).rejects.toThrow(
      'is REQUESTED: credentials are issued while it is READY',
    );
  });

  it('at expiry terminates the Session Manager sessions of its grant and no one else, and issues nothing more', async () => {
    const ready = await readySession(world);
    await issue(world, ready.id);
    ssmMock.on(DescribeSessionsCommand).resolves({
      Sessions: [
        {
          SessionId: `${ready.id}-0a1b2c3d4e5f60001`,
          Owner: `arn:aws:sts::123456789012:assumed-role/drawbridge-test-eu-west-1-ssm-session/${ready.id}`,
        },
        { SessionId: 'bob-0a1b2c3d4e5f60002', Owner: 'arn:aws:iam::123456789012:user/bob' },
      ],
    });
    world.clock.advance(30 * 60_000);
    const ended = await expireSession(world.deps, ready.id);
    expect(ended?.status).toBe('ENDED');
    expect(ssmMock).toHaveReceivedCommandTimes(TerminateSessionCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(TerminateSessionCommand, {
      SessionId: `${ready.id}-0a1b2c3d4e5f60001`,
    });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
    await expect(issue(world, ready.id)).rejects.toThrow('is ENDED');
  });
});

describe('when STS refuses', () => {
  it('a denial is a clear 502; the session ends and the reaper gives the quota back', async () => {
    const first = await readySession(world);
    const second = await readySession(world);
    stsMock.reset();
    stsMock.on(AssumeRoleCommand).rejects(awsError(STSServiceException, 'AccessDenied'));
    const error = await issue(world, first.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrantError);
    expect(error).toMatchObject({
      code: 'grant_failed',
      expose: true,
      message: "STS refused this session's credentials (AccessDenied)",
    });
    expect(await world.store.get(first.id)).toMatchObject({
      status: 'ENDING',
      endReason: 'failed',
      failureReason: "STS refused this session's credentials (AccessDenied)",
    });
    // quota 2 is full until the reaper (which takes ENDING sessions at once) ends it
    online();
    await expect(ask(world, 'app-db')).rejects.toMatchObject({ code: 'quota_exceeded' });
    const report = await reap(world.deps);
    expect(report.resumed).toBe(1);
    expect((await world.store.get(first.id))?.status).toBe('ENDED');
    await expect(ask(world, 'app-db')).resolves.toMatchObject({ replayed: false });
    expect((await world.store.get(second.id))?.status).toBe('READY');
  });

  it('a throttled or failing STS leaves the session READY for another try', async () => {
    const ready = await readySession(world);
    stsMock.reset();
    stsMock
      .on(AssumeRoleCommand)
      .rejectsOnce(awsError(STSServiceException, 'Throttling'))
      .resolves({
        Credentials: { ...SECRET, Expiration: new Date(Date.parse('2026-11-24T10:00:00Z')) },
      });
    const error = await issue(world, ready.id).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'grant_failed', permanent: false });
    expect((await world.store.get(ready.id))?.status).toBe('READY');
    await expect(issue(world, ready.id)).resolves.toMatchObject({ sessionId: ready.id });
  });
});

describe('a fresh bastion', () => {
  const running = {
    Reservations: [
      {
        Instances: [
          {
            InstanceId: BASTION,
            State: { Name: 'running' as const },
            PublicIpAddress: '198.51.100.9',
          },
        ],
      },
    ],
  };

  async function launched(): Promise<Session> {
    const { session } = await ask(world, 'fresh-db');
    const provisioning = await provisionSession(world.deps, session.id);
    expect(provisioning?.status).toBe('PROVISIONING');
    return provisioning as Session;
  }

  it('is READY only once its agent is Online, checked again through the queue until then', async () => {
    const session = await launched();
    expect(world.delayQueue.queued).toEqual([
      { sessionId: session.id }, // the request
      { sessionId: session.id, delaySeconds: 10 }, // the first readiness check
    ]);
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    world.clock.advance(10_000);
    expect((await provisionSession(world.deps, session.id))?.status).toBe('PROVISIONING');
    expect(world.delayQueue.queued.at(-1)).toEqual({ sessionId: session.id, delaySeconds: 10 });

    online(BASTION);
    world.clock.advance(10_000);
    const ready = await provisionSession(world.deps, session.id);
    expect(ready).toMatchObject({
      status: 'READY',
      connection: { bastionHost: BASTION, bastionPort: 443, linuxUser: 'ssm-user' },
    });
    const answer = await issue(world, session.id);
    expect(answer.commands.portForward).toBe(
      `aws ssm start-session --region eu-west-1 --target ${BASTION} --document-name AWS-StartPortForwardingSessionToRemoteHost --parameters host=10.0.3.5,portNumber=5432,localPortNumber=5432`,
    );
    expect(answer.commands.shell).toBeUndefined();
  });

  it('resumes a launch whose run died after the provision write, with the same ClientToken', async () => {
    const { session } = await ask(world, 'fresh-db');
    // An earlier delivery got as far as PROVISIONING and was killed before attach.
    await applyEvent(world.deps, session, { type: 'provision' }, { actor: 'drawbridge' });
    const resumed = await provisionSession(world.deps, session.id);
    expect(resumed).toMatchObject({ status: 'PROVISIONING', resources: { instanceId: BASTION } });
    // EC2 answers a repeated token with the instance it launched the first time.
    expect(ec2Mock).toHaveReceivedCommandWith(RunInstancesCommand, { ClientToken: session.id });
  });

  it('whose agent never comes Online is FAILED at the deadline and its instance terminated', async () => {
    const session = await launched();
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: BASTION, PingStatus: 'ConnectionLost' }],
    });
    // The checks stop asking once the next one would fall past the deadline.
    for (let minute = 1; minute <= 10; minute += 1) {
      world.clock.advance(60_000);
      await provisionSession(world.deps, session.id);
    }
    const delays = world.delayQueue.queued.slice(1).map((entry) => entry.delaySeconds ?? 0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(10);
    expect((await world.store.get(session.id))?.status).toBe('PROVISIONING');

    world.clock.advance(1_000);
    const report = await reap(world.deps);
    expect(report.failed).toBe(1);
    expect(await world.store.get(session.id)).toMatchObject({
      status: 'FAILED',
      failureReason: 'the bastion was not ready before the provisioning deadline',
    });
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: [BASTION],
    });
    // The group goes when EC2 reports the instance terminated.
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
    await onInstanceState(world.deps, BASTION, 'terminated');
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: SG });
    await expect(issue(world, session.id)).rejects.toThrow(ConflictError);
  });
});

describe('POST /sessions/{id}/credentials writes the credentials nowhere but its answer', () => {
  const dynamo = useDynamo();
  const output = useCapturedOutput();

  it('leaves no trace of them in the table, the audit trail or the logs', async () => {
    const dynamoWorld = ssmWorld();
    const deps = {
      ...dynamoWorld.deps,
      store: dynamo.store,
      clock: dynamo.clock,
      auditLog: new LoggerAuditLog(logger),
      logger,
    };
    const issueCredentialsHandler = createIssueCredentialsHandler(() => ({
      ...deps,
      grant: dynamoWorld.grantDeps.grant,
      groupsClaim: 'groups',
    }));
    online();
    const { session } = await requestSession(deps, {
      identity: ALICE,
      sourceIp: ALICE_IP,
      request: { target: 'app-db', reason: 'INC-42', publicKey: ALICE_PUBLIC_KEY },
    });
    await provisionSession(deps, session.id);

    const call = (patch: (event: ReturnType<typeof httpEvent>) => void = () => {}) =>
      issueCredentialsHandler(
        httpEvent('issue-credentials', (event) => {
          event.pathParameters = { id: session.id };
          event.requestContext.authorizer.jwt.claims.sub = 'alice';
          event.requestContext.http.sourceIp = ALICE_IP;
          patch(event);
        }),
        lambdaContext,
      );
    const ok = await call();
    expect(ok.statusCode).toBe(200);
    expect(ok.headers?.['cache-control']).toBe('no-store');
    expect(ok.body).toContain(SECRET.SecretAccessKey); // the answer does carry them
    // and the failing paths log too
    expect(
      (
        await call((event) => {
          event.requestContext.http.sourceIp = '198.51.100.1';
        })
      ).statusCode,
    ).toBe(403);
    stsMock.reset();
    stsMock.on(AssumeRoleCommand).rejects(awsError(STSServiceException, 'AccessDenied'));
    expect((await call()).statusCode).toBe(502);

    const items = await dynamo.documentClient.send(
      new ScanCommand({ TableName: dynamo.tableName }),
    );
    const table = JSON.stringify(items.Items);
    const audit = JSON.stringify(await dynamo.store.listEvents(session.id));
    const logs = output.text();
    expect(table).toContain('credentials-issued');
    expect(audit).toContain('credentials-issued');
    expect(logs).toContain('credentials-issued');
    for (const secret of Object.values(SECRET)) {
      expect(table).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
