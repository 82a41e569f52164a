import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandInput,
  DescribeSecurityGroupsCommand,
  EC2Client,
  EC2ServiceException,
  RevokeSecurityGroupEgressCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { onInstanceState } from '../../lib/app/observe-bastion.ts';
import { reap } from '../../lib/app/reap.ts';
import { Ec2Provider, tagValue } from '../../lib/aws/ec2-provider.ts';
import { authorizedKeyLine } from '../../lib/domain/authorized-key.ts';
import { ProvisioningError } from '../../lib/domain/errors.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import { type Policy, type Target, validatePolicy } from '../../lib/domain/policy.ts';
import { linuxUserFor, type Session } from '../../lib/domain/session.ts';
import type { LaunchPlan } from '../../lib/ports/provider.ts';
import { testWorld } from '../support/fakes.ts';

const HOST_KEY = issueHostKey();

const ec2Mock = mockClient(EC2Client);

const SESSION_ID = 's-0123456789abcdefghjk';
const NOW = Date.UTC(2026, 10, 24, 6, 0, 0);
const CREDENTIAL_EXPIRES_AT = NOW + 65 * 60_000;
const SG = 'sg-0123456789abcdef0';
const INSTANCE = 'i-0123456789abcdef0';
const SUBNET_A = 'subnet-0aaa1111';
const SUBNET_B = 'subnet-0bbb2222';
const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function session(overrides: Partial<Session> = {}): Session {
  return {
    id: SESSION_ID,
    owner: 'alice@example.com',
    ownerGroups: ['engineers'],
    sourceIp: '203.0.113.7',
    sourceCidr: '203.0.113.7/32',
    target: 'prod-db',
    mode: 'ec2',
    reason: 'investigate INC-42 slow queries',
    publicKey: PUBLIC_KEY,
    durationMinutes: 60,
    linuxUser: linuxUserFor(SESSION_ID),
    status: 'PROVISIONING',
    version: 2,
    createdAt: NOW,
    updatedAt: NOW,
    provisioningDeadline: NOW + 10 * 60_000,
    credentialExpiresAt: CREDENTIAL_EXPIRES_AT,
    resources: {},
    auditSeq: 2,
    auditHead: 'f'.repeat(64),
    ...overrides,
  };
}

function policy(targetOverrides: Record<string, unknown> = {}): Policy {
  return validatePolicy({
    version: 1,
    adminGroup: 'admins',
    quota: { activeSessionsPerUser: 2 },
    targets: [
      {
        name: 'prod-db',
        mode: 'ec2',
        host: '10.0.1.20',
        port: 5432,
        allowedGroups: ['engineers'],
        defaultDurationMinutes: 30,
        maxDurationMinutes: 60,
        network: { vpcId: 'vpc-0abc1234', subnetIds: [SUBNET_A, SUBNET_B] },
        instanceTypes: ['t4g.nano'],
        ...targetOverrides,
      },
    ],
  });
}

function plan(
  sessionOverrides: Partial<Session> = {},
  targetOverrides: Record<string, unknown> = {},
): LaunchPlan {
  const p = policy(targetOverrides);
  const target = p.targets[0] as Target;
  const s = session(sessionOverrides);
  return {
    session: s,
    target,
    policy: p,
    authorizedKey: authorizedKeyLine({
      publicKey: PUBLIC_KEY,
      targetHost: target.host,
      targetPort: target.port,
      sourceCidr: s.sourceCidr,
      expiresAt: s.credentialExpiresAt,
      access: target.access,
      sessionId: s.id,
    }),
    selfDestructAt: s.credentialExpiresAt,
    selfDestructMinutes: 65,
    hostKey: HOST_KEY,
  };
}

const TAGS = [
  { Key: 'Name', Value: `drawbridge-dev-${SESSION_ID}` },
  { Key: 'drawbridge:session', Value: SESSION_ID },
  { Key: 'drawbridge:owner', Value: 'alice@example.com' },
  { Key: 'drawbridge:expires-at', Value: '2026-11-24T07:05:00.000Z' },
  { Key: 'drawbridge:stage', Value: 'dev' },
];

