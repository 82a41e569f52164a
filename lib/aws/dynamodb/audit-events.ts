import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEvent, sealEvent } from '../../domain/audit.ts';
import { AuditEventSchema } from '../../domain/schemas.ts';
import type { Session } from '../../domain/session.ts';
import type { AuditDraft } from '../../ports/session-store.ts';
import { itemKey, TTL_ATTRIBUTE } from '../table-definition.ts';
import { defined, guard, parseItem, queryAll, type Table } from './table.ts';
import type { TransactItem } from './transaction.ts';

/**
 * Audit events: SESSION#<id> / EVENT#<seq>, append-only and hash-chained, each written in the
 * transaction that makes the change it records. They carry the session's purgeAfter from the
 * transaction that ends the session on, so history goes with its session.
 */

/** Updates run at once when a long history is stamped outside a transaction. */
const STAMP_CONCURRENCY = 10;

/** The next event of `session`'s chain (seq and prevHash from the session's audit head). */
export function nextEvent(
  session: Session,
  status: string,
  draft: AuditDraft,
  at: number,
): AuditEvent {
  return sealEvent({
    sessionId: session.id,
    seq: session.auditSeq + 1,
    at,
    type: draft.type,
    actor: draft.actor,
    status,
    ...(draft.detail ? { detail: draft.detail } : {}),
    prevHash: session.auditHead,
  });
}

export function appendEvent(table: Table, event: AuditEvent, purgeAfter?: number): TransactItem {
  return {
    Put: {
      TableName: table.name,
      Item: {
        ...defined(event),
        ...itemKey.event(event.sessionId, event.seq),
        ...(purgeAfter === undefined ? {} : { [TTL_ATTRIBUTE]: purgeAfter }),
      },
      // The chain is append-only: a second writer of the same seq loses.
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** Sets an existing event's purge time (never creates a bare key-only item). */
export function stampEvent(table: Table, sessionId: string, seq: number, purgeAfter: number) {
  return {
    TableName: table.name,
    Key: itemKey.event(sessionId, seq),
    UpdateExpression: 'SET #purgeAfter = :purgeAfter',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#purgeAfter': TTL_ATTRIBUTE },
    ExpressionAttributeValues: { ':purgeAfter': purgeAfter },
  };
}

/** Stamps events `from`..`to` one by one, for histories longer than a transaction holds. */
export async function stampEvents(
  table: Table,
  sessionId: string,
  from: number,
  to: number,
  purgeAfter: number,
): Promise<void> {
  for (let first = from; first <= to; first += STAMP_CONCURRENCY) {
    const last = Math.min(to, first + STAMP_CONCURRENCY - 1);
    await Promise.all(
      Array.from({ length: last - first + 1 }, (_, index) =>
        guard(
          table.client.send(
            new UpdateCommand(stampEvent(table, sessionId, first + index, purgeAfter)),
          ),
        ),
      ),
    );
  }
}

export async function listEvents(table: Table, sessionId: string): Promise<AuditEvent[]> {
  const items = await queryAll((start) =>
    table.client.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :event)',
        ExpressionAttributeValues: { ':pk': itemKey.session(sessionId).pk, ':event': 'EVENT#' },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    ),
  );
  return items.map((item) => parseItem(AuditEventSchema, item, `audit event of ${sessionId}`));
}
