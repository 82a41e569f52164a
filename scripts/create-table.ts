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
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
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

  const config: DynamoDBClientConfig = {};
  if (values.region) config.region = values.region;
  else if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION) config.region = 'us-east-1';
  if (values.endpoint) {
    const url = new URL(values.endpoint);
    config.endpoint = url.toString();
    // A local DynamoDB ignores credentials but the SDK still wants some to sign with.
    if (isLoopback(url.hostname) && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
  }

  const client = new DynamoDBClient(config);
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

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
}

main().catch((error: unknown) => {
  console.error(`create-table: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
