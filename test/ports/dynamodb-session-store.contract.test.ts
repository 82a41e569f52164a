import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { itemKey } from '../../lib/aws/table-definition.ts';
import { useDynamo } from '../support/dynamo.ts';
import { sessionStoreContract } from './session-store.contract.ts';

// The real store on dynalite (behind the project's transaction shim), a fresh table per test.
const dynamo = useDynamo({ retentionDays: 30 });

async function purgeAfterOf(key: { pk: string; sk: string }): Promise<number | undefined> {
  const { Item } = await dynamo.documentClient.send(
    new GetCommand({ TableName: dynamo.tableName, Key: key, ConsistentRead: true }),
  );
  return typeof Item?.purgeAfter === 'number' ? Item.purgeAfter : undefined;
}

sessionStoreContract('DynamoDB (dynalite)', () => ({
  store: dynamo.store,
  clock: dynamo.clock,
  retentionDays: dynamo.retentionDays,
  purgeTimes: async (sessionId, events) => ({
    session: await purgeAfterOf(itemKey.session(sessionId)),
    events: await Promise.all(
      Array.from({ length: events }, (_, index) =>
        purgeAfterOf(itemKey.event(sessionId, index + 1)),
      ),
    ),
  }),
}));
