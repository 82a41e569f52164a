import * as z from 'zod/mini';
import type { Review } from '../../domain/break-glass.ts';
import { InvalidCursorError } from '../../domain/errors.ts';
import type { Session } from '../../domain/session.ts';
import { itemKey, REVIEW_KIND, SESSION_KIND } from '../table-definition.ts';

/**
 * List cursors are DynamoDB's LastEvaluatedKey in base64url JSON. A cursor comes back from the
 * caller, so it is parsed as hostile input: the exact key shape of the index it was made for,
 * safe integers only (the marshaller throws on anything beyond ±2^53, which used to be a 500),
 * bounded strings, and it must lie inside the partition the caller is listing (an owner's
 * cursor never pages through someone else's sessions).
 *
 * Nothing here imports the SDK, so the in-memory store pages with the very same cursors.
 */

const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,2048}$/;
const Millis = z.lazy(() => z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER)));
const SessionPk = z.lazy(() => z.string().check(z.regex(/^SESSION#[A-Za-z0-9_-]{1,64}$/)));
const ReviewPk = z.lazy(() => z.string().check(z.regex(/^REVIEW#[A-Za-z0-9_-]{1,64}$/)));

/** byOwner: owner + createdAt, plus the table key. */
export const ByOwnerCursor = z.lazy(() =>
  z.strictObject({
    pk: SessionPk,
    sk: z.literal('SESSION'),
    owner: z.string().check(z.minLength(1), z.maxLength(256)),
    createdAt: Millis,
  }),
);
export type ByOwnerCursor = z.infer<typeof ByOwnerCursor>;

/** byCreated, session partition: kind + createdAt, plus the table key. */
export const ByCreatedCursor = z.lazy(() =>
  z.strictObject({
    pk: SessionPk,
    sk: z.literal('SESSION'),
    kind: z.literal(SESSION_KIND),
    createdAt: Millis,
  }),
);
export type ByCreatedCursor = z.infer<typeof ByCreatedCursor>;

/** byCreated, a review partition (open or reviewed). */
export const ReviewCursor = z.lazy(() =>
  z.strictObject({
    pk: ReviewPk,
    sk: z.literal('REVIEW'),
    kind: z.enum([REVIEW_KIND.open, REVIEW_KIND.reviewed]),
    createdAt: Millis,
  }),
);
export type ReviewCursor = z.infer<typeof ReviewCursor>;

export type CursorKey = ByOwnerCursor | ByCreatedCursor | ReviewCursor;

/** The key a listing would resume after, per index: how both stores build their cursors. */
export const cursorKey = {
  byOwner: (session: Session): ByOwnerCursor => ({
    ...itemKey.session(session.id),
    sk: 'SESSION',
    owner: session.owner,
    createdAt: session.createdAt,
  }),
  byCreated: (session: Session): ByCreatedCursor => ({
    ...itemKey.session(session.id),
    sk: 'SESSION',
    kind: SESSION_KIND,
    createdAt: session.createdAt,
  }),
  review: (review: Review): ReviewCursor => ({
    ...itemKey.review(review.sessionId),
    sk: 'REVIEW',
    kind: REVIEW_KIND[review.status],
    createdAt: review.requestedAt,
  }),
};

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * The key inside `cursor`, if it has exactly `schema`'s shape and `fits` the query being run;
 * InvalidCursorError (a 400) otherwise. Never throws anything else, whatever the input.
 */
export function decodeCursor<T>(
  cursor: string,
  schema: z.ZodMiniType<T>,
  fits: (key: T) => boolean = () => true,
): T {
  if (!CURSOR_PATTERN.test(cursor)) throw new InvalidCursorError();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success || !fits(parsed.data)) throw new InvalidCursorError();
  return parsed.data;
}
