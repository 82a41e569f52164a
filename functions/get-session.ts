import { sessionView } from '../lib/app/session-view.ts';
import { getSession } from '../lib/app/sessions-query.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json } from '../lib/http/http-handler.ts';

export type GetSessionDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only. */
export const composeGetSession = (): GetSessionDeps => composeCore();

/** GET /sessions/{id} → status and, once READY, how to connect. */
export const createGetSessionHandler = (deps: () => GetSessionDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const session = await getSession(d, identity, event.pathParameters?.id ?? '');
    return json(200, sessionView(session, d.policy));
  });

export const handler = createGetSessionHandler(lazy(composeGetSession));
