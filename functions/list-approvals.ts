import { listApprovals } from '../lib/app/approvals-queue.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { type CoreDeps, composeCore, type HttpDeps } from '../lib/composition/core.ts';
import { httpFunction } from '../lib/composition/http.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { json, parseWith } from '../lib/http/http-handler.ts';
import { ListApprovalsQuery } from '../lib/http/schemas.ts';

export type ListApprovalsDeps = CoreDeps & HttpDeps;

/** Talks to DynamoDB only, and only reads. */
export const composeListApprovals = (): ListApprovalsDeps => composeCore();

/** GET /approvals → the pending requests the caller may approve or deny, newest first. */
export const createListApprovalsHandler = (deps: () => ListApprovalsDeps) =>
  httpFunction(deps, async ({ event, identity }, d) => {
    const query = parseWith(ListApprovalsQuery, event.queryStringParameters ?? {}, 'query');
    const page = await listApprovals(d, identity, query);
    return json(200, {
      items: page.items.map((session) => sessionView(session, d.policy)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
  });

export const handler = createListApprovalsHandler(lazy(composeListApprovals));
