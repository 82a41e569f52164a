import * as z from 'zod/mini';
import type { QuotaExceededError } from '../../domain/errors.ts';
import { quotaExceeded } from '../../domain/quota.ts';
import type { Session } from '../../domain/session.ts';
import { itemKey } from '../table-definition.ts';
import type { Table } from './table.ts';
import type { TransactItem } from './transaction.ts';

/**
 * Quota counters: QUOTA#<owner> / QUOTA (or QUOTA#break-glass), `active` live sessions. Taken
 * in the transaction that creates a session, given back in the one that ends it.
 */

/** Takes one slot of the counter `session.quotaKind` names, if fewer than `quota` are taken. */
export function takeQuota(table: Table, session: Session, quota: number): TransactItem {
  return {
    // The counter is created on first use; the condition is what enforces the quota,
    // atomically with the session write, however many requests race.
    Update: {
      TableName: table.name,
      Key: itemKey.quota(session.owner, session.quotaKind),
      UpdateExpression: 'SET #subject = :subject ADD #active :one',
      // With quota 0 even a user's first session is refused: a missing counter only
      // counts as zero when zero is below the quota.
      ConditionExpression:
        quota > 0 ? 'attribute_not_exists(#active) OR #active < :quota' : '#active < :quota',
      ExpressionAttributeNames: { '#subject': 'subject', '#active': 'active' },
      ExpressionAttributeValues: { ':subject': session.owner, ':one': 1, ':quota': quota },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/**
 * Gives the session's slot back. DynamoDB cannot clamp at zero: the condition fails on a
 * counter already at zero (lost in some earlier incident), and the caller then ends the
 * session without it rather than be blocked.
 */
export function releaseQuota(table: Table, session: Session): TransactItem {
  return {
    Update: {
      TableName: table.name,
      // The counter the session took its quota from, so break-glass gives back its own.
      Key: itemKey.quota(session.owner, session.quotaKind),
      UpdateExpression: 'ADD #active :minusOne',
      ConditionExpression: '#active >= :one',
      ExpressionAttributeNames: { '#active': 'active' },
      ExpressionAttributeValues: { ':minusOne': -1, ':one': 1 },
    },
  };
}

/** The counter as DynamoDB returns it in a cancellation reason (not unmarshalled). */
const RawQuotaSchema = z.lazy(() => z.object({ active: z.object({ N: z.string() }) }));

/** The domain's refusal, with the count the failed condition saw when there was one. */
export function quotaRefusal(
  session: Session,
  quota: number,
  counter: Record<string, unknown> | undefined,
): QuotaExceededError {
  const raw = RawQuotaSchema.safeParse(counter);
  return quotaExceeded(
    quota,
    session.quotaKind,
    raw.success ? Number(raw.data.active.N) : undefined,
  );
}
