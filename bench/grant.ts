// Control-plane time of the ssm mode (existing target) or the eice mode, from POST /sessions to
// the credentials in hand, in process: the real HTTP handlers and middy stack, the request-time
// target check (ssm: the managed instance online; eice: one running instance, its endpoint, and
// the per-endpoint count in the create transaction), provisioning (the SQS hop itself taken as
// instant), the READY transition with its expiry schedule, and POST /sessions/{id}/credentials
// with the AssumeRole request built and audited; the DynamoDB store on dynalite; SSM or EC2,
// STS, SQS and EventBridge Scheduler mocked, so the cloud's own latency is excluded.
// Usage: node bench/grant.ts ssm|eice [sessions]
import {
  DescribeInstanceConnectEndpointsCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createIssueCredentialsHandler } from '../functions/issue-credentials.ts';
import { createRequestSessionHandler } from '../functions/request-session.ts';
import type { AppDeps } from '../lib/app/deps.ts';
import { provisionSession } from '../lib/app/provision-session.ts';
import { Ec2Provider } from '../lib/aws/ec2-provider.ts';
import { EiceGrant } from '../lib/aws/eice-grant.ts';
import { EiceProvider } from '../lib/aws/eice-provider.ts';
import { EventBridgeExpiryScheduler } from '../lib/aws/eventbridge-expiry-scheduler.ts';
import { SqsProvisionQueue } from '../lib/aws/sqs-provision-queue.ts';
import { SsmGrant } from '../lib/aws/ssm-grant.ts';
import { ManagedInstances, SsmProvider } from '../lib/aws/ssm-provider.ts';
import { findTarget, type Policy } from '../lib/domain/policy.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import { systemClock } from '../lib/ports/clock.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import { httpEvent, lambdaContext } from '../test/support/events.ts';
import { ed25519PublicKey } from '../test/support/keys.ts';
import { benchStore, startBenchDynamo } from './dynalite.ts';
import { latency, printTable } from './stats.ts';

const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const VPC = 'vpc-0123456789abcdef0';
const region = 'eu-west-1';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

/** What one mode brings to the same flow. */
interface GrantMode {
  /** the policy's one target, as YAML */
  target: string;
  targetName: string;
  title: (sessions: number) => string;
  /** what POST /sessions does for this mode */
  requestStep: string;
  /** its provider and target check, on mocked clients */
  providers: (policy: Policy) => Pick<AppDeps, 'providers' | 'targetChecks'>;
}

const MODES: Record<string, GrantMode> = {
  ssm: {
    targetName: 'app-db',
    target: `
  - name: app-db
    mode: ssm
    host: 10.0.3.4
    port: 5432
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    ssm:
      instanceId: ${INSTANCE}
      documents: [shell, port-forwarding]
`,
    title: (sessions) =>
      `ssm, existing target: request to credentials issued, ${sessions} sessions in sequence (dynalite; SSM, STS, SQS, Scheduler mocked)`,
    requestStep: 'POST /sessions (target check)',
    providers: () => {
      const ssm = new SSMClient({ region, credentials });
      mockClient(ssm)
        .on(DescribeInstanceInformationCommand)
        .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online' }] });
      const instances = new ManagedInstances({ ssm });
      const provider = new SsmProvider({
        instances,
        bastions: new Ec2Provider({
          // existing targets never reach EC2: an unmocked client would fail loudly if they did
          ec2: new EC2Client({ region, credentials }),
          stage: 'bench',
          launchTemplateId: 'lt-0',
          logGroupName: '/drawbridge/bench/sessions',
        }),
        sessionRoleArn: 'arn:aws:iam::123456789012:role/drawbridge-bench-eu-west-1-ssm-session',
        bastionInstanceProfileArn: '',
      });
      return { providers: { ssm: provider }, targetChecks: { ssm: instances } };
    },
  },
  eice: {
    targetName: 'web-ssh',
    target: `
  - name: web-ssh
    mode: eice
    host: 10.0.3.4
    port: 22
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    eice:
      instanceId: ${INSTANCE}
      osUser: ec2-user
`,
    title: (sessions) =>
      `eice: request to credentials issued, ${sessions} sessions in sequence (dynalite; EC2, STS, SQS, Scheduler mocked)`,
    requestStep: 'POST /sessions (target check, endpoint count)',
    providers: (policy) => {
      const ec2 = new EC2Client({ region, credentials });
      const ec2Mock = mockClient(ec2);
      ec2Mock.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: INSTANCE,
                State: { Name: 'running' },
                PrivateIpAddress: '10.0.3.4',
                VpcId: VPC,
                SubnetId: 'subnet-0123456789abcdef0',
              },
            ],
          },
        ],
      });
      // Each request finds its own endpoint, so the bench never meets the per-endpoint cap.
      let endpoints = 0;
      ec2Mock.on(DescribeInstanceConnectEndpointsCommand).callsFake(() => {
        endpoints += 1;
        const id = `eice-${endpoints.toString(16).padStart(17, '0')}`;
        return {
          InstanceConnectEndpoints: [
            {
              InstanceConnectEndpointId: id,
              State: 'create-complete',
              VpcId: VPC,
              DnsName: `${id}.ec2-instance-connect-endpoint.${region}.amazonaws.com`,
            },
          ],
        };
      });
      const provider = new EiceProvider({ ec2, findTarget: (name) => findTarget(policy, name) });
      return { providers: { eice: provider }, targetChecks: { eice: provider } };
    },
  },
};

