import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReaperDaySchema } from '../../domain/schemas.ts';
import { type ReaperDay, type ReaperSweep, utcDay } from '../../domain/usage.ts';
import { itemKey, TTL_ATTRIBUTE } from '../table-definition.ts';
import { guard, parseItem, purgeAfter, queryAll, type Table } from './table.ts';

/** Reaper days: REAPER / DAY#<YYYY-MM-DD>, what the reaper's sweeps found that UTC day. */

export async function recordReaperSweep(
  table: Table,
  at: number,
  sweep: ReaperSweep,
): Promise<void> {
  const day = utcDay(at);
  await guard(
    table.client.send(
      new UpdateCommand({
        TableName: table.name,
        Key: itemKey.reaperDay(day),
        // ADD creates the counters on the day's first sweep; concurrent sweeps cannot lose one.
        UpdateExpression:
          'SET #day = :day, #ttl = :ttl ADD #sweeps :one, #found :found, #reaped :reaped, #expired :expired, #failed :failed',
        ExpressionAttributeNames: {
          '#day': 'day',
          '#ttl': TTL_ATTRIBUTE,
          '#sweeps': 'sweeps',
          '#found': 'orphansFound',
          '#reaped': 'orphansReaped',
          '#expired': 'expired',
          '#failed': 'failed',
        },
        ExpressionAttributeValues: {
          ':day': day,
          ':ttl': purgeAfter(table, at),
          ':one': 1,
          ':found': sweep.orphansFound,
          ':reaped': sweep.orphansReaped,
          ':expired': sweep.expired,
          ':failed': sweep.failed,
        },
      }),
    ),
  );
}

export async function listReaperDays(
  table: Table,
  fromDay: string,
  toDay: string,
): Promise<ReaperDay[]> {
  if (toDay < fromDay) return [];
  const items = await queryAll((start) =>
    table.client.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :first AND :last',
        ExpressionAttributeValues: {
          ':pk': itemKey.reaperDay(fromDay).pk,
          ':first': itemKey.reaperDay(fromDay).sk,
          ':last': itemKey.reaperDay(toDay).sk,
        },
        ExclusiveStartKey: start,
      }),
    ),
  );
  return items.map((item) => parseItem(ReaperDaySchema, item, 'reaper day'));
}
