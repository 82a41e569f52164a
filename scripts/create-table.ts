/**
 * Creates Drawbridge's table (lib/aws/table-definition.ts) on any DynamoDB endpoint, turns
 * on TTL and point-in-time recovery where the endpoint supports them, and does nothing
 * harmful when the table already exists.
 *
 *   node scripts/create-table.ts --endpoint http://localhost:8000 --table drawbridge-dev
 *
 * Without --endpoint the SDK's own resolution applies (AWS_ENDPOINT_URL, then AWS).
 */
import { parseArgs } from 'node:util';
import { operatorDynamoClient } from '../lib/aws/dynamodb-clients.ts';
import { ensureTable } from '../lib/aws/table-definition.ts';

const USAGE =
  'usage: node scripts/create-table.ts --table <name> [--endpoint <url>] [--region <region>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      table: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const table = values.table;
  if (!table) throw new Error(`--table is required\n${USAGE}`);

  const region =
    values.region ??
    (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION ? undefined : 'us-east-1');
  const client = operatorDynamoClient({
    endpoint: values.endpoint,
    region,
    hasCredentials: Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE),
  });
  try {
    const result = await ensureTable(client, table);
    console.log(`${table}: ${result.created ? 'created' : 'already exists'}, ACTIVE`);
    console.log(`  TTL on purgeAfter: ${result.ttl}`);
    console.log(`  point-in-time recovery: ${result.pointInTimeRecovery}`);
    if (result.missingIndexes.length > 0) {
      console.warn(
        `  warning: the existing table lacks index(es) ${result.missingIndexes.join(', ')}; ` +
          'recreate it or add them (GSIs cannot be added by this script)',
      );
      process.exitCode = 2;
    }
  } finally {
    client.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`create-table: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
