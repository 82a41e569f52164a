// Figures for "zero idle, measured": the usage report over 100,000 ended sessions and a reaper
// sweep over 10,000 live sessions of which 100 are overdue, both on dynalite through the real
// DynamoDB store. Items are written with BatchWriteItem directly (as the store would write
// them) so that setting up takes seconds, not the hours 100,000 request flows would.
// DynamoDB reads are counted by a client middleware: calls per command and the capacity units
// dynalite reports with ReturnConsumedCapacity=TOTAL.
// Usage: node bench/usage.ts [sessions] [live] [overdue]
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AppDeps } from '../lib/app/deps.ts';
import { reap } from '../lib/app/reap.ts';
import { usageReport } from '../lib/app/usage.ts';
import { DynamoDbSessionStore, documentClientFor } from '../lib/aws/dynamodb-session-store.ts';
import { DUE_SHARD, ensureTable, itemKey, SESSION_KIND } from '../lib/aws/table-definition.ts';
import { defaultPricing } from '../lib/domain/cost.ts';
import { dueAtFor } from '../lib/domain/due.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import type { Session } from '../lib/domain/session.ts';
import { UsageAccumulator } from '../lib/domain/usage.ts';
import type { Clock } from '../lib/ports/clock.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import type { OwnedResource, Provider } from '../lib/ports/provider.ts';
import { TEST_POLICY_YAML } from '../test/support/fakes.ts';
import { makeSession } from '../test/support/sessions.ts';
import { startBenchDynamo } from './dynalite.ts';
import { mib, ms, printTable } from './stats.ts';

// A collection before each report, so the heap figure is what the report holds, not garbage
// left by writing the items (the same as running node with --expose-gc).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const SESSIONS = Number(process.argv[2] ?? 100_000);
const LIVE = Number(process.argv[3] ?? 10_000);
const OVERDUE = Number(process.argv[4] ?? 100);
const MINUTE = 60_000;
const DAY = 86_400_000;
const MONTH_START = Date.UTC(2026, 9, 1);
const policy = parsePolicy(`${TEST_POLICY_YAML}finopsGroup: finops\n`);
const finops = { subject: 'fiona', groups: ['finops'] };

// ---------------------------------------------------------------- DynamoDB with counters

interface Counters {
  calls: Map<string, number>;
  readUnits: number;
}
const counters: Counters = { calls: new Map(), readUnits: 0 };
const resetCounters = () => {
  counters.calls.clear();
  counters.readUnits = 0;
};
const READS = new Set(['QueryCommand', 'GetItemCommand', 'BatchGetItemCommand', 'ScanCommand']);

const dynamo = await startBenchDynamo();
const { client } = dynamo;
client.middlewareStack.add(
  (next, context) => async (args) => {
    const name = String(context.commandName);
    counters.calls.set(name, (counters.calls.get(name) ?? 0) + 1);
    (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
    const result = await next(args);
    const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
    const units = [consumed]
      .flat()
      .reduce<number>(
        (sum, entry) =>
          sum + ((entry as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0),
        0,
      );
    // Only reads: the local transaction shim does not report what TransactWriteItems consumed.
    if (READS.has(name)) counters.readUnits += units;
    return result;
  },
  { step: 'initialize', name: 'countCalls' },
);
const documents: DynamoDBDocumentClient = documentClientFor(client);

class BenchClock implements Clock {
  current = Date.now();
  now(): number {
    return this.current;
  }
}

/** The item the store writes for a session (see DynamoDbSessionStore.sessionItem). */
function item(session: Session): Record<string, unknown> {
  const dueAt = dueAtFor(session);
  return {
    ...JSON.parse(JSON.stringify(session)),
    ...itemKey.session(session.id),
    kind: SESSION_KIND,
    ...(dueAt === undefined ? {} : { dueShard: DUE_SHARD, dueAt }),
    ...(session.resources.instanceId ? { instanceId: session.resources.instanceId } : {}),
  };
}

async function batchWrite(table: string, items: Record<string, unknown>[]): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let index = 0; index < items.length; index += 25)
    batches.push(items.slice(index, index + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] ?? [];
        let pending: Record<string, unknown>[] = batch;
        while (pending.length > 0) {
          const result = await documents.send(
            new BatchWriteCommand({
              RequestItems: { [table]: pending.map((Item) => ({ PutRequest: { Item } })) },
            }),
          );
          pending = (result.UnprocessedItems?.[table] ?? []).flatMap((request) =>
            request.PutRequest?.Item ? [request.PutRequest.Item] : [],
          );
        }
      }
    }),
  );
}

