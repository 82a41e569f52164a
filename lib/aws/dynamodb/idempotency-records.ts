import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { ConflictError, IdempotencyConflictError } from '../../domain/errors.ts';
import type { IdempotencyClaim } from '../../ports/session-store.ts';
import { itemKey, TTL_ATTRIBUTE } from '../table-definition.ts';
import { DAY_SECONDS, guard, parseItem, type Table } from './table.ts';
import type { TransactItem } from './transaction.ts';

/**
 * Idempotency records: IDEMPOTENCY#<owner>#<key> / IDEMPOTENCY → the session a request
 * created, for a day. Written in the session's creating transaction.
 */
const IDEMPOTENCY_SECONDS = DAY_SECONDS;

const IdempotencyRecordSchema = z.lazy(() =>
  z.object({
    subject: z.string(),
    bodyHash: z.string(),
    sessionId: z.string(),
    purgeAfter: z.number(),
  }),
);

export function claimKey(
  table: Table,
  owner: string,
  sessionId: string,
  claim: IdempotencyClaim,
): TransactItem {
  const now = Math.floor(table.clock.now() / 1000);
  const replaces = claim.replaces;
  return {
    Put: {
      TableName: table.name,
      Item: {
        ...itemKey.idempotency(owner, claim.key),
        subject: owner,
        bodyHash: claim.bodyHash,
        sessionId,
        [TTL_ATTRIBUTE]: now + IDEMPOTENCY_SECONDS,
      },
      // A record past its purge time is as good as absent, even before TTL deletes it; a
      // fresh attempt may take over the record only while it still points at the failure.
      ConditionExpression: `attribute_not_exists(pk) OR #purgeAfter <= :now${
        replaces === undefined ? '' : ' OR #sessionId = :replaces'
      }`,
      ExpressionAttributeNames: {
        '#purgeAfter': TTL_ATTRIBUTE,
        ...(replaces === undefined ? {} : { '#sessionId': 'sessionId' }),
      },
      ExpressionAttributeValues: {
        ':now': now,
        ...(replaces === undefined ? {} : { ':replaces': replaces }),
      },
    },
  };
}

/**
 * The session id a live record holds for this owner and key. IdempotencyConflictError when the
 * record was made for another body; ConflictError (retry) when it expired or vanished between
 * the cancelled write and this read.
 */
export async function claimedSessionId(
  table: Table,
  owner: string,
  claim: IdempotencyClaim,
): Promise<string> {
  const { Item } = await guard(
    table.client.send(
      new GetCommand({
        TableName: table.name,
        Key: itemKey.idempotency(owner, claim.key),
        ConsistentRead: true,
      }),
    ),
  );
  const record = Item ? parseItem(IdempotencyRecordSchema, Item, 'idempotency record') : undefined;
  if (!record || record.purgeAfter <= Math.floor(table.clock.now() / 1000)) {
    throw new ConflictError('the Idempotency-Key record changed while in use; retry');
  }
  if (record.subject !== owner || record.bodyHash !== claim.bodyHash) {
    throw new IdempotencyConflictError();
  }
  return record.sessionId;
}
