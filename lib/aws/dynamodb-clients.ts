import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientSettings, once } from './client-settings.ts';

// A module of its own so the read functions load the DynamoDB client and nothing else at
// cold start (external SDK imports are not tree-shaken out of a bundle).
export const dynamoClient = once(() => new DynamoDBClient(clientSettings('dynamodb')));
export const dynamoDocumentClient = once(() =>
  DynamoDBDocumentClient.from(dynamoClient(), {
    // Optional session fields are simply absent; class instances are never meant to be stored.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
);

/** Local mode's client for its own DynamoDB-compatible server (dynalite), with dummy credentials. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    ...clientSettings('dynamodb'),
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * An operator's client (scripts/create-table.ts): the SDK's own endpoint and region resolution
 * unless given; a loopback endpoint gets dummy credentials, since a local DynamoDB ignores them
 * but the SDK still signs.
 */
export function operatorDynamoClient(options: {
  endpoint?: string | undefined;
  region?: string | undefined;
  hasCredentials: boolean;
}): DynamoDBClient {
  const config: ConstructorParameters<typeof DynamoDBClient>[0] = {};
  if (options.region) config.region = options.region;
  if (options.endpoint) {
    const url = new URL(options.endpoint);
    config.endpoint = url.toString();
    if (isLoopback(url.hostname) && !options.hasCredentials) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
  }
  return new DynamoDBClient(config);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
}
