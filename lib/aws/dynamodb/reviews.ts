import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Review } from '../../domain/break-glass.ts';
import { ConflictError, ValidationError } from '../../domain/errors.ts';
import { ReviewSchema } from '../../domain/schemas.ts';
import type { ListReviewsOptions, Page } from '../../ports/session-store.ts';
import { INDEX, itemKey, REVIEW_KIND, TTL_ATTRIBUTE } from '../table-definition.ts';
import { decodeCursor, encodeCursor, ReviewCursor } from './cursor.ts';
import { defined, guard, type Item, parseItem, purgeAfter, type Table } from './table.ts';
import { type TransactItem, transact } from './transaction.ts';

/**
 * Break-glass reviews: REVIEW#<sessionId> / REVIEW, kind 'review-open' or 'review-reviewed'
 * and createdAt = requestedAt, so byCreated lists each status newest first without a scan.
 */

function reviewItem(table: Table, review: Review): Item {
  const item: Item = {
    ...defined(review),
    ...itemKey.review(review.sessionId),
    kind: REVIEW_KIND[review.status],
    createdAt: review.requestedAt,
  };
  // Open reviews stay until someone reviews them; reviewed ones age out like sessions.
  if (review.status === 'reviewed') {
    item[TTL_ATTRIBUTE] = purgeAfter(table, review.reviewedAt ?? table.clock.now());
  }
  return item;
}

/** The open review of a new break-glass session, written with it. */
export function insertReview(table: Table, review: Review): TransactItem {
  return {
    Put: {
      TableName: table.name,
      Item: reviewItem(table, review),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export async function getReview(table: Table, sessionId: string): Promise<Review | undefined> {
  const { Item } = await guard(
    table.client.send(
      new GetCommand({
        TableName: table.name,
        Key: itemKey.review(sessionId),
        ConsistentRead: true,
      }),
    ),
  );
  return Item ? parseItem(ReviewSchema, Item, `review ${sessionId}`) : undefined;
}

export async function listReviews(
  table: Table,
  options: ListReviewsOptions,
): Promise<Page<Review>> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new ValidationError('limit must be a positive integer');
  }
  const kind = REVIEW_KIND[options.status];
  const before = options.requestedBefore;
  const start =
    options.cursor === undefined
      ? undefined
      : decodeCursor(
          options.cursor,
          ReviewCursor,
          (cursor) => cursor.kind === kind && (before === undefined || cursor.createdAt < before),
        );
  const page = await guard(
    table.client.send(
      new QueryCommand({
        TableName: table.name,
        IndexName: INDEX.byCreated,
        KeyConditionExpression:
          before === undefined ? '#kind = :kind' : '#kind = :kind AND #createdAt < :before',
        ExpressionAttributeNames: {
          '#kind': 'kind',
          ...(before === undefined ? {} : { '#createdAt': 'createdAt' }),
        },
        ExpressionAttributeValues: {
          ':kind': kind,
          ...(before === undefined ? {} : { ':before': before }),
        },
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: start,
      }),
    ),
  );
  const items = (page.Items ?? []).map((item) => parseItem(ReviewSchema, item, 'review'));
  const cursor = encodeCursor(page.LastEvaluatedKey);
  return cursor ? { items, cursor } : { items };
}

/** Stores a reviewed review if the stored one is still open; ConflictError otherwise. */
export async function closeReview(table: Table, review: Review): Promise<Review> {
  const failed = await transact(table, [
    [
      'review',
      {
        Put: {
          TableName: table.name,
          Item: reviewItem(table, review),
          // Two admins reviewing at once: the second one is told, not silently overwritten.
          ConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':open': 'open' },
        },
      },
    ],
  ]);
  if (failed?.has('review')) {
    throw new ConflictError('this review is already closed (or does not exist)');
  }
  return review;
}
