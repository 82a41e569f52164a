// Control-plane latency of POST /sessions, in-process: the real handler and middy stack, the
// real DynamoDB store on dynalite (through the local transaction shim), SQS mocked.
// Usage: node bench/request-latency.ts [requests]
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createRequestSessionHandler } from '../functions/request-session.ts';
import { SqsProvisionQueue } from '../lib/aws/sqs-provision-queue.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import { systemClock } from '../lib/ports/clock.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import { httpEvent, lambdaContext } from '../test/support/events.ts';
import { TEST_POLICY_YAML } from '../test/support/fakes.ts';
import { ed25519PublicKey } from '../test/support/keys.ts';
import { benchStore, startBenchDynamo } from './dynalite.ts';
import { latency, printTable } from './stats.ts';

const requests = Number(process.argv[2] ?? 500);
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const dynamo = await startBenchDynamo();
const sqs = new SQSClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
mockClient(sqs).on(SendMessageCommand).resolves({ MessageId: 'm' });
const policy = parsePolicy(TEST_POLICY_YAML);
const unused = async () => {
  throw new Error('not used by POST /sessions');
};
const deps = {
  groupsClaim: 'groups',
  policy,
  store: await benchStore(dynamo.client),
  providers: {},
  scheduler: { schedule: unused, cancel: unused },
  queue: new SqsProvisionQueue({
    sqs,
    queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/provision',
  }),
  auditLog: { record() {} },
  clock: systemClock,
  logger: silentLogger,
};
const handler = createRequestSessionHandler(() => deps);

const keys = Array.from({ length: 50 }, () => ed25519PublicKey());
const samples: number[] = [];
for (let index = 0; index < requests + 20; index += 1) {
  const event = httpEvent('create-session', (e) => {
    e.requestContext.authorizer.jwt.claims.sub = `user-${index}`;
    e.headers['idempotency-key'] = `bench-${index}-${'x'.repeat(8)}`;
    e.body = JSON.stringify({
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'bench',
      publicKey: keys[index % keys.length],
    });
  });
  const started = performance.now();
  const result = await handler(event, lambdaContext);
  const elapsed = performance.now() - started;
  if (result.statusCode !== 202) throw new Error(`unexpected ${result.statusCode}: ${result.body}`);
  if (index >= 20) samples.push(elapsed); // the first requests warm the JIT and the connection pool
}
printTable(
  `POST /sessions control plane, ${requests} sequential requests (dynalite + mocked SQS)`,
  [{ ...latency(samples), target: 'p99 < 50 ms' }],
);
await dynamo.close();
