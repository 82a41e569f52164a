import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../domain/errors.ts';
import { type Table, translate } from './table.ts';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** TransactWriteItems takes at most 100 actions. */
export const TRANSACTION_LIMIT = 100;
/** Real DynamoDB cancels a transaction that overlaps another one on the same item. */
const CONFLICT_ATTEMPTS = 5;

/** A transaction's items, each under a name the caller chose. */
export type NamedItems<N extends string> = ReadonlyArray<readonly [N, TransactItem]>;

/**
 * The items whose condition failed, by name; `item` is the old item (as DynamoDB returns it,
 * not unmarshalled) when the item asked for ReturnValuesOnConditionCheckFailure.
 */
export type FailedConditions<N extends string> = ReadonlyMap<N, { item?: Record<string, unknown> }>;

/**
 * Runs one transaction. Resolves undefined on success, or, when DynamoDB cancelled it on
 * conditions, which named items failed. CancellationReasons come back in item order; this is
 * the one place that knows it. Conflicts with a transaction in flight are retried with full
 * jitter; every other failure becomes a SessionStoreError (or ConflictError after retries).
 */
export async function transact<N extends string>(
  table: Table,
  items: NamedItems<N>,
): Promise<FailedConditions<N> | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await table.client.send(
        new TransactWriteCommand({ TransactItems: items.map(([, item]) => item) }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw translate(error);
      const reasons = error.CancellationReasons ?? [];
      const failed = new Map<N, { item?: Record<string, unknown> }>();
      items.forEach(([name], index) => {
        const reason = reasons[index];
        if (reason?.Code === 'ConditionalCheckFailed') {
          failed.set(name, reason.Item ? { item: reason.Item } : {});
        }
      });
      if (failed.size > 0) return failed;
      if (!reasons.some((reason) => reason.Code === 'TransactionConflict')) throw translate(error);
      if (attempt >= CONFLICT_ATTEMPTS) {
        throw new ConflictError('too many changes to this session at once; retry', {
          cause: error,
        });
      }
      // Full jitter, so racing writers do not collide again in lockstep.
      await sleep(Math.random() * 20 * 2 ** attempt);
    }
  }
}
