import { revokeSession } from '../lib/app/revoke-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { appDeps, httpOptions } from '../lib/composition.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** DELETE /sessions/{id} → revoke now (owner or admin). 200 when ended, 202 while ENDING. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = appDeps();
  const session = await revokeSession(deps, identity, event.pathParameters?.id ?? '');
  return json(session.status === 'ENDING' ? 202 : 200, sessionView(session, deps.policy));
});