function awsError(name: string, message = `${name} happened`): EC2ServiceException {
  return new EC2ServiceException({ name, $fault: 'client', $metadata: {}, message });
}

function provider(): Ec2Provider {
  return new Ec2Provider({
    ec2: new EC2Client({ region: 'eu-west-1' }),
    stage: 'dev',
    launchTemplateId: 'lt-0123456789abcdef0',
    logGroupName: '/drawbridge/dev/sessions',
  });
}

function runInputs(): RunInstancesCommandInput[] {
  return ec2Mock.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
}

beforeEach(() => {
  ec2Mock.reset();
  ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: SG });
  ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: INSTANCE }] });
  ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
  ec2Mock.on(TerminateInstancesCommand).resolves({});
});

describe('Ec2Provider.launch', () => {
  it('creates a tagged security group in the target VPC', async () => {
    await provider().launch(plan());
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(CreateSecurityGroupCommand, {
      GroupName: `drawbridge-dev-${SESSION_ID}`,
      Description: `Drawbridge bastion for session ${SESSION_ID}`,
      VpcId: 'vpc-0abc1234',
      TagSpecifications: [{ ResourceType: 'security-group', Tags: TAGS }],
    });
  });

  it('admits SSH from the caller /32 only and lets out only the target and HTTPS', async () => {
    await provider().launch(plan());
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupEgressCommand, {
      GroupId: SG,
      IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    });
    const ingress = ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand);
    expect(ingress).toHaveLength(1);
    expect(ingress[0]?.args[0].input).toEqual({
      GroupId: SG,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '203.0.113.7/32', Description: `drawbridge ${SESSION_ID}` }],
        },
      ],
      TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: TAGS }],
    });
    const egress = ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand);
    expect(egress).toHaveLength(1);
    expect(egress[0]?.args[0].input).toEqual({
      GroupId: SG,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 5432,
          ToPort: 5432,
          IpRanges: [{ CidrIp: '10.0.1.20/32', Description: `drawbridge ${SESSION_ID} target` }],
        },
      ],
      TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: TAGS }],
    });
  });

  it("opens HTTPS only to the network's log-shipping endpoint and prefix lists, never the internet", async () => {
    await provider().launch(
      plan(
        {},
        {
          network: {
            vpcId: 'vpc-0abc1234',
            subnetIds: [SUBNET_A, SUBNET_B],
            logShipping: { securityGroupIds: ['sg-0a1b2c3d4e'], prefixListIds: ['pl-0f9e8d7c6b'] },
          },
        },
      ),
    );
    const permissions =
      ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand)[0]?.args[0].input.IpPermissions ??
      [];
    const description = `drawbridge ${SESSION_ID} log shipping`;
    expect(permissions[1]).toEqual({
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      UserIdGroupPairs: [{ GroupId: 'sg-0a1b2c3d4e', Description: description }],
      PrefixListIds: [{ PrefixListId: 'pl-0f9e8d7c6b', Description: description }],
    });
    expect(JSON.stringify(permissions)).not.toContain('0.0.0.0/0');
  });

  it('admits an IPv6 caller by /128 in Ipv6Ranges and gives the bastion an IPv6 address', async () => {
    await provider().launch(plan({ sourceIp: '2001:db8::7', sourceCidr: '2001:db8::7/128' }));
    const ingress = ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]?.args[0].input;
    expect(ingress?.IpPermissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        Ipv6Ranges: [{ CidrIpv6: '2001:db8::7/128', Description: `drawbridge ${SESSION_ID}` }],
      },
    ]);
    expect(ingress?.IpPermissions?.[0]?.IpRanges).toBeUndefined();
    expect(runInputs()[0]?.NetworkInterfaces?.[0]?.Ipv6AddressCount).toBe(1);
  });

  it('launches from the template with IMDSv2, terminate-on-shutdown, tags and the session ClientToken', async () => {
    const result = await provider().launch(plan());
    expect(result).toEqual({
      resources: {
        instanceId: INSTANCE,
        securityGroupId: SG,
        subnetId: SUBNET_A,
        instanceType: 't4g.nano',
      },
    });
    const inputs = runInputs();
    expect(inputs).toHaveLength(1);
    const { UserData, ...rest } = inputs[0] ?? {};
    expect(rest).toEqual({
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Default' },
      InstanceType: 't4g.nano',
      MinCount: 1,
      MaxCount: 1,
      NetworkInterfaces: [
        {
          DeviceIndex: 0,
          SubnetId: SUBNET_A,
          Groups: [SG],
          AssociatePublicIpAddress: true,
          DeleteOnTermination: true,
        },
      ],
      MetadataOptions: {
        HttpTokens: 'required',
        HttpPutResponseHopLimit: 1,
        HttpEndpoint: 'enabled',
        InstanceMetadataTags: 'disabled',
      },
      InstanceInitiatedShutdownBehavior: 'terminate',
      TagSpecifications: [
        { ResourceType: 'instance', Tags: TAGS },
        { ResourceType: 'volume', Tags: TAGS },
        { ResourceType: 'network-interface', Tags: TAGS },
      ],
      ClientToken: SESSION_ID,
    });
    expect(inputs[0]).not.toHaveProperty('KeyName');
    expect(typeof UserData).toBe('string');
  });

  it('sends cloud-config user data carrying the key once and nothing of the reason or owner', async () => {
    const launchPlan = plan();
    await provider().launch(launchPlan);
    const text = Buffer.from(runInputs()[0]?.UserData ?? '', 'base64').toString('utf8');
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const config = parse(text) as {
      users: { ssh_authorized_keys: string[] }[];
      runcmd: string[][];
      bootcmd: string[][];
    };
    expect(config.users[0]?.ssh_authorized_keys).toEqual([launchPlan.authorizedKey]);
    // once, as one JSON string (its options' quotes escaped)
    expect(text.split(JSON.stringify(launchPlan.authorizedKey))).toHaveLength(2);
    expect(text).not.toContain('INC-42');
    expect(text).not.toContain('alice');
    // The plan's absolute self-destruct time, in epoch seconds, not minutes from now.
    expect(config.bootcmd[0]?.at(-1)).toBe(String(Math.floor(launchPlan.selfDestructAt / 1000)));
    expect(text).toContain(launchPlan.hostKey?.publicKey ?? 'missing');
  });

  it('sends a throttled launch once (the SDK client retries it), then fails retryable and removes the group', async () => {
    // aws-sdk-client-mock bypasses the SDK's retry middleware: this shows the provider adds no
    // retry loop of its own. test/aws/client-retry.test.ts shows the client's retries over HTTP.
    ec2Mock.on(RunInstancesCommand).rejects(awsError('RequestLimitExceeded'));
    const error = await provider()
      .launch(plan())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).retryable).toBe(true);
    expect(runInputs()).toHaveLength(1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: SG });
  });

  it('moves to the next subnet when one has no capacity, with a new ClientToken', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity'))
      .resolves({ Instances: [{ InstanceId: INSTANCE }] });
    const result = await provider().launch(plan());
    expect(result.resources).toMatchObject({ subnetId: SUBNET_B, instanceType: 't4g.nano' });
    expect(
      runInputs().map((input) => [input.NetworkInterfaces?.[0]?.SubnetId, input.ClientToken]),
    ).toEqual([
      [SUBNET_A, SESSION_ID],
      [SUBNET_B, `${SESSION_ID}-1`],
    ]);
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
  });

  it('fails naming every type and subnet tried when capacity is exhausted, and leaves nothing', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity'));
    const error = await provider()
      .launch(plan({}, { instanceTypes: ['t4g.nano', 't4g.micro'] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).reason).toBe(
      `no capacity for t4g.nano, t4g.micro in ${SUBNET_A}, ${SUBNET_B}`,
    );
    expect(
      runInputs().map((input) => [
        input.InstanceType,
        input.NetworkInterfaces?.[0]?.SubnetId,
        input.ClientToken,
      ]),
    ).toEqual([
      ['t4g.nano', SUBNET_A, SESSION_ID],
      ['t4g.nano', SUBNET_B, `${SESSION_ID}-1`],
      ['t4g.micro', SUBNET_A, `${SESSION_ID}-2`],
      ['t4g.micro', SUBNET_B, `${SESSION_ID}-3`],
    ]);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteSecurityGroupCommand, {
      GroupId: SG,
    });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });

  it('reports only the error code of any other failure and still removes the group', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejects(awsError('UnauthorizedOperation', 'Encoded authorization failure: secret-detail'));
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('DependencyViolation'));
    const error = await provider()
      .launch(plan())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).reason).toBe(
      'launching the instance failed: UnauthorizedOperation',
    );
    expect((error as ProvisioningError).reason).not.toContain('secret-detail');
    expect(runInputs()).toHaveLength(1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: SG });
  });

  it('creates nothing when the caller address is not a single address', async () => {
    await expect(provider().launch(plan({ sourceCidr: '203.0.113.0/24' }))).rejects.toThrow(
      ProvisioningError,
    );
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it('reuses its own security group when a launch is delivered twice', async () => {
    ec2Mock.on(CreateSecurityGroupCommand).rejects(awsError('InvalidGroup.Duplicate'));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: SG }] });
    ec2Mock
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(awsError('InvalidPermission.Duplicate'));
    const result = await provider().launch(plan());
    expect(result.resources).toMatchObject({ instanceId: INSTANCE, securityGroupId: SG });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
      Filters: [
        { Name: 'group-name', Values: [`drawbridge-dev-${SESSION_ID}`] },
        { Name: 'vpc-id', Values: ['vpc-0abc1234'] },
      ],
    });
    expect(runInputs()[0]?.ClientToken).toBe(SESSION_ID);
  });

  it('puts a sanitized owner in the tag', async () => {
    await provider().launch(plan({ owner: 'CN=Alice "ops", O=Example#1' }));
    const tags = runInputs()[0]?.TagSpecifications?.[0]?.Tags;
    expect(tags).toContainEqual({ Key: 'drawbridge:owner', Value: 'CN=Alice _ops__ O=Example_1' });
    expect(tagValue('x'.repeat(300))).toHaveLength(256);
  });
});