const callsOf = (name: string) => counters.calls.get(name) ?? 0;
const deps = (table: string, clock: Clock, providers: AppDeps['providers'] = {}): AppDeps => ({
  policy,
  store: new DynamoDbSessionStore({
    client: documents,
    tableName: table,
    retentionDays: 90,
    clock,
  }),
  providers,
  scheduler: { schedule: async () => '', cancel: async () => {} },
  queue: { enqueue: async () => {} },
  auditLog: { record() {} },
  clock,
  logger: silentLogger,
});

// ---------------------------------------------------------------- usage report

await ensureTable(client, 'usage');
const ended: Session[] = [];
for (let index = 0; index < SESSIONS; index += 1) {
  // Three months of history, spread evenly; 5 to 120 minute windows, a few seconds of overstay.
  const createdAt = MONTH_START + Math.floor((index / SESSIONS) * 92 * DAY);
  const readyAt = createdAt + 40_000;
  const minutes = 5 + (index % 116);
  const expiresAt = readyAt + minutes * MINUTE;
  ended.push(
    makeSession({
      owner: `user-${index % 500}`,
      ownerGroups: ['dba'],
      mode: 'ec2',
      target: index % 3 === 0 ? 'office-only' : 'prod-db',
      createdAt,
      updatedAt: expiresAt + 3_000,
      durationMinutes: minutes,
      readyAt,
      expiresAt,
      endedAt: expiresAt + (index % 7) * 1_000,
      status: 'ENDED',
      endReason: 'expired',
      version: 5,
      auditSeq: 6,
      resources: {
        instanceId: `i-${index.toString(16).padStart(17, '0')}`,
        instanceType: 't4g.nano',
      },
    }),
  );
}
let started = performance.now();
await batchWrite('usage', ended.map(item));
const loadSeconds = (performance.now() - started) / 1_000;

// The aggregation alone, in memory: what the report costs beyond reading the items.
started = performance.now();
const inMemory = new UsageAccumulator({
  window: { from: MONTH_START, to: MONTH_START + 92 * DAY, now: MONTH_START + 100 * DAY },
  groupBy: 'user',
  policy,
  pricing: defaultPricing(),
  pricingSource: 'default',
});
for (const session of ended) inMemory.add(session);
inMemory.report();
const aggregateMs = performance.now() - started;
ended.length = 0;

const reportRows: Record<string, string | number>[] = [];
const clock = new BenchClock();
clock.current = MONTH_START + 100 * DAY;
for (const [label, from, to, groupBy] of [
  ['one month (Nov), by user', Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1), 'user'],
  ['one month (Nov), by day', Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1), 'day'],
  ['all three months, by user', MONTH_START, MONTH_START + 92 * DAY, 'user'],
] as const) {
  collectGarbage();
  resetCounters();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 5);
  started = performance.now();
  const report = await usageReport(deps('usage', clock), finops, { from, to, groupBy });
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  reportRows.push({
    report: label,
    sessions: report.totals.sessions,
    groups: report.groups.length,
    time: ms(elapsed),
    'heap growth (peak)': mib(heapPeak - heapBefore),
    Query: callsOf('QueryCommand'),
    Scan: callsOf('ScanCommand'),
    'read units': Math.round(counters.readUnits),
    'cost estimate': `$${report.totals.cost.total.toFixed(2)}`,
  });
}
reportRows.push({
  report: 'three months, aggregation alone (in memory, no reads)',
  sessions: SESSIONS,
  groups: 500,
  time: ms(aggregateMs),
});
printTable(
  `GET /usage over ${SESSIONS.toLocaleString('en')} ended sessions in dynalite (written in ${loadSeconds.toFixed(1)} s); byCreated index, no Scan`,
  reportRows,
);

