import { eventView } from '../lib/app/session-view.ts';
import { listSessionEvents } from '../lib/app/sessions-query.ts';
import { appDeps, httpOptions } from '../lib/composition.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /sessions/{id}/events → the session's audit trail with its hash chain. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const events = await listSessionEvents(appDeps(), identity, event.pathParameters?.id ?? '');
  return json(200, { items: events.map(eventView) });
});
