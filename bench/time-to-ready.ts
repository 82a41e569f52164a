// Drawbridge's own share of time to ready, in process: the real handlers, use cases and
// DynamoDB store (dynalite); the bastion provider answers at once, as EC2 would be mocked.
// Hop 1: POST /sessions to the launch call sent (request handler, then the provision use case
// as the queue would run it; SQS delivery and function start are the cloud's, not measured).
// Hop 2: the readiness proof arriving (gzip+base64 subscription event) to READY stored.
// Usage: node bench/time-to-ready.ts [sessions]
import { createOnBastionLogHandler } from '../functions/on-bastion-log.ts';
import { createRequestSessionHandler } from '../functions/request-session.ts';
import type { AppDeps } from '../lib/app/deps.ts';
import { provisionSession } from '../lib/app/provision-session.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import { readinessLine } from '../lib/domain/readiness.ts';
import type { Session } from '../lib/domain/session.ts';
import { encodeLogsSubscriptionEvent } from '../lib/http/logs-subscription.ts';
import { systemClock } from '../lib/ports/clock.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import type { BastionState, LaunchPlan, LaunchResult, Provider } from '../lib/ports/provider.ts';
import { httpEvent, lambdaContext } from '../test/support/events.ts';
import { TEST_POLICY_YAML } from '../test/support/fakes.ts';
import { ed25519PublicKey } from '../test/support/keys.ts';
import { benchStore, startBenchDynamo } from './dynalite.ts';
import { ms, percentile, printTable } from './stats.ts';

const sessions = Number(process.argv[2] ?? 300);
const WARMUP = 20;
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const dynamo = await startBenchDynamo();

/** When each session's launch call was sent, by session id. */
const launchSent = new Map<string, number>();
let counter = 0;
const ec2: Provider = {
  mode: 'ec2',
  async launch(plan: LaunchPlan): Promise<LaunchResult> {
    launchSent.set(plan.session.id, performance.now());
    counter += 1;
    return { resources: { instanceId: `i-${counter.toString(16).padStart(17, '0')}` } };
  },
  async inspect(session: Session): Promise<BastionState> {
    return {
      state: 'running',
      connection: { bastionHost: '198.51.100.7', bastionPort: 22, linuxUser: session.linuxUser },
    };
  },
  async release() {},
  async listOwned() {
    return [];
  },
  async destroy() {
    return 'destroyed';
  },
};
const queued: string[] = [];
const deps: AppDeps & { groupsClaim: string } = {
  groupsClaim: 'groups',
  policy: parsePolicy(TEST_POLICY_YAML),
  store: await benchStore(dynamo.client),
  providers: { ec2 },
  scheduler: { schedule: async (s) => s.id, cancel: async () => {} },
  queue: {
    async enqueue(sessionId) {
      queued.push(sessionId);
    },
  },
  auditLog: { record() {} },
  clock: systemClock,
  logger: silentLogger,
};
const request = createRequestSessionHandler(() => deps);
const onBastionLog = createOnBastionLogHandler(() => deps);

const keys = Array.from({ length: 50 }, () => ed25519PublicKey());
const toLaunch: number[] = [];
const toReady: number[] = [];
for (let index = 0; index < sessions + WARMUP; index += 1) {
  const event = httpEvent('create-session', (e) => {
    e.requestContext.authorizer.jwt.claims.sub = `user-${index}`;
    e.headers['idempotency-key'] = `bench-ttr-${index}-${'x'.repeat(8)}`;
    e.body = JSON.stringify({
      target: 'prod-db',
      durationMinutes: 30,
      reason: 'bench',
      publicKey: keys[index % keys.length],
    });
  });
  const started = performance.now();
  const response = await request(event, lambdaContext);
  if (response.statusCode !== 202) throw new Error(`unexpected ${response.statusCode}`);
  const id = queued.shift() ?? '';
  const provisioned = await provisionSession(deps, id);
  const sent = launchSent.get(id);
  if (!provisioned || sent === undefined) throw new Error('no launch');

  const proof = encodeLogsSubscriptionEvent({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/drawbridge/bench/sessions',
    logStream: provisioned.resources.instanceId ?? '',
    subscriptionFilters: ['readiness'],
    logEvents: [
      {
        id: String(index),
        timestamp: Date.now(),
        message: `ip-10-0-1-7 drawbridge-ready[812]: ${readinessLine({ sessionId: id, fingerprint: provisioned.hostKey?.fingerprint ?? '' })}`,
      },
    ],
  });
  const proofArrived = performance.now();
  const result = await onBastionLog(proof, lambdaContext);
  const readyStored = performance.now();
  if (result.outcomes[0] !== 'ready') throw new Error(`not ready: ${result.outcomes}`);
  if (index >= WARMUP) {
    toLaunch.push(sent - started);
    toReady.push(readyStored - proofArrived);
  }
}
const row = (hop: string, samples: number[]) => ({
  hop,
  p50: ms(percentile(samples, 50)),
  p99: ms(percentile(samples, 99)),
  max: ms(Math.max(...samples)),
  target: 'p99 < 100 ms',
});
printTable(
  `Drawbridge's share of time to ready, ${sessions} sessions in process (dynalite, provider mocked)`,
  [
    row('POST /sessions -> launch call sent', toLaunch),
    row('readiness proof -> READY stored', toReady),
  ],
);
await dynamo.close();