// ---------------------------------------------------------------- reaper sweep

/** A provider that owns exactly the given bastions and releases anything instantly. */
function benchProvider(owned: OwnedResource[]): Provider {
  return {
    mode: 'ec2',
    launch: async () => {
      throw new Error('not in this bench');
    },
    inspect: async () => ({ state: 'gone' }),
    release: async () => {},
    listOwned: async () => owned,
    destroy: async () => 'destroyed',
  };
}

async function liveTable(table: string, now: number): Promise<Session[]> {
  await ensureTable(client, table);
  const sessions: Session[] = [];
  for (let index = 0; index < LIVE; index += 1) {
    const overdue = index < OVERDUE;
    const readyAt = overdue ? now - 31 * MINUTE : now - 10 * MINUTE;
    sessions.push(
      makeSession({
        owner: `user-${index}`,
        ownerGroups: ['dba'],
        mode: 'ec2',
        target: 'prod-db',
        createdAt: readyAt - 40_000,
        updatedAt: readyAt,
        readyAt,
        // the overdue ones ended their window 45 s ago and their schedule never fired
        expiresAt: overdue ? now - 45_000 : now + 20 * MINUTE,
        credentialExpiresAt: now + 60 * MINUTE,
        provisioningDeadline: readyAt + MINUTE,
        status: 'READY',
        version: 3,
        // no audit events are written for these sessions, so none is claimed: ending one
        // stamps its events' purge time, and a claimed but missing event fails that write
        auditSeq: 0,
        resources: {
          instanceId: `i-${index.toString(16).padStart(17, '0')}`,
          instanceType: 't4g.nano',
        },
        connection: { bastionHost: '198.51.100.7', bastionPort: 22, linuxUser: 'db-bench' },
      }),
    );
  }
  await batchWrite(table, [
    ...sessions.map(item),
    // each owner holds one live session on their quota counter
    ...sessions.map((session) => ({
      ...itemKey.quota(session.owner),
      subject: session.owner,
      active: 1,
    })),
  ]);
  return sessions;
}

const reapRows: Record<string, string | number>[] = [];
const sweepClock = new BenchClock();
for (const [label, table, owns] of [
  ['provider owns nothing', 'reap-a', 'none'],
  [`provider owns the ${OVERDUE} overdue bastions`, 'reap-b', 'overdue'],
  [`provider owns all ${LIVE.toLocaleString('en')} bastions (reconciliation)`, 'reap-c', 'all'],
] as const) {
  const sessions = await liveTable(table, sweepClock.current);
  const owned: OwnedResource[] = sessions
    .slice(0, owns === 'none' ? 0 : owns === 'overdue' ? OVERDUE : sessions.length)
    .map((session) => ({
      kind: 'instance',
      id: session.resources.instanceId ?? '',
      sessionId: session.id,
    }));
  resetCounters();
  started = performance.now();
  const report = await reap(deps(table, sweepClock, { ec2: benchProvider(owned) }));
  const elapsed = performance.now() - started;
  reapRows.push({
    sweep: label,
    ended: report.expired,
    errors: report.errors,
    time: ms(elapsed),
    Query: callsOf('QueryCommand'),
    GetItem: callsOf('GetItemCommand'),
    BatchGetItem: callsOf('BatchGetItemCommand'),
    TransactWrite: callsOf('TransactWriteItemsCommand'),
    'read units': Math.round(counters.readUnits),
  });
}
printTable(
  `Reaper sweep: ${LIVE.toLocaleString('en')} live sessions, ${OVERDUE} overdue (dynalite); target: reads proportional to the overdue, under 5 s`,
  reapRows,
);
console.log(
  '\nReads for the due sessions come from the sparse byDue index: one Query page for the overdue, whatever the live count. Reconciliation reads every session that owns a cloud resource (consistent BatchGetItem, 100 per call), so with every live bastion owned its reads grow with the live count: the cloud side of the sweep is proportional to what exists in the cloud.',
);

await dynamo.close();
