import { extendSession } from '../lib/app/extend-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { appDeps, httpOptions } from '../lib/composition.ts';
import { httpHandler, json, parseJsonBody } from '../lib/http/http-handler.ts';
import { ExtendSessionBody } from '../lib/http/schemas.ts';

/** POST /sessions/{id}/extend { byMinutes, reason } → 200 with the new expiresAt. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = appDeps();
  const body = parseJsonBody(event, ExtendSessionBody);
  const { session, notices } = await extendSession(
    deps,
    identity,
    event.pathParameters?.id ?? '',
    body,
  );
  return json(200, {
    ...sessionView(session, deps.policy),
    ...(notices.length ? { notices } : {}),
  });
});
