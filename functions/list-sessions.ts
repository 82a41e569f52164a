import { sessionView } from '../lib/app/session-view.ts';
import { listSessions } from '../lib/app/sessions-query.ts';
import { coreDeps, httpOptions } from '../lib/composition/core.ts';
import { httpHandler, json, parseWith } from '../lib/http/http-handler.ts';
import { ListSessionsQuery } from '../lib/http/schemas.ts';

/** GET /sessions → the caller's sessions, newest first; admins may list everyone's with filters. */
export const handler = httpHandler(httpOptions, async ({ event, identity }) => {
  const deps = coreDeps();
  const query = parseWith(ListSessionsQuery, event.queryStringParameters ?? {}, 'query');
  const page = await listSessions(deps, identity, query);
  return json(200, {
    items: page.items.map((session) => sessionView(session, deps.policy)),
    ...(page.cursor ? { cursor: page.cursor } : {}),
  });
});
