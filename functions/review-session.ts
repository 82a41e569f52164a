import { reviewSession, reviewView } from '../lib/app/reviews.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json, parseJsonBody } from '../lib/http/http-handler.ts';
import { ReviewBody } from '../lib/http/schemas.ts';

/** POST /reviews/{id} { verdict, comment } → 200: an admin closes a break-glass review. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = coreDeps();
  const decision = parseJsonBody(event, ReviewBody);
  const review = await reviewSession(deps, identity, event.pathParameters?.id ?? '', decision);
  return json(200, reviewView(review));
});
