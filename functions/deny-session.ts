import { denySession } from '../lib/app/approve-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { httpOptions } from '../lib/composition/core.ts';
import { requestDeps } from '../lib/composition/request.ts';
import { httpHandler, json, parseJsonBody } from '../lib/http/http-handler.ts';
import { DecisionBody } from '../lib/http/schemas.ts';

/** POST /sessions/{id}/deny [{ comment }] → 200: the request is ENDED (denied). */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = requestDeps();
  const { comment } = event.body ? parseJsonBody(event, DecisionBody) : {};
  const session = await denySession(deps, identity, event.pathParameters?.id ?? '', comment);
  return json(200, sessionView(session, deps.policy));
});