describe('Ec2Provider.inspect', () => {
  const withInstance = (overrides: Partial<Session['resources']> = {}) =>
    session({ status: 'PROVISIONING', resources: { instanceId: INSTANCE, ...overrides } });

  it('reports a running bastion with its public address', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: INSTANCE,
              State: { Name: 'running' },
              PublicIpAddress: '198.51.100.9',
              PrivateIpAddress: '10.0.0.9',
            },
          ],
        },
      ],
    });
    await expect(provider().inspect(withInstance())).resolves.toEqual({
      state: 'running',
      connection: { bastionHost: '198.51.100.9', bastionPort: 22, linuxUser: 'db-0123456789ab' },
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
  });

  it('gives an IPv6 caller the bastion IPv6 address', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              State: { Name: 'running' },
              PublicIpAddress: '198.51.100.9',
              Ipv6Address: '2001:db8:1::9',
            },
          ],
        },
      ],
    });
    const state = await provider().inspect(
      session({ sourceCidr: '2001:db8::7/128', resources: { instanceId: INSTANCE } }),
    );
    expect(state).toMatchObject({ connection: { bastionHost: '2001:db8:1::9' } });
  });

  it.each([
    ['pending', 'pending'],
    ['shutting-down', 'gone'],
    ['terminated', 'gone'],
    ['stopping', 'gone'],
    ['stopped', 'gone'],
  ] as const)('maps instance state %s to %s', async (name, expected) => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ State: { Name: name } }] }] });
    await expect(provider().inspect(withInstance())).resolves.toEqual({ state: expected });
  });

  it('calls an unknown instance gone once the session was ready', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    await expect(
      provider().inspect(session({ status: 'READY', resources: { instanceId: INSTANCE } })),
    ).resolves.toEqual({ state: 'gone' });
  });

  it('keeps waiting for an instance EC2 does not list yet while provisioning', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    await expect(provider().inspect(withInstance())).resolves.toEqual({ state: 'pending' });
  });

  it('calls a session without an instance gone without asking EC2', async () => {
    await expect(provider().inspect(session())).resolves.toEqual({ state: 'gone' });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });
});

