import { approveSession } from '../lib/app/approve-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { httpOptions } from '../lib/composition/core.ts';
import { requestDeps } from '../lib/composition/request.ts';
import { httpHandler, json, parseJsonBody } from '../lib/http/http-handler.ts';
import { DecisionBody } from '../lib/http/schemas.ts';

/** POST /sessions/{id}/approve [{ comment }] → 202: approved, now provisioning like any request. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = requestDeps();
  const { comment } = event.body ? parseJsonBody(event, DecisionBody) : {};
  const session = await approveSession(deps, identity, event.pathParameters?.id ?? '', comment);
  return json(202, sessionView(session, deps.policy));
});
