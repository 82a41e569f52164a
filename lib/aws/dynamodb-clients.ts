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