const SESSION_INSTANCE_FILTERS = [
  { Name: 'tag:drawbridge:session', Values: [SESSION_ID] },
  { Name: 'tag:drawbridge:stage', Values: ['dev'] },
  { Name: 'tag:aws:ec2launchtemplate:id', Values: ['lt-0123456789abcdef0'] },
  { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
];

describe('Ec2Provider.release', () => {
  it('terminates the instance and leaves its group to the terminated event', async () => {
    const ended = session({ resources: { instanceId: INSTANCE, securityGroupId: SG } });
    await provider().release(ended);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
    // The attached interface would refuse it (DependencyViolation) and make it an orphan.
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
    await provider().releaseLeftovers(ended);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteSecurityGroupCommand, {
      GroupId: SG,
    });
  });

  it('deletes the group at once when no instance was launched', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await provider().release(session({ resources: { securityGroupId: SG } }));
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteSecurityGroupCommand, {
      GroupId: SG,
    });
  });

  it('finds an unrecorded instance by its tags and launch template and terminates it', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE }] }] });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: SG }] });
    await provider().release(session());
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: SESSION_INSTANCE_FILTERS,
    });
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
    await provider().releaseLeftovers(session());
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
      Filters: [
        { Name: 'tag:drawbridge:session', Values: [SESSION_ID] },
        { Name: 'tag:drawbridge:stage', Values: ['dev'] },
      ],
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteSecurityGroupCommand, { GroupId: SG });
  });

  it('succeeds when the group is still held by the ENI or everything is already gone', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('DependencyViolation'));
    const ended = session({ resources: { instanceId: INSTANCE, securityGroupId: SG } });
    await expect(provider().release(ended)).resolves.toBeUndefined();
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('InvalidGroup.NotFound'));
    await expect(provider().release(ended)).resolves.toBeUndefined();
  });

  it('reports other failures as a retryable ProvisioningError', async () => {
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    const error = await provider()
      .release(session({ resources: { instanceId: INSTANCE } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).retryable).toBe(true);
  });
});

