import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { DynamoDbSessionStore, documentClientFor } from '../../lib/aws/dynamodb-session-store.ts';
import { ensureTable } from '../../lib/aws/table-definition.ts';
import { type DynamoServer, startDynamo } from '../../lib/local/dynamo-server.ts';
import type { Clock } from '../../lib/ports/clock.ts';
import { BASE_TIME } from './sessions.ts';

/** Fixed credentials and region: the tests need nothing from the environment. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_AWS, endpoint });
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  current: number;
  constructor(start = BASE_TIME) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface DynamoContext {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  /** a table of its own for the current test */
  readonly tableName: string;
  /** a store over the current test's table, on `clock` */
  readonly store: DynamoDbSessionStore;
  readonly clock: ManualClock;
  readonly retentionDays: number;
}

/**
 * One local DynamoDB (dynalite behind the transaction shim) per test file, and a fresh
 * table per test so tests never see each other's items. Call at the top of a describe or file.
 */
export function useDynamo(options: { retentionDays?: number } = {}): DynamoContext {
  const retentionDays = options.retentionDays ?? 30;
  let server: DynamoServer | undefined;
  let client: DynamoDBClient | undefined;
  let documentClient: DynamoDBDocumentClient | undefined;
  let tableName: string | undefined;
  let store: DynamoDbSessionStore | undefined;
  let clock = new ManualClock();
  let tables = 0;

  beforeAll(async () => {
    server = await startDynamo();
    client = localDynamoClient(server.endpoint);
    documentClient = documentClientFor(client);
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  beforeEach(async () => {
    const base = ready(client, 'client');
    tables += 1;
    tableName = `drawbridge-test-${tables}-${randomBytes(4).toString('hex')}`;
    await ensureTable(base, tableName);
    clock = new ManualClock();
    store = new DynamoDbSessionStore({
      client: ready(documentClient, 'documentClient'),
      tableName,
      retentionDays,
      clock,
    });
  });

  return {
    get endpoint() {
      return ready(server, 'server').endpoint;
    },
    get client() {
      return ready(client, 'client');
    },
    get documentClient() {
      return ready(documentClient, 'documentClient');
    },
    get tableName() {
      return ready(tableName, 'tableName');
    },
    get store() {
      return ready(store, 'store');
    },
    get clock() {
      return clock;
    },
    retentionDays,
  };
}

function ready<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`useDynamo(): ${what} is only available inside a test (after beforeEach)`);
  }
  return value;
}
