import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
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
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ec2Provider } from '../../lib/aws/ec2-provider.ts';
import {
  buildSsmBastionUserData,
  ManagedInstances,
  SsmProvider,
} from '../../lib/aws/ssm-provider.ts';
import { ConflictError, ProvisioningError } from '../../lib/domain/errors.ts';
import { type Target, validatePolicy } from '../../lib/domain/policy.ts';
import type { Session } from '../../lib/domain/session.ts';
import { httpStatus } from '../../lib/http/error-status.ts';
import type { LaunchPlan } from '../../lib/ports/provider.ts';
import { makeSession } from '../support/sessions.ts';

const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);

const SESSION_ID = 's-0123456789abcdefghjk';
const OTHER_SESSION_ID = 's-zzzzzzzzzzzzzzzzzzzz';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/drawbridge-dev-eu-west-1-ssm-session';
const OWNER = `arn:aws:sts::123456789012:assumed-role/drawbridge-dev-eu-west-1-ssm-session/${SESSION_ID}`;
const PROFILE_ARN = 'arn:aws:iam::123456789012:instance-profile/drawbridge-dev-ssm-bastion';
const TARGET_INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const BASTION = 'i-0bbbbbbbbbbbbbbb2';
const SG = 'sg-0123456789abcdef0';

function target(ssm: Record<string, unknown>): Target {
  const fresh = ssm.fresh === true;
  const policy = validatePolicy({
    version: 1,
    adminGroup: 'admins',
    quota: { activeSessionsPerUser: 2 },
    targets: [
      {
        name: 'app',
        mode: 'ssm',
        host: '10.0.3.4',
        port: 5432,
        allowedGroups: ['dev'],
        defaultDurationMinutes: 30,
        maxDurationMinutes: 120,
        ssm,
        ...(fresh ? { network: { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'] } } : {}),
      },
    ],
  });
  const [only] = policy.targets;
  if (!only) throw new Error('no target');
  return only;
}

const session = (overrides: Partial<Session> = {}): Session =>
  makeSession({ id: SESSION_ID, mode: 'ssm', status: 'PROVISIONING', target: 'app', ...overrides });

function plan(t: Target, s: Session = session()): LaunchPlan {
  return {
    session: s,
    target: t,
    policy: validatePolicy({
      version: 1,
      adminGroup: 'admins',
      quota: { activeSessionsPerUser: 2 },
      targets: [t],
    }),
    authorizedKey: 'unused by ssm',
    selfDestructAt: s.credentialExpiresAt,
    selfDestructMinutes: 45,
  };
}

const instances = () => new ManagedInstances({ ssm: new SSMClient({ region: 'eu-west-1' }) });

function provider(): SsmProvider {
  return new SsmProvider({
    instances: instances(),
    bastions: new Ec2Provider({
      ec2: new EC2Client({ region: 'eu-west-1' }),
      stage: 'dev',
      launchTemplateId: 'lt-0123456789abcdef0',
      logGroupName: '/drawbridge/dev/sessions',
    }),
    sessionRoleArn: ROLE_ARN,
    bastionInstanceProfileArn: PROFILE_ARN,
  });
}

const info = (InstanceId: string, PingStatus: 'Online' | 'ConnectionLost' | 'Inactive') => ({
  InstanceId,
  PingStatus,
});

function ssmError(name: string): SSMServiceException {
  return new SSMServiceException({ name, $fault: 'client', $metadata: {}, message: name });
}

beforeEach(() => {
  ssmMock.reset();
  ec2Mock.reset();
  ssmMock.on(TerminateSessionCommand).resolves({});
  ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: SG });
  ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: BASTION }] });
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
});

