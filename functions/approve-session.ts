import { approveSession } from '../lib/app/approve-session.ts';
import { sessionView } from '../lib/app/session-view.ts';
import { lazy } from '../lib/composition/lazy.ts';
import { meteredHttpFunction, withMetrics } from '../lib/composition/metrics.ts';
import { composeRequest, type RequestFunctionDeps } from '../lib/composition/request.ts';
import { json, parseJsonBody } from '../lib/http/http-handler.ts';
import { DecisionBody } from '../lib/http/schemas.ts';

/** POST /sessions/{id}/approve [{ comment }] → 202: approved, now provisioning like any request. */
export const createApproveSessionHandler = (deps: () => RequestFunctionDeps) =>
  meteredHttpFunction(deps, async ({ event, identity }, d) => {
    const { comment } = event.body ? parseJsonBody(event, DecisionBody) : {};
    const session = await approveSession(d, identity, event.pathParameters?.id ?? '', comment);
    return json(202, sessionView(session, d.policy));
  });

/** The same as POST /sessions: DynamoDB, SQS and SNS (lib/composition/request.ts). */
export const handler = createApproveSessionHandler(lazy(() => withMetrics(composeRequest())));
