// dynalite in this process and the real DynamoDB store on it (through the local transaction
// shim), as the benches that measure Drawbridge's own share of a request use them.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbSessionStore, documentClientFor } from '../lib/aws/dynamodb-session-store.ts';
import { ensureTable } from '../lib/aws/table-definition.ts';
import { startDynamo } from '../lib/local/dynamo-server.ts';
import { systemClock } from '../lib/ports/clock.ts';

export interface BenchDynamo {
  client: DynamoDBClient;
  close(): Promise<void>;
}

export async function startBenchDynamo(): Promise<BenchDynamo> {
  const dynamo = await startDynamo();
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  return {
    client,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** A fresh table and the session store on it. */
export async function benchStore(
  client: DynamoDBClient,
  tableName = 'bench',
): Promise<DynamoDbSessionStore> {
  await ensureTable(client, tableName);
  return new DynamoDbSessionStore({
    client: documentClientFor(client),
    tableName,
    retentionDays: 1,
    clock: systemClock,
  });
}