describe('the request-time check of an existing target', () => {
  it('accepts an Online instance named by id and records it', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [info(TARGET_INSTANCE, 'Online')] });
    await expect(instances().checkTarget(target({ instanceId: TARGET_INSTANCE }))).resolves.toEqual(
      { targetInstanceId: TARGET_INSTANCE },
    );
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: [TARGET_INSTANCE] }],
      MaxResults: 50,
    });
  });

  it('refuses with a 409 when the agent is not Online, or the instance is not managed', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [info(TARGET_INSTANCE, 'ConnectionLost')] })
      .resolvesOnce({ InstanceInformationList: [] });
    const t = target({ instanceId: TARGET_INSTANCE });
    const offline = await instances()
      .checkTarget(t)
      .catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(ConflictError);
    expect(httpStatus(offline as ConflictError)).toBe(409);
    expect((offline as Error).message).toBe(
      `target 'app': the Session Manager agent is not Online (${TARGET_INSTANCE} ConnectionLost); try again once it is connected`,
    );
    await expect(instances().checkTarget(t)).rejects.toThrow(
      `target 'app': no managed instance with instance ${TARGET_INSTANCE} is registered with Systems Manager`,
    );
  });

  it('resolves tags across pages to the one Online instance, ignoring stale registrations', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({
        InstanceInformationList: [info('i-0ccccccccccccccc3', 'ConnectionLost')],
        NextToken: 'page-2',
      })
      .resolvesOnce({ InstanceInformationList: [info(TARGET_INSTANCE, 'Online')] });
    await expect(
      instances().checkTarget(target({ instanceTags: { role: 'db', env: 'prod' } })),
    ).resolves.toEqual({ targetInstanceId: TARGET_INSTANCE });
    const calls = ssmMock.commandCalls(DescribeInstanceInformationCommand);
    expect(calls.map((call) => call.args[0].input)).toEqual([
      {
        Filters: [
          { Key: 'tag:role', Values: ['db'] },
          { Key: 'tag:env', Values: ['prod'] },
        ],
        MaxResults: 50,
        NextToken: undefined,
      },
      {
        Filters: [
          { Key: 'tag:role', Values: ['db'] },
          { Key: 'tag:env', Values: ['prod'] },
        ],
        MaxResults: 50,
        NextToken: 'page-2',
      },
    ]);
  });

  it('refuses tags that match more than one Online instance, naming them', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [info(TARGET_INSTANCE, 'Online'), info(BASTION, 'Online')],
    });
    await expect(instances().checkTarget(target({ instanceTags: { role: 'db' } }))).rejects.toThrow(
      `target 'app': tags role=db match 2 Online managed instances (${TARGET_INSTANCE}, ${BASTION}); the policy must single out one`,
    );
  });

  it('needs nothing for a fresh bastion, and reports an SSM outage as a failure, not a refusal', async () => {
    await expect(instances().checkTarget(target({ fresh: true }))).resolves.toEqual({});
    expect(ssmMock).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
    ssmMock.on(DescribeInstanceInformationCommand).rejects(ssmError('ThrottlingException'));
    const error = await instances()
      .checkTarget(target({ instanceId: TARGET_INSTANCE }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error).not.toBeInstanceOf(ConflictError);
    // once: the client retries throttling itself (test/aws/client-retry.test.ts), nothing on top
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
  });
});

