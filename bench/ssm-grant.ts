// Control-plane time of the ssm mode for an existing target, from POST /sessions to the
// credentials in hand, in process: the real HTTP handlers and middy stack, the request-time
// target check, provisioning (the SQS hop itself taken as instant), the READY transition with
// its expiry schedule, and POST /sessions/{id}/credentials with the AssumeRole request built
// and audited; the DynamoDB store on dynalite (through the local transaction shim); SSM, STS,
// SQS and EventBridge Scheduler mocked, so the cloud's own latency is excluded.
// Usage: node bench/ssm-grant.ts [sessions]
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createIssueCredentialsHandler } from '../functions/issue-credentials.ts';
import { createRequestSessionHandler } from '../functions/request-session.ts';
import { provisionSession } from '../lib/app/provision-session.ts';
import { DynamoDbSessionStore, documentClientFor } from '../lib/aws/dynamodb-session-store.ts';
import { Ec2Provider } from '../lib/aws/ec2-provider.ts';
import { EventBridgeExpiryScheduler } from '../lib/aws/eventbridge-expiry-scheduler.ts';
import { SqsProvisionQueue } from '../lib/aws/sqs-provision-queue.ts';
import { SsmGrant } from '../lib/aws/ssm-grant.ts';
import { ManagedInstances, SsmProvider } from '../lib/aws/ssm-provider.ts';
import { ensureTable } from '../lib/aws/table-definition.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import { startDynamo } from '../lib/local/dynamo-server.ts';
import { systemClock } from '../lib/ports/clock.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import { httpEvent, lambdaContext } from '../test/support/events.ts';
import { ed25519PublicKey } from '../test/support/keys.ts';
import { ms, percentile, printTable } from './stats.ts';

const sessions = Number(process.argv[2] ?? 300);
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const region = 'eu-west-1';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const policy = parsePolicy(`
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
targets:
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
`);

const dynamo = await startDynamo();
const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'local', credentials });
await ensureTable(client, 'bench');

const ssm = new SSMClient({ region, credentials });
mockClient(ssm)
  .on(DescribeInstanceInformationCommand)
  .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online' }] });
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
const deps = {
  policy,
  store: new DynamoDbSessionStore({
    client: documentClientFor(client),
    tableName: 'bench',
    retentionDays: 1,
    clock: systemClock,
  }),
  providers: { ssm: provider },
  targetChecks: { ssm: instances },
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
const ssmGrant = new SsmGrant({
  sts,
  roleArn: 'arn:aws:iam::123456789012:role/drawbridge-bench-eu-west-1-ssm-session',
  region,
  shellDocument: 'drawbridge-bench-shell',
});
const requestSession = createRequestSessionHandler(() => ({ ...deps, groupsClaim: 'groups' }));
const issueCredentials = createIssueCredentialsHandler(() => ({
  ...deps,
  grant: ssmGrant,
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
    e.body = JSON.stringify({ target: 'app-db', reason: 'bench', publicKey: keys[index % 50] });
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
  p50: ms(percentile(samples, 50)),
  p95: ms(percentile(samples, 95)),
  p99: ms(percentile(samples, 99)),
  max: ms(Math.max(...samples)),
  target,
});
printTable(
  `ssm, existing target: request to credentials issued, ${sessions} sessions in sequence (dynalite; SSM, STS, SQS, Scheduler mocked)`,
  [
    row('POST /sessions (target check)', request),
    row('provision to READY', provision),
    row('POST /sessions/{id}/credentials', grant),
    row('request to credentials', total, 'p99 < 50 ms'),
    row('  the same, CPU time', cpu),
  ],
);
client.destroy();
await dynamo.close();
