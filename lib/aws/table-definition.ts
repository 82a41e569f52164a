import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { QuotaKind } from '../domain/session.ts';

/**
 * The one table a stage keeps, as a CreateTable input. serverless.yml declares the same
 * table for AWS; scripts/create-table.ts, local mode and the tests create it from here.
 *
 * Items (pk / sk), each kind's code in lib/aws/dynamodb/<kind>.ts (sessions, audit-events,
 * quota-counters, reviews, reaper-days, idempotency-records; cursor.ts for list cursors):
 * - session            SESSION#<id> / SESSION — every Session field, plus kind='session',
 *                      dueShard/dueAt while live, instanceId once there is an instance,
 *                      purgeAfter once ENDED or FAILED
 * - audit event        SESSION#<id> / EVENT#<seq, 6 digits> — the AuditEvent fields, and
 *                      the session's purgeAfter once it is ENDED or FAILED (written by the
 *                      transaction that ends it), so history goes with its session
 * - quota counter      QUOTA#<owner> / QUOTA — active (N), subject; never `owner`, so it
 *                      stays out of byOwner. Break-glass sessions count on their own
 *                      counter, QUOTA#<owner> / QUOTA#break-glass (the kind goes in the sort
 *                      key: in the partition key, an owner named "x#break-glass" would share
 *                      x's break-glass counter)
 * - review             REVIEW#<sessionId> / REVIEW — a break-glass session's review (the
 *                      Review fields; `requester`, never `owner`), kind='review-open' or
 *                      'review-reviewed' and createdAt=requestedAt, so byCreated lists open
 *                      ones without a scan
 * - reaper day        REAPER / DAY#<YYYY-MM-DD> — what the reaper's sweeps found that UTC
 *                      day (counters, ADDed per sweep that found anything), purgeAfter
 * - idempotency record IDEMPOTENCY#<owner>#<key> / IDEMPOTENCY — subject, bodyHash,
 *                      sessionId, purgeAfter (owner and key URI-encoded, so a '#' in
 *                      either cannot make two users' records collide)
 */

export const INDEX = {
  /** owner (S) + createdAt (N): a user's sessions, newest first */
  byOwner: 'byOwner',
  /** dueShard (S) + dueAt (N): sparse, live sessions only, for the reaper (no Scan) */
  byDue: 'byDue',
  /** instanceId (S): sparse, sessions that have an EC2 instance */
  byInstance: 'byInstance',
  /** kind (S) + createdAt (N): every session by creation time (admin listing, usage) */
  byCreated: 'byCreated',
} as const;

/** TTL attribute (epoch seconds). Only purges history; it never enforces expiry. */
export const TTL_ATTRIBUTE = 'purgeAfter';
/** The single byDue partition; one shard is plenty for the number of live sessions. */
export const DUE_SHARD = 'due';
export const SESSION_KIND = 'session';
/** byCreated partitions for reviews: closing one moves it from the first to the second. */
export const REVIEW_KIND = { open: 'review-open', reviewed: 'review-reviewed' } as const;

const S = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'S' });
const N = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'N' });

export const TABLE_DEFINITION = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    S('pk'),
    S('sk'),
    S('owner'),
    N('createdAt'),
    S('dueShard'),
    N('dueAt'),
    S('instanceId'),
    S('kind'),
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: INDEX.byOwner,
      KeySchema: [
        { AttributeName: 'owner', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: INDEX.byDue,
      KeySchema: [
        { AttributeName: 'dueShard', KeyType: 'HASH' },
        { AttributeName: 'dueAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: INDEX.byInstance,
      KeySchema: [{ AttributeName: 'instanceId', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: INDEX.byCreated,
      KeySchema: [
        { AttributeName: 'kind', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
} satisfies Omit<CreateTableCommandInput, 'TableName'>;

export function tableDefinition(tableName: string): CreateTableCommandInput {
  // A deep copy: the SDK must never be handed (and possibly mutate) the shared constant.
  return { TableName: tableName, ...structuredClone(TABLE_DEFINITION) };
}

const encode = (part: string): string => encodeURIComponent(part);

export const itemKey = {
  session: (id: string) => ({ pk: `SESSION#${id}`, sk: 'SESSION' }),
  event: (id: string, seq: number) => ({
    pk: `SESSION#${id}`,
    sk: `EVENT#${String(seq).padStart(6, '0')}`,
  }),
  quota: (owner: string, kind: QuotaKind = 'standard') => ({
    pk: `QUOTA#${owner}`,
    sk: kind === 'standard' ? 'QUOTA' : `QUOTA#${kind}`,
  }),
  review: (sessionId: string) => ({ pk: `REVIEW#${sessionId}`, sk: 'REVIEW' }),
  /** one partition for every day: the usage report reads a range of days with one Query */
  reaperDay: (day: string) => ({ pk: 'REAPER', sk: `DAY#${day}` }),
  idempotency: (owner: string, key: string) => ({
    pk: `IDEMPOTENCY#${encode(owner)}#${encode(key)}`,
    sk: 'IDEMPOTENCY',
  }),
};

export interface EnsureTableResult {
  created: boolean;
  /** 'unsupported' against endpoints without UpdateTimeToLive (dynalite) */
  ttl: 'enabled' | 'unsupported';
  pointInTimeRecovery: 'enabled' | 'unsupported';
  /** indexes the definition has but an existing table lacks */
  missingIndexes: string[];
}

const UNSUPPORTED = new Set(['UnknownOperationException', 'UnrecognizedClientException']);
const isUnsupported = (error: unknown): boolean =>
  error instanceof Error && UNSUPPORTED.has(error.name);

/**
 * Creates the table if it is not there, waits until it is ACTIVE, and turns on TTL and
 * point-in-time recovery where the endpoint supports them. Safe to run again.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { timeoutMs?: number } = {},
): Promise<EnsureTableResult> {
  let created = true;
  try {
    await client.send(new CreateTableCommand(tableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    created = false;
  }
  const table = await waitUntilActive(client, tableName, options.timeoutMs ?? 300_000);
  const present = new Set((table.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const missingIndexes = TABLE_DEFINITION.GlobalSecondaryIndexes.map(
    (index) => index.IndexName,
  ).filter((name) => !present.has(name));

  let ttl: EnsureTableResult['ttl'] = 'enabled';
  try {
    const described = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const status = described.TimeToLiveDescription?.TimeToLiveStatus;
    if (status !== 'ENABLED' && status !== 'ENABLING') {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        }),
      );
    }
  } catch (error) {
    if (!isUnsupported(error)) throw error;
    ttl = 'unsupported';
  }

  let pointInTimeRecovery: EnsureTableResult['pointInTimeRecovery'] = 'enabled';
  try {
    await client.send(
      new UpdateContinuousBackupsCommand({
        TableName: tableName,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    );
  } catch (error) {
    if (!isUnsupported(error)) throw error;
    pointInTimeRecovery = 'unsupported';
  }

  return { created, ttl, pointInTimeRecovery, missingIndexes };
}

async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  // Local endpoints are ACTIVE within milliseconds, AWS within seconds: start fast, back off.
  let delay = 10;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesReady = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === undefined || index.IndexStatus === 'ACTIVE',
    );
    if (Table && Table.TableStatus === 'ACTIVE' && indexesReady) return Table;
    if (Date.now() > deadline) {
      throw new Error(`table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 2_000);
  }
}