describe('SsmProvider.launch', () => {
  it('makes an existing Online target usable at once, re-checking the instance the request recorded', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [info(TARGET_INSTANCE, 'Online')] });
    const t = target({ instanceTags: { role: 'db' } });
    const result = await provider().launch(
      plan(t, session({ resources: { targetInstanceId: TARGET_INSTANCE } })),
    );
    expect(result).toEqual({
      resources: { targetInstanceId: TARGET_INSTANCE },
      connection: { bastionHost: TARGET_INSTANCE, bastionPort: 443, linuxUser: 'ssm-user' },
    });
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [
        { Key: 'tag:role', Values: ['db'] },
        { Key: 'InstanceIds', Values: [TARGET_INSTANCE] },
      ],
    });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('fails with a reason the owner can read when the target went offline since the request', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [info(TARGET_INSTANCE, 'ConnectionLost')] });
    const error = await provider()
      .launch(plan(target({ instanceId: TARGET_INSTANCE })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).reason).toContain('agent is not Online');
  });

  it('launches a fresh bastion on the ec2 path with no inbound rule at all and its own instance profile', async () => {
    const result = await provider().launch(plan(target({ fresh: true })));
    expect(result).toMatchObject({
      resources: { instanceId: BASTION, securityGroupId: SG },
      recheckAfterSeconds: 10,
    });
    expect(result.connection).toBeUndefined();
    expect(ec2Mock).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    const egress = ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand)[0]?.args[0].input;
    expect(egress?.IpPermissions?.map((p) => [p.FromPort, p.IpRanges?.[0]?.CidrIp])).toEqual([
      [5432, '10.0.3.4/32'],
      // no 443 anywhere unless the network names its endpoints (network.logShipping)
    ]);
    const run = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(run?.IamInstanceProfile).toEqual({ Arn: PROFILE_ARN });
    expect(run?.MetadataOptions?.HttpTokens).toBe('required');
    const cloudConfig = Buffer.from(run?.UserData ?? '', 'base64').toString('utf8');
    expect(cloudConfig.startsWith('#cloud-config\n')).toBe(true);
    expect(parse(cloudConfig)).toEqual({
      bootcmd: [['shutdown', '-h', '+45']],
      users: [{ name: 'ssm-user', lock_passwd: true, shell: '/bin/bash' }],
      ssh_pwauth: false,
      disable_root: true,
      packages: ['amazon-ssm-agent'],
      runcmd: [
        ['systemctl', 'disable', '--now', 'sshd'],
        ['systemctl', 'enable', '--now', 'amazon-ssm-agent'],
      ],
    });
  });

  it('refuses unsafe user data input', () => {
    expect(() =>
      buildSsmBastionUserData({ sessionId: 'x; rm -rf /', selfDestructMinutes: 5 }),
    ).toThrow();
    expect(() =>
      buildSsmBastionUserData({ sessionId: SESSION_ID, selfDestructMinutes: 0 }),
    ).toThrow();
  });
});

describe('SsmProvider.inspect (readiness)', () => {
  const fresh = session({ resources: { instanceId: BASTION, securityGroupId: SG } });
  const running = {
    Reservations: [
      {
        Instances: [
          {
            InstanceId: BASTION,
            State: { Name: 'running' as const },
            PublicIpAddress: '198.51.100.7',
          },
        ],
      },
    ],
  };

  it('is not READY when EC2 says running but the agent is not Online yet: ask again later', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    await expect(provider().inspect(fresh)).resolves.toEqual({
      state: 'pending',
      recheckAfterSeconds: 10,
    });
  });

  it('is READY once the agent is Online, reached through Session Manager', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(running);
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [info(BASTION, 'Online')] });
    await expect(provider().inspect(fresh)).resolves.toEqual({
      state: 'running',
      connection: { bastionHost: BASTION, bastionPort: 443, linuxUser: 'ssm-user' },
    });
  });

  it('is gone when the instance is', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: BASTION, State: { Name: 'terminated' } }] }],
    });
    await expect(provider().inspect(fresh)).resolves.toEqual({ state: 'gone' });
    expect(ssmMock).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });
});

