import { listReviews, reviewView } from '../lib/app/reviews.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json, parseWith } from '../lib/http/http-handler.ts';
import { ListReviewsQuery } from '../lib/http/schemas.ts';

/** GET /reviews?status=open|reviewed|all → break-glass reviews for admins, open ones first. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = coreDeps();
  const query = parseWith(ListReviewsQuery, event.queryStringParameters ?? {}, 'query');
  const page = await listReviews(deps, identity, query);
  return json(200, {
    items: page.items.map(reviewView),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  });
});
