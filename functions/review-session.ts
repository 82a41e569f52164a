import { reviewSession, reviewView } from '../lib/app/reviews.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json, parseJsonBody } from '../lib/http/http-handler.ts';
import { ReviewBody } from '../lib/http/schemas.ts';

export type ReviewSessionDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeReviewSession = (): ReviewSessionDeps => composeCore();

/** POST /reviews/{id} { verdict, comment } → 200: an admin closes a break-glass review. */
export const createReviewSessionHandler = (deps: () => ReviewSessionDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const decision = parseJsonBody(event, ReviewBody);
    const review = await reviewSession(d, identity, event.pathParameters?.id ?? '', decision);
    return json(200, reviewView(review));
  });

export const handler = createReviewSessionHandler(lazy(composeReviewSession));