describe('Ec2Provider.listOwned and destroy', () => {
  it('lists every instance and group tagged with the stage, across pages', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              { InstanceId: 'i-1', Tags: [{ Key: 'drawbridge:session', Value: 's-one' }] },
            ],
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-2' }] }] });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: 'sg-1', Tags: [{ Key: 'drawbridge:session', Value: 's-one' }] }],
    });
    await expect(provider().listOwned()).resolves.toEqual([
      { kind: 'instance', id: 'i-1', sessionId: 's-one' },
      { kind: 'instance', id: 'i-2', sessionId: undefined },
      { kind: 'security-group', id: 'sg-1', sessionId: 's-one' },
    ]);
    const instanceCalls = ec2Mock.commandCalls(DescribeInstancesCommand);
    expect(instanceCalls.map((call) => call.args[0].input.NextToken)).toEqual([
      undefined,
      'page-2',
    ]);
    expect(instanceCalls[0]?.args[0].input.Filters).toEqual([
      { Name: 'tag:drawbridge:stage', Values: ['dev'] },
      { Name: 'tag:aws:ec2launchtemplate:id', Values: ['lt-0123456789abcdef0'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, {
      Filters: [{ Name: 'tag:drawbridge:stage', Values: ['dev'] }],
    });
  });

  it('terminates an orphan instance', async () => {
    await expect(provider().destroy({ kind: 'instance', id: INSTANCE })).resolves.toBe('destroyed');
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: [INSTANCE],
    });
  });

  it('asks to retry a group still held by a terminating instance', async () => {
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('DependencyViolation'));
    await expect(provider().destroy({ kind: 'security-group', id: SG })).resolves.toBe(
      'retry-later',
    );
  });

  it('treats a group that is already gone as destroyed', async () => {
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('InvalidGroup.NotFound'));
    await expect(provider().destroy({ kind: 'security-group', id: SG })).resolves.toBe('destroyed');
  });
});

