import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type * as z from 'zod/mini';
import { CorruptItemError, DrawbridgeError, SessionStoreError } from '../../domain/errors.ts';
import { safeParse } from '../../domain/validation.ts';

import type { Clock } from '../../ports/clock.ts';

/** What every item-kind module of the store works on: one stage's table. */
export interface Table {
  readonly client: DynamoDBDocumentClient;
  readonly name: string;
  readonly clock: Clock;
  /** how long ended history (sessions, their events, reviews, reaper days) stays */
  readonly retentionDays: number;
}

export type Item = Record<string, unknown>;

export const DAY_SECONDS = 86_400;

/** The TTL value (epoch seconds) for history that ended at `at` (epoch ms). */
export const purgeAfter = (table: Table, at: number): number =>
  Math.floor(at / 1000) + table.retentionDays * DAY_SECONDS;

export function parseItem<T>(schema: z.ZodMiniType<T>, item: unknown, what: string): T {
  const parsed = safeParse(schema, item);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(item)';
  throw new CorruptItemError(`stored ${what} is malformed at ${where}: ${issue?.message}`, {
    cause: parsed.error,
  });
}

/** Drops undefined at every depth, so the item never depends on the client's marshall options. */
export function defined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(defined) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== undefined) out[key] = defined(inner);
    }
    return out as T;
  }
  return value;
}

/** Nothing above lib/aws sees an SDK error: ours pass through, the rest become SessionStoreError. */
export function translate(error: unknown): DrawbridgeError {
  if (error instanceof DrawbridgeError) return error;
  const name = error instanceof Error ? error.name : 'unknown error';
  return new SessionStoreError(`DynamoDB request failed (${name})`, { cause: error });
}

export async function guard<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw translate(error);
  }
}

/** The pages of a Query, followed to the end (for partitions that are small by design). */
export async function queryAll(
  run: (start: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await guard(run(start));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
