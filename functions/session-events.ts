import { eventView } from '../lib/app/session-view.ts';
import { listSessionEvents } from '../lib/app/sessions-query.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /sessions/{id}/events → the session's audit trail with its hash chain. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const events = await listSessionEvents(coreDeps(), identity, event.pathParameters?.id ?? '');
  return json(200, { items: events.map(eventView) });
});
