import { setTimeout as sleep } from 'node:timers/promises';

import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';

import type * as z from 'zod/mini';
import { dueAtFor } from '../../domain/due.ts';

import { InvalidCursorError, SessionStoreError, ValidationError } from '../../domain/errors.ts';

import { SessionSchema } from '../../domain/schemas.ts';

import { isTerminal, type Session } from '../../domain/session.ts';

import type { ListAllOptions, ListOptions, Page } from '../../ports/session-store.ts';
import { DUE_SHARD, INDEX, itemKey, SESSION_KIND, TTL_ATTRIBUTE } from '../table-definition.ts';

import {
  ByCreatedCursor,
  ByOwnerCursor,
  type CursorKey,
  decodeCursor,
  encodeCursor,
} from './cursor.ts';
import {
  defined,
  guard,
  type Item,
  parseItem,
  purgeAfter,
  type Table,
  translate,
} from './table.ts';
import type { TransactItem } from './transaction.ts';

/**
 * Session items: SESSION#<id> / SESSION, every Session field, plus the attributes the indexes
 * read: kind (byCreated), owner + createdAt (byOwner), dueShard/dueAt while live (byDue,
 * sparse), instanceId once there is an instance (byInstance), purgeAfter once over.
 */

/** BatchGetItem takes at most 100 keys; unprocessed ones are retried with backoff. */
const BATCH_GET_LIMIT = 100;
const BATCH_GET_RETRIES = 5;

/** When an ENDED or FAILED session (and its events) may be purged. */
export const sessionPurgeAfter = (table: Table, session: Session): number =>
  purgeAfter(table, session.endedAt ?? table.clock.now());

function sessionItem(table: Table, session: Session): Item {
  const item: Item = { ...defined(session), ...itemKey.session(session.id), kind: SESSION_KIND };
  const dueAt = dueAtFor(session);
  if (dueAt !== undefined) {
    item.dueShard = DUE_SHARD;
    item.dueAt = dueAt;
  }
  if (session.resources.instanceId) item.instanceId = session.resources.instanceId;
  if (isTerminal(session.status)) item[TTL_ATTRIBUTE] = sessionPurgeAfter(table, session);
  return item;
}