describe('Ec2Provider resuming a launch', () => {
  it('finds the instance of an earlier run when EC2 refuses the token for changed user data', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('IdempotentParameterMismatch'));
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [{ InstanceId: INSTANCE, SubnetId: SUBNET_A, InstanceType: 't4g.nano' }] },
      ],
    });
    const result = await provider().launch(plan());
    expect(result.resources).toEqual({
      instanceId: INSTANCE,
      subnetId: SUBNET_A,
      instanceType: 't4g.nano',
      securityGroupId: SG,
    });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: SESSION_INSTANCE_FILTERS,
    });
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
  });
});

describe('reconciliation against EC2', () => {
  /** EC2's side of DescribeInstances: every tag filter must match. */
  const fleet = [
    {
      InstanceId: 'i-0launchedbydrawbridge',
      Tags: [
        { Key: 'drawbridge:stage', Value: 'dev' },
        { Key: 'drawbridge:session', Value: 's-0000000000000000gone' },
        { Key: 'aws:ec2launchtemplate:id', Value: 'lt-0123456789abcdef0' },
      ],
    },
    {
      // Someone who may tag instances put the stage tag on their own instance.
      InstanceId: 'i-0someoneelses',
      Tags: [{ Key: 'drawbridge:stage', Value: 'dev' }],
    },
  ];

  it('terminates only instances launched from the launch template, never one with only the stage tag', async () => {
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => ({
      Reservations: [
        {
          Instances: fleet.filter((instance) =>
            (input.Filters ?? [])
              .filter((filter) => filter.Name?.startsWith('tag:'))
              .every((filter) =>
                instance.Tags.some(
                  (tag) =>
                    `tag:${tag.Key}` === filter.Name && (filter.Values ?? []).includes(tag.Value),
                ),
              ),
          ),
        },
      ],
    }));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    const world = testWorld();
    world.deps.providers = { ec2: provider() };
    const report = await reap(world.deps);
    expect(report.orphanBastionsReaped).toBe(1);
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(TerminateInstancesCommand, {
      InstanceIds: ['i-0launchedbydrawbridge'],
    });
    expect(ec2Mock).not.toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: ['i-0someoneelses'],
    });
  });
});

describe('the security group of an ended session', () => {
  it('is deleted when EC2 reports the instance terminated, not when it is asked to terminate', async () => {
    const world = testWorld();
    world.deps.providers = { ec2: provider() };
    const ended = session({
      status: 'ENDED',
      endReason: 'expired',
      endedAt: NOW,
      resources: { instanceId: INSTANCE, securityGroupId: SG },
    });
    world.store.sessions.set(ended.id, ended);
    await onInstanceState(world.deps, INSTANCE, 'shutting-down');
    expect(ec2Mock).not.toHaveReceivedCommand(DeleteSecurityGroupCommand);
    await onInstanceState(world.deps, INSTANCE, 'terminated');
    expect(ec2Mock).toHaveReceivedCommandExactlyOnceWith(DeleteSecurityGroupCommand, {
      GroupId: SG,
    });
  });
});
