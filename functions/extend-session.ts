import { extendSession } from '../lib/app/extend-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { type ActingDeps, composeActing } from '../lib/composition/acting.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json, parseJsonBody } from '../lib/http/http-handler.ts';
import { ExtendSessionBody } from '../lib/http/schemas.ts';

/** POST /sessions/{id}/extend { byMinutes, reason } → 200 with the new expiresAt. */
export const createExtendSessionHandler = (deps: () => ActingDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const body = parseJsonBody(event, ExtendSessionBody);
    const { session, notices } = await extendSession(
      d,
      identity,
      event.pathParameters?.id ?? '',
      body,
    );
    return json(200, {
      ...sessionView(session, d.policy),
      ...(notices.length ? { notices } : {}),
    });
  });

/** DynamoDB and Scheduler (moves the end); SNS notices (lib/composition/acting.ts). */
export const handler = createExtendSessionHandler(lazy(composeActing));
