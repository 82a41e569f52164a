import { connectionRecordView, eventView } from '../lib/app/session-view.ts';
import { listSessionEvents } from '../lib/app/sessions-query.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { sessionLog } from '../lib/composition/session-log.ts';
import { httpHandler, json } from '../lib/http/http-handler.ts';

/** GET /sessions/{id}/events → the audit trail (hash-chained) and the bastion's connection log. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = { ...coreDeps(), sessionLog: sessionLog() };
  const history = await listSessionEvents(deps, identity, event.pathParameters?.id ?? '');
  return json(200, {
    items: history.events.map(eventView),
    ...(history.connections ? { connections: history.connections.map(connectionRecordView) } : {}),
  });
});
