import { sessionView } from '../lib/app/session-view.ts';
import { getSession } from '../lib/app/sessions-query.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /sessions/{id} → status and, once READY, how to connect. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = coreDeps();
  const session = await getSession(deps, identity, event.pathParameters?.id ?? '');
  return json(200, sessionView(session, deps.policy));
});