describe('SsmProvider.release (expiry)', () => {
  const own = (suffix: string) => ({ SessionId: `${SESSION_ID}-${suffix}`, Owner: OWNER });
  const someoneElse = [
    // another Drawbridge grant on the same instance
    {
      SessionId: `${OTHER_SESSION_ID}-0a1b2c3d4e5f60001`,
      Owner: OWNER.replace(SESSION_ID, OTHER_SESSION_ID),
    },
    // a person with their own access to the instance
    { SessionId: 'bob-0a1b2c3d4e5f60002', Owner: 'arn:aws:iam::123456789012:user/bob' },
    // a session whose owner string merely starts like ours
    { SessionId: `${SESSION_ID}x-0a1b2c3d4e5f60003`, Owner: `${OWNER}x` },
  ];

  function sessionsOnTwoPages() {
    ssmMock
      .on(DescribeSessionsCommand)
      .resolvesOnce({
        Sessions: [own('0a1b2c3d4e5f60010'), ...someoneElse.slice(0, 2)],
        NextToken: 'more',
      })
      .resolvesOnce({ Sessions: [someoneElse[2] ?? {}, own('0a1b2c3d4e5f60011')] });
  }

  it('terminates every Session Manager session of the grant, across pages, and none of anyone else', async () => {
    sessionsOnTwoPages();
    await provider().release(
      session({ status: 'ENDING', resources: { targetInstanceId: TARGET_INSTANCE } }),
    );
    const described = ssmMock.commandCalls(DescribeSessionsCommand).map((c) => c.args[0].input);
    expect(described).toEqual([
      {
        State: 'Active',
        Filters: [{ key: 'Target', value: TARGET_INSTANCE }],
        MaxResults: 200,
        NextToken: undefined,
      },
      {
        State: 'Active',
        Filters: [{ key: 'Target', value: TARGET_INSTANCE }],
        MaxResults: 200,
        NextToken: 'more',
      },
    ]);
    const terminated = ssmMock
      .commandCalls(TerminateSessionCommand)
      .map((c) => c.args[0].input.SessionId);
    expect(terminated).toEqual([
      `${SESSION_ID}-0a1b2c3d4e5f60010`,
      `${SESSION_ID}-0a1b2c3d4e5f60011`,
    ]);
    // an existing target is not ours: nothing on EC2 is touched
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('also terminates a fresh bastion, and deletes its security group once it is terminated', async () => {
    sessionsOnTwoPages();
    const ending = session({
      status: 'ENDING',
      resources: { instanceId: BASTION, securityGroupId: SG },
    });
    await provider().release(ending);
    expect(ssmMock).toHaveReceivedCommandTimes(TerminateSessionCommand, 2);
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: [BASTION],
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
    await provider().releaseLeftovers(ending);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: SG });
  });

  it('counts a session that ended meanwhile as ended, and leaves the session ENDING when it cannot end the others', async () => {
    ssmMock.on(DescribeSessionsCommand).resolves({ Sessions: [own('0a'), own('0b')] });
    ssmMock.on(TerminateSessionCommand).rejectsOnce(ssmError('DoesNotExistException')).resolves({});
    await provider().release(session({ resources: { targetInstanceId: TARGET_INSTANCE } }));
    expect(ssmMock).toHaveReceivedCommandTimes(TerminateSessionCommand, 2);

    ssmMock.reset();
    ssmMock.on(DescribeSessionsCommand).resolves({ Sessions: [own('0c')] });
    ssmMock.on(TerminateSessionCommand).rejects(ssmError('AccessDeniedException'));
    const error = await provider()
      .release(session({ resources: { targetInstanceId: TARGET_INSTANCE } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).retryable).toBe(true);
    expect((error as ProvisioningError).reason).toBe(
      'ending Session Manager sessions failed: AccessDeniedException',
    );
  });
});

describe('SsmProvider reconciliation', () => {
  it('lists the active sessions of any grant of this stage, with the Drawbridge session they belong to', async () => {
    ssmMock
      .on(DescribeSessionsCommand)
      .resolvesOnce({
        Sessions: [
          { SessionId: `${SESSION_ID}-0a`, Owner: OWNER },
          { SessionId: 'bob-0b', Owner: 'arn:aws:iam::123456789012:user/bob' },
        ],
        NextToken: 'n',
      })
      .resolvesOnce({
        Sessions: [
          {
            SessionId: `${OTHER_SESSION_ID}-0c`,
            Owner: OWNER.replace(SESSION_ID, OTHER_SESSION_ID),
          },
        ],
      });
    await expect(provider().listOwned()).resolves.toEqual([
      { kind: 'ssm-session', id: `${SESSION_ID}-0a`, sessionId: SESSION_ID },
      { kind: 'ssm-session', id: `${OTHER_SESSION_ID}-0c`, sessionId: OTHER_SESSION_ID },
    ]);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeSessionsCommand, {
      State: 'Active',
      MaxResults: 200,
    });
  });

  it('ends an orphaned session, and says retry-later when throttled', async () => {
    const p = provider();
    await expect(p.destroy({ kind: 'ssm-session', id: `${SESSION_ID}-0a` })).resolves.toBe(
      'destroyed',
    );
    expect(ssmMock).toHaveReceivedCommandWith(TerminateSessionCommand, {
      SessionId: `${SESSION_ID}-0a`,
    });
    ssmMock.on(TerminateSessionCommand).rejects(ssmError('ThrottlingException'));
    await expect(p.destroy({ kind: 'ssm-session', id: `${SESSION_ID}-0b` })).resolves.toBe(
      'retry-later',
    );
  });
});