const mode = MODES[process.argv[2] ?? ''];
if (!mode) {
  console.error(`usage: node bench/grant.ts ${Object.keys(MODES).join('|')} [sessions]`);
  process.exit(2);
}
const sessions = Number(process.argv[3] ?? 300);
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const policy = parsePolicy(`
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
targets:${mode.target}`);

const dynamo = await startBenchDynamo();
const sts = new STSClient({ region, credentials });
mockClient(sts)
  .on(AssumeRoleCommand)
  .resolves({
    Credentials: {
      AccessKeyId: 'ASIABENCHKEYID000001',
      SecretAccessKey: 'bench-secret',
      SessionToken: 'bench-token',
      Expiration: new Date(Date.now() + 3_600_000),
    },
  });
const sqs = new SQSClient({ region, credentials });
mockClient(sqs).on(SendMessageCommand).resolves({ MessageId: 'm' });
const schedulerClient = new SchedulerClient({ region, credentials });
mockClient(schedulerClient).on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });

const deps = {
  policy,
  store: await benchStore(dynamo.client),
  ...mode.providers(policy),
  scheduler: new EventBridgeExpiryScheduler({
    scheduler: schedulerClient,
    groupName: 'drawbridge-bench',
    targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:drawbridge-bench-expire',
    roleArn: 'arn:aws:iam::123456789012:role/scheduler',
    deadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:expiry-dlq',
  }),
  queue: new SqsProvisionQueue({
    sqs,
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/provision',
  }),
  auditLog: { record() {} },
  clock: systemClock,
  logger: silentLogger,
};
const requestSession = createRequestSessionHandler(() => ({ ...deps, groupsClaim: 'groups' }));
const issueCredentials = createIssueCredentialsHandler(() => ({
  ...deps,
  grant: new SsmGrant({
    sts,
    roleArn: 'arn:aws:iam::123456789012:role/drawbridge-bench-eu-west-1-ssm-session',
    region,
    shellDocument: 'drawbridge-bench-shell',
  }),
  eiceGrant: new EiceGrant({
    sts,
    roleArn: 'arn:aws:iam::123456789012:role/drawbridge-bench-eu-west-1-eice-session',
    region,
  }),
  groupsClaim: 'groups',
}));

const warmup = 20;
const total: number[] = [];
const request: number[] = [];
const provision: number[] = [];
const grant: number[] = [];
// CPU time of the whole process (handlers, SDK, dynalite and LevelDB run in it): what a flow
// costs when it does not wait for a busy machine's other processes.
const cpu: number[] = [];
const keys = Array.from({ length: 50 }, () => ed25519PublicKey());
for (let index = 0; index < sessions + warmup; index += 1) {
  // Events built before the clock starts: the figure is the control plane, not the fixtures.
  const user = `user-${index}`;
  const createEvent = httpEvent('create-session', (e) => {
    e.requestContext.authorizer.jwt.claims.sub = user;
    delete e.headers['idempotency-key'];
    e.body = JSON.stringify({
      target: mode.targetName,
      reason: 'bench',
      publicKey: keys[index % 50],
    });
  });
  const credentialsEvent = httpEvent('issue-credentials', (e) => {
    e.requestContext.authorizer.jwt.claims.sub = user;
  });
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const created = await requestSession(createEvent, lambdaContext);
  const requested = performance.now();
  if (created.statusCode !== 202) throw new Error(`request: ${created.statusCode} ${created.body}`);
  const { id } = JSON.parse(created.body ?? '{}') as { id: string };
  const ready = await provisionSession(deps, id);
  const provisioned = performance.now();
  if (ready?.status !== 'READY') throw new Error(`provision: ${ready?.status}`);
  credentialsEvent.pathParameters = { id };
  const issued = await issueCredentials(credentialsEvent, lambdaContext);
  const done = performance.now();
  const cpuUsed = process.cpuUsage(cpuStart);
  if (issued.statusCode !== 200) {
    throw new Error(`credentials: ${issued.statusCode} ${issued.body}`);
  }
  if (index < warmup) continue; // JIT and connection pool
  total.push(done - started);
  request.push(requested - started);
  provision.push(provisioned - requested);
  grant.push(done - provisioned);
  cpu.push((cpuUsed.user + cpuUsed.system) / 1000);
}

const row = (step: string, samples: number[], target = '') => ({
  step,
  ...latency(samples),
  target,
});
printTable(mode.title(sessions), [
  row(mode.requestStep, request),
  row('provision to READY', provision),
  row('POST /sessions/{id}/credentials', grant),
  row('request to credentials', total, 'p99 < 50 ms'),
  row('  the same, CPU time', cpu),
]);
await dynamo.close();
