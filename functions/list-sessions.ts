import { sessionView } from '../lib/app/session-view.ts';
import { listSessions } from '../lib/app/sessions-query.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json, parseWith } from '../lib/http/http-handler.ts';
import { ListSessionsQuery } from '../lib/http/schemas.ts';

export type ListSessionsDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeListSessions = (): ListSessionsDeps => composeCore();

/** GET /sessions → the caller's sessions, newest first; admins may list everyone's with filters. */
export const createListSessionsHandler = (deps: () => ListSessionsDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const query = parseWith(ListSessionsQuery, event.queryStringParameters ?? {}, 'query');
    const page = await listSessions(d, identity, query);
    return json(200, {
      items: page.items.map((session) => sessionView(session, d.policy)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
  });

export const handler = createListSessionsHandler(lazy(composeListSessions));
