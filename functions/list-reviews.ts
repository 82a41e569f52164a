import { listReviews, reviewView } from '../lib/app/reviews.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json, parseWith } from '../lib/http/http-handler.ts';
import { ListReviewsQuery } from '../lib/http/schemas.ts';

export type ListReviewsDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeListReviews = (): ListReviewsDeps => composeCore();

/** GET /reviews?status=open|reviewed|all → break-glass reviews for admins, open ones first. */
export const createListReviewsHandler = (deps: () => ListReviewsDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const query = parseWith(ListReviewsQuery, event.queryStringParameters ?? {}, 'query');
    const page = await listReviews(d, identity, query);
    return json(200, {
      items: page.items.map(reviewView),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
  });

export const handler = createListReviewsHandler(lazy(composeListReviews));