export function insertSession(table: Table, session: Session): TransactItem {
  return {
    Put: {
      TableName: table.name,
      Item: sessionItem(table, session),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** Writes `next` only if the stored session still has `current`'s status and version. */
export function replaceSession(table: Table, current: Session, next: Session): TransactItem {
  return {
    Put: {
      TableName: table.name,
      Item: sessionItem(table, next),
      ConditionExpression: '#status = :expectedStatus AND #version = :expectedVersion',
      ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
      ExpressionAttributeValues: {
        ':expectedStatus': current.status,
        ':expectedVersion': current.version,
      },
    },
  };
}

export async function getSession(table: Table, id: string): Promise<Session | undefined> {
  const { Item } = await guard(
    table.client.send(
      new GetCommand({ TableName: table.name, Key: itemKey.session(id), ConsistentRead: true }),
    ),
  );
  return Item ? parseItem(SessionSchema, Item, `session ${id}`) : undefined;
}

export async function getSessions(
  table: Table,
  ids: readonly string[],
): Promise<Map<string, Session>> {
  const found = new Map<string, Session>();
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
    let keys: Item[] = unique
      .slice(start, start + BATCH_GET_LIMIT)
      .map((id) => itemKey.session(id));
    for (let attempt = 0; keys.length > 0; attempt += 1) {
      if (attempt > 0) {
        if (attempt > BATCH_GET_RETRIES) {
          throw new SessionStoreError('the table kept throttling a batch read');
        }
        await sleep(Math.random() * 50 * 2 ** attempt);
      }
      const response = await guard(
        table.client.send(
          new BatchGetCommand({
            // Consistent: a session written a moment ago must never look missing, or the
            // reaper would take its fresh bastion for an orphan.
            RequestItems: { [table.name]: { Keys: keys, ConsistentRead: true } },
          }),
        ),
      );
      for (const item of response.Responses?.[table.name] ?? []) {
        const session = parseItem(SessionSchema, item, 'session');
        found.set(session.id, session);
      }
      keys = (response.UnprocessedKeys?.[table.name]?.Keys ?? []) as Item[];
    }
  }
  return found;
}

export function listByOwner(table: Table, owner: string, options: ListOptions) {
  return queryPage(
    table,
    {
      IndexName: INDEX.byOwner,
      KeyConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    },
    options,
    ByOwnerCursor,
    // A cursor from another owner's listing never pages through their sessions.
    (cursor) => cursor.owner === owner,
  );
}

export function listAll(table: Table, options: ListAllOptions): Promise<Page<Session>> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  if (options.target !== undefined) {
    names['#target'] = 'target';
    values[':target'] = options.target;
    filters.push('#target = :target');
  }
  if (options.status !== undefined) {
    names['#status'] = 'status';
    values[':status'] = options.status;
    filters.push('#status = :status');
  }
  const filter = filters.length ? { FilterExpression: filters.join(' AND ') } : {};
  const owner = options.owner;
  if (owner !== undefined) {
    return queryPage(
      table,
      {
        IndexName: INDEX.byOwner,
        KeyConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { ...names, '#owner': 'owner' },
        ExpressionAttributeValues: { ...values, ':owner': owner },
        ...filter,
      },
      options,
      ByOwnerCursor,
      (cursor) => cursor.owner === owner,
    );
  }
  return queryPage(
    table,
    {
      IndexName: INDEX.byCreated,
      KeyConditionExpression: '#kind = :kind',
      ExpressionAttributeNames: { ...names, '#kind': 'kind' },
      ExpressionAttributeValues: { ...values, ':kind': SESSION_KIND },
      ...filter,
    },
    options,
    ByCreatedCursor,
  );
}

export async function listCreatedBetween(
  table: Table,
  from: number,
  to: number,
  options: ListOptions,
): Promise<Page<Session>> {
  if (!(to > from)) return { items: [] };
  return queryPage(
    table,
    {
      IndexName: INDEX.byCreated,
      KeyConditionExpression: '#kind = :kind AND #createdAt BETWEEN :from AND :last',
      ExpressionAttributeNames: { '#kind': 'kind', '#createdAt': 'createdAt' },
      // createdAt is whole milliseconds: [from, to) is BETWEEN from AND to - 1.
      ExpressionAttributeValues: { ':kind': SESSION_KIND, ':from': from, ':last': to - 1 },
    },
    options,
    ByCreatedCursor,
    (cursor) => cursor.createdAt >= from && cursor.createdAt < to,
  );
}

export async function listDue(table: Table, now: number, limit: number): Promise<Session[]> {
  const due: Session[] = [];
  if (!(limit >= 1)) return due;
  let start: Item | undefined;
  do {
    const page = await guard(
      table.client.send(
        new QueryCommand({
          TableName: table.name,
          IndexName: INDEX.byDue,
          KeyConditionExpression: '#dueShard = :due AND #dueAt <= :now',
          ExpressionAttributeNames: { '#dueShard': 'dueShard', '#dueAt': 'dueAt' },
          ExpressionAttributeValues: { ':due': DUE_SHARD, ':now': now },
          Limit: limit - due.length,
          ExclusiveStartKey: start,
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      const session = parseItem(SessionSchema, item, 'session');
      // The index is eventually consistent; never hand the reaper a session with nothing left
      // to do (over, and its recording sealed).
      if (dueAtFor(session) !== undefined) due.push(session);
    }
    start = page.LastEvaluatedKey;
  } while (start && due.length < limit);
  return due;
}

export async function findByInstanceId(
  table: Table,
  instanceId: string,
): Promise<Session | undefined> {
  const page = await guard(
    table.client.send(
      new QueryCommand({
        TableName: table.name,
        IndexName: INDEX.byInstance,
        KeyConditionExpression: '#instanceId = :instanceId',
        ExpressionAttributeNames: { '#instanceId': 'instanceId' },
        ExpressionAttributeValues: { ':instanceId': instanceId },
      }),
    ),
  );
  // The index lags; confirm each hit with a consistent read of the session itself.
  for (const item of page.Items ?? []) {
    const id = parseItem(SessionSchema, item, 'session').id;
    const session = await getSession(table, id);
    if (session?.resources.instanceId === instanceId) return session;
  }
  return undefined;
}

async function queryPage<K extends CursorKey>(
  table: Table,
  query: Omit<QueryCommandInput, 'TableName'>,
  options: ListOptions,
  schema: z.ZodMiniType<K>,
  fits?: (cursor: K) => boolean,
): Promise<Page<Session>> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new ValidationError('limit must be a positive integer');
  }
  const start =
    options.cursor === undefined ? undefined : decodeCursor(options.cursor, schema, fits);
  let page: QueryCommandOutput;
  try {
    page = await table.client.send(
      new QueryCommand({
        ...query,
        TableName: table.name,
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: start,
      }),
    );
  } catch (error) {
    // A well-formed cursor can still name a key DynamoDB refuses to start from.
    if (start && error instanceof Error && error.name === 'ValidationException') {
      throw new InvalidCursorError();
    }
    throw translate(error);
  }
  const items = (page.Items ?? []).map((item) => parseItem(SessionSchema, item, 'session'));
  const cursor = encodeCursor(page.LastEvaluatedKey);
  return cursor ? { items, cursor } : { items };
}
